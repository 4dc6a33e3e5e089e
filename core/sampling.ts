// Greedy diversity sampling for DQE: picks rows of an embedding matrix that are far from what is already picked, exactly as a naive rescan would, only much faster.
//
// Both rules are defined by exact float64 scores so that the fast path can be
// checked bit-for-bit against the naive oracle:
//
//   norm2(i)      = sum_j x[i,j]*x[i,j]                    (float64, j = 0..d-1 in order)
//   dot(i, S)     = sum_j x[i,j]*S[j]                       (float64, j in order)
//   dist2(i, q)   = sum_j (x[i,j]-x[q,j])*(x[i,j]-x[q,j])   (float64, j in order)
//
//   centroid: S = float64 sum of the k selected rows (added in selection order),
//             score(i) = norm2(i) - (2*dot(i, S))/k, i.e. ||x_i - S/k||^2 - ||S/k||^2;
//             pick the remaining row with the largest score.
//   kcenter:  score(i) = min over selected q of dist2(i, q); pick the largest.
//
// Ties go to the lowest row index. The first row is firstIndex(seed, n).
//
// The fast centroid path keeps, for every row, the exact score it had when it
// was last evaluated plus how far the centroid c = S/k may have moved since
// (Cauchy–Schwarz: |x.(c' - c)| <= ||x|| ||c' - c||); rows whose upper bound
// cannot reach the best exact score of the step are never touched. The fast
// kcenter path (core/kcenter.ts) applies new centers a block at a time with
// float32 matrix products and computes the exact distance only where the
// product's error bound cannot rule a change out. Bounds carry a small slack so float rounding can never prune a true winner;
// every decision is taken on scores computed by the same functions as the oracle.

import { kernelSpaceFor } from './kernels/simd.js';
import { kcenterBlocked, plainProducts, type Products } from './kcenter.js';
import { firstIndex } from './random.js';

export { allocateVectors } from './kernels/simd.js';

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
  /** Called with the number of rows selected so far, every PROGRESS_EVERY rows (never changes the result). */
  readonly onProgress?: (selected: number) => void;
  /**
   * float32 matrix products for the kcenter rule's block updates (core/kcenter.ts); the worker passes
   * onnxruntime's. Plain loops when left out (same result, much slower).
   */
  readonly products?: Products;
}

/** Work counters of one fast run, for benchmarks and tests of the pruning. */
export interface GreedySampleStats {
  /** Whether the WebAssembly SIMD kernels did the arithmetic. */
  simd: boolean;
  /** Exact row evaluations (dot products or distances of length dim). */
  exactEvaluations: number;
  /** What the naive oracle would have done: one per remaining row per step. */
  naiveEvaluations: number;
  /** Centroid: epochs (centroid snapshots) created; kcenter: 0. */
  groups: number;
}

export interface GreedySampleResult {
  readonly indices: Uint32Array;
  readonly stats: GreedySampleStats;
}

const EPS = Number.EPSILON; // 2^-52, twice the unit roundoff of float64


// Absolute slack (in score units, scaled by the data's norms) added to every
// centroid bound: it covers rounding of the scores, of the centroid distances
// and of the running path length, each well below 1e-12 for unit rows.
const CENTROID_SLACK_BASE = 1e-10;

// Two neighbouring centroid epochs merge once their joint span (in steps) is at
// most 1/EPOCH_MERGE_RATIO of their age: the bound lost by re-keying is then
// small next to how far the centroid has moved since, and about
// EPOCH_MERGE_RATIO*ln(count) epochs stay live.
const EPOCH_MERGE_RATIO = 4;

// A step that took at least this fraction of the remaining rows out of the
// heaps is followed by a plain rescan of all rows: popping nearly every row
// costs a heap operation and a random memory access each (early steps, and
// data where the bounds cannot prune).
const DENSE_STEP_FRACTION = 0.5;
// Longest run of rescans (steps) before the heaps are tried again, so data the
// bounds cannot prune costs about what the oracle costs, not more.
const DENSE_MAX_RUN = 64;

// Rows evaluated together by the interleaved kernels (dot64x4, squaredDistance64x4, simd.ts).
const DOT_BATCH = 4;

// Rows not allocated with allocateVectors are copied into WebAssembly memory
// for the SIMD kernels (about 2-3x faster than the scalar loops) only up to
// this size in bytes: the copy takes one pass, but briefly doubles the matrix.
const SIMD_COPY_LIMIT_BYTES = 1 << 30;

