// The exact k-nearest search of the embedded store (float32 products on onnxruntime): every query row's k nearest
// other rows of the matrix. The offline judge's neighbour evidence asks the store for it (`nearestK`).
import { availableParallelism } from 'node:os';
import { floatTopK } from '../onnx/kernels.js';

/** Rows of the matrix per product call; query rows per call (256 × 32,768 float32 scores = 32 MiB at most). */
export const EXACT_K_ROW_BLOCK = 32_768;
const QUERY_BLOCK = 256;

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
 * `rowBlock` rows, each block's top k merged.
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
): Promise<{ scores: Float32Array; ids: Int32Array }> {
  const scores = new Float32Array(m * k).fill(-Infinity);
  const ids = new Int32Array(m * k).fill(-1);
  const zeros = new Float32Array(Math.min(n, rowBlock));
  for (let from = 0; from < n; from += rowBlock) {
    const len = Math.min(rowBlock, n - from);
    const kk = Math.min(k, len);
    const top = await floatTopK(q, m, vectors.subarray(from * dim, (from + len) * dim), len, dim, zeros.subarray(0, len), kk, threads);
    for (let r = 0; r < m; r++) {
      for (let t = 0; t < kk; t++) insert(scores, ids, r * k, k, top.values[r * kk + t]!, from + Number(top.indices[r * kk + t]));
    }
  }
  return { scores, ids };
}

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
  const block = new Float32Array(Math.min(QUERY_BLOCK, q.length) * dim);
  for (let start = 0; start < q.length; start += QUERY_BLOCK) {
    const m = Math.min(QUERY_BLOCK, q.length - start);
    for (let r = 0; r < m; r++) block.set(vectors.subarray(rowOf(start + r) * dim, (rowOf(start + r) + 1) * dim), r * dim);
    const { ids: bestI } = await blockedFloatTopK(block.subarray(0, m * dim), m, vectors, n, dim, take, threads, rowBlock);
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
