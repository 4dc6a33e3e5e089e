// Benchmark of the nearest-neighbour step: exact search against the tuned ANN index on seeded Gaussian mixtures
// on the unit sphere (clusters and duplicates): build time, query time, recall@1, peak RSS, up to 1M × 768.
//
// Usage: npx tsx bench/ann.ts [--quick] [--key=value ...]
//   --compare-n=100000 --compare-queries=1000      ANN libraries side by side (usearch i8/f16/f32, hnswlib-node,
//                                                  faiss-node when it installs), recall@1 against exact
//   --sweep=10000,25000,50000,100000                exact vs ANN with queries = query-frac × n: the 'auto' threshold
//   --query-frac=0.05 --sweep-ann=true              false: the sweep skips the HNSW index
//   --big-n=1000000 --big-queries=50000 --recall-sample=1000
//                                                  the target run through the embedded store, in a child process
//                                                  (so its peak RSS is its own); 0 skips it
//   --big-search=ivf                               ivf (default), hnsw (ann, its old name, too); 'auto' falls back to exact search
//                                                  when the target is missed
//   --max-ef=4096                                  largest search breadth calibration may pick (sweep and big)
//   --dim=768 --clusters=64 --noise=0.7 --alpha=0.5 --dup=0.05 --seed=1
//   --subclusters=0 --subnoise=0.25                 >0: a second level (topics → tight groups), see bench/mixture.ts
//   --data-dir=<os tmp>/dqe-bench-ann (generated matrices are cached there) --out=bench/results/ann.json
//   --stages=compare,sweep,big
// --quick shrinks every size for a smoke run of a minute or two.
// Every figure is saved with the 1-minute load average before and after it: other work on the machine
// slows wall time, so CPU seconds are recorded too.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exactNearest, type Neighbour } from '../core/categorise.js';
import { HnswIndex, DEFAULT_HNSW_TUNING, type HnswTuning } from '../adapters/vector-stores/hnsw.js';
import { usearchExactTop1 } from './usearch-exact.js';
import { dot64, maxRowNorm } from '../core/float64-rerank.js';
import { sampleRows, type HnswQuantization } from '../core/index-calibration.js';
import { DEFAULT_ANN_THRESHOLD, createEmbeddedStore } from '../adapters/vector-stores/embedded.js';
import { nearestInBatches } from '../adapters/vector-stores/index.js';
import { exactTop1Gemm } from '../adapters/vector-stores/exact-k.js';
import { DEFAULT_IVF_TUNING } from '../adapters/vector-stores/ivf.js';
import type { StorePoint } from '../adapters/vector-stores/types.js';
import { machine } from './machine.js';
import { timed } from './proc.js';
import { makeMixture, type MixtureParams } from './mixture.js';

type DataParams = MixtureParams;

interface Config extends DataParams {
  readonly compareN: number;
  readonly compareQueries: number;
  readonly sweep: readonly number[];
  /** Whether the sweep also runs the HNSW index (a minute of build at 100k). */
  readonly sweepAnn: boolean;
  readonly queryFrac: number;
  readonly bigN: number;
  readonly bigQueries: number;
  readonly recallSample: number;
  /** The big run's search setting: 'ivf' or 'hnsw' report a missed target; 'auto' would then search exactly (hours). */
  readonly bigSearch: 'ivf' | 'hnsw' | 'auto';
  /** Largest search breadth calibration may choose (the store's default unless given). */
  readonly maxEf: number;
  readonly dataDir: string;
  readonly out: string;
  readonly stages: readonly string[];
}

const FULL: Config = {
  compareN: 100_000,
  compareQueries: 1000,
  sweep: [10_000, 25_000, 50_000, 100_000],
  sweepAnn: true,
  queryFrac: 0.05,
  bigN: 1_000_000,
  bigQueries: 50_000,
  recallSample: 1000,
  bigSearch: 'ivf',
  maxEf: DEFAULT_HNSW_TUNING.maxExpansionSearch,
  dim: 768,
  clusters: 64,
  noise: 0.7,
  subclusters: 0,
  subnoise: 0.25,
  alpha: 0.5,
  dup: 0.05,
  seed: 1,
  dataDir: path.join(os.tmpdir(), 'dqe-bench-ann'),
  out: 'bench/results/ann.json',
  stages: ['compare', 'sweep', 'big'],
};