// Selections between two onProgress calls.
const PROGRESS_EVERY = 1024;

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

/** float64 squared norm of row at `offset`, summed in index order. */
export function squaredNorm64(x: Float32Array, offset: number, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) {
    const v = x[offset + j]!;
    acc += v * v;
  }
  return acc;
}

/** float64 dot product of the row at `offset` with a float64 vector, summed in index order. */
export function dot64(x: Float32Array, offset: number, y: Float64Array, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) acc += x[offset + j]! * y[j]!;
  return acc;
}

/** squaredDistance64 of one row against four others, each sum in index order (bit-identical to squaredDistance64). */
function squaredDistance64x4(
  x: Float32Array,
  o: number,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
  dim: number,
  out: Float64Array,
): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let j = 0; j < dim; j++) {
    const v = x[o + j]!;
    const t0 = v - x[o0 + j]!;
    const t1 = v - x[o1 + j]!;
    const t2 = v - x[o2 + j]!;
    const t3 = v - x[o3 + j]!;
    a0 += t0 * t0;
    a1 += t1 * t1;
    a2 += t2 * t2;
    a3 += t3 * t3;
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
  out[3] = a3;
}

/**
 * dot64 of four rows with one vector at once: each row keeps its own
 * accumulator summed in index order, so every result is bit-identical to
 * dot64, but the four independent add chains hide the floating-point add
 * latency that bounds a single sequential sum.
 */
function dot64x4(
  x: Float32Array,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
  y: Float64Array,
  dim: number,
  out: Float64Array,
): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let j = 0; j < dim; j++) {
    const v = y[j]!;
    a0 += x[o0 + j]! * v;
    a1 += x[o1 + j]! * v;
    a2 += x[o2 + j]! * v;
    a3 += x[o3 + j]! * v;
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
  out[3] = a3;
}

/** float64 squared Euclidean distance of two rows (symmetric: (a-b)^2 == (b-a)^2 exactly). */
export function squaredDistance64(x: Float32Array, offsetA: number, offsetB: number, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) {
    const t = x[offsetA + j]! - x[offsetB + j]!;
    acc += t * t;
  }
  return acc;
}

/** The centroid rule's score of a row: ||x - S/k||^2 - ||S/k||^2 as computed by both paths. */
export function centroidScore(norm2: number, dotWithSum: number, k: number): number {
  return norm2 - (2 * dotWithSum) / k;
}

interface Validated {
  readonly count: number;
  readonly seed: number;
  readonly rule: SamplingRule;
}

function validate(vectors: Float32Array, n: number, dim: number, options: GreedySampleOptions): Validated {
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
  return { count, seed, rule };
}

/** Squared norms of all rows; doubles as the finiteness check (a square sum is finite iff every entry is). */
function rowSquaredNorms(vectors: Float32Array, n: number, dim: number): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = squaredNorm64(vectors, i * dim, dim);
    if (!Number.isFinite(v)) throw new RangeError(`row ${i} has a non-finite entry`);
    norms[i] = v;
  }
  return norms;
}

function addRow(sum: Float64Array, vectors: Float32Array, offset: number, dim: number): void {
  for (let j = 0; j < dim; j++) sum[j]! += vectors[offset + j]!;
}

/**
 * The naive O(count·n·dim) reference: every step rescans every remaining row
 * (centroid) or updates every row's nearest distance (kcenter). Kept as the
 * test oracle for greedySample.
 */
export function naiveGreedySample(
  vectors: Float32Array,
  n: number,
  dim: number,
  options: GreedySampleOptions,
): Uint32Array {
  const { count, seed, rule } = validate(vectors, n, dim, options);
  const out = new Uint32Array(count);
  if (count === 0) return out;
  const norms = rowSquaredNorms(vectors, n, dim);
  const selected = new Uint8Array(n);
  const first = firstIndex(seed, n);
  out[0] = first;
  selected[first] = 1;
  if (rule === 'centroid') {
    const sum = new Float64Array(dim);
    addRow(sum, vectors, first * dim, dim);
    for (let k = 1; k < count; k++) {
      let best = -Infinity;
      let bestRow = -1;
      for (let i = 0; i < n; i++) {
        if (selected[i] === 1) continue;
        const s = centroidScore(norms[i]!, dot64(vectors, i * dim, sum, dim), k);
        if (s > best) {
          best = s;
          bestRow = i;
        }
      }
      out[k] = bestRow;
      selected[bestRow] = 1;
      addRow(sum, vectors, bestRow * dim, dim);
    }
  } else {
    const nearest = new Float64Array(n).fill(Infinity);
    let last = first;
    for (let k = 1; k < count; k++) {
      let best = -Infinity;
      let bestRow = -1;
      for (let i = 0; i < n; i++) {
        if (selected[i] === 1) continue;
        const d2 = squaredDistance64(vectors, i * dim, last * dim, dim);
        if (d2 < nearest[i]!) nearest[i] = d2;
        if (nearest[i]! > best) {
          best = nearest[i]!;
          bestRow = i;
        }
      }
      out[k] = bestRow;
      selected[bestRow] = 1;
      last = bestRow;
    }
  }
  return out;
}

