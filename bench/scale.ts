// The whole `dqe run` through Temporal at scale, on real text (bench/real-text.ts: SpamAssassin scaled by a word
// chain): a real `temporal server start-dev` and `dqe worker` processes, `hash` embedder at 384 dimensions, linear
// trainer, offline judge, embedded store. Per phase: wall seconds (the workflow's own clock, from report.json) and
// worker CPU seconds (sampled from /proc while the progress query says which phase runs); peak RSS of the workers
// and the server; the workflow history's events and bytes against Temporal's limits.
//
// Usage: npx tsx bench/scale.ts [--key=value ...]
//   --sizes=100000,300000 --dim=384 --seed=1
//   --embedder=hash               or minilm (384-d; --dim then does not apply)
//   --two-fold=                   true or false; unset: the workflow's default (two-fold since issue 19)
//   --workers=1                   `dqe worker` processes
//   --cores=                      with it, each worker is pinned to one core by taskset: e.g. 0,1
//   --compare-with=<dir>          a finished run directory: final.jsonl and categories.jsonl must be byte-identical
//   --keep=<dir>                  keep each run's directory under <dir>/<rows> (for --compare-with)
//   --out=bench/results/scale.json   (entries of earlier sizes in it are kept unless rerun)
//   --continue=<dir>              the folder of an attempt whose bench process died (a session that ended): a dev
//                                 server on its database and new workers finish the same workflow (the sample phase
//                                 resumes from its checkpoint); one size only. The entry's wall time runs from the
//                                 workflow's start, less the gap (`gapSeconds`) between the attempt's last sign of
//                                 life (its `alive` file) and the continuation; phase walls from the report include it.
//   --reuse-sample=<dir>          a kept run directory of the same size and seed (--keep): its sample phase's output is
//                                 put where the new run finds it, so every phase runs but sampling (90 minutes at 1M
//                                 rows), which is taken as done. Phase outputs are named after their inputs' paths, so
//                                 the attempt runs in the folder the kept run ran in (the path its sample.*.json names);
//                                 the dataset is generated again (same rows, same bytes) and every other phase redone.
//
// Each size runs on a fresh dev server, workers and cache, so no phase is skipped as already done.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Client, Connection } from '@temporalio/client';
import { RUN_LOCK_FILE, type Report } from '../core/run-layout.js';
import { startDevServer } from '../infra/temporal.js';
import { progressQuery } from '../workflows/dqe.js';
import { keyValueArgs } from './args.js';
import { loadavgLine as loadavg, procCpuSeconds, procPeakRss as peakRss, procRss, resetPeakRss } from './proc.js';
import { machine } from './machine.js';
import { realTextRows, realTextSource } from './real-text.js';

const { args, opt } = keyValueArgs();
const sizes = opt('sizes', '100000,300000').split(',').map(Number);
const embedderName = opt('embedder', 'hash');
if (embedderName !== 'hash' && embedderName !== 'minilm') throw new Error(`--embedder: hash or minilm, got ${embedderName}`);
const dim = embedderName === 'minilm' ? 384 : Number(opt('dim', '384'));
const twoFoldOpt = opt('two-fold', '');
const twoFold = twoFoldOpt === '' ? undefined : twoFoldOpt === 'true';
const seed = Number(opt('seed', '1'));
const workerCount = Number(opt('workers', '1'));
const cores = opt('cores', '').split(',').filter((c) => c.length > 0);
const compareWith = args.get('compare-with');
const keep = args.get('keep');
const out = opt('out', 'bench/results/scale.json');
const continueDir = args.get('continue');
if (continueDir !== undefined && sizes.length !== 1) throw new Error('--continue: give the one size of that attempt in --sizes');
const reuseSample = args.get('reuse-sample');
if (reuseSample !== undefined && (sizes.length !== 1 || continueDir !== undefined)) throw new Error('--reuse-sample: one size, and not with --continue');

/** What an attempt's folder records about it, so that another process can continue it (--continue). */
interface Attempt {
  workflowId: string;
  /** Date.now() when the workflow was started. */
  startedMs: number;
  datasetBytes: number;
  generateS: number;
  /** Earlier continuations: when each began and how long the bench had been gone. */
  continuations: Array<{ atMs: number; gapSeconds: number }>;
}
const ATTEMPT_FILE = 'attempt.json';
/** Rewritten with Date.now() every ALIVE_MS while the bench watches the run: a continuation's gap starts there. */
const ALIVE_FILE = 'alive';
const ALIVE_MS = 30_000;