const QUICK: Partial<Config> = {
  compareN: 10_000,
  compareQueries: 300,
  sweep: [2000, 5000, 10_000],
  bigN: 20_000,
  bigQueries: 1000,
  recallSample: 500,
  dim: 384,
};

/** Candidates re-ranked in float64 per query in the library comparison, as the embedded store does. */
const COMPARE_CANDIDATES = DEFAULT_HNSW_TUNING.candidates;
const COMPARE_EFS = [32, 64, 128, 256, 512];
/** Bytes per read or write call for matrices over 2 GiB (one call cannot move more). */
const IO_CHUNK = 1 << 26;

function parseArgs(argv: readonly string[]): { config: Config; stage: string } {
  let config: Config = argv.includes('--quick') ? { ...FULL, ...QUICK } : { ...FULL };
  let stage = 'main';
  const list = (v: string) => v.split(',').filter(Boolean);
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    const num = Number(value);
    switch (key) {
      case 'compare-n': config = { ...config, compareN: num }; break;
      case 'compare-queries': config = { ...config, compareQueries: num }; break;
      case 'sweep': config = { ...config, sweep: list(value).map(Number) }; break;
      case 'sweep-ann': config = { ...config, sweepAnn: value !== 'false' }; break;
      case 'query-frac': config = { ...config, queryFrac: num }; break;
      case 'big-n': config = { ...config, bigN: num }; break;
      case 'big-queries': config = { ...config, bigQueries: num }; break;
      case 'recall-sample': config = { ...config, recallSample: num }; break;
      case 'big-search': config = { ...config, bigSearch: value === 'auto' || value === 'hnsw' ? value : value === 'ann' ? 'hnsw' : 'ivf' }; break;
      case 'max-ef': config = { ...config, maxEf: num }; break;
      case 'dim': config = { ...config, dim: num }; break;
      case 'clusters': config = { ...config, clusters: num }; break;
      case 'noise': config = { ...config, noise: num }; break;
      case 'subclusters': config = { ...config, subclusters: num }; break;
      case 'subnoise': config = { ...config, subnoise: num }; break;
      case 'alpha': config = { ...config, alpha: num }; break;
      case 'dup': config = { ...config, dup: num }; break;
      case 'seed': config = { ...config, seed: num }; break;
      case 'data-dir': config = { ...config, dataDir: value }; break;
      case 'out': config = { ...config, out: value }; break;
      case 'stages': config = { ...config, stages: list(value) }; break;
      case 'stage': stage = value; break;
      default: throw new Error(`unknown option --${key}`);
    }
  }
  return { config, stage };
}


/**
 * The mixture's first n rows, cached as raw float32 files: a cached file of the same parameters with at
 * least n rows is read as a prefix (rows are drawn in order), else `cacheRows` rows are generated and saved.
 */
