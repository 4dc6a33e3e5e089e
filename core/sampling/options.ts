// The public types and argument checks of greedy sampling, shared by the fast paths and the oracle.
import { firstIndex } from '../random.js';
import type { Products } from './kernels.js';

export type SamplingRule = 'centroid' | 'kcenter';

export interface GreedySampleOptions {
  /** How many rows to select, 0..n. */
  readonly count: number;
  /** Seed of the first (random) row, any safe integer. */
  readonly seed: number;
  /** Selection rule; 'centroid' when left out. */
  readonly rule?: SamplingRule;
  /**
   * Arithmetic kernels of greedySample (results are identical either way):
   * 'auto' (default) uses WebAssembly SIMD when the rows were allocated with
   * allocateVectors or are small enough to copy; 'scalar' never does; 'simd'
   * copies whatever the size. The naive oracle always uses plain loops.
   */
  readonly kernel?: 'auto' | 'scalar' | 'simd';
  /**
   * Called every PROGRESS_EVERY rows with the number selected so far and the selection buffer, whose first
   * `selected` entries are the picks in order (read them, never write; never changes the result).
   */
  readonly onProgress?: (selected: number, order: Uint32Array) => void;
  /**
   * Centroid rule only: the first picks of an earlier run on the same rows with the same seed (a checkpoint of
   * an interrupted run, any length up to count). The run continues after them; the result is the same as
   * without. Checked: distinct row ids in range, the seed's first row first.
   */
  readonly resume?: Uint32Array;
  /**
   * float32 matrix products that both rules score most rows with (./centroid-blocked.ts, ./kcenter.ts); the worker
   * passes onnxruntime's. Plain loops when left out (same result, much slower).
   */
  readonly products?: Products;
  /**
   * The caller never reads `vectors` again: the centroid rule may reorder its rows in place, so that its products
   * and passes skip the rows already picked (about a quarter less work at ratio 0.5). Same result either way.
   * Rows that greedySample copied for its kernels are reordered whatever this says.
   */
  readonly rowsAreScratch?: boolean;
}

/** Work counters of one fast run, for benchmarks and tests of the pruning. */
export interface GreedySampleStats {
  /** Whether the WebAssembly SIMD kernels did the arithmetic. */
  simd: boolean;
  /** Exact row evaluations (dot products or distances of length dim). */
  exactEvaluations: number;
  /** What the naive oracle would have done: one per remaining row per step. */
  naiveEvaluations: number;
  /** Centroid: epochs of the bounds plus blocks of the products; kcenter: 0. */
  groups: number;
  /** Centroid: selections made by the blocked products (after the bounds handed over); kcenter: 0. */
  productSteps: number;
  /** Row × all-rows products the blocked centroid path computed (candidates and anchors); ≈ productSteps at best. */
  productColumns?: number;
  /** Times the blocked centroid path moved its reference centroid (a float64 pass over the rows each). */
  referenceMoves?: number;
  /** Picks of the blocked centroid path from outside its candidates (each starts a new block). */
  candidateMisses?: number;
  /** Times the blocked centroid path moved its unpicked rows to the front (only with `rowsAreScratch`). */
  compactions?: number;
}

export interface GreedySampleResult {
  readonly indices: Uint32Array;
  readonly stats: GreedySampleStats;
}

export const EPS = Number.EPSILON; // 2^-52, twice the unit roundoff of float64

/** Number of rows to select for a ratio: ceil(ratio*n), ignoring float fuzz such as 0.7*10 = 7.000000000000001. */
export function sampleCount(n: number, ratio: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${String(n)}`);
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`ratio must be in [0, 1], got ${String(ratio)}`);
  const exact = ratio * n;
  const nearest = Math.round(exact);
  // A few ulps: the rounding of a decimal ratio and of one product, never a real fraction of a row.
  const count = Math.abs(exact - nearest) <= 8 * EPS * Math.max(1, exact) ? nearest : Math.ceil(exact);
  return Math.min(n, Math.max(0, count));
}

export interface Validated {
  readonly count: number;
  readonly seed: number;
  readonly rule: SamplingRule;
}

export function validate(vectors: Float32Array, n: number, dim: number, options: GreedySampleOptions): Validated {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${String(n)}`);
  if (!Number.isSafeInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${String(dim)}`);
  if (vectors.length !== n * dim) {
    throw new RangeError(`vectors has length ${vectors.length}, expected n*dim = ${n * dim}`);
  }
  const { count, seed } = options;
  const rule = options.rule ?? 'centroid';
  if (!Number.isSafeInteger(count) || count < 0 || count > n) {
    throw new RangeError(`count must be an integer in [0, ${n}], got ${String(count)}`);
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
  if (rule !== 'centroid' && rule !== 'kcenter') throw new RangeError(`unknown rule ${String(rule)}`);
  if (options.resume !== undefined) validateResume(options.resume, n, count, seed, rule);
  return { count, seed, rule };
}

/** Throws unless `resume` can continue a run of this rule, count and seed over n rows (a checkpoint's reader asks first). */
export function validateResume(resume: Uint32Array, n: number, count: number, seed: number, rule: SamplingRule): void {
  if (resume.length === 0) return;
  if (rule !== 'centroid') throw new RangeError(`resume: only the centroid rule continues an earlier run, not ${rule}`);
  if (resume.length > count) throw new RangeError(`resume: ${resume.length} picks, more than count ${count}`);
  if (resume[0] !== firstIndex(seed, n)) throw new RangeError(`resume: first pick ${resume[0]} is not seed ${seed}'s first row ${firstIndex(seed, n)}`);
  const seen = new Uint8Array(n);
  for (let t = 0; t < resume.length; t++) {
    const r = resume[t]!;
    if (r >= n) throw new RangeError(`resume: pick ${t} is row ${r}, past the last row ${n - 1}`);
    if (seen[r] === 1) throw new RangeError(`resume: pick ${t} repeats row ${r}`);
    seen[r] = 1;
  }
}
