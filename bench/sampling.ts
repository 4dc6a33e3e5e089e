// Benchmark of greedy diversity sampling: checks the fast path against the naive oracle, times both, and measures the 1M-row run's time and peak memory.
//
// Usage: npx tsx bench/sampling.ts [--quick] [--key=value ...]
//   --check-n=20000 --check-dims=384,768 --check-seeds=1,2,3   oracle == fast checks (also give the oracle's time)
//   --speed-n=100000 --speed-dim=768                             fast centroid timing; oracle time scaled by n^2
//   --kcenter-n=100000 --kcenter-dim=768                         fast kcenter timing; oracle time scaled by n^2 as for centroid
//   --big-n=1000000 --big-dim=768                                time and peak RSS, in a child process (0 skips)
//   --ratio=0.5 --alpha=0.5 --noise=0.7 --clusters=64 --dup=0.05 data and sampling parameters
//   --rules=centroid,kcenter --check-rules=centroid,kcenter     rules timed / rules checked at check-n
//   --out=bench/results/sampling.json
//   --kernel=auto|scalar|simd                                    kernels of the fast runs (checks always run both)
//   --threads=1                                                   onnxruntime threads of kcenter's block products (1: CPU time compares with the one-thread oracle)
// --quick shrinks every size for a smoke run of a minute or two.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { floatProducts } from '../adapters/onnx/kernels.js';
import type { Products } from '../core/sampling/index.js';
import { makeMixture } from './mixture.js';
import {
  greedySampleWithStats,
  naiveGreedySample,
  sampleCount,
  type GreedySampleStats,
  type SamplingRule,
} from '../core/sampling/index.js';

interface DataParams {
  readonly clusters: number;
  readonly noise: number;
  readonly alpha: number;
  readonly dup: number;
}

interface Config extends DataParams {
  readonly checkN: number;
  readonly checkDims: readonly number[];
  readonly checkSeeds: readonly number[];
  readonly speedN: number;
  readonly speedDim: number;
  readonly kcenterN: number;
  readonly kcenterDim: number;
  readonly bigN: number;
  readonly bigDim: number;
  readonly ratio: number;
  readonly rules: readonly SamplingRule[];
  readonly checkRules: readonly SamplingRule[];
  readonly kernel: Kernel;
  readonly out: string;
}

type Kernel = 'auto' | 'scalar' | 'simd';

const FULL: Config = {
  checkN: 20_000,
  checkDims: [384, 768],
  checkSeeds: [1, 2, 3],
  speedN: 100_000,
  speedDim: 768,
  kcenterN: 100_000,
  kcenterDim: 768,
  bigN: 1_000_000,
  bigDim: 768,
  ratio: 0.5,
  clusters: 64,
  noise: 0.7,
  alpha: 0.5,
  dup: 0.05,
  rules: ['centroid', 'kcenter'],
  checkRules: ['centroid', 'kcenter'],
  kernel: 'auto',
  out: 'bench/results/sampling.json',
};

const QUICK: Partial<Config> = {
  checkN: 3000,
  checkDims: [64, 384],
  checkSeeds: [1, 2],
  speedN: 20_000,
  speedDim: 384,
  kcenterN: 4000,
  kcenterDim: 128,
  bigN: 100_000,
  bigDim: 384,
};

function parseArgs(argv: readonly string[]): { config: Config; stage: string } {
  let config: Config = argv.includes('--quick') ? { ...FULL, ...QUICK } : { ...FULL };
  let stage = 'main';
  const ints = (v: string): number[] => v.split(',').map((s) => Number.parseInt(s, 10));
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (m === null) continue;
    const [, key, value] = m as unknown as [string, string, string];
    switch (key) {
      case 'check-n': config = { ...config, checkN: Number(value) }; break;
      case 'check-dims': config = { ...config, checkDims: ints(value) }; break;
      case 'check-seeds': config = { ...config, checkSeeds: ints(value) }; break;
      case 'speed-n': config = { ...config, speedN: Number(value) }; break;
      case 'speed-dim': config = { ...config, speedDim: Number(value) }; break;
      case 'kcenter-n': config = { ...config, kcenterN: Number(value) }; break;
      case 'kcenter-dim': config = { ...config, kcenterDim: Number(value) }; break;
      case 'big-n': config = { ...config, bigN: Number(value) }; break;
      case 'big-dim': config = { ...config, bigDim: Number(value) }; break;
      case 'ratio': config = { ...config, ratio: Number(value) }; break;
      case 'alpha': config = { ...config, alpha: Number(value) }; break;
      case 'noise': config = { ...config, noise: Number(value) }; break;
      case 'clusters': config = { ...config, clusters: Number(value) }; break;
      case 'dup': config = { ...config, dup: Number(value) }; break;
      case 'rules': config = { ...config, rules: value.split(',') as SamplingRule[] }; break;
      case 'check-rules': config = { ...config, checkRules: value.split(',') as SamplingRule[] }; break;
      case 'out': config = { ...config, out: value }; break;
      case 'kernel': config = { ...config, kernel: value as Kernel }; break;
      case 'stage': stage = value; break;
      case 'threads': break; // read by THREADS below
      default: throw new Error(`unknown option --${key}`);
    }
  }
  return { config, stage };
}