/** The fast greedy sample: same indices in the same order as naiveGreedySample. */
export async function greedySample(vectors: Float32Array, n: number, dim: number, options: GreedySampleOptions): Promise<Uint32Array> {
  return (await greedySampleWithStats(vectors, n, dim, options)).indices;
}

/** greedySample plus counters of the work it did (for benchmarks). */
export async function greedySampleWithStats(
  vectors: Float32Array,
  n: number,
  dim: number,
  options: GreedySampleOptions,
): Promise<GreedySampleResult> {
  const { count, seed, rule } = validate(vectors, n, dim, options);
  const stats: GreedySampleStats = { simd: false, exactEvaluations: 0, naiveEvaluations: 0, groups: 0 };
  // Row i remains in step k (k = 1..count-1) while it is one of the n-k unselected rows.
  for (let k = 1; k < count; k++) stats.naiveEvaluations += n - k;
  if (count === 0) return { indices: new Uint32Array(0), stats };
  const norms = rowSquaredNorms(vectors, n, dim);
  const first = firstIndex(seed, n);
  const kernels = makeKernels(vectors, dim, options.kernel ?? 'auto');
  stats.simd = kernels.simd;
  if (rule === 'centroid') return { indices: centroidFast(kernels.vectors, n, dim, count, first, norms, stats, kernels, options.onProgress), stats };
  if (count === 1) return { indices: Uint32Array.of(first), stats };
  const distances = {
    distance: (a: number, b: number) => squaredDistance64(kernels.vectors, a, b, dim),
    distance4: (o: number, o0: number, o1: number, o2: number, o3: number) => {
      kernels.dist4(o, o0, o1, o2, o3);
      return kernels.out;
    },
  };
  const indices = await kcenterBlocked(kernels.vectors, n, dim, count, first, norms, options.products ?? plainProducts, distances, { onProgress: options.onProgress, stats });
  return { indices, stats };
}

/** Four-row arithmetic used by the fast paths; results land in `out`. */
interface Kernels {
  readonly simd: boolean;
  /** The rows the kernels read (a copy in kernel memory when the SIMD kernels needed one). */
  readonly vectors: Float32Array;
  /** The float64 vector dot4 multiplies with. */
  readonly sum: Float64Array;
  readonly out: Float64Array;
  /** out[q] = dot64(row at element offset o_q, sum). */
  readonly dot4: (o0: number, o1: number, o2: number, o3: number) => void;
  /** out[q] = squaredDistance64(row at o, row at o_q). */
  readonly dist4: (o: number, o0: number, o1: number, o2: number, o3: number) => void;
}

function makeKernels(vectors: Float32Array, dim: number, kernel: 'auto' | 'scalar' | 'simd'): Kernels {
  if (kernel !== 'scalar') {
    const space = kernelSpaceFor(vectors, dim, kernel === 'simd' ? Number.POSITIVE_INFINITY : SIMD_COPY_LIMIT_BYTES);
    if (space !== null) {
      // Memory from allocateVectors may hold a previous run's scratch.
      space.sum.fill(0);
      return { simd: true, ...space };
    }
  }
  const sum = new Float64Array(dim);
  const out = new Float64Array(4);
  return {
    simd: false,
    vectors,
    sum,
    out,
    dot4: (o0, o1, o2, o3) => dot64x4(vectors, o0, o1, o2, o3, sum, dim, out),
    dist4: (o, o0, o1, o2, o3) => squaredDistance64x4(vectors, o, o0, o1, o2, o3, dim, out),
  };
}

