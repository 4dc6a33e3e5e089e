// DQE phase 7: exact nearest-neighbour search and the uncovered / difficult / noisy rules.

export type Split = 'sampled' | 'unsampled';
export type Category = 'uncovered' | 'difficult' | 'noisy';

export interface Neighbour {
  /** Kept-row id of the neighbour. */
  id: number;
  /** Cosine similarity (dot product of unit vectors). */
  score: number;
}

/**
 * The nearest neighbour (largest dot product) of each query row among all `n` rows except the query
 * itself (and, with `candidate`, rows it rejects); ties go to the lowest row id. A query with no
 * candidate gets id -1. Exact, O(queries · n · d).
 */
export function exactNearest(
  vectors: Float32Array,
  n: number,
  dim: number,
  queries: ArrayLike<number>,
  candidate?: (id: number) => boolean,
): Neighbour[] {
  const out: Neighbour[] = [];
  for (let qi = 0; qi < queries.length; qi++) {
    const q = queries[qi]!;
    const qb = q * dim;
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      if (i === q || (candidate && !candidate(i))) continue;
      const b = i * dim;
      let s = 0;
      for (let j = 0; j < dim; j++) s += vectors[qb + j]! * vectors[b + j]!;
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    out.push({ id: best, score: bestScore });
  }
  return out;
}

/**
 * The DQE rule for a wrongly predicted unsampled row x with nearest neighbour n:
 * same label and n unsampled → uncovered; same label and n sampled → difficult; other label → noisy.
 */
/**
 * Cosine similarity at or below which a row and its nearest neighbour share no feature (orthogonal
 * vectors, as the hash embedder gives texts with no word in common): the neighbour is one of many
 * equally far rows, not a similar text. A margin for float rounding.
 */
export const NO_SHARED_FEATURE_SIMILARITY = 1e-6;

/** Said wherever a noisy pair with no shared feature is shown. */
export const NO_SHARED_FEATURE_NOTE = 'no shared feature: this neighbour is not a similar text, only one of many equally far rows';

export function categorise(label: string, neighbourLabel: string, neighbourSplit: Split): Category {
  if (label !== neighbourLabel) return 'noisy';
  return neighbourSplit === 'unsampled' ? 'uncovered' : 'difficult';
}
