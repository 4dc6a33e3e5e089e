// The embedded store's exact top-1 scan (float32 products on onnxruntime over the whole matrix, float64 re-rank of
// the candidates, certified by the float32 error bound) and the blocked float32 top-k it runs on. The k nearest
// (the offline judge's neighbour evidence, and the categorise pass's top-1 from the same scan) are in exact-knn.ts.
import type { Neighbour } from '../../core/categorise.js';
import { equalRows, lowestEqualOther, type EqualRows } from '../../core/equal-rows.js';
import { NO_NEIGHBOUR, certifyTop1, dot64, gather } from '../../core/float64-rerank.js';
import { ORT_VERSION, floatTopK } from '../onnx/kernels.js';

/** Rows of the matrix per product call; query rows per call (256 × 32,768 float32 scores = 32 MiB at most). */
export const EXACT_K_ROW_BLOCK = 32_768;
const QUERY_BLOCK = 256;
/** Candidates the certified top-1 scan keeps per query before its float64 re-rank; widened (× 4) on failure. */
const EXACT_CANDIDATES = 8;
const WIDEN_FACTOR = 4;
const LIBRARY = `onnxruntime ${ORT_VERSION}`;

/**
 * Puts (s, id) into the best-first list ids[base, base + k) / scores (−1 ids empty) if it belongs there: higher
 * score first, equal scores to the lower id.
 */
export function insert(scores: Float32Array | Float64Array | Int32Array, ids: Int32Array, base: number, k: number, s: number, id: number): void {
  let j = base + k - 1;
  const last = ids[j]!;
  if (last >= 0 && (s < scores[j]! || (s === scores[j]! && id > last))) return;
  while (j > base && (ids[j - 1]! < 0 || s > scores[j - 1]! || (s === scores[j - 1]! && id < ids[j - 1]!))) {
    scores[j] = scores[j - 1]!;
    ids[j] = ids[j - 1]!;
    j--;
  }
  scores[j] = s;
  ids[j] = id;
}

/**
 * The `k` best rows of 0..n-1 of `vectors` for each of the m query rows `q` (m × dim) by float32 product on
 * onnxruntime, best first, ties to the lower id, −1 past n (m × k scores and ids): the matrix in blocks of
 * `rowBlock` rows, each block's top k merged. Rows whose `mask` entry is −∞ are left out (−1 past the others).
 */
export async function blockedFloatTopK(
  q: Float32Array,
  m: number,
  vectors: Float32Array,
  n: number,
  dim: number,
  k: number,
  threads: number,
  rowBlock = EXACT_K_ROW_BLOCK,
  mask?: Float32Array,
): Promise<{ scores: Float32Array; ids: Int32Array }> {
  const scores = new Float32Array(m * k).fill(-Infinity);
  const ids = new Int32Array(m * k).fill(-1);
  const zeros = mask ? undefined : new Float32Array(Math.min(n, rowBlock));
  for (let from = 0; from < n; from += rowBlock) {
    const len = Math.min(rowBlock, n - from);
    const kk = Math.min(k, len);
    const bias = mask ? mask.subarray(from, from + len) : zeros!.subarray(0, len);
    const top = await floatTopK(q, m, vectors.subarray(from * dim, (from + len) * dim), len, dim, bias, kk, threads);
    for (let r = 0; r < m; r++) {
      for (let t = 0; t < kk; t++) {
        const s = top.values[r * kk + t]!;
        if (s !== -Infinity) insert(scores, ids, r * k, k, s, from + Number(top.indices[r * kk + t]));
      }
    }
  }
  return { scores, ids };
}

/** The matrix rows a search of deduplicated rows leaves out (every row but the first of its equal group): −∞. */
function repeatMask(equal: EqualRows, n: number): Float32Array {
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) if (equal.first[i] !== i) mask[i] = -Infinity;
  return mask;
}

/** Candidate rows of a top-1 search restricted to some rows: their ids (ascending) and their vectors gathered in that order. */
export interface Pool {
  rows: Int32Array;
  matrix: Float32Array;
}

/**
 * Exact top-1 of each query among rows 0..n-1 but itself (ties to the lowest id), or among the rows of `pool`
 * (a split's rows: the query itself excluded where it is one): onnxruntime's float32 products propose
 * candidates, float64 re-ranks them, and a query is settled only when no other row can reach the best float64
 * score given the float32 error bound; otherwise it is asked again with more. Queries go 256 at a time (each
 * call's scores are queries × 32,768 floats).
 *
 * Equal vectors tie, and a tie at the top cannot settle until the candidates reach past it: a group of D equal
 * rows would widen D queries to more than D candidates each (about D² work). So once a query is left unsettled
 * (at once with `group: 'at-once'`), the rows are grouped by equal vectors (`equalRows`, one hashing pass) and,
 * where any repeat, the next rounds scan only the first row of each group: a repeat scores exactly as its group's
 * first, which has the lower id, so it can never be the answer, except to that first row itself, whose answer
 * then weighs its group's next row (the same score as its own vector's) against the scan's.
 */
