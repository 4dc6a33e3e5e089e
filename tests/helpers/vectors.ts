// Seeded test matrices for the vector-search tests.
import { dot64 } from '../../core/float64-rerank.js';
import { Rng } from '../../core/random.js';

/**
 * Seeded unit rows: `clusters` Gaussian blobs around random directions (spread `noise`), then a fraction
 * `dup` of rows replaced by exact copies of earlier rows, so ties at score 1 occur.
 */
export function clustered(n: number, dim: number, seed: number, clusters = 8, noise = 0.3, dup = 0.05): Float32Array {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => rng.nextGaussian() / Math.sqrt(dim)));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.nextFloat() < dup) {
      const src = rng.nextInt(i);
      out.copyWithin(i * dim, src * dim, src * dim + dim);
      continue;
    }
    const c = centres[rng.nextInt(clusters)]!;
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = c[j]! + (noise * rng.nextGaussian()) / Math.sqrt(dim);
      out[i * dim + j] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[i * dim + j] = out[i * dim + j]! / norm;
  }
  return out;
}

/**
 * The oracle of `nearestK`: each query's `k` nearest other rows by float64 inner product, nearest first, ties to
 * the lower id, −1 past the n − 1 others (queries × k).
 */
export function exactTopK(vectors: Float32Array, n: number, dim: number, queries: readonly number[], k: number): number[] {
  const dot = (a: number, b: number) => dot64(vectors, dim, a, b);
  return queries.flatMap((q) => {
    const order = Array.from({ length: n }, (_, i) => i)
      .filter((i) => i !== q)
      .map((i) => [dot(q, i), i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .map(([, i]) => i);
    return Array.from({ length: k }, (_, j) => order[j] ?? -1);
  });
}
