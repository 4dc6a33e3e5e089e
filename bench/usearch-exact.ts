// A benchmark baseline: the embedded store's certified exact top-1 as it was until 2026-12-06 (usearch's SIMD
// float32 exactSearch proposing candidates, the same float64 re-rank and certification as the store's scan on
// onnxruntime, `exactTop1Gemm`, now), kept for the benchmarks that compare against it (bench/exact-top1.ts,
// bench/equal-vectors.ts, bench/ann.ts). Ties widen the candidates until they settle (no grouping of equal rows).
import { MetricKind, exactSearch } from 'usearch';
import type { Neighbour } from '../core/categorise.js';
import { NO_NEIGHBOUR, certifyTop1, gather, maxRowNorm } from '../core/float64-rerank.js';
import { DEFAULT_HNSW_TUNING, HNSW_LIBRARY, NO_KEY, asBatch } from '../adapters/vector-stores/hnsw.js';
import type { Pool } from '../adapters/vector-stores/exact-k.js';

const EXACT_CANDIDATES = 8;
const WIDEN_FACTOR = 4;

/**
 * `a` itself when it starts its buffer, else a copy: usearch's exactSearch reads a typed array's buffer
 * from its start, ignoring the view's byteOffset (javascript/lib.cpp, `dataset.ArrayBuffer().Data()`).
 */
function atBufferStart(a: Float32Array): Float32Array {
  return a.byteOffset === 0 ? a : a.slice();
}

/**
 * Exact top-1 of each query among the pool rows (all `n` rows by default), the query itself excluded,
 * ties to the lowest id: usearch's SIMD float32 scan proposes candidates, float64 re-ranks them, and a
 * query is settled only when no row outside the candidates can reach the best float64 score given the
 * float32 error bound; otherwise it is asked again with more candidates, up to the whole pool.
 */
export function usearchExactTop1(
  vectors: Float32Array,
  n: number,
  dim: number,
  queries: ArrayLike<number>,
  options: { pool?: Pool; maxNorm?: number; threads?: number } = {},
): Neighbour[] {
  const pool = options.pool;
  const m = pool ? pool.rows.length : n;
  const out: Neighbour[] = Array.from({ length: queries.length }, () => NO_NEIGHBOUR);
  if (m === 0 || queries.length === 0) return out;
  const data = atBufferStart(pool ? pool.matrix : vectors.subarray(0, n * dim));
  const rowOf = pool ? (key: number) => pool.rows[key]! : (key: number) => key;
  const maxNorm = options.maxNorm ?? maxRowNorm(data, m, dim);
  const threads = options.threads ?? DEFAULT_HNSW_TUNING.threads;
  let pending = Array.from({ length: queries.length }, (_, i) => i);
  let k = Math.min(m, EXACT_CANDIDATES);
  while (pending.length > 0) {
    const rows = pending.map((i) => queries[i]!);
    const res = asBatch(exactSearch(data, gather(vectors, dim, rows), dim, k, MetricKind.IP, threads));
    const unsettled: number[] = [];
    pending.forEach((qi, i) => {
      const found = Number(res.counts[i]!);
      const ids: number[] = [];
      const scores32: number[] = [];
      for (let j = 0; j < found; j++) {
        const key = res.keys[i * k + j]!;
        if (key === NO_KEY) continue;
        ids.push(rowOf(Number(key)));
        scores32.push(1 - res.distances[i * k + j]!);
      }
      const r = certifyTop1(vectors, dim, rows[i]!, ids, scores32, maxNorm, HNSW_LIBRARY);
      if (found >= m || r.certain) out[qi] = r.best;
      else unsettled.push(qi);
    });
    if (unsettled.length > 0 && k === m) throw new Error('usearchExactTop1: a full scan left queries unsettled');
    pending = unsettled;
    k = Math.min(m, k * WIDEN_FACTOR);
  }
  return out;
}

