// Memory and time of the streaming phases (load, clean, embed, merge; then embed again from the warm cache, as a
// re-curation of the same rows would) as the data grows: each size runs in a child
// process of its own, so its peak RSS is its own; the phases are the activity code, called in-process.
// Streaming means the peak stays near a constant while the dataset grows; holding every row as an object
// would make it grow with the dataset (hundreds of bytes per row).
//
//   npx tsx bench/io.ts [--sizes=100000,400000,1000000] [--dim=256] [--concurrency=<cores>] [--out=bench/results/io.json]
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createActivities } from '../activities/index.js';
import { writeJsonAtomic } from '../adapters/files.js';
import { parseDqeInput } from '../core/input.js';
import { Rng } from '../core/random.js';
import { shardsOf } from '../core/shards.js';
import { machine } from './machine.js';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const sizes = arg('sizes', '100000,400000,1000000').split(',').map(Number);
const dim = Number(arg('dim', '256'));
const out = arg('out', 'bench/results/io.json');
/** Embed shards at once: a worker's default activity slots (one per core). */
const concurrency = Number(arg('concurrency', String(availableParallelism())));
const VOCABULARY = 20_000;
const LABELS = ['billing', 'shipping', 'returns', 'account', 'other'];

/**
 * n JSONL rows of 10–60 Zipf-distributed words with one of five labels; 2% repeat an earlier text (with
 * its label, or another one: duplicates and conflicts for the cleaner), 0.2% lack their label.
 */
async function writeDataset(path: string, n: number): Promise<void> {
  const rng = new Rng(7);
  const words = Array.from({ length: VOCABULARY }, (_, i) => `w${i.toString(36)}`);
  const recent: string[] = [];
  const stream = createWriteStream(path);
  for (let i = 0; i < n; i++) {
    let text: string;
    if (recent.length > 0 && rng.nextFloat() < 0.02) text = recent[rng.nextInt(recent.length)]!;
    else {
      const len = 10 + rng.nextInt(51);
      const parts: string[] = [];
      for (let w = 0; w < len; w++) parts.push(words[Math.min(VOCABULARY - 1, Math.floor(Math.exp(rng.nextFloat() * Math.log(VOCABULARY))) - 1)]!);
      text = parts.join(' ');
      if (recent.length < 1000) recent.push(text);
      else recent[rng.nextInt(1000)] = text;
    }
    const row = rng.nextFloat() < 0.002 ? { text } : { text, label: LABELS[rng.nextInt(LABELS.length)] };
    if (!stream.write(`${JSON.stringify(row)}\n`)) await new Promise<void>((r) => stream.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

const mib = (bytes: number): number => +(bytes / 2 ** 20).toFixed(1);
const peak = (): number => process.resourceUsage().maxRSS * 1024;

/** One size, in this (child) process: the phases in order, the peak RSS after each. */
async function child(n: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-bench-io-'));
  try {
    const dataset = join(dir, 'data.jsonl');
    await writeDataset(dataset, n);
    const parsed = parseDqeInput({ dataset, outputDir: join(dir, 'run'), embedder: { name: 'hash', dim } });
    if (!parsed.ok) throw new Error('bad input');
    const c = parsed.config;
    const runDir = join(dir, 'run');
    const a = createActivities({ cacheDir: join(dir, 'cache'), env: {} });
    const baseline = process.memoryUsage().rss;
    const phases: Record<string, { seconds: number; peakRssMiB: number }> = {};
    const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const v = await fn();
      phases[name] = { seconds: +((performance.now() - t) / 1000).toFixed(1), peakRssMiB: mib(peak()) };
      return v;
    };
    const load = await timed('load', () => a.loadDataset({ runDir, dataset: c.dataset, textField: c.textField, labelField: c.labelField }));
    const clean = await timed('clean', () => a.cleanDataset({ runDir, load }));
    // Shards side by side, as many as a worker runs at once by default (one per core).
    const embedAll = async (into: string) => {
      const list = shardsOf(clean.kept, c.shardSize);
      const got: Awaited<ReturnType<typeof a.embedShard>>[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, list.length) }, async () => {
          while (next < list.length) {
            const i = next++;
            got[i] = await a.embedShard({ runDir: into, clean, embedder: c.embedder, shard: list[i]! });
          }
        }),
      );
      return got;
    };
    const shards = await timed('embed', () => embedAll(runDir));
    const embed = await timed('merge', () => a.mergeEmbeddings({ runDir, clean, shards }));
    // A re-run over the same rows (re-curation): every vector comes from the cache the first pass filled.
    const again = await timed('embedCached', () => embedAll(join(dir, 'run-again')));
    if (again.some((s) => s.embedded !== 0)) throw new Error('the re-run embedded rows the cache should have held');
    const result = {
      rows: n,
      datasetMiB: mib((await stat(dataset)).size),
      valid: load.valid,
      rejected: { load: load.rejected, clean: clean.rejected },
      kept: clean.kept,
      matrixMiB: mib((await stat(embed.matrix.path)).size),
      dim: embed.matrix.dim,
      shardSize: c.shardSize,
      embedConcurrency: concurrency,
      rssBeforePhasesMiB: mib(baseline),
      phases,
      peakRssMiB: mib(peak()),
    };
    process.stdout.write(`IO_RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const only = process.argv.find((a) => a.startsWith('--child='));
if (only) {
  await child(Number(only.slice('--child='.length)));
} else {
  const results: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync(process.execPath, [...process.execArgv, self, `--child=${n}`, `--dim=${dim}`, `--concurrency=${concurrency}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('IO_RESULT '));
    if (!line) throw new Error(`size ${n} failed (exit ${String(r.status)})`);
    const res = JSON.parse(line.slice('IO_RESULT '.length)) as Record<string, unknown> & { phases: Record<string, { seconds: number; peakRssMiB: number }> };
    results.push(res);
    console.error(`[io bench] ${n} rows: peak RSS ${String(res.peakRssMiB)} MiB (dataset ${String(res.datasetMiB)} MiB, matrix ${String(res.matrixMiB)} MiB)`);
  }
  const PHASES = ['load', 'clean', 'embed', 'merge', 'embedCached'];
  console.log('rows      dataset MiB  kept      matrix MiB  load s  clean s  embed s  merge s  cached s  peak RSS MiB (load/clean/embed/merge/cached)');
  for (const r of results as Array<Record<string, number> & { phases: Record<string, { seconds: number; peakRssMiB: number }> }>) {
    const p = r.phases;
    console.log(
      [String(r.rows).padEnd(9), String(r.datasetMiB).padEnd(12), String(r.kept).padEnd(9), String(r.matrixMiB).padEnd(11), ...PHASES.map((k) => String(p[k]!.seconds).padEnd(8)), PHASES.map((k) => p[k]!.peakRssMiB).join(' / ')].join(' '),
    );
  }
  await writeJsonAtomic(out, { machine: machine(), dim, results });
  console.log(`saved ${out}`);
}
