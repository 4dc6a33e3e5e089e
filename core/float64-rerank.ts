// The float64 re-rank every approximate top-1 search ends with (the HNSW graph's, the IVF index's and the
// certified exact scan's): candidates proposed in float32 or int8, scored again in float64 so that scores
// and ties (lowest row id) are those of `exactNearest`.
import type { Neighbour } from './categorise.js';

/**
 * Safety factor on the float32 rounding bound of a `dim`-term inner product (dim · 2^-24 · |x||y|): usearch's
 * SIMD kernels sum in another order than a sequential loop, and the distance is rounded once more as 1 - dot.
 */
const F32_BOUND_SAFETY = 2;
const F32_UNIT_ROUNDOFF = 2 ** -24;

/** The "no neighbour" answer of a query with no other row. */
export const NO_NEIGHBOUR: Neighbour = { id: -1, score: -Infinity };

/** Float64 dot product of rows a and b, in the same order of operations as `exactNearest` (same bits). */
export function dot64(vectors: Float32Array, dim: number, a: number, b: number): number {
  const ao = a * dim;
  const bo = b * dim;
  let s = 0;
  for (let j = 0; j < dim; j++) s += vectors[ao + j]! * vectors[bo + j]!;
  return s;
}

/** Bound on |float32 inner product - exact| for vectors of norms at most `normA`, `normB`. */
export function f32DotBound(dim: number, normA: number, normB: number): number {
  return F32_BOUND_SAFETY * (dim + 2) * F32_UNIT_ROUNDOFF * normA * normB + 2 * F32_UNIT_ROUNDOFF;
}

/** The largest row norm (a bound every row's float32 error term needs). */
export function maxRowNorm(vectors: Float32Array, n: number, dim: number): number {
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, dot64(vectors, dim, i, i));
  return Math.sqrt(max);
}

/** The given rows of a row-major matrix, copied into a new one. */
export function gather(vectors: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) out.set(vectors.subarray(rows[i]! * dim, rows[i]! * dim + dim), i * dim);
  return out;
}

/**
 * The float64 re-rank of one query's candidates proposed by a float32 scan (`scores32`, the scan's own
 * scores): the best (ties to the lowest id), and whether it is certain — every row not proposed scores at
 * most the lowest proposed float32 score, so at most that plus the float32 error bound exactly. A proposed
 * score off its float64 value by more than the bound means the library broke the bound: an error naming it.
 */
export function certifyTop1(
  vectors: Float32Array,
  dim: number,
  q: number,
  ids: readonly number[],
  scores32: readonly number[],
  maxNorm: number,
  library: string,
): { best: Neighbour; certain: boolean } {
  const bound = f32DotBound(dim, Math.sqrt(dot64(vectors, dim, q, q)), maxNorm);
  let best = -1;
  let bestScore = -Infinity;
  let lowest32 = Infinity;
  ids.forEach((id, j) => {
    const s32 = scores32[j]!;
    lowest32 = Math.min(lowest32, s32);
    if (id === q) return;
    const s = dot64(vectors, dim, q, id);
    if (Math.abs(s - s32) > bound) throw new Error(`${library}: float32 inner product ${s32} of rows ${q} and ${id} is off the float64 ${s} by more than ${bound}`);
    if (s > bestScore || (s === bestScore && id < best)) {
      bestScore = s;
      best = id;
    }
  });
  return { best: best < 0 ? NO_NEIGHBOUR : { id: best, score: bestScore }, certain: best >= 0 && bestScore > lowest32 + bound };
}

/**
 * The float64 re-rank of one query's candidate rows (the query itself skipped): the best, ties to the lowest
 * id, and whether more than one other candidate came back and all of them tied (exact duplicates share one
 * quantised vector, so the lowest id may lie past the candidates: the caller asks again with more).
 */
export function rerank(vectors: Float32Array, dim: number, q: number, ids: Iterable<number>): { best: Neighbour; allTie: boolean } {
  let best = -1;
  let bestScore = -Infinity;
  let worstScore = Infinity;
  let others = 0;
  for (const id of ids) {
    if (id === q) continue;
    const s = dot64(vectors, dim, q, id);
    others++;
    worstScore = Math.min(worstScore, s);
    if (s > bestScore || (s === bestScore && id < best)) {
      bestScore = s;
      best = id;
    }
  }
  return { best: best < 0 ? NO_NEIGHBOUR : { id: best, score: bestScore }, allTie: others > 1 && worstScore === bestScore };
}

/**
 * The float64 re-rank of one query's candidate rows into its `k` nearest (the query itself and repeated ids
 * skipped): written to `out[at .. at + k)` nearest first, ties to the lowest id, −1 past the candidates.
 */
export function rerankTopK(vectors: Float32Array, dim: number, q: number, ids: Iterable<number>, k: number, out: Int32Array, at: number): void {
  const seen = new Set<number>();
  const scored: Array<{ id: number; s: number }> = [];
  for (const id of ids) {
    if (id === q || id < 0 || seen.has(id)) continue;
    seen.add(id);
    scored.push({ id, s: dot64(vectors, dim, q, id) });
  }
  scored.sort((a, b) => b.s - a.s || a.id - b.id);
  for (let j = 0; j < k; j++) out[at + j] = j < scored.length ? scored[j]!.id : -1;
}