/** bench/mixture.ts's mixture with one level of clusters (no sub-clusters). */
function mixtureOf(n: number, dim: number, seed: number, p: DataParams): Float32Array {
  return makeMixture(n, { ...p, dim, seed, subclusters: 0, subnoise: 0 });
}

type Json = Record<string, unknown>;

interface Timed<T> {
  readonly value: T;
  readonly wallMs: number;
  readonly cpuMs: number;
}

function timed<T>(f: () => T): Timed<T> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { value, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function timedAsync<T>(f: () => Promise<T>): Promise<Timed<T>> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { value, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * kcenter's block updates: onnxruntime float32 products on `--threads` threads (default 1, so that CPU time
 * compares with the single-threaded oracle; the sampling thread uses every core, for wall time).
 */
const THREADS = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice('--threads='.length) ?? 1);
const products: Products = (a, m, b, nb, d) => floatProducts(a, m, b, nb, d, THREADS);

const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function bigStage(config: Config): Promise<void> {
  const { bigN: n, bigDim: dim } = config;
  const data = timed(() => mixtureOf(n, dim, 1, config));
  const count = sampleCount(n, config.ratio);
  const run = await timedAsync(() => greedySampleWithStats(data.value, n, dim, { count, seed: 1, rule: 'centroid', kernel: config.kernel }));
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  const result = {
    n,
    dim,
    count,
    rule: 'centroid',
    kernel: run.value.stats.simd ? 'simd' : 'scalar',
    dataGenMs: data.wallMs,
    wallMs: run.wallMs,
    cpuMs: run.cpuMs,
    stats: run.value.stats,
    matrixBytes: data.value.byteLength,
    maxRssBytes,
    rssOverMatrix: maxRssBytes / data.value.byteLength,
  };
  process.stdout.write(`BIG_RESULT ${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  const { config, stage } = parseArgs(process.argv.slice(2));
  if (stage === 'big') {
    await bigStage(config);
    return;
  }
  const rows: string[][] = [];
  const checks: unknown[] = [];
  const oracleRate = new Map<string, { msPerUnit: number; n: number; dim: number }>();
  let allIdentical = true;

  // 1. Identical order against the oracle (its time per n^2 is reused to scale it up).
  for (const dim of config.checkDims) {
    for (const seed of config.checkSeeds) {
      const n = config.checkN;
      const data = mixtureOf(n, dim, seed, config);
      const count = sampleCount(n, config.ratio);
      for (const rule of config.checkRules) {
        const oracle = timed(() => naiveGreedySample(data, n, dim, { count, seed, rule }));
        for (const kernel of ['scalar', 'simd'] as const) {
          const fast = await timedAsync(() => greedySampleWithStats(data, n, dim, { count, seed, rule, kernel, products }));
          const a = oracle.value;
          const b = fast.value.indices;
          let firstDiff = -1;
          for (let i = 0; i < count && firstDiff < 0; i++) if (a[i] !== b[i]) firstDiff = i;
          const identical = firstDiff < 0 && a.length === b.length;
          allIdentical &&= identical;
          const s = fast.value.stats;
          checks.push({ n, dim, seed, rule, kernel: s.simd ? 'simd' : 'scalar', count, identical, firstDiff, oracleMs: oracle.wallMs, oracleCpuMs: oracle.cpuMs, fastMs: fast.wallMs, fastCpuMs: fast.cpuMs, speedupCpu: oracle.cpuMs / fast.cpuMs, evalFraction: s.exactEvaluations / s.naiveEvaluations });
          rows.push([`check ${rule} ${s.simd ? 'simd' : 'scalar'}`, `${n}x${dim} seed ${seed}`, identical ? 'identical' : `DIFFER at ${firstDiff}`, fmtMs(oracle.cpuMs), fmtMs(fast.cpuMs), `${(oracle.cpuMs / fast.cpuMs).toFixed(1)}x`, (s.exactEvaluations / s.naiveEvaluations).toFixed(4)]);
          process.stderr.write(`${rows[rows.length - 1]!.join(' | ')}\n`);
        }
        const key = `${rule}/${dim}`;
        const prev = oracleRate.get(key);
        const msPerUnit = oracle.cpuMs / (n * n);
        if (prev === undefined || msPerUnit < prev.msPerUnit) oracleRate.set(key, { msPerUnit, n, dim });
      }
    }
  }

  // 2. Speed: the fast path at a size where the oracle is only estimated (scaled by n^2 from the checks).
  const speed: Json[] = [];
  const speedRuns: { rule: SamplingRule; n: number; dim: number }[] = [];
  if (config.rules.includes('centroid')) speedRuns.push({ rule: 'centroid', n: config.speedN, dim: config.speedDim });
  if (config.rules.includes('kcenter')) speedRuns.push({ rule: 'kcenter', n: config.kcenterN, dim: config.kcenterDim });
  for (const { rule, n, dim } of speedRuns) {
    if (n <= 0) continue;
    const data = mixtureOf(n, dim, 1, config);
    const count = sampleCount(n, config.ratio);
    const fast = await timedAsync(() => greedySampleWithStats(data, n, dim, { count, seed: 1, rule, kernel: config.kernel, products }));
    const s: GreedySampleStats = fast.value.stats;
    // Oracle time: measured if the size is small enough, else scaled by n^2 from the closest check of the same rule.
    let oracleCpuMs: number;
    let oracleNote: string;
    if (n <= config.checkN) {
      const oracle = timed(() => naiveGreedySample(data, n, dim, { count, seed: 1, rule }));
      oracleCpuMs = oracle.cpuMs;
      oracleNote = 'measured';
      const same = oracle.value.every((v, i) => v === fast.value.indices[i]);
      allIdentical &&= same;
      if (!same) oracleNote += ' (DIFFERENT ORDER)';
    } else {
      const rates = [...oracleRate.entries()].filter(([k]) => k.startsWith(`${rule}/`)).map(([, v]) => v);
      const exact = rates.find((r) => r.dim === dim) ?? rates[0];
      if (exact === undefined) {
        oracleCpuMs = Number.NaN;
        oracleNote = 'no oracle run to scale from';
      } else {
        oracleCpuMs = exact.msPerUnit * n * n * (dim / exact.dim);
        oracleNote = `scaled by (n/${exact.n})^2${exact.dim === dim ? '' : ` and dim/${exact.dim}`} from the ${exact.n}x${exact.dim} check`;
      }
    }
    speed.push({ rule, n, dim, count, kernel: s.simd ? 'simd' : 'scalar', fastMs: fast.wallMs, fastCpuMs: fast.cpuMs, oracleCpuMs, oracleNote, speedupCpu: oracleCpuMs / fast.cpuMs, stats: s, evalFraction: s.exactEvaluations / s.naiveEvaluations });
    rows.push([`speed ${rule} ${s.simd ? 'simd' : 'scalar'}`, `${n}x${dim}`, oracleNote, fmtMs(oracleCpuMs), fmtMs(fast.cpuMs), `${(oracleCpuMs / fast.cpuMs).toFixed(1)}x`, (s.exactEvaluations / s.naiveEvaluations).toFixed(5)]);
    process.stderr.write(`${rows[rows.length - 1]!.join(' | ')}\n`);
  }

  // 3. The big centroid run in a child process, so its peak RSS is its own.
  let big: Json | null = null;
  if (config.bigN > 0 && config.rules.includes('centroid')) {
    const self = fileURLToPath(import.meta.url);
    const args = process.argv.slice(2).filter((a) => !a.startsWith('--stage='));
    const child = spawnSync(process.execPath, [...process.execArgv, self, ...args, '--stage=big'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = child.stdout.split('\n').find((l) => l.startsWith('BIG_RESULT '));
    if (line === undefined) {
      big = { error: `child exited ${String(child.status)} ${String(child.signal)}: ${child.stderr.slice(-2000)}` };
      rows.push(['big centroid', `${config.bigN}x${config.bigDim}`, 'FAILED', '', '', '', '']);
    } else {
      big = JSON.parse(line.slice('BIG_RESULT '.length)) as Json;
      const b = big as { wallMs: number; cpuMs: number; maxRssBytes: number; rssOverMatrix: number; kernel: string; stats: GreedySampleStats };
      rows.push([`big centroid ${b.kernel}`, `${config.bigN}x${config.bigDim}`, `peak RSS ${(b.maxRssBytes / 2 ** 30).toFixed(2)} GiB = ${b.rssOverMatrix.toFixed(2)}x matrix; ${fmtMs(b.wallMs)} wall`, '', fmtMs(b.cpuMs), '', (b.stats.exactEvaluations / b.stats.naiveEvaluations).toFixed(6)]);
    }
    process.stderr.write(`${rows[rows.length - 1]!.join(' | ')}\n`);
  }

  const header = ['stage', 'size', 'result', 'oracle cpu', 'fast cpu', 'speedup', 'eval frac'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((v, c) => v.padEnd(widths[c]!)).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(allIdentical ? 'all fast orders identical to the oracle' : 'SOME ORDERS DIFFER FROM THE ORACLE');

  const cpus = os.cpus();
  const report = {
    generatedBy: 'bench/sampling.ts',
    argv: process.argv.slice(2),
    machine: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, node: process.version, platform: `${os.platform()} ${os.release()}`, totalMemBytes: os.totalmem(), loadAverage: os.loadavg() },
    config,
    notes: 'Times are process CPU time unless named wall; the oracle at speed sizes is scaled by n^2 (count = ratio*n steps over n rows) from the largest check of the same rule and dim.',
    allIdentical,
    checks,
    speed,
    big,
  };
  const outPath = path.resolve(config.out);
  mkdirSync(path.dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), outPath)}`);
  if (!allIdentical) process.exitCode = 1;
}

await main();
