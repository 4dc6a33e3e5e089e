// Greedy diversity sampling for DQE: picks rows of an embedding matrix that are far from what is already picked,
// exactly as a naive rescan would (./oracle.ts), only much faster.
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
// The centroid rule runs on bounds first (./centroid-pruned.ts: per-row bounds on how far the centroid has moved
// since each row's last exact score), which prune most rows on clustered data, and hands over to blocked float32
// products (./centroid-blocked.ts) once the bounds stop paying (real text, whose distances concentrate). The
// kcenter rule (./kcenter.ts) applies new centers with products of all rows against each block of them. Every
// decision is taken on the oracle's exact float64 scores wherever a bound or a product's certified error cannot
// settle it, with a small slack so float rounding can never prune a true winner.

import { firstIndex } from '../random.js';
import { centroidBlocked } from './centroid-blocked.js';
import { centroidFast } from './centroid-pruned.js';
import { kcenterBlocked } from './kcenter.js';
import { addRow, makeKernels, plainProducts, rowSquaredNorms } from './kernels.js';
import { validate, type GreedySampleOptions, type GreedySampleResult, type GreedySampleStats } from './options.js';

export { allocateVectors } from '../kernels/simd.js';
export { centroidScore, dot64, plainProducts, squaredDistance64, squaredNorm64, type Products } from './kernels.js';
export { naiveGreedySample } from './oracle.js';
export { sampleCount, type GreedySampleOptions, type GreedySampleResult, type GreedySampleStats, type SamplingRule } from './options.js';

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
  const stats: GreedySampleStats = { simd: false, exactEvaluations: 0, naiveEvaluations: 0, groups: 0, productSteps: 0 };
  // Row i remains in step k (k = 1..count-1) while it is one of the n-k unselected rows.
  for (let k = 1; k < count; k++) stats.naiveEvaluations += n - k;
  if (count === 0) return { indices: new Uint32Array(0), stats };
  const norms = rowSquaredNorms(vectors, n, dim);
  const first = firstIndex(seed, n);
  const kernels = makeKernels(vectors, dim, options.kernel ?? 'auto');
  stats.simd = kernels.simd;
  const products = options.products ?? plainProducts;
  // Reordering the rows in place is safe on greedySample's own copy, or where the caller allows it.
  const compact = options.rowsAreScratch === true || kernels.vectors !== vectors;
  if (rule === 'centroid' && options.resume !== undefined && options.resume.length > 0) {
    // An earlier run's picks: the same float64 sum (rows added in pick order), then the blocked products, which
    // continue from any prefix of the oracle's order.
    const out = new Uint32Array(count);
    out.set(options.resume);
    for (const r of options.resume) addRow(kernels.sum, kernels.vectors, r * dim, dim);
    stats.productSteps = count - options.resume.length;
    const indices = await centroidBlocked(kernels.vectors, n, dim, out, options.resume.length, norms, products, kernels, stats, options.onProgress, compact);
    return { indices, stats };
  }
  if (rule === 'centroid') {
    // Bounds first; blocked products for the rest of the run once the bounds stop paying.
    const pruned = centroidFast(kernels.vectors, n, dim, count, first, norms, stats, kernels, options.onProgress);
    stats.productSteps = count - pruned.selected;
    const indices = await centroidBlocked(kernels.vectors, n, dim, pruned.out, pruned.selected, norms, products, kernels, stats, options.onProgress, compact);
    return { indices, stats };
  }
  if (count === 1) return { indices: Uint32Array.of(first), stats };
  const indices = await kcenterBlocked(kernels.vectors, n, dim, count, first, norms, products, kernels, { onProgress: options.onProgress, stats });
  return { indices, stats };
}