export async function exactTop1Gemm(
  vectors: Float32Array,
  n: number,
  dim: number,
  queries: ArrayLike<number>,
  maxNorm: number,
  threads: number,
  options: {
    pool?: Pool;
    /** The rows' equal-vector groups (without a pool), where the caller keeps them across calls; else computed when needed. */
    equal?: () => EqualRows;
    /** When to group the rows by equal vectors: once a query is left unsettled (default), at once, or never (every tie widens: benchmarks compare against it). */
    group?: 'when-unsettled' | 'at-once' | 'never';
    /** Filled in: the most candidates any round kept per query, and whether the rows were grouped (repeats found). */
    stats?: { widestCandidates: number; grouped: boolean };
  } = {},
): Promise<Neighbour[]> {
  const out: Neighbour[] = Array.from({ length: queries.length }, () => NO_NEIGHBOUR);
  // The candidate matrix (m rows) and its rows' ids; a query's own place in it (−1 outside it).
  const { pool } = options;
  const m = pool ? pool.rows.length : n;
  const matrix = pool ? pool.matrix : vectors;
  const idOf = pool ? (j: number) => pool.rows[j]! : (j: number) => j;
  if (pool && pool.rows.some((r, j) => j > 0 && r <= pool.rows[j - 1]!)) throw new RangeError('exactTop1Gemm: pool rows must be ascending ids');
  const placeOf = pool ? (q: number) => ascendingIndexOf(pool.rows, q) : (q: number) => q;
  if (m === 0) return out;
  let pending = Array.from({ length: queries.length }, (_, i) => i);
  let k = Math.min(m, EXACT_CANDIDATES);
  let equal: EqualRows | undefined;
  let mask: Float32Array | undefined;
  let rows = m;
  const group = (): void => {
    equal = options.equal && !pool ? options.equal() : equalRows(matrix, m, dim);
    if (equal.repeated === 0) return;
    mask = repeatMask(equal, m);
    rows = m - equal.repeated;
    k = Math.min(rows, EXACT_CANDIDATES);
  };
  if (options.group === 'at-once') group();
  while (pending.length > 0) {
    if (options.stats) Object.assign(options.stats, { widestCandidates: Math.max(options.stats.widestCandidates, k), grouped: mask !== undefined });
    const unsettled: number[] = [];
    for (let start = 0; start < pending.length; start += QUERY_BLOCK) {
      const part = pending.slice(start, start + QUERY_BLOCK);
      const rowsOf = part.map((i) => queries[i]!);
      // Per query: the k best (score, place) over all blocks, as flat arrays.
      const { scores: bestS, ids: bestI } = await blockedFloatTopK(gather(vectors, dim, rowsOf), rowsOf.length, matrix, m, dim, k, threads, EXACT_K_ROW_BLOCK, mask);
      part.forEach((qi, i) => {
        const q = rowsOf[i]!;
        const ids: number[] = [];
        const scores32: number[] = [];
        for (let j = i * k; j < (i + 1) * k && bestI[j]! >= 0; j++) {
          ids.push(idOf(bestI[j]!));
          scores32.push(bestS[j]!);
        }
        const r = certifyTop1(vectors, dim, q, ids, scores32, maxNorm, LIBRARY);
        if (k < rows && !r.certain) return void unsettled.push(qi);
        let best = r.best;
        const place = mask ? placeOf(q) : -1;
        const twin = place >= 0 ? lowestEqualOther(equal!, place, place) : -1;
        if (twin >= 0) {
          const id = idOf(twin);
          const s = dot64(vectors, dim, q, id);
          if (s > best.score || (s === best.score && id < best.id)) best = { id, score: s };
        }
        out[qi] = best;
      });
    }
    pending = unsettled;
    if (pending.length > 0 && !equal && options.group !== 'never') {
      group();
      // Repeats found: the next round starts again from 8 candidates, over the first row of each group.
      if (mask) continue;
    }
    k = Math.min(rows, k * WIDEN_FACTOR);
  }
  return out;
}

/** The index of `id` in the ascending `ids`, or −1. */
function ascendingIndexOf(ids: Int32Array, id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
