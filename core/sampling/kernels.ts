// The exact float64 arithmetic every sampling path decides on (scalar loops, and WebAssembly SIMD kernels with the
// very same bits), behind one interface that the centroid and kcenter rules share.
import { kernelSpaceFor } from '../kernels/simd.js';

/**
 * Float32 products a · bᵀ (a: m × d, b: nb × d, both row-major float32 views), as a row-major m × nb
 * array; each entry within the float32 error bound of its exact value (any summation order qualifies).
 */
export type Products = (a: Float32Array, m: number, b: Float32Array, nb: number, d: number) => Promise<Float32Array>;

/** Products by plain loops (float64 sums rounded to float32: within the bound); for tests and small runs. */
export const plainProducts: Products = (a, m, b, nb, d) => {
  const out = new Float32Array(m * nb);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += a[i * d + t]! * b[j * d + t]!;
      out[i * nb + j] = s;
    }
  }
  return Promise.resolve(out);
};

export const DOT_BATCH = 4;

// Rows not allocated with allocateVectors are copied into WebAssembly memory
// for the SIMD kernels (about 2-3x faster than the scalar loops) only up to
// this size in bytes: the copy takes one pass, but briefly doubles the matrix.
const SIMD_COPY_LIMIT_BYTES = 1 << 30;

/** float64 squared norm of row at `offset`, summed in index order. */
export function squaredNorm64(x: Float32Array, offset: number, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) {
    const v = x[offset + j]!;
    acc += v * v;
  }
  return acc;
}

/** float64 dot product of the row at `offset` with a float64 vector, summed in index order. */
export function dot64(x: Float32Array, offset: number, y: Float64Array, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) acc += x[offset + j]! * y[j]!;
  return acc;
}

/** squaredDistance64 of one row against four others, each sum in index order (bit-identical to squaredDistance64). */
function squaredDistance64x4(
  x: Float32Array,
  o: number,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
  dim: number,
  out: Float64Array,
): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let j = 0; j < dim; j++) {
    const v = x[o + j]!;
    const t0 = v - x[o0 + j]!;
    const t1 = v - x[o1 + j]!;
    const t2 = v - x[o2 + j]!;
    const t3 = v - x[o3 + j]!;
    a0 += t0 * t0;
    a1 += t1 * t1;
    a2 += t2 * t2;
    a3 += t3 * t3;
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
  out[3] = a3;
}

/**
 * dot64 of four rows with one vector at once: each row keeps its own
 * accumulator summed in index order, so every result is bit-identical to
 * dot64, but the four independent add chains hide the floating-point add
 * latency that bounds a single sequential sum.
 */
function dot64x4(
  x: Float32Array,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
  y: Float64Array,
  dim: number,
  out: Float64Array,
): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let j = 0; j < dim; j++) {
    const v = y[j]!;
    a0 += x[o0 + j]! * v;
    a1 += x[o1 + j]! * v;
    a2 += x[o2 + j]! * v;
    a3 += x[o3 + j]! * v;
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
  out[3] = a3;
}

/** float64 squared Euclidean distance of two rows (symmetric: (a-b)^2 == (b-a)^2 exactly). */
export function squaredDistance64(x: Float32Array, offsetA: number, offsetB: number, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) {
    const t = x[offsetA + j]! - x[offsetB + j]!;
    acc += t * t;
  }
  return acc;
}

/** The centroid rule's score of a row: ||x - S/k||^2 - ||S/k||^2 as computed by both paths. */
export function centroidScore(norm2: number, dotWithSum: number, k: number): number {
  return norm2 - (2 * dotWithSum) / k;
}

/** Squared norms of all rows; doubles as the finiteness check (a square sum is finite iff every entry is). */
export function rowSquaredNorms(vectors: Float32Array, n: number, dim: number): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = squaredNorm64(vectors, i * dim, dim);
    if (!Number.isFinite(v)) throw new RangeError(`row ${i} has a non-finite entry`);
    norms[i] = v;
  }
  return norms;
}

export function addRow(sum: Float64Array, vectors: Float32Array, offset: number, dim: number): void {
  for (let j = 0; j < dim; j++) sum[j]! += vectors[offset + j]!;
}

/** Four-row arithmetic used by the fast paths; results land in `out`. */
export interface Kernels {
  readonly simd: boolean;
  /** The rows the kernels read (a copy in kernel memory when the SIMD kernels needed one). */
  readonly vectors: Float32Array;
  /** The float64 vector dot4 multiplies with. */
  readonly sum: Float64Array;
  readonly out: Float64Array;
  /** out[q] = dot64(row at element offset o_q, sum). */
  readonly dot4: (o0: number, o1: number, o2: number, o3: number) => void;
  /** out[q] = squaredDistance64(row at o, row at o_q). */
  readonly dist4: (o: number, o0: number, o1: number, o2: number, o3: number) => void;
}

export function makeKernels(vectors: Float32Array, dim: number, kernel: 'auto' | 'scalar' | 'simd'): Kernels {
  if (kernel !== 'scalar') {
    const space = kernelSpaceFor(vectors, dim, kernel === 'simd' ? Number.POSITIVE_INFINITY : SIMD_COPY_LIMIT_BYTES);
    if (space !== null) {
      // Memory from allocateVectors may hold a previous run's scratch.
      space.sum.fill(0);
      return { simd: true, ...space };
    }
  }
  const sum = new Float64Array(dim);
  const out = new Float64Array(4);
  return {
    simd: false,
    vectors,
    sum,
    out,
    dot4: (o0, o1, o2, o3) => dot64x4(vectors, o0, o1, o2, o3, sum, dim, out),
    dist4: (o, o0, o1, o2, o3) => squaredDistance64x4(vectors, o, o0, o1, o2, o3, dim, out),
  };
}
