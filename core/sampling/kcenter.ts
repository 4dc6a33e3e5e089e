// The kcenter rule of greedy sampling with blocked products: the same rows in the same order as the naive
// oracle (./oracle.ts), with the N × k distance updates done as float32 matrix products of all rows
// against blocks of new centers, and exact float64 distances only where a product cannot rule a change out.
//
// The oracle, after each new center c, sets m_i = min(m_i, dist2(i, c)) for every unselected row and picks
// the largest m_i (ties: lowest row). Here centers are applied to all rows a block at a time:
//
// - Between block updates a row's stored m_i is an upper bound of its true value (centers of the current
//   block may not have been applied to it yet). The next center is found with a max-heap on (m_i, -i):
//   the top row gets the block's centers applied exactly; if it still heads the heap it is the oracle's
//   pick (every other row's true value is at most its key), else it goes back with its new key.
// - Every `block` centers, one float32 product of every row with the block's centers gives
//   dist2 ≈ |x|² + |c|² - 2·x·c; a center can only lower m_i when that estimate minus its error bound is
//   below m_i, and only those pairs get the oracle's exact dist2.
//
// So every m_i that decides a pick equals the oracle's value bit for bit, and so does the order.

import { RowHeap } from './heap.js';
import { squaredDistance64, type Kernels, type Products } from './kernels.js';

/** Centers per block update: the products run at full speed from about 128 columns on. */
export const KCENTER_BLOCK = 256;
/** Rows per product call (bounds the m × block output). */
const ROW_CHUNK = 16_384;
const F32_UNIT_ROUNDOFF = 2 ** -24;
/** Relative slack for the float64 side: the oracle's dist2 and |x|² + |c|² - 2·dot differ by far less. */
const F64_SLACK = 1e-8;
const PROGRESS_EVERY = 1024;

/**
 * kcenter greedy sample of `count` rows starting at `first` (count ≥ 2), identical to the oracle's.
 * `norms` are the rows' float64 squared norms.
 */
