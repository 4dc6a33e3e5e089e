// A value computed from a matrix once and kept with its array (core/equal-rows.ts's groups, the exact scan's int8
// codes and longest-row norm): a run's matrix is never written after it is embedded, and its phases ask batch
// after batch of the same one.

/** `of`: `compute`'s answer for the array, shape and extra arguments, computed the first time and kept while the array lives (or until `clear`). */
export interface PerMatrix<T, A extends unknown[]> {
  of(vectors: Float32Array, n: number, dim: number, ...args: A): T;
  /** Forgets every kept value. */
  clear(): void;
}

/** Keeps one value per array: asking with another shape or other arguments computes it again (and keeps that). */
export function perMatrix<T, A extends unknown[] = []>(compute: (vectors: Float32Array, n: number, dim: number, ...args: A) => T): PerMatrix<T, A> {
  let kept = new WeakMap<Float32Array, { key: string; value: T }>();
  return {
    of(vectors, n, dim, ...args) {
      const key = JSON.stringify([n, dim, ...args]);
      const got = kept.get(vectors);
      if (got && got.key === key) return got.value;
      const value = compute(vectors, n, dim, ...args);
      kept.set(vectors, { key, value });
      return value;
    },
    clear() {
      kept = new WeakMap();
    },
  };
}
