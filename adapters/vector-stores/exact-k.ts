// The exact k-nearest search of the embedded store (float32 products on onnxruntime): every query row's k nearest
// other rows of the matrix. The offline judge's neighbour evidence asks the store for it (`nearestK`).
import { availableParallelism } from 'node:os';
import { floatTopK } from '../onnx/kernels.js';
import { insert } from './ivf.js';

/** Rows of the matrix per product call; query rows per call (256 × 32,768 float32 scores = 32 MiB at most). */
export const EXACT_K_ROW_BLOCK = 32_768;
const QUERY_BLOCK = 256;

/**
 * The `k` nearest other rows of each query row (default: every row) of the n × dim matrix by inner product
 * (cosine for the unit-length vectors every embedder writes), nearest first: queries × k ids, −1 past the n − 1
 * others of a tiny set. Ties go to the lower id; a row's own id is skipped, and where equal vectors tie with it,
 * the first k others are taken. Exact: queries · n · dim multiply-adds (every row of 100k × 384: about 4·10¹² —
 * minutes on 2 cores), as float32 products on onnxruntime over blocks of `rowBlock` matrix rows and 256 queries
 * (the matrix is read once per 256 queries, not once per handful: at a million rows that was memory-bound),
 * each block's top k + 1 merged into the queries' best. `onProgress` hears after each query block.
 */
export async function nearestOtherRows(
  vectors: Float32Array,
  n: number,
  dim: number,
  k: number,
  onProgress: (done: number, total: number) => void = () => {},
  queries?: ArrayLike<number>,
  threads = availableParallelism(),
  rowBlock = EXACT_K_ROW_BLOCK,
): Promise<Int32Array> {
  const q = queries ?? { length: n };
  const rowOf = queries ? (i: number) => queries[i]! : (i: number) => i;
  const out = new Int32Array(q.length * k).fill(-1);
  const take = Math.min(k + 1, n);
  if (take <= 1 || q.length === 0) return out;
  const zeros = new Float32Array(Math.min(n, rowBlock));
  const block = new Float32Array(Math.min(QUERY_BLOCK, q.length) * dim);
  const bestS = new Float32Array(Math.min(QUERY_BLOCK, q.length) * take);
  const bestI = new Int32Array(bestS.length);
  for (let start = 0; start < q.length; start += QUERY_BLOCK) {
    const m = Math.min(QUERY_BLOCK, q.length - start);
    for (let r = 0; r < m; r++) block.set(vectors.subarray(rowOf(start + r) * dim, (rowOf(start + r) + 1) * dim), r * dim);
    bestS.fill(-Infinity);
    bestI.fill(-1);
    for (let from = 0; from < n; from += rowBlock) {
      const len = Math.min(rowBlock, n - from);
      const kk = Math.min(take, len);
      const top = await floatTopK(block.subarray(0, m * dim), m, vectors.subarray(from * dim, (from + len) * dim), len, dim, zeros.subarray(0, len), kk, threads);
      for (let r = 0; r < m; r++) {
        for (let t = 0; t < kk; t++) insert(bestS, bestI, r * take, take, top.values[r * kk + t]!, from + Number(top.indices[r * kk + t]));
      }
    }
    for (let r = 0; r < m; r++) {
      const self = rowOf(start + r);
      let got = 0;
      for (let t = 0; t < take && got < k; t++) {
        const j = bestI[r * take + t]!;
        if (j >= 0 && j !== self) out[(start + r) * k + got++] = j;
      }
    }
    onProgress(start + m, q.length);
  }
  return out;
}