export async function kcenterBlocked(
  vectors: Float32Array,
  n: number,
  dim: number,
  count: number,
  first: number,
  norms: Float64Array,
  products: Products,
  /** The oracle's dist2 kernels (the same bits as squaredDistance64, SIMD where it can). */
  kernels: Kernels,
  options: { block?: number; onProgress?: ((selected: number, order: Uint32Array) => void) | undefined; stats?: { exactEvaluations: number } } = {},
): Promise<Uint32Array> {
  const { dist4, out: dist4Out } = kernels;
  const distance = (a: number, b: number): number => squaredDistance64(kernels.vectors, a, b, dim);
  const distance4 = (o: number, o0: number, o1: number, o2: number, o3: number): Float64Array => {
    dist4(o, o0, o1, o2, o3);
    return dist4Out;
  };
  const block = Math.max(1, options.block ?? KCENTER_BLOCK);
  const out = new Uint32Array(count);
  out[0] = first;
  const m = new Float64Array(n).fill(Infinity);
  /** Centers out[0 .. applied[i]) have been applied to row i. */
  const applied = new Int32Array(n);
  const taken = new Uint8Array(n);
  taken[first] = 1;
  const len = new Float64Array(n);
  for (let i = 0; i < n; i++) len[i] = Math.sqrt(norms[i]!);
  const gamma = 2 * (dim + 2) * F32_UNIT_ROUNDOFF;
  let exact = 0;
  const centers = new Float32Array(block * dim);
  const blockNorms = new Float64Array(block);
  const exactDistance = (i: number, c: number): number => {
    exact++;
    return distance(i * dim, c * dim);
  };
  const heap = new RowHeap(n);

  // The rows the products read: the unselected ones, copied together (`live`, `liveRows`) and copied
  // again once a quarter of them has been selected, so that selected rows cost little product time.
  let liveRows = new Int32Array(0);
  let live = vectors.subarray(0, 0);
  let liveTaken = 0;
  const compact = (): void => {
    let count = 0;
    for (let i = 0; i < n; i++) if (taken[i] === 0) count++;
    liveRows = new Int32Array(count);
    for (let i = 0, r = 0; i < n; i++) if (taken[i] === 0) liveRows[r++] = i;
    live = new Float32Array(count * dim);
    for (let r = 0; r < count; r++) live.set(vectors.subarray(liveRows[r]! * dim, liveRows[r]! * dim + dim), r * dim);
    liveTaken = 0;
  };

  /** Applies out[from .. to) to every unselected row with one product per chunk of rows. */
  const blockUpdate = async (from: number, to: number): Promise<void> => {
    const b = to - from;
    let maxLen = 0;
    for (let j = 0; j < b; j++) {
      const c = out[from + j]!;
      centers.set(vectors.subarray(c * dim, c * dim + dim), j * dim);
      blockNorms[j] = norms[c]!;
      maxLen = Math.max(maxLen, len[c]!);
    }
    if (liveTaken * 4 > liveRows.length) compact();
    const rows = liveRows.length;
    for (let s = 0; s < rows; s += ROW_CHUNK) {
      const e = Math.min(rows, s + ROW_CHUNK);
      const dots = await products(live.subarray(s * dim, e * dim), e - s, centers.subarray(0, b * dim), b, dim);
      for (let r = s; r < e; r++) {
        const i = liveRows[r]!;
        if (taken[i] === 1) continue;
        const ni = norms[i]!;
        // |dot32 - dot| <= gamma·|x||c|, so dist2 >= ni + |c|² - 2·dot32 - err; a center can lower m_i
        // only if |c|² - 2·dot32 < m_i + err - ni.
        const err = 2 * gamma * len[i]! * maxLen + F64_SLACK * (ni + maxLen * maxLen) + 4 * F32_UNIT_ROUNDOFF;
        let mi = m[i]!;
        let limit = mi + err - ni;
        const o = (r - s) * b;
        for (let j = Math.max(0, applied[i]! - from); j < b; j++) {
          if (blockNorms[j]! - 2 * dots[o + j]! < limit) {
            const d2 = exactDistance(i, out[from + j]!);
            if (d2 < mi) {
              mi = d2;
              limit = mi + err - ni;
            }
          }
        }
        m[i] = mi;
        applied[i] = to;
      }
    }
  };

  /** Applies the centers row i has not seen yet, exactly (four at a time); returns its true nearest distance. */
  const refresh = (i: number, to: number): number => {
    let mi = m[i]!;
    let k = applied[i]!;
    for (; k + 4 <= to; k += 4) {
      exact += 4;
      const d = distance4(i * dim, out[k]! * dim, out[k + 1]! * dim, out[k + 2]! * dim, out[k + 3]! * dim);
      for (let t = 0; t < 4; t++) if (d[t]! < mi) mi = d[t]!;
    }
    for (; k < to; k++) {
      const d2 = exactDistance(i, out[k]!);
      if (d2 < mi) mi = d2;
    }
    m[i] = mi;
    applied[i] = to;
    return mi;
  };

  compact();
  let blockStart = 0;
  for (let k = 1; k < count; k++) {
    if (k - blockStart >= block || k === 1) {
      await blockUpdate(blockStart, k);
      blockStart = k;
      const rows: number[] = [];
      for (let i = 0; i < n; i++) if (taken[i] === 0) rows.push(i);
      heap.fill(rows, m);
    }
    // The heap's keys are upper bounds of the true values: refresh the top until it stays on top.
    for (;;) {
      const i = heap.ids[0]!;
      const v = refresh(i, k);
      if (heap.headsChildren(v, i)) break;
      heap.replaceTop(i, v);
    }
    const row = heap.ids[0]!;
    heap.pop();
    out[k] = row;
    taken[row] = 1;
    liveTaken++;
    if (options.onProgress !== undefined && (k + 1) % PROGRESS_EVERY === 0) options.onProgress(k + 1, out);
  }
  if (options.stats) options.stats.exactEvaluations += exact;
  return out;
}
