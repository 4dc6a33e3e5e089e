// The centroid rule of greedy sampling with blocked products: the oracle's rows in the oracle's order, with every
// row's score tracked through float32 matrix products and the oracle's exact score taken only where the products'
// certified error cannot tell rows apart.
//
// Write the oracle's score times k as f_k(i) = k·|x_i|² - 2·x_i·S_k (S_k: float64 sum of the k selected rows); the
// oracle picks the largest f_k/k. Each pick q adds |x_i|² - 2·x_i·x_q to every f(i). So the sampler keeps an estimate
// of f for every row, re-anchored at each block start from one product with S, and adds the increments from
// products of all rows with *candidate* picks computed ahead: at a block start the rows with the highest f (the
// likely next picks) are multiplied with all rows in one float32 matrix product; a pick outside them costs one
// matrix-vector product. Each step, only the rows whose estimate is within twice the certified error of the largest
// get the oracle's exact score (dot64 with S_k, same function and bits); the best of those is the oracle's pick.
// Work: about N × count × d multiply-adds at matrix-product speed (plus the unpicked candidates), one pass over N
// per step, and a handful of exact scores per step.
import { RowHeap } from './heap.js';
import { addRow, centroidScore, dot64, DOT_BATCH, type Kernels, type Products } from './kernels.js';
import type { GreedySampleStats } from './options.js';

const F32_UNIT_ROUNDOFF = 2 ** -24;
/**
 * Relative slack on the error bound (against k·n_max + 2·l_max·|S|): covers the rounding of the exact scores, of the
 * float64 sums S and of the estimates' own additions, each far below 1e-12 of that here.
 */
const BOUND_SLACK = 1e-9;
/**
 * Candidate picks multiplied ahead per block: dim/2 (the columns then take at most half the matrix's memory),
 * between 64 (products at full speed) and 256 (more rarely pays: half of them go unpicked). Measured on real-text
 * rows at 10k × 384 (bench/sampling-real-text.ts): 64 candidates 2.96 s CPU, 192 2.32 s, 256 1.96 s.
 */
const CANDIDATES_MIN = 64;
const CANDIDATES_MAX = 256;
/** A block ends once this fraction of its candidates has been picked (the rest are ever less likely to be). */
const BLOCK_USE_FRACTION = 0.5;
/** ...or after this many picks in a row from outside the candidates (the estimates have moved past them). */
const BLOCK_MAX_MISSES = 8;
/** Rows per product call (bounds the temporary output: (candidates + 1) × ROW_CHUNK floats). */
const ROW_CHUNK = 32_768;
// Selections between two onProgress calls.
const PROGRESS_EVERY = 1024;

/**
 * Continues a centroid greedy sample whose first `selected` rows (≥ 1) are out[0 .. selected), their float64 sum
 * in kernels.sum, up to out.length rows, identical to the oracle's.
 */