/** Binary max-heap of (row, key) pairs in typed arrays; grows by doubling. */
class MaxHeap {
  ids: Int32Array;
  keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    const cap = Math.max(4, capacity);
    this.ids = new Int32Array(cap);
    this.keys = new Float64Array(cap);
  }

  topKey(): number {
    return this.keys[0]!;
  }

  topId(): number {
    return this.ids[0]!;
  }

  push(id: number, key: number): void {
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    const ids = this.ids;
    const keys = this.keys;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = keys[parent]!;
      if (pk >= key) break;
      keys[i] = pk;
      ids[i] = ids[parent]!;
      i = parent;
    }
    keys[i] = key;
    ids[i] = id;
  }

  /** Removes and returns the id with the largest key. */
  pop(): number {
    const ids = this.ids;
    const keys = this.keys;
    const top = ids[0]!;
    const last = --this.size;
    if (last > 0) this.siftDown(0, ids[last]!, keys[last]!);
    return top;
  }

  /** Restores the heap property over the first `size` entries written directly into ids/keys. */
  heapify(size: number): void {
    this.size = size;
    for (let i = (size >> 1) - 1; i >= 0; i--) this.siftDown(i, this.ids[i]!, this.keys[i]!);
  }

  private siftDown(start: number, id: number, key: number): void {
    const ids = this.ids;
    const keys = this.keys;
    const size = this.size;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && keys[right]! > keys[child]!) child = right;
      if (keys[child]! <= key) break;
      keys[i] = keys[child]!;
      ids[i] = ids[child]!;
      i = child;
    }
    keys[i] = key;
    ids[i] = id;
  }
}

function distanceToRef(c: Float64Array, ref: Float64Array, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) {
    const t = c[j]! - ref[j]!;
    acc += t * t;
  }
  return Math.sqrt(acc);
}

/**
 * Centroid rule, lazily. Rows live in epochs; epoch e has a reference vector
 * ref_e and a max-heap of its rows keyed so that, at any later step t,
 *   score_r(t) <= key_r + 2·nmax·||c_t - ref_e||.
 * A row evaluated exactly at step a enters a fresh epoch with ref = c_a and
 * key = score_r(a) (Cauchy–Schwarz: |x·(c_t - c_a)| <= ||x||·||c_t - c_a||).
 * Old epochs are merged (the smaller heap re-keyed by 2·nmax·||ref_A - ref_B||,
 * the triangle inequality) once their span of steps is small against their
 * age, so few epochs stay live while recently evaluated rows keep tight bounds.
 * Epochs sit in a heap keyed by topKey + 2·nmax·(D_e(t0) - P(t0)), P being the
 * running path length of the centroid: D_e(t) <= D_e(t0) + P(t) - P(t0), so an
 * epoch is skipped without touching its reference while that bound is below
 * the best exact score of the step.
 */
