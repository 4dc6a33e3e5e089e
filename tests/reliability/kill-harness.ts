// The crash drill behind tests/reliability/crash.test.ts and bench/kill-harness.ts: one dqe run
// uninterrupted, then the same run (same input, seed, workflow id and run directory) while the CPU
// worker is SIGKILLed at seeded random moments inside each phase and restarted, then again while the
// Temporal dev server is SIGKILLed and restarted on its SQLite file; the outputs are then compared.
import { readdir, readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { Rng } from '../../core/random.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { freePort, portOpen, startDevServer, type DevServer } from '../../infra/temporal.js';
import type { DqeResult } from '../../workflows/index.js';
import type { WorkerEvent } from '../fixtures/worker-process.js';
import { startWorkerProcess, writeWorkflowBundle, type WorkerProcess } from './worker-processes.js';
import { DATA_FILES } from '../../core/run-layout.js';

/** The run's data outputs, which must be byte-identical however often the run was interrupted. */
export const DATA_OUTPUTS = DATA_FILES;

/**
 * Parts of report.json that describe how the run went rather than what it found, so they differ
 * between an interrupted and an uninterrupted run: wall and activity times and which worker ran each
 * shard (`timings`), and how many vectors an attempt found in the embedding cache rather than
 * computed (`embedding.reused`, `embedding.embedded`: a killed attempt leaves its vectors in the cache
 * for the next one, so the split moves; their sum, the kept rows, does not).
 */
export const RUN_ACCOUNTING = ['timings', 'embedding.reused', 'embedding.embedded'] as const;

/** A dead worker's sticky queue keeps the run's next workflow task this long before another worker gets it, in ms. */
const STICKY_TIMEOUT_MS = 1_000;
/** Workflow task timeout of the drilled runs: a task lost with its worker is retried after this. */
const WORKFLOW_TASK_TIMEOUT = '5s';
/** How long the dev server stays down between its kill and its restart, in ms. */
const SERVER_DOWNTIME_MS = 1_500;
/** The longest any drilled run may take, in ms, before the drill calls it hung. */
const RUN_DEADLINE_MS = 15 * 60_000;
/**
 * A kill lands a random time into its activity, up to this fraction of how long the activity is
 * expected to take: its time in the reference run, scaled by how fast this run has been so far (the
 * machine's load changes from run to run). Below 1, so that a faster attempt still gets hit.
 */
const AIM_FRACTION = 0.8;
/** Activities shorter than this in the reference run (ms) say little about the machine's speed. */
const MIN_SPEED_SAMPLE_MS = 20;
/** Kills of one activity type at most: its retry policy allows 10 attempts, and each kill spends one. */
const MAX_KILLS_PER_ACTIVITY = 3;

export interface KillHarnessOptions {
  /** SIGKILLs of the CPU worker during the second run. */
  workerKills: number;
  /** SIGKILLs (and restarts) of the Temporal dev server during the third run; 0 skips that run. */
  serverKills: number;
  /** Seeds the dqe run and the kill plan. */
  seed: number;
  /** SpamAssassin mails in the dataset (a few bad rows are added). */
  rows: number;
  /** The runs' `heartbeatTimeoutSeconds`: how soon a killed worker's activity is retried. */
  heartbeatTimeoutSeconds: number;
  /** Scratch folder (dataset, run directories, caches, the dev server's database). */
  workDir: string;
  log?: (line: string) => void;
}

export interface Kill {
  /** What was killed: the CPU worker or the dev server. */
  target: 'worker' | 'server';
  /** The activity type the plan aimed at, and what was actually running in the worker when the kill landed. */
  aimedAt: string;
  inFlight: string | null;
  /** Attempt number of the in-flight activity (1 = its first run). */
  attempt: number | null;
  /** Milliseconds between the aimed-at activity's start and the kill. */
  delayMs: number;
  /** Seconds from the run's start to the kill. */
  atSeconds: number;
}

export interface RunComparison {
  /** Data outputs byte-identical to the uninterrupted run's. */
  identical: string[];
  /** Data outputs that differ (must be empty). */
  differing: string[];
  /** Dotted paths where report.json differs, outside RUN_ACCOUNTING (must be empty). */
  reportDifferences: string[];
  /** The kept rows, which embedding.reused + embedding.embedded must add up to. */
  embeddedTotal: { reference: number; drilled: number };
  /** The cache split that RUN_ACCOUNTING leaves out of the comparison, as it came out. */
  embedding: { reference: { reused: number; embedded: number }; drilled: { reused: number; embedded: number } };
  /** Temporary files killed attempts left behind (`<name>.tmp-<pid>-<hex>`): never read, never renamed into place. */
  leftoverTempFiles: number;
}

export interface DrillRun {
  seconds: number;
  kills: Kill[];
  /**
   * Planned kills that never came: the run finished first, because an earlier kill aimed at one of
   * the last activities landed after it had ended (only possible at the end of the plan).
   */
  notReached: string[];
  /** Attempts per activity type, over every worker process of the run. */
  attempts: Record<string, number>;
  /** Worker processes the run used (1 + worker kills). */
  workerProcesses: number;
  comparison: RunComparison;
}

export interface KillHarnessResult {
  rows: number;
  seed: number;
  heartbeatTimeoutSeconds: number;
  reference: { seconds: number; activitySeconds: Record<string, number>; maxBlockMs: Record<string, number>; counts: DqeResult['counts'] };
  workerKills: DrillRun;
  serverKills?: DrillRun;
}

type StartEvent = Extract<WorkerEvent, { event: 'activity-start' }>;

/** Compares two JSON values, listing the dotted paths where they differ (skipping `ignore`). */
function differences(a: unknown, b: unknown, ignore: readonly string[], path = ''): string[] {
  if (ignore.includes(path)) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Object.is(a, b) ? [] : [path || '(root)'];
  if (Array.isArray(a) !== Array.isArray(b)) return [path || '(root)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) out.push(...differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], ignore, path ? `${path}.${k}` : k));
  return out;
}

/** Compares a drilled run's directory with the uninterrupted run's. */
export async function compareRuns(referenceDir: string, drilledDir: string): Promise<RunComparison> {
  const identical: string[] = [];
  const differing: string[] = [];
  for (const name of DATA_OUTPUTS) {
    const [a, b] = await Promise.all([readFile(join(referenceDir, name)), readFile(join(drilledDir, name))]);
    (a.equals(b) ? identical : differing).push(name);
  }
  const [ra, rb] = await Promise.all([readFile(join(referenceDir, 'report.json'), 'utf8'), readFile(join(drilledDir, 'report.json'), 'utf8')]);
  const reportA = JSON.parse(ra) as { embedding: { reused: number; embedded: number } };
  const reportB = JSON.parse(rb) as { embedding: { reused: number; embedded: number } };
  const leftovers = (await readdir(drilledDir, { recursive: true })).filter((name) => /\.tmp-\d+/u.test(name));
  return {
    identical,
    differing,
    reportDifferences: differences(reportA, reportB, RUN_ACCOUNTING),
    embeddedTotal: { reference: reportA.embedding.reused + reportA.embedding.embedded, drilled: reportB.embedding.reused + reportB.embedding.embedded },
    embedding: { reference: { reused: reportA.embedding.reused, embedded: reportA.embedding.embedded }, drilled: { reused: reportB.embedding.reused, embedded: reportB.embedding.embedded } },
    leftoverTempFiles: leftovers.length,
  };
}

/** Which activity types get how many kills: every type once before any twice, the extra ones seeded. */
function killPlan(types: readonly string[], kills: number, rng: Rng): string[] {
  const perType = new Map(types.map((t) => [t, 0]));
  for (let k = 0; k < kills; k++) {
    const round = Math.floor(k / types.length);
    if (round >= MAX_KILLS_PER_ACTIVITY) throw new Error(`${kills} kills over ${types.length} activity types exceed ${MAX_KILLS_PER_ACTIVITY} per type`);
    const candidates = types.filter((t) => perType.get(t) === round);
    const pick = candidates[rng.nextInt(candidates.length)]!;
    perType.set(pick, round + 1);
  }
  // In the order the run reaches them, each type's kills together.
  return types.flatMap((t) => Array<string>(perType.get(t)!).fill(t));
}

/** Runs the drill; throws if a run fails or hangs. */
export async function runKillHarness(o: KillHarnessOptions): Promise<KillHarnessResult> {
  const log = o.log ?? (() => {});
  const rng = new Rng(o.seed);
  await mkdir(o.workDir, { recursive: true });

  // A dataset of real mails plus a few rows every run must reject the same way.
  const dataset = join(o.workDir, 'dataset.jsonl');
  const mails = spamAssassinJsonl({ limit: o.rows }).trim().split('\n');
  const first = JSON.parse(mails[0]!) as { text: string; label: string };
  await writeFile(dataset, `${[...mails, '{"text": "broken', JSON.stringify({ text: first.text, label: first.label }), JSON.stringify({ text: 'no label here' })].join('\n')}\n`);

  const port = await freePort();
  const uiPort = await freePort();
  const dbFile = join(o.workDir, 'temporal.db');
  let server: DevServer = await startDevServer({ port, uiPort, dbFile });
  const address = server.address;
  const bundlePath = await writeWorkflowBundle(o.workDir);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const taskQueue = `dqe-drill-${o.seed}-${process.pid}`;
  const workflowId = `dqe-drill-${o.seed}`;
  const runDir = join(o.workDir, 'run');
  // hash: the drill kills workers under a 2-second heartbeat timeout, shorter than one onnxruntime run of the
  // default embedder can hold a loaded worker's event loop; what it checks (resume, identical outputs) is the embedder's cache either way.
  const input = { dataset, outputDir: runDir, seed: o.seed, heartbeatTimeoutSeconds: o.heartbeatTimeoutSeconds, embedder: 'hash' };

  let worker: WorkerProcess | undefined;
  const allEvents: WorkerEvent[] = [];
  // Activity starts are read from `allEvents` from `cursor` on, so none is missed while a worker restarts.
  let cursor = 0;
  let wake: (() => void) | undefined;
  const startWorker = async (cache: string, n: number) => {
    worker = await startWorkerProcess({
      address,
      taskQueue,
      bundlePath,
      identity: `drill-worker-${n}`,
      env: { ...process.env, DQE_CACHE_DIR: cache },
      stickyTimeoutMs: STICKY_TIMEOUT_MS,
      onEvent: (e) => {
        allEvents.push(e);
        wake?.();
      },
    });
  };
  /** The next activity start reported by the current worker (a killed worker's late lines are skipped). */
  const nextStart = async (): Promise<StartEvent> => {
    for (;;) {
      while (cursor < allEvents.length) {
        const e = allEvents[cursor++]!;
        if (e.event === 'activity-start' && e.pid === worker?.pid) return e;
      }
      await new Promise<void>((r) => (wake = r));
    }
  };

  /** Starts the run and waits for its result, riding out a server that is down for a while. */
  const startRun = async () => {
    await client.workflow.start('dqe', { taskQueue, workflowId, args: [input], workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT });
    const started = performance.now();
    const result = (async () => {
      for (;;) {
        try {
          return (await client.workflow.getHandle(workflowId).result()) as DqeResult;
        } catch (err) {
          if (err instanceof WorkflowFailedError) throw err;
          if (performance.now() - started > RUN_DEADLINE_MS) throw new Error(`run ${workflowId} did not finish within ${RUN_DEADLINE_MS / 60_000} minutes`, { cause: err });
          await sleep(500);
        }
      }
    })();
    result.catch(() => {});
    return { started, result };
  };

  try {
    // 1. The uninterrupted reference run.
    allEvents.length = 0;
    await startWorker(join(o.workDir, 'cache-reference'), 0);
    const ref = await startRun();
    const refResult = await ref.result;
    const refSeconds = (performance.now() - ref.started) / 1000;
    await worker!.stop();
    const order: string[] = [];
    const activitySeconds: Record<string, number> = {};
    const maxBlockMs: Record<string, number> = {};
    for (const e of allEvents) {
      if (e.event === 'activity-start' && !order.includes(e.type)) order.push(e.type);
      if (e.event === 'activity-end') {
        activitySeconds[e.type] = (activitySeconds[e.type] ?? 0) + e.seconds;
        maxBlockMs[e.type] = Math.max(maxBlockMs[e.type] ?? 0, e.maxBlockMs);
      }
    }
    const referenceDir = join(o.workDir, 'reference');
    await rename(runDir, referenceDir);
    log(`reference run: ${refSeconds.toFixed(1)} s, ${order.length} activity types: ${order.map((t) => `${t} ${(activitySeconds[t]! * 1000).toFixed(0)} ms`).join(', ')}`);

    /** One drilled run: `kill` is called at each planned moment and must bring the run's machinery back. */
    const drill = async (target: Kill['target'], kills: number, cache: string, kill: () => Promise<void>): Promise<DrillRun> => {
      allEvents.length = 0;
      cursor = 0;
      let processes = 1;
      await startWorker(cache, 1);
      const run = await startRun();
      const plan = killPlan(order, kills, rng);
      const done: Kill[] = [];
      const notReached: string[] = [];
      const finished = run.result.then(() => undefined);
      for (const [k, aimedAt] of plan.entries()) {
        // The next start of the aimed-at type, or of a later one if the run has already gone past it.
        let start: StartEvent | undefined;
        do start = await Promise.race([nextStart(), finished]);
        while (start && order.indexOf(start.type) < order.indexOf(aimedAt));
        if (!start) {
          notReached.push(...plan.slice(k));
          log(`the run finished before ${target} kill ${k + 1} (aimed at ${aimedAt}); ${plan.length - k} planned kills not reached`);
          break;
        }
        // How fast this run goes compared with the reference, from the activities finished so far.
        let observed = 0;
        let expected = 0;
        for (const e of allEvents) {
          if (e.event === 'activity-end' && e.ok && activitySeconds[e.type]! * 1000 >= MIN_SPEED_SAMPLE_MS) {
            observed += e.seconds;
            expected += activitySeconds[e.type]!;
          }
        }
        const speed = expected > 0 ? observed / expected : 1;
        // Squared, so kills lean towards the start of the activity: a fast attempt of a short one still gets hit.
        const delayMs = Math.round(rng.nextFloat() ** 2 * activitySeconds[start.type]! * speed * 1000 * AIM_FRACTION);
        await sleep(delayMs);
        const atSeconds = (performance.now() - run.started) / 1000;
        // For a worker kill, read after its death: a fast activity may have ended just before it.
        let flying = worker!.inFlight();
        const killed = worker!;
        await kill();
        if (target === 'worker') flying = killed.inFlight();
        cursor = allEvents.length;
        if (target === 'worker') {
          processes++;
          await startWorker(cache, processes);
        }
        done.push({ target, aimedAt, inFlight: flying?.type ?? null, attempt: flying?.attempt ?? null, delayMs, atSeconds: Math.round(atSeconds * 10) / 10 });
        log(`${target} kill ${done.length}/${plan.length} at ${atSeconds.toFixed(1)} s: aimed at ${aimedAt}, ${delayMs} ms after ${start.type} (attempt ${start.attempt}) started; in flight: ${flying ? `${flying.type} attempt ${flying.attempt}` : 'no activity'}`);
      }
      await run.result;
      const seconds = (performance.now() - run.started) / 1000;
      await worker!.stop();
      const attempts: Record<string, number> = {};
      for (const e of allEvents) if (e.event === 'activity-start') attempts[e.type] = (attempts[e.type] ?? 0) + 1;
      return { seconds, kills: done, notReached, attempts, workerProcesses: processes, comparison: await compareRuns(referenceDir, runDir) };
    };

    // 2. The same run while the worker is SIGKILLed and restarted.
    const workerKills = await drill('worker', o.workerKills, join(o.workDir, 'cache-worker-kills'), () => worker!.kill());
    await rename(runDir, join(o.workDir, 'worker-kills'));
    log(`worker kills: ${workerKills.kills.length} survived in ${workerKills.seconds.toFixed(1)} s; identical: ${workerKills.comparison.identical.join(', ')}`);

    // 3. The same run while the dev server is SIGKILLed and restarted on the same database file.
    let serverKills: DrillRun | undefined;
    if (o.serverKills > 0) {
      serverKills = await drill('server', o.serverKills, join(o.workDir, 'cache-server-kills'), async () => {
        process.kill(server.pid, 'SIGKILL');
        while (await portOpen(port)) await sleep(50);
        await sleep(SERVER_DOWNTIME_MS);
        server = await startDevServer({ port, uiPort, dbFile });
      });
      await rename(runDir, join(o.workDir, 'server-kills'));
      log(`server kills: ${serverKills.kills.length} survived in ${serverKills.seconds.toFixed(1)} s; identical: ${serverKills.comparison.identical.join(', ')}`);
    }
    return {
      rows: o.rows,
      seed: o.seed,
      heartbeatTimeoutSeconds: o.heartbeatTimeoutSeconds,
      reference: { seconds: refSeconds, activitySeconds, maxBlockMs, counts: refResult.counts },
      workerKills,
      ...(serverKills ? { serverKills } : {}),
    };
  } finally {
    await worker?.kill();
    await connection.close();
    await server.stop();
    await rm(join(o.workDir, 'workflow-bundle.js'), { force: true });
  }
}