export async function centroidBlocked(
  vectors: Float32Array,
  n: number,
  dim: number,
  out: Uint32Array,
  selected: number,
  norms: Float64Array,
  products: Products,
  kernels: Kernels,
  stats: GreedySampleStats,
  onProgress: ((selected: number) => void) | undefined,
): Promise<Uint32Array> {
  const count = out.length;
  if (selected >= count) return out;

  let nmax = 0;
  for (let i = 0; i < n; i++) nmax = Math.max(nmax, norms[i]!);
  // sqrt of a computed sum of squares is within (d+2)·2^-53 relative of the true norm; 1e-9 covers it.
  const lmax = Math.sqrt(nmax) * (1 + 1e-9);
  // Error of one float32 product per unit of |x|·|y| (any summation order; d + 2 roundings), plus the rounding of
  // the float64 sum S to float32 (anchor) and of the result.
  const gamma = (2 * (dim + 2) + 2) * F32_UNIT_ROUNDOFF;

  const sum = kernels.sum;
  let k = selected;
  // Estimates of f_k; -Infinity once selected.
  const f = new Float64Array(n);
  for (let t = 0; t < k; t++) f[out[t]!] = -Infinity;

  const m = Math.min(n - 1, Math.max(CANDIDATES_MIN, Math.min(CANDIDATES_MAX, dim >> 1)));
  const candidateRows = new Int32Array(m);
  const columnOf = new Int32Array(n).fill(-1);
  // Column-major products: column j (rows 0..n-1) at j·n; column m is the anchor x·S.
  const columns = new Float32Array((m + 1) * n);
  const gathered = new Float32Array((m + 1) * dim);
  const missColumn = new Float32Array(n);
  let candidates = 0;
  let used = 0;
  let misses = 0;
  let blocks = 0;
  let anchorError = 0;
  let blockError = 0;
  let evaluations = 0;

  /** a (rows × dim, gathered) times every row, into column-major `into` from column offset `at`. */
  const multiplyAll = async (a: Float32Array, rows: number, into: Float32Array, at: number): Promise<void> => {
    for (let s = 0; s < n; s += ROW_CHUNK) {
      const e = Math.min(n, s + ROW_CHUNK);
      const p = await products(a, rows, vectors.subarray(s * dim, e * dim), e - s, dim);
      for (let j = 0; j < rows; j++) into.set(p.subarray(j * (e - s), (j + 1) * (e - s)), (at + j) * n + s);
    }
  };

  /** Picks the rows with the highest estimates as candidates, multiplies them and S with every row, re-anchors f. */
  const startBlock = async (): Promise<void> => {
    blocks++;
    for (let j = 0; j < candidates; j++) columnOf[candidateRows[j]!] = -1;
    // The m highest estimates, by a min-heap (keys negated) of size m.
    const top = new RowHeap(m);
    for (let i = 0; i < n; i++) {
      const v = f[i]!;
      if (v === -Infinity) continue;
      if (top.size < m) top.push(i, -v);
      else if (-v < top.topKey()) top.replaceTop(i, -v);
    }
    candidates = top.size;
    for (let j = 0; j < candidates; j++) {
      const r = top.ids[j]!;
      candidateRows[j] = r;
      columnOf[r] = j;
      gathered.set(vectors.subarray(r * dim, r * dim + dim), j * dim);
    }
    let s2 = 0;
    for (let j = 0; j < dim; j++) {
      gathered[candidates * dim + j] = sum[j]!;
      s2 += sum[j]! * sum[j]!;
    }
    await multiplyAll(gathered.subarray(0, (candidates + 1) * dim), candidates + 1, columns, 0);
    // The anchor sits right after the candidates' columns.
    const anchor = columns.subarray(candidates * n, candidates * n + n);
    for (let i = 0; i < n; i++) if (f[i] !== -Infinity) f[i] = k * norms[i]! - 2 * anchor[i]!;
    anchorError = 2 * lmax * gamma * Math.sqrt(s2) * (1 + 1e-9);
    blockError = 0;
    used = 0;
    misses = 0;
  };

  // Rows within the error of the best estimate, collected by the pass that updates the estimates.
  let near = new Int32Array(1024);
  let nearCount = 0;
  const collect = (width: number): void => {
    let fmax = -Infinity;
    nearCount = 0;
    for (let i = 0; i < n; i++) {
      const v = f[i]!;
      if (v < fmax - width) continue;
      if (v > fmax) fmax = v;
      if (nearCount === near.length) {
        const grown = new Int32Array(near.length * 2);
        grown.set(near);
        near = grown;
      }
      near[nearCount++] = i;
    }
    let w = 0;
    for (let t = 0; t < nearCount; t++) if (f[near[t]!]! >= fmax - width) near[w++] = near[t]!;
    nearCount = w;
  };

  let best = -Infinity;
  let bestRow = -1;
  const record = (r: number, dot: number): void => {
    const s = centroidScore(norms[r]!, dot, k);
    if (s > best || (s === best && r < bestRow)) {
      best = s;
      bestRow = r;
    }
  };
  const batch = new Int32Array(DOT_BATCH);
  let batchSize = 0;
  const flush = (): void => {
    if (batchSize >= 2) {
      // Two or three rows still go through the four-row kernel, padded with the last one.
      const last = batch[batchSize - 1]! * dim;
      kernels.dot4(batch[0]! * dim, batch[1]! * dim, batchSize > 2 ? batch[2]! * dim : last, batchSize > 3 ? batch[3]! * dim : last);
      for (let t = 0; t < batchSize; t++) record(batch[t]!, kernels.out[t]!);
    } else if (batchSize === 1) {
      record(batch[0]!, dot64(vectors, batch[0]! * dim, sum, dim));
    }
    batchSize = 0;
  };

  // First estimates from S alone, so that the first block's candidates are real ones.
  await multiplyAll(Float32Array.from(sum), 1, missColumn, 0);
  for (let i = 0; i < n; i++) if (f[i] !== -Infinity) f[i] = k * norms[i]! - 2 * missColumn[i]!;
  await startBlock();
  for (;;) {
    // Any row whose true f is the largest has an estimate within 2·error of the largest estimate.
    const slack = BOUND_SLACK * (k * nmax + 2 * lmax * k * lmax + 1);
    collect(2 * (anchorError + blockError) + slack);
    best = -Infinity;
    bestRow = -1;
    for (let t = 0; t < nearCount; t++) {
      batch[batchSize++] = near[t]!;
      if (batchSize === DOT_BATCH) flush();
    }
    flush();
    evaluations += nearCount;
    const q = bestRow;
    out[k] = q;
    f[q] = -Infinity;
    if (k + 1 === count) break;

    // Every row's estimate takes the pick's increment |x_i|² - 2·x_i·x_q.
    let column: Float32Array;
    const j = columnOf[q]!;
    if (j >= 0) {
      column = columns.subarray(j * n, j * n + n);
      used++;
      misses = 0;
    } else {
      await multiplyAll(vectors.subarray(q * dim, q * dim + dim), 1, missColumn, 0);
      column = missColumn;
      misses++;
    }
    for (let i = 0; i < n; i++) f[i]! += norms[i]! - 2 * column[i]!;
    blockError += 2 * lmax * gamma * Math.sqrt(norms[q]!) * (1 + 1e-9);
    addRow(sum, vectors, q * dim, dim);
    k++;
    if (onProgress !== undefined && k % PROGRESS_EVERY === 0) onProgress(k);
    if (used >= BLOCK_USE_FRACTION * candidates || misses >= BLOCK_MAX_MISSES) await startBlock();
  }
  stats.exactEvaluations += evaluations;
  stats.groups += blocks;
  return out;
}