function centroidFast(
  vectors: Float32Array,
  n: number,
  dim: number,
  count: number,
  first: number,
  norms: Float64Array,
  stats: GreedySampleStats,
  kernels: Kernels,
  onProgress: ((selected: number) => void) | undefined,
): Uint32Array {
  const out = new Uint32Array(count);
  out[0] = first;
  const selected = new Uint8Array(n);
  selected[first] = 1;
  if (count === 1) return out;

  let nmax = 0;
  let zeroCount = 0;
  for (let i = 0; i < n; i++) {
    const v = norms[i]!;
    if (v === 0) zeroCount++;
    else if (v > nmax) nmax = v;
  }
  // sqrt of a computed sum of squares is within (d+2)*2^-53 relative of the true norm; 1e-9 covers it.
  nmax = Math.sqrt(nmax) * (1 + 1e-9);
  const n2max = nmax * nmax;
  const twoN = 2 * nmax;
  // All-zero rows score exactly 0 at every step, so only the lowest remaining one can ever win;
  // they stay out of the heaps, where their loose bound would make them look like candidates.
  const zeros = new Int32Array(zeroCount);
  for (let i = 0, z = 0; i < n; i++) if (norms[i] === 0) zeros[z++] = i;
  let zeroPtr = 0;

  const sum = kernels.sum;
  addRow(sum, vectors, first * dim, dim);
  let k = 1;
  let c = new Float64Array(dim);
  let cNext = new Float64Array(dim);
  for (let j = 0; j < dim; j++) c[j] = sum[j]!;
  const slackUnit = CENTROID_SLACK_BASE + 1024 * (dim + 8) * EPS;
  let pathLength = 0;
  let slack = slackUnit * (1 + n2max);

  // Epochs; ids are never reused, a dead epoch has refs[e] === null.
  const refs: (Float64Array | null)[] = [];
  const heaps: (MaxHeap | null)[] = [];
  const spanLo: number[] = [];
  const spanHi: number[] = [];
  const epochDist: number[] = [];
  const refPool: Float64Array[] = [];
  let live: number[] = [];
  const epochHeap = new MaxHeap(64); // one entry per live epoch; entries of dead epochs are skipped
  const touched: number[] = [];

  const takeRef = (): Float64Array => {
    const r = refPool.pop() ?? new Float64Array(dim);
    r.set(c);
    return r;
  };
  const addEpoch = (ref: Float64Array, heap: MaxHeap, lo: number, hi: number, dist: number): number => {
    const e = refs.length;
    refs.push(ref);
    heaps.push(heap);
    spanLo.push(lo);
    spanHi.push(hi);
    epochDist.push(dist);
    epochHeap.push(e, heap.topKey() + twoN * (dist - pathLength));
    return e;
  };
  const killEpoch = (e: number, keepRef: boolean): void => {
    if (!keepRef) refPool.push(refs[e]!);
    refs[e] = null;
    heaps[e] = null;
  };

  // Rows evaluated in the current step: all leave their heaps, all but the winner come back in a new epoch.
  let evIds = new Int32Array(Math.max(16, n));
  let evScores = new Float64Array(Math.max(16, n));
  let evCount = 0;
  let evaluations = 0;
  let best = -Infinity;
  let bestRow = -1;

  const record = (r: number, dot: number): void => {
    const s = centroidScore(norms[r]!, dot, k);
    if (evCount === evIds.length) {
      const ids = new Int32Array(evCount * 2);
      ids.set(evIds);
      evIds = ids;
      const sc = new Float64Array(evCount * 2);
      sc.set(evScores);
      evScores = sc;
    }
    evIds[evCount] = r;
    evScores[evCount] = s;
    evCount++;
    if (s > best || (s === best && r < bestRow)) {
      best = s;
      bestRow = r;
    }
  };
  // Exact evaluation of `batchSize` rows in `batch`, four at a time when possible (same sums as dot64).
  const batch = new Int32Array(DOT_BATCH);
  const batchDots = kernels.out;
  const dot4 = kernels.dot4;
  let batchSize = 0;
  const flush = (): void => {
    if (batchSize >= 2) {
      // Two or three rows still go through the four-row kernel, padded with the last one.
      const last = batch[batchSize - 1]! * dim;
      dot4(batch[0]! * dim, batch[1]! * dim, batchSize > 2 ? batch[2]! * dim : last, batchSize > 3 ? batch[3]! * dim : last);
      for (let t = 0; t < batchSize; t++) record(batch[t]!, batchDots[t]!);
    } else if (batchSize === 1) {
      record(batch[0]!, dot64(vectors, batch[0]! * dim, sum, dim));
    }
    batchSize = 0;
  };

  const considerZero = (): void => {
    while (zeroPtr < zeros.length && selected[zeros[zeroPtr]!] === 1) zeroPtr++;
    if (zeroPtr < zeros.length) {
      const z = zeros[zeroPtr]!;
      const s = centroidScore(norms[z]!, dot64(vectors, z * dim, sum, dim), k);
      evaluations++;
      if (s > best || (s === best && z < bestRow)) {
        best = s;
        bestRow = z;
      }
    }
  };

  // Merges epochs a (older) and b (newer) into a new epoch holding the larger heap and its reference.
  const merge = (a: number, b: number): number => {
    const ha = heaps[a]!;
    const hb = heaps[b]!;
    const [big, small, keep, drop] = ha.size >= hb.size ? [ha, hb, a, b] : [hb, ha, b, a];
    const shift = twoN * distanceToRef(refs[keep]!, refs[drop]!, dim) * (1 + 1e-9) + slack;
    for (let t = 0; t < small.size; t++) big.push(small.ids[t]!, small.keys[t]! + shift);
    const ref = refs[keep]!;
    killEpoch(keep, true);
    killEpoch(drop, false);
    return addEpoch(ref, big, spanLo[a]!, spanHi[b]!, distanceToRef(c, ref, dim));
  };

  // Step with k = 1: every row is evaluated once, against c = the first row.
  for (let i = 0; i < n; i++) {
    if (selected[i] === 1 || norms[i] === 0) continue;
    batch[batchSize++] = i;
    if (batchSize === DOT_BATCH) flush();
  }
  flush();
  considerZero();
  // Rows taken out of the heaps in the last step (all of them in step 1), and the rescan schedule.
  let popped = evCount;
  let lastWasHeapStep = true;
  let denseLeft = 0;
  let denseRun = 1;

  for (;;) {
    // `bestRow` wins the step with k selected rows.
    out[k] = bestRow;
    selected[bestRow] = 1;
    evaluations += evCount;
    for (const e of touched) {
      const h = heaps[e]!;
      if (h.size > 0) epochHeap.push(e, h.topKey() + twoN * (epochDist[e]! - pathLength));
      else killEpoch(e, false);
    }
    touched.length = 0;
    let fresh = 0;
    for (let t = 0; t < evCount; t++) if (evIds[t] !== bestRow) fresh++;
    if (fresh > 0) {
      const heap = new MaxHeap(fresh);
      let w = 0;
      for (let t = 0; t < evCount; t++) {
        const r = evIds[t]!;
        if (r === bestRow) continue;
        heap.ids[w] = r;
        heap.keys[w] = evScores[t]!;
        w++;
      }
      heap.heapify(w);
      live.push(addEpoch(takeRef(), heap, k, k, 0));
    }
    evCount = 0;
    if (k + 1 === count) break;

    // Merge neighbouring epochs whose joint span is short against their age.
    {
      const kept: number[] = [];
      for (const e of live) {
        if (refs[e] === null) continue;
        let cur = e;
        while (kept.length > 0) {
          const prev = kept[kept.length - 1]!;
          if ((spanHi[cur]! - spanLo[prev]! + 1) * EPOCH_MERGE_RATIO > k - spanHi[cur]!) break;
          kept.pop();
          cur = merge(prev, cur);
        }
        kept.push(cur);
      }
      live = kept;
    }

    // Move the centroid: S += x, k += 1, and extend the path length by the move (rounded up).
    addRow(sum, vectors, bestRow * dim, dim);
    k++;
    if (onProgress !== undefined && k % PROGRESS_EVERY === 0) onProgress(k);
    let move2 = 0;
    for (let j = 0; j < dim; j++) {
      const v = sum[j]! / k;
      cNext[j] = v;
      const t = v - c[j]!;
      move2 += t * t;
    }
    const move = Math.sqrt(move2);
    pathLength += move * (1 + 1e-9) + 8 * EPS * (nmax + pathLength + move + 1);
    const swap = c;
    c = cNext;
    cNext = swap;
    slack = slackUnit * (1 + n2max + twoN * pathLength);

    best = -Infinity;
    bestRow = -1;
    considerZero();
    if (lastWasHeapStep) {
      if (popped >= DENSE_STEP_FRACTION * (n - zeroCount - k)) {
        // Each heap step that still pops most rows doubles the next run of rescans (up to DENSE_MAX_RUN).
        denseLeft = denseRun;
        denseRun = Math.min(DENSE_MAX_RUN, denseRun * 2);
      } else {
        denseRun = 1;
      }
    }
    if (denseLeft > 0) {
      denseLeft--;
      lastWasHeapStep = false;
      // The last step took most rows out of the heaps anyway: rescan all of them in index order
      // (sequential memory, no heap work) and start over with a single epoch, as in step 1.
      for (const e of live) if (refs[e] !== null) killEpoch(e, false);
      live = [];
      epochHeap.size = 0;
      for (let i = 0; i < n; i++) {
        if (selected[i] === 1 || norms[i] === 0) continue;
        batch[batchSize++] = i;
        if (batchSize === DOT_BATCH) flush();
      }
      flush();
      continue;
    }
    lastWasHeapStep = true;
    popped = 0;
    while (epochHeap.size > 0) {
      const e = epochHeap.topId();
      const ref = refs[e];
      if (ref === null || ref === undefined) {
        epochHeap.pop();
        continue;
      }
      if (epochHeap.topKey() + twoN * pathLength + slack < best) break;
      epochHeap.pop();
      const d = distanceToRef(c, ref, dim);
      epochDist[e] = d;
      const heap = heaps[e]!;
      const offset = twoN * d + slack;
      // Rows are popped in batches against the best known before the batch: a few extra
      // evaluations, but four interleaved sums run about twice as fast as one.
      while (heap.size > 0 && heap.topKey() + offset >= best) {
        while (batchSize < DOT_BATCH && heap.size > 0 && heap.topKey() + offset >= best) {
          batch[batchSize++] = heap.pop();
          popped++;
        }
        flush();
      }
      touched.push(e);
    }
  }
  stats.exactEvaluations += evaluations;
  stats.groups += refs.length;
  return out;
}

