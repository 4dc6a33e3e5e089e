// The float32 k-nearest scan the embedded store and the offline judge ran before 2026-12-07 (the benchmarks' baseline
// for the certified int8 scan in adapters/vector-stores/exact-knn.ts): onnxruntime's float32 products over blocks of
// 32,768 rows and 256 queries, each block's top k + 1 merged, ranked by the float32 products themselves (ties to
// the lower id; near-ties below float32's resolution fall in the library's order, not float64's).
import { blockedFloatTopK } from '../adapters/vector-stores/exact-k.js';

const ROW_BLOCK = 32_768;
const QUERY_BLOCK = 256;

/** Each query's `k` nearest other rows by float32 product (queries × k ids, −1 past n − 1). */
export async function float32NearestOtherRows(vectors: Float32Array, n: number, dim: number, k: number, queries: ArrayLike<number>, threads: number): Promise<Int32Array> {
  const out = new Int32Array(queries.length * k).fill(-1);
  const take = Math.min(k + 1, n);
  if (take <= 1) return out;
  const block = new Float32Array(Math.min(QUERY_BLOCK, queries.length) * dim);
  for (let start = 0; start < queries.length; start += QUERY_BLOCK) {
    const m = Math.min(QUERY_BLOCK, queries.length - start);
    for (let r = 0; r < m; r++) block.set(vectors.subarray(queries[start + r]! * dim, (queries[start + r]! + 1) * dim), r * dim);
    const { ids } = await blockedFloatTopK(block.subarray(0, m * dim), m, vectors, n, dim, take, threads, ROW_BLOCK);
    for (let r = 0; r < m; r++) {
      const self = queries[start + r]!;
      let got = 0;
      for (let t = 0; t < take && got < k; t++) {
        const j = ids[r * take + t]!;
        if (j >= 0 && j !== self) out[(start + r) * k + got++] = j;
      }
    }
  }
  return out;
}