function mixture(n: number, p: DataParams, dataDir: string, cacheRows = n): Float32Array {
  mkdirSync(dataDir, { recursive: true });
  const sub = p.subclusters > 0 ? `-sc${p.subclusters}-sn${p.subnoise}` : '';
  const tag = `x${p.dim}-c${p.clusters}-n${p.noise}${sub}-a${p.alpha}-d${p.dup}-s${p.seed}.f32`;
  const cached = readdirSync(dataDir)
    .map((name) => ({ name, rows: Number(/^mixture-(\d+)(x.*)$/.exec(name)?.[1] ?? NaN), tag: /^mixture-\d+(x.*)$/.exec(name)?.[1] }))
    .filter((c) => c.tag === tag && c.rows >= n)
    .sort((a, b) => a.rows - b.rows)[0];
  const out = new Float32Array(n * p.dim);
  const bytes = new Uint8Array(out.buffer);
  if (cached) {
    const file = path.join(dataDir, cached.name);
    const fd = openSync(file, 'r');
    try {
      for (let off = 0; off < bytes.length; ) {
        const got = readSync(fd, bytes, off, Math.min(IO_CHUNK, bytes.length - off), off);
        if (got === 0) throw new Error(`${file}: truncated at byte ${off}`);
        off += got;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
  const rows = Math.max(n, cacheRows);
  const all = makeMixture(rows, p);
  const file = path.join(dataDir, `mixture-${rows}${tag}`);
  const allBytes = new Uint8Array(all.buffer);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (let off = 0; off < allBytes.length; ) off += writeSync(fd, allBytes, off, Math.min(IO_CHUNK, allBytes.length - off));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return rows === n ? all : all.slice(0, n * p.dim);
}

const points = (n: number): StorePoint[] => Array.from({ length: n }, (_, id) => ({ id, label: 'x', split: id % 2 === 0 ? 'sampled' : 'unsampled' }));
const recallOf = (got: readonly Neighbour[], want: readonly Neighbour[]): number => got.filter((g, i) => g.id === want[i]!.id).length / Math.max(1, got.length);

/** Wilson score interval (95%) of a proportion, so a recall from a sample carries its uncertainty. */
function wilson(hits: number, total: number): [number, number] {
  if (total === 0) return [0, 1];
  const z = 1.96;
  const p = hits / total;
  const d = 1 + (z * z) / total;
  const c = p + (z * z) / (2 * total);
  const h = z * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total));
  return [+((c - h) / d).toFixed(4), +((c + h) / d).toFixed(4)];
}

/** Top-1 from a library's candidate ids, re-ranked in float64 like the embedded store (ties to the lowest id). */
function rerank(vectors: Float32Array, dim: number, q: number, candidates: Iterable<number>): number {
  let best = -1;
  let bestScore = -Infinity;
  for (const id of candidates) {
    if (id === q || id < 0) continue;
    const s = dot64(vectors, dim, q, id);
    if (s > bestScore || (s === bestScore && id < best)) {
      bestScore = s;
      best = id;
    }
  }
  return best;
}

const THREADS = os.availableParallelism();

/** ANN libraries side by side on the same rows and queries, each with its own best threading. */
async function compareLibraries(config: Config, dir: string): Promise<Record<string, unknown>[]> {
  const n = config.compareN;
  const { dim } = config;
  const data = mixture(n, config, config.dataDir);
  const queries = sampleRows(n, config.compareQueries, 2);
  const exact = await timed(() => usearchExactTop1(data, n, dim, queries, { threads: THREADS }));
  const jsQueries = queries.subarray(0, Math.min(queries.length, 50));
  const js = await timed(() => exactNearest(data, n, dim, jsQueries));
  const rows: Record<string, unknown>[] = [
    { library: 'exact: usearch exactSearch f32 + certified float64 re-rank', n, dim, threads: THREADS, queries: queries.length, queryCpuUsPerQuery: (exact.cpuS / queries.length) * 1e6, queryWallS: exact.wallS, load1: exact.load1 },
    { library: 'exact: plain JS float64 (exactNearest)', n, dim, threads: 1, queries: jsQueries.length, queryCpuUsPerQuery: (js.cpuS / jsQueries.length) * 1e6, queryWallS: js.wallS, load1: js.load1 },
  ];
  const truth = exact.value;
  for (const quantization of ['i8', 'f16', 'f32'] as HnswQuantization[]) {
    const tuning: HnswTuning = { ...DEFAULT_HNSW_TUNING, quantization, threads: THREADS };
    const file = path.join(dir, `compare-${quantization}.usearch`);
    const build = await timed(() => HnswIndex.build(data, n, dim, tuning, file));
    const searches = [];
    for (const ef of COMPARE_EFS) {
      const index = HnswIndex.load(file, dim, tuning, ef);
      const s = await timed(() => index.search(data, dim, queries));
      searches.push({ ef, recall: recallOf(s.value, truth), cpuUsPerQuery: (s.cpuS / queries.length) * 1e6, wallS: s.wallS, load1: s.load1 });
    }
    rows.push({
      library: `usearch ${quantization}`,
      n, dim, threads: THREADS,
      connectivity: tuning.connectivity, expansionAdd: tuning.expansionAdd, candidates: tuning.candidates,
      buildWallS: build.wallS, buildCpuS: build.cpuS, buildCpuUsPerRow: (build.cpuS / n) * 1e6, load1: build.load1,
      searches,
    });
    console.error(`[ann bench] compare usearch ${quantization} done`);
  }
  rows.push(await hnswlib(data, n, dim, queries, truth, config));
  rows.push(await faissNode());
  return rows;
}

/** hnswlib-node: single-threaded insertion (its binding has no batch add), float32 only, same re-rank. */
async function hnswlib(data: Float32Array, n: number, dim: number, queries: Int32Array, truth: Neighbour[], config: Config): Promise<Record<string, unknown>> {
  const { HierarchicalNSW } = (await import('hnswlib-node')).default;
  const M = DEFAULT_HNSW_TUNING.connectivity;
  const efc = DEFAULT_HNSW_TUNING.expansionAdd;
  // Timing every row of a large set would take long on one thread: build on a prefix and scale per row.
  const buildN = Math.min(n, config.compareN);
  const index = new HierarchicalNSW('ip', dim);
  index.initIndex({ maxElements: buildN, m: M, efConstruction: efc, randomSeed: 100 });
  const build = await timed(() => {
    for (let i = 0; i < buildN; i++) index.addPoint(Array.from(data.subarray(i * dim, (i + 1) * dim)), i);
  });
  const searches = [];
  for (const ef of COMPARE_EFS) {
    index.setEf(ef);
    const s = await timed(() =>
      Array.from(queries, (q) => ({ id: rerank(data, dim, q, index.searchKnn(Array.from(data.subarray(q * dim, (q + 1) * dim)), COMPARE_CANDIDATES + 1).neighbors), score: 0 })),
    );
    searches.push({ ef, recall: recallOf(s.value, truth), cpuUsPerQuery: (s.cpuS / queries.length) * 1e6, wallS: s.wallS, load1: s.load1 });
  }
  console.error('[ann bench] compare hnswlib-node done');
  const version = (createRequire(import.meta.url)('hnswlib-node/package.json') as { version: string }).version;
  return {
    library: `hnswlib-node ${version} f32`,
    n: buildN, dim, threads: 1,
    connectivity: M, expansionAdd: efc, candidates: COMPARE_CANDIDATES,
    buildWallS: build.wallS, buildCpuS: build.cpuS, buildCpuUsPerRow: (build.cpuS / buildN) * 1e6, load1: build.load1,
    searches,
  };
}

/** faiss-node, when it is installed (its install step downloads a prebuilt binary or clones faiss from GitHub). */
async function faissNode(): Promise<Record<string, unknown>> {
  const name = 'faiss-node';
  try {
    await import(name);
    return { library: 'faiss-node', note: 'installed, but not benchmarked here: add it to compareLibraries' };
  } catch (err) {
    return { library: 'faiss-node', note: `not installed (${(err as Error).message.split('\n')[0]}): see docs/performance-ann.md` };
  }
}

/** Exact against ANN at each size with queries = queryFrac × n, through the embedded store as categorise calls it. */
async function sweep(config: Config, dir: string): Promise<Record<string, unknown>[]> {
  const { dim } = config;
  const maxN = Math.max(...config.sweep);
  const all = mixture(maxN, config, config.dataDir);
  const rows: Record<string, unknown>[] = [];
  for (const n of config.sweep) {
    const data = all.subarray(0, n * dim);
    const pts = points(n);
    const queries = Array.from(sampleRows(n, Math.max(1, Math.round(config.queryFrac * n)), 3));
    const run = async (search: 'exact' | 'hnsw' | 'ivf', workDir: string) =>
      timed(async () => {
        const index = await createEmbeddedStore({ name: 'embedded', search }, { maxExpansionSearch: config.maxEf }).index({ runId: 'bench', vectors: data, dim, points: pts, workDir });
        // A fresh store, as the categorise activity makes: it loads the saved index.
        const store = createEmbeddedStore({ name: 'embedded', search }, { maxExpansionSearch: config.maxEf });
        const got = await nearestInBatches(store, { runId: 'bench', vectors: data, dim, points: pts, workDir }, queries);
        return { index, got };
      });
    const workDir = await mkdtemp(path.join(dir, `sweep-${n}-`));
    const exact = await run('exact', workDir);
    const ivf = await run('ivf', workDir);
    const ann = config.sweepAnn ? await run('hnsw', workDir) : undefined;
    await rm(workDir, { recursive: true, force: true });
    const summary = ann?.value.index.hnsw;
    const ivfSummary = ivf.value.index.ivf!;
    rows.push({
      n, dim, queries: queries.length,
      exactWallS: exact.wallS, exactCpuS: exact.cpuS, exactLoad1: exact.load1,
      ivfWallS: ivf.wallS, ivfCpuS: ivf.cpuS, ivfLoad1: ivf.load1,
      ivfBuildS: ivfSummary.buildSeconds, ivfCalibrateS: ivfSummary.calibrateSeconds, lists: ivfSummary.lists, probes: ivfSummary.probes,
      ivfCalibrationRecall: ivfSummary.recall,
      ivfRecall: recallOf(ivf.value.got, exact.value.got),
      ivfFaster: ivf.cpuS < exact.cpuS,
      ...(ann && summary
        ? {
            annWallS: ann.wallS, annCpuS: ann.cpuS, annLoad1: ann.load1,
            annBuildS: summary.buildSeconds, annCalibrateS: summary.calibrateSeconds, expansionSearch: summary.expansionSearch,
            calibrationRecall: summary.recall,
            recall: recallOf(ann.value.got, exact.value.got),
            annFaster: ann.cpuS < exact.cpuS,
          }
        : {}),
    });
    console.error(`[ann bench] sweep n=${n}: exact ${exact.cpuS.toFixed(1)} cpu-s, ivf ${ivf.cpuS.toFixed(1)} cpu-s${ann ? `, ann ${ann.cpuS.toFixed(1)} cpu-s` : ''}`);
  }
  return rows;
}

/** The target run, alone in this process: index (build + calibrate + save), then every query, then recall. */
async function bigStage(config: Config): Promise<void> {
  const n = config.bigN;
  const { dim } = config;
  const load = await timed(() => mixture(n, config, config.dataDir));
  const data = load.value;
  const pts = points(n);
  const queries = Array.from(sampleRows(n, config.bigQueries, 4));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dqe-bench-ann-big-'));
  try {
    const rssBefore = process.memoryUsage().rss;
    const index = await timed(() => createEmbeddedStore({ name: 'embedded', search: config.bigSearch }, { maxExpansionSearch: config.maxEf }).index({ runId: 'bench', vectors: data, dim, points: pts, workDir: dir }));
    const store = createEmbeddedStore({ name: 'embedded', search: config.bigSearch }, { maxExpansionSearch: config.maxEf });
    const search = await timed(() => nearestInBatches(store, { runId: 'bench', vectors: data, dim, points: pts, workDir: dir }, queries));
    const maxRssBytes = process.resourceUsage().maxRSS * 1024;
    // Recall on a seeded sample of the queries against the certified exact scan, which also gives exact's rate.
    const pick = sampleRows(queries.length, Math.min(config.recallSample, queries.length), 5);
    const sampleQueries = Array.from(pick, (i) => queries[i]!);
    const truth = await timed(() => exactTop1Gemm(data, n, dim, sampleQueries, maxRowNorm(data, n, dim), THREADS));
    const hits = Array.from(pick).filter((qi, i) => search.value[qi]!.id === truth.value[i]!.id).length;
    const result = {
      n, dim, queries: queries.length,
      mode: index.value.ivf ? 'ivf' : index.value.hnsw ? 'hnsw' : 'exact',
      dataLoadS: load.wallS,
      indexWallS: index.wallS, indexCpuS: index.cpuS, indexLoad1: index.load1,
      searchWallS: search.wallS, searchCpuS: search.cpuS, searchLoad1: search.load1,
      totalWallS: index.wallS + search.wallS,
      totalCpuS: index.cpuS + search.cpuS,
      hnsw: index.value.hnsw,
      ivf: index.value.ivf,
      exactMethod: 'onnxruntime float32 products + float64 re-rank, certified (exactTop1Gemm)',
      recallSample: sampleQueries.length,
      recallHits: hits,
      recall: hits / sampleQueries.length,
      recall95: wilson(hits, sampleQueries.length),
      exactSampleWallS: truth.wallS, exactSampleCpuS: truth.cpuS, exactLoad1: truth.load1,
      exactExtrapolatedWallS: (truth.wallS * queries.length) / sampleQueries.length,
      matrixBytes: data.byteLength,
      rssBeforeIndexBytes: rssBefore,
      maxRssBytes,
      threads: THREADS,
    };
    process.stdout.write(`BIG_RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const f = (x: unknown, digits = 1): string => (typeof x === 'number' ? x.toFixed(digits) : typeof x === 'string' ? x : x === undefined ? '' : JSON.stringify(x));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { config, stage } = parseArgs(process.argv.slice(2));
  if (stage === 'big') {
    await bigStage(config);
    return;
  }
  const started = machine();
  // One generated matrix serves every stage: each reads the prefix it needs.
  const largest = Math.max(config.stages.includes('compare') ? config.compareN : 0, config.stages.includes('sweep') ? Math.max(...config.sweep) : 0, config.stages.includes('big') ? config.bigN : 0);
  if (largest > 0) mixture(1, config, config.dataDir, largest);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dqe-bench-ann-'));
  const results: Record<string, unknown> = { machine: started, config: { ...config, defaultAnnThreshold: DEFAULT_ANN_THRESHOLD, tuning: { ...DEFAULT_HNSW_TUNING }, ivfTuning: { ...DEFAULT_IVF_TUNING } } };
  try {
    if (config.stages.includes('compare')) {
      const compare = await compareLibraries(config, dir);
      results.compare = compare;
      console.log(`\nANN libraries, ${config.compareN} × ${config.dim}, ${config.compareQueries} queries (recall@1 after a float64 re-rank of ${COMPARE_CANDIDATES} candidates)`);
      console.log(
        table(
          ['library', 'threads', 'build wall s', 'build cpu µs/row', 'load', ...COMPARE_EFS.map((ef) => `ef${ef} recall / cpu µs`)],
          compare.map((r) => [
            String(r.library),
            f(r.threads, 0),
            f(r.buildWallS ?? r.queryWallS),
            f(r.buildCpuUsPerRow ?? (r.queryCpuUsPerQuery !== undefined ? `${f(r.queryCpuUsPerQuery, 0)} /query` : r.note), 0),
            JSON.stringify(r.load1 ?? ''),
            ...COMPARE_EFS.map((ef) => {
              const s = (r.searches as { ef: number; recall: number; cpuUsPerQuery: number }[] | undefined)?.find((x) => x.ef === ef);
              return s ? `${s.recall.toFixed(3)} / ${s.cpuUsPerQuery.toFixed(0)}` : '';
            }),
          ]),
        ),
      );
    }
    if (config.stages.includes('sweep')) {
      const rows = await sweep(config, dir);
      results.sweep = rows;
      const firstWin = rows.find((r, i) => r.ivfFaster && rows.slice(i).every((x) => x.ivfFaster));
      results.measuredThreshold = firstWin ? firstWin.n : null;
      console.log(`\nExact vs IVF vs HNSW through the embedded store, queries = ${config.queryFrac} × n (index + every query)`);
      console.log(
        table(
          ['n', 'queries', 'exact wall s', 'exact cpu s', 'ivf wall s', 'ivf cpu s', 'ivf build s', 'lists/probes', 'ivf recall@1', 'ann cpu s', 'ef', 'ann recall@1', 'load'],
          rows.map((r) => [f(r.n, 0), f(r.queries, 0), f(r.exactWallS), f(r.exactCpuS), f(r.ivfWallS), f(r.ivfCpuS), f(r.ivfBuildS), `${f(r.lists, 0)}/${f(r.probes, 0)}`, f(r.ivfRecall, 4), f(r.annCpuS), f(r.expansionSearch, 0), f(r.recall, 4), JSON.stringify(r.ivfLoad1)]),
        ),
      );
      console.log(`IVF uses less CPU than exact from n = ${String(results.measuredThreshold)} on (default annThreshold ${DEFAULT_ANN_THRESHOLD})`);
    }
    if (config.stages.includes('big') && config.bigN > 0) {
      const self = fileURLToPath(import.meta.url);
      const args = process.argv.slice(2).filter((a) => !a.startsWith('--stage='));
      const child = spawnSync(process.execPath, [...process.execArgv, self, ...args, '--stage=big'], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
      const line = child.stdout.split('\n').find((l) => l.startsWith('BIG_RESULT '));
      if (!line) throw new Error(`big stage failed (exit ${String(child.status)})`);
      const big = JSON.parse(line.slice('BIG_RESULT '.length)) as Record<string, unknown> & {
        hnsw?: { expansionSearch: number; recall: number; buildSeconds: number; calibrateSeconds: number };
        ivf?: { lists: number; probes: number; recall: number; buildSeconds: number; calibrateSeconds: number };
      };
      const built = big.ivf ?? big.hnsw;
      results.big = big;
      console.log(`\nTarget: ${f(big.queries, 0)} queries over ${f(big.n, 0)} × ${f(big.dim, 0)} through the embedded store (search ${String(big.mode)})`);
      console.log(
        table(
          ['step', 'wall s', 'cpu s', 'load (before, after)'],
          [
            ['index: build', f(built?.buildSeconds), '', ''],
            ['index: calibrate', f(built?.calibrateSeconds), '', ''],
            ['index (all)', f(big.indexWallS), f(big.indexCpuS), JSON.stringify(big.indexLoad1)],
            ['queries', f(big.searchWallS), f(big.searchCpuS), JSON.stringify(big.searchLoad1)],
            ['total', f(big.totalWallS), f(big.totalCpuS), ''],
            [`exact, ${f(big.recallSample, 0)} queries`, f(big.exactSampleWallS), f(big.exactSampleCpuS), JSON.stringify(big.exactLoad1)],
            [`exact, extrapolated to ${f(big.queries, 0)}`, f(big.exactExtrapolatedWallS, 0), '', ''],
          ],
        ),
      );
      console.log(
        `recall@1 ${f(big.recall, 4)} on ${f(big.recallSample, 0)} queries (95% ${JSON.stringify(big.recall95)}); calibration ${f(built?.recall, 4)} at ${big.ivf ? `${big.ivf.probes} of ${big.ivf.lists} lists` : `ef ${f(big.hnsw?.expansionSearch, 0)}`}; peak RSS ${f((big.maxRssBytes as number) / 2 ** 30, 2)} GiB (matrix ${f((big.matrixBytes as number) / 2 ** 30, 2)} GiB)`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  results.machineAfter = machine();
  mkdirSync(path.dirname(config.out), { recursive: true });
  writeFileSync(config.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nsaved ${config.out}`);
}

await main();
