// The naive O(count·n·dim) greedy sample, kept as the test oracle of the fast paths.
import { firstIndex } from '../random.js';
import { addRow, centroidScore, dot64, rowSquaredNorms, squaredDistance64 } from './kernels.js';
import { validate, type GreedySampleOptions } from './options.js';

/**
 * The naive O(count·n·dim) reference: every step rescans every remaining row
 * (centroid) or updates every row's nearest distance (kcenter). Kept as the
 * test oracle for greedySample.
 */
export function naiveGreedySample(
  vectors: Float32Array,
  n: number,
  dim: number,
  options: GreedySampleOptions,
): Uint32Array {
  const { count, seed, rule } = validate(vectors, n, dim, options);
  const out = new Uint32Array(count);
  if (count === 0) return out;
  const norms = rowSquaredNorms(vectors, n, dim);
  const selected = new Uint8Array(n);
  const first = firstIndex(seed, n);
  out[0] = first;
  selected[first] = 1;
  if (rule === 'centroid') {
    const sum = new Float64Array(dim);
    addRow(sum, vectors, first * dim, dim);
    for (let k = 1; k < count; k++) {
      let best = -Infinity;
      let bestRow = -1;
      for (let i = 0; i < n; i++) {
        if (selected[i] === 1) continue;
        const s = centroidScore(norms[i]!, dot64(vectors, i * dim, sum, dim), k);
        if (s > best) {
          best = s;
          bestRow = i;
        }
      }
      out[k] = bestRow;
      selected[bestRow] = 1;
      addRow(sum, vectors, bestRow * dim, dim);
    }
  } else {
    const nearest = new Float64Array(n).fill(Infinity);
    let last = first;
    for (let k = 1; k < count; k++) {
      let best = -Infinity;
      let bestRow = -1;
      for (let i = 0; i < n; i++) {
        if (selected[i] === 1) continue;
        const d2 = squaredDistance64(vectors, i * dim, last * dim, dim);
        if (d2 < nearest[i]!) nearest[i] = d2;
        if (nearest[i]! > best) {
          best = nearest[i]!;
          bestRow = i;
        }
      }
      out[k] = bestRow;
      selected[bestRow] = 1;
      last = bestRow;
    }
  }
  return out;
}