/** Temporal's hard limits on one workflow's history (the server terminates a run past either). */
const HISTORY_EVENT_LIMIT = 51_200;
const HISTORY_BYTES_LIMIT = 50 * 1024 * 1024;
/** How often the bench samples the phase and the processes' CPU time (a phase shorter than this is attributed coarsely). */
const SAMPLE_MS = 500;
/** Rows generated and written per chunk of the dataset file. */
const WRITE_CHUNK = 10_000;
const TASK_QUEUE = 'dqe-scale';

async function writeDataset(file: string, n: number): Promise<number> {
  const source = realTextSource();
  const stream = createWriteStream(file);
  for (let s = 0; s < n; s += WRITE_CHUNK) {
    const lines = realTextRows(s, Math.min(n, s + WRITE_CHUNK), seed, source).map((r) => `${JSON.stringify(r)}\n`).join('');
    if (!stream.write(lines)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  return stream.bytesWritten;
}

function startWorker(i: number, address: string, cacheDir: string, logFile: string): ChildProcess {
  const cmd = [process.execPath, 'bin/dqe.js', 'worker', '--task-queue', TASK_QUEUE];
  const pinned = cores.length > 0 ? ['taskset', '-c', cores[i % cores.length]!, ...cmd] : cmd;
  const log = createWriteStream(logFile);
  const child = spawn(pinned[0]!, pinned.slice(1), {
    env: { ...process.env, TEMPORAL_ADDRESS: address, DQE_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A new attempt's folder with its dataset, or the folder of the attempt to continue (its record updated). */
async function prepare(n: number): Promise<{ dir: string; attempt: Attempt; gapSeconds: number }> {
  if (continueDir !== undefined) {
    const dir = path.resolve(continueDir);
    const attempt = JSON.parse(readFileSync(path.join(dir, ATTEMPT_FILE), 'utf8')) as Attempt;
    const now = Date.now();
    const gapSeconds = (now - Number(readFileSync(path.join(dir, ALIVE_FILE), 'utf8'))) / 1000;
    attempt.continuations.push({ atMs: now, gapSeconds: +gapSeconds.toFixed(1) });
    writeFileSync(path.join(dir, ATTEMPT_FILE), JSON.stringify(attempt));
    console.error(`${n} rows: continuing ${attempt.workflowId} in ${dir} after ${gapSeconds.toFixed(0)} s away; load ${loadavg()}`);
    return { dir, attempt, gapSeconds: attempt.continuations.reduce((t, c) => t + c.gapSeconds, 0) };
  }
  const dir = reuseSample === undefined ? await mkdtemp(path.join(os.tmpdir(), `dqe-bench-scale-${n}-`)) : await placeSample(reuseSample);
  const genStart = performance.now();
  const datasetBytes = await writeDataset(path.join(dir, 'real-text.jsonl'), n);
  const generateS = (performance.now() - genStart) / 1000;
  console.error(`${n} rows: dataset ${(datasetBytes / 2 ** 20).toFixed(1)} MiB written in ${generateS.toFixed(1)} s; load ${loadavg()}`);
  const attempt: Attempt = { workflowId: `bench-scale-${n}-${Date.now()}`, startedMs: 0, datasetBytes, generateS, continuations: [] };
  // The run directory holds the kept sample: a lock naming this workflow as a run that was killed lets it resume there.
  if (reuseSample !== undefined) writeFileSync(path.join(dir, 'run', RUN_LOCK_FILE), JSON.stringify({ workflowId: attempt.workflowId, runId: 'kept-sample', state: 'running' }));
  return { dir, attempt, gapSeconds: 0 };
}

/**
 * --reuse-sample: creates the folder the kept run ran in and puts the kept sample phase's files in its run
 * directory's work folder; returns the folder.
 */
async function placeSample(kept: string): Promise<string> {
  const work = path.join(kept, 'work');
  const manifests = readdirSync(work).filter((f) => /^sample\.[0-9a-f]+\.json$/u.test(f));
  if (manifests.length !== 1) throw new Error(`--reuse-sample: ${work} holds ${manifests.length} sample manifests, expected 1`);
  const { orderPath } = JSON.parse(readFileSync(path.join(work, manifests[0]!), 'utf8')) as { orderPath: string };
  const runWork = path.dirname(orderPath);
  const dir = path.dirname(path.dirname(runWork));
  if (existsSync(dir)) throw new Error(`--reuse-sample: ${dir} (where the kept run ran) exists; remove it first`);
  mkdirSync(runWork, { recursive: true });
  const prefix = manifests[0]!.slice(0, -'json'.length);
  for (const f of readdirSync(work).filter((f) => f.startsWith(prefix))) await cp(path.join(work, f), path.join(runWork, f));
  return dir;
}

async function runSize(n: number): Promise<Record<string, unknown>> {
  const { dir, attempt, gapSeconds } = await prepare(n);
  const { datasetBytes, generateS, workflowId } = attempt;
  const dataset = path.join(dir, 'real-text.jsonl');
  const alive = () => writeFileSync(path.join(dir, ALIVE_FILE), String(Date.now()));
  const server = await startDevServer({ dbFile: path.join(dir, 'temporal.db') });
  const workers = Array.from({ length: workerCount }, (_, i) => startWorker(i, server.address, path.join(dir, 'cache'), path.join(dir, `worker-${i}.log`)));
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const runDir = path.join(dir, 'run');
  const pids = workers.map((w) => w.pid!);
  const phaseCpu: Record<string, number[]> = {};
  const serverCpu: Record<string, number> = {};
  const peaks = { workers: pids.map(() => 0), server: 0 };
  // Per phase: each worker's peak RSS while the phase ran (VmHWM reset when the phase changes) and its RSS
  // when the phase began (what earlier phases left resident).
  const phaseRss: Record<string, { peak: number[]; atStart: number[] }> = {};
  const loads: string[] = [];
  let failed = false;
  try {
    const loadStart = loadavg();
    const started = performance.now();
    let handle;
    if (continueDir === undefined) {
      attempt.startedMs = Date.now();
      handle = await client.workflow.start('dqe', {
        taskQueue: TASK_QUEUE,
        workflowId,
        args: [{ dataset, outputDir: runDir, seed, embedder: embedderName === 'hash' ? { name: 'hash', dim } : { name: 'minilm' }, trainer: 'linear', judge: 'offline', vectorStore: 'embedded', ...(twoFold === undefined ? {} : { twoFold }) }],
      });
      writeFileSync(path.join(dir, ATTEMPT_FILE), JSON.stringify(attempt));
    } else {
      handle = client.workflow.getHandle(workflowId);
    }
    alive();
    let lastAlive = Date.now();
    let last = { workers: pids.map((p) => procCpuSeconds(p, true)), server: procCpuSeconds(server.pid, true), phase: 'start' };
    const result = handle.result();
    let done = false;
    void result.then(
      () => (done = true),
      () => (done = true),
    );
    let samples = 0;
    while (!done) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      let phase = last.phase;
      try {
        phase = (await handle.query(progressQuery)).phase;
      } catch {
        // A query during a workflow task or before the first one: keep the last phase.
      }
      const now = { workers: pids.map((p) => procCpuSeconds(p, true)), server: procCpuSeconds(server.pid, true), phase };
      // The overall peak first: a reset below loses the peak of the phase that ended.
      pids.forEach((p, i) => (peaks.workers[i] = Math.max(peaks.workers[i]!, peakRss(p))));
      const lastRss = (phaseRss[last.phase] ??= { peak: pids.map(() => 0), atStart: pids.map(() => 0) });
      pids.forEach((p, i) => (lastRss.peak[i] = Math.max(lastRss.peak[i]!, peakRss(p))));
      if (phase !== last.phase) {
        phaseRss[phase] = { peak: pids.map(() => 0), atStart: pids.map((p) => procRss(p)) };
        pids.forEach((p) => resetPeakRss(p));
      }
      // CPU used since the last sample goes to the phase seen at its end (off by one sample at a boundary).
      const perWorker = (phaseCpu[phase] ??= pids.map(() => 0));
      now.workers.forEach((c, i) => (perWorker[i]! += c - last.workers[i]!));
      serverCpu[phase] = (serverCpu[phase] ?? 0) + now.server - last.server;
      pids.forEach((p, i) => (peaks.workers[i] = Math.max(peaks.workers[i]!, peakRss(p))));
      peaks.server = Math.max(peaks.server, peakRss(server.pid));
      if (Date.now() - lastAlive >= ALIVE_MS) {
        alive();
        lastAlive = Date.now();
      }
      if (samples++ % 60 === 0) {
        loads.push(loadavg());
        console.error(`  ${((performance.now() - started) / 1000).toFixed(0)} s: ${phase}; load ${loads.at(-1)}`);
      }
      last = now;
    }
    await result;
    // A continued attempt: from the workflow's start, less the time no bench (and no worker) was there.
    const wallSeconds = continueDir === undefined ? (performance.now() - started) / 1000 : (Date.now() - attempt.startedMs) / 1000 - gapSeconds;
    const loadEnd = loadavg();
    const report = JSON.parse(await readFile(path.join(runDir, 'report.json'), 'utf8')) as Report;
    const desc = await handle.describe();
    const events = desc.historyLength;
    const bytes = Number(desc.raw.workflowExecutionInfo?.historySizeBytes ?? 0);
    const phases = report.timings.phases;
    const activitySeconds = report.timings.activitySeconds;
    const phaseTable = Object.fromEntries(
      Object.entries(phases).map(([p, wall]) => [
        p,
        {
          wallS: +wall.toFixed(2),
          activityS: activitySeconds[p] !== undefined ? +activitySeconds[p].toFixed(2) : null,
          workerCpuS: (phaseCpu[p] ?? []).map((c) => +c.toFixed(2)),
          serverCpuS: +(serverCpu[p] ?? 0).toFixed(2),
        },
      ]),
    );
    const sha = async (f: string) => (await import('node:crypto')).createHash('sha256').update(await readFile(path.join(runDir, f))).digest('hex');
    const entry: Record<string, unknown> = {
      rows: n,
      wallSeconds: +wallSeconds.toFixed(1),
      workers: workerCount,
      cores: cores.length > 0 ? cores : 'unpinned',
      embedder: embedderName,
      twoFold: report.twoFold !== null && report.twoFold !== undefined,
      dim,
      datasetBytes,
      generateDatasetS: +generateS.toFixed(1),
      // Continued attempts: worker CPU, peaks and loads below are the last process's only; phase walls include the gaps.
      ...(attempt.continuations.length > 0 ? { continuations: attempt.continuations, gapSeconds: +gapSeconds.toFixed(1) } : {}),
      // The sample phase's output came from this kept run: its wall below is the lookup, not the sampling.
      ...(reuseSample !== undefined ? { sampleReusedFrom: path.resolve(reuseSample) } : {}),
      phases: phaseTable,
      otherCpuS: Object.fromEntries(Object.entries(phaseCpu).filter(([p]) => !(p in phases)).map(([p, c]) => [p, c.map((x) => +x.toFixed(2))])),
      workerCpuTotalS: pids.map((p) => +procCpuSeconds(p, true).toFixed(1)),
      serverCpuTotalS: +procCpuSeconds(server.pid, true).toFixed(1),
      peakRssBytes: { workers: peaks.workers, server: peaks.server },
      // Sampled every SAMPLE_MS: a phase shorter than that shares its peak with its neighbours.
      rssByPhaseBytes: phaseRss,
      matrixBytes: report.counts.kept * dim * 4,
      fanOut: report.timings.fanOut,
      counts: report.counts,
      history: {
        events,
        bytes,
        eventLimit: HISTORY_EVENT_LIMIT,
        bytesLimit: HISTORY_BYTES_LIMIT,
        eventsShareOfLimit: +(events / HISTORY_EVENT_LIMIT).toFixed(5),
        bytesShareOfLimit: +(bytes / HISTORY_BYTES_LIMIT).toFixed(5),
      },
      outputsSha256: { final: await sha('final.jsonl'), categories: await sha('categories.jsonl') },
      loadavgStart: loadStart,
      loadavgEnd: loadEnd,
      loadavgDuring: loads,
    };
    if (compareWith) {
      const same = async (f: string) => (await readFile(path.join(compareWith, f))).equals(await readFile(path.join(runDir, f)));
      entry.identicalTo = { dir: compareWith, final: await same('final.jsonl'), categories: await same('categories.jsonl') };
    }
    console.error(`${n} rows: ${JSON.stringify({ wallSeconds: entry.wallSeconds, phases: phaseTable, history: entry.history, peakRssBytes: entry.peakRssBytes })}`);
    // Kept after the figures are printed: a copy that fails (a full disk) loses the copy, not the measurement.
    if (keep) {
      try {
        mkdirSync(keep, { recursive: true });
        await cp(runDir, path.join(keep, String(n)), { recursive: true });
      } catch (err) {
        entry.keepError = String(err);
        console.error(`${n} rows: the run directory was not kept: ${String(err)}`);
        await rm(path.join(keep, String(n)), { recursive: true, force: true });
      }
    }
    return entry;
  } catch (err) {
    // The attempt's folder stays for --continue (the workflow may still be running, or its database says why not).
    failed = true;
    console.error(`${n} rows: the bench failed; the attempt stays in ${dir} (--continue=${dir} finishes its workflow)`);
    throw err;
  } finally {
    await Promise.all(workers.map(stopChild));
    await connection.close();
    await server.stop();
    if (!failed) await rm(dir, { recursive: true, force: true });
  }
}

const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { entries?: Array<{ rows: number }> }).entries ?? [] : [];
const entries: Array<Record<string, unknown> & { rows: number }> = previous.filter((e) => !sizes.includes(e.rows));
for (const n of sizes) {
  entries.push((await runSize(n)) as never);
  entries.sort((a, b) => a.rows - b.rows);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ generatedBy: 'bench/scale.ts', argv: process.argv.slice(2), machine: machine(), entries }, null, 2)}\n`);
  console.error(`wrote ${out}`);
}
