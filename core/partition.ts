// A coarse partition of the rows with cheap, rigorous upper bounds on dot products, for pruning exact searches.
//
// The rows are split into groups (k-means on an evenly spaced sample) and projected onto an orthonormal
// basis Q: the span of the group means plus the leading principal directions of what the means leave out,
// rotated so that coordinate 0 carries the most variance (rank r ≤ PARTITION_RANK + PARTITION_PCS). For
// rows x_i, x_c with coordinates y = Qx and residual norms e = |x − QᵀQx|:
//
//   x_i·x_c = y_i·y_c + res_i·res_c ≤ y_i·y_c + e_i·e_c                         (rowDotUpper)
//   y_i·y_c ≤ head_i·head_c + tail_i·tail_c   (the first PARTITION_HEAD coordinates, and the norms of the rest)
//   y_i·y_c ≤ center_g·y_c + radius_g·|y_c|   for every member i of group g      (groupDotUpper)
//
// so |x_i − x_c|² = |x_i|² + |x_c|² − 2 x_i·x_c is bounded from below with PARTITION_HEAD or r
// multiply-adds per row, or r per group, instead of dim. Every stored bound is rounded outwards
// (RESID_SLACK, RADIUS_SLACK, the tail's factor); callers add DIST_SLACK to distance tests, so float64
// rounding can make a bound looser, never wrong.

/** Four-row dot product with a float64 vector, as the sampler's kernels provide (bit-identical to dot64). */
export interface RowDotKernel {
  /** The float64 vector dot4 multiplies with; overwritten here. */
  readonly sum: Float64Array;
  readonly out: Float64Array;
  /** out[q] = sum_j x[o_q + j] * sum[j] in float64, j in order. */
  readonly dot4: (o0: number, o1: number, o2: number, o3: number) => void;
}

export interface Partition {
  /** Rank of the orthonormal basis (0 when every mean is zero). */
  readonly rank: number;
  // Per-row values are stored by position, in group order (position p holds row members[p]), so that a
  // scan of a group reads them in sequence.
  /** Coordinates in the basis of the row at position p: coords[p*rank .. p*rank+rank). */
  readonly coords: Float64Array;
  /** Upper bound on the norm of the part outside the basis, by position. */
  readonly resid: Float64Array;
  /** Norm of the coordinates after the first PARTITION_HEAD, by position. */
  readonly tail: Float64Array;
  /** Group of each row (by row). */
  readonly groupOf: Int32Array;
  readonly groupCount: number;
  /** Group g's rows are members[start[g] .. start[g+1]), ascending. */
  readonly start: Int32Array;
  readonly members: Int32Array;
  /** Position of each row: members[posOf[i]] === i. */
  readonly posOf: Int32Array;
  /** Mean coordinates of each group's rows (groupCount × rank). */
  readonly center: Float64Array;
  /** Upper bound on |coords_i − center_g| over the group's rows. */
  readonly radius: Float64Array;
  /** Largest resid of the group's rows. */
  readonly maxResid: Float64Array;
  /** Smallest and largest squared norm of the group's rows. */
  readonly minNorm2: Float64Array;
  readonly maxNorm2: Float64Array;
}

/** Number of groups, and most basis directions from their means. */
const PARTITION_RANK = 64;
/** Most extra basis directions: the leading principal directions of the sample's part outside the means' span. */
const PARTITION_PCS = 64;
/** Leading coordinates of the cheap head test (kcenter's row test; Partition.tail bounds the rest). */
export const PARTITION_HEAD = 16;
/** Rows of the evenly spaced sample the group means are fitted on. */
const PARTITION_SAMPLE = 4096;
/** Lloyd iterations of the k-means fit. */
const PARTITION_ITERATIONS = 3;
// Subspace iterations of the principal directions, and the sample rows (of PARTITION_SAMPLE) they use.
const PCA_ITERATIONS = 8;
const PCA_SAMPLE = 1024;
/** Relative slack callers subtract from distance lower bounds: d2 >= lb - DIST_SLACK * (|x_i|^2 + |x_c|^2). */
export const DIST_SLACK = 1e-8;
// Outward rounding of the stored bounds (relative to |x|^2 and |y|).
const RESID_SLACK = 1e-9;
const RADIUS_SLACK = 1e-9;
// A mean whose part outside the basis so far is below this fraction of its norm adds no direction.
const INDEPENDENT = 1e-6;

/**
 * Fits the groups and the basis and projects every row (rank passes of the kernel over the matrix).
 * `norm2[i]` is row i's float64 squared norm. Deterministic: no randomness, rows visited in order.
 */
export function buildPartition(vectors: Float32Array, n: number, dim: number, norm2: Float64Array, kernel: RowDotKernel): Partition {
  const { means, groupCount, basis, rank } = fitBasis(vectors, n, dim);

  // Coordinates: one kernel pass per basis vector.
  const coords = new Float64Array(n * rank);
  for (let b = 0; b < rank; b++) {
    kernel.sum.set(basis.subarray(b * dim, (b + 1) * dim));
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      kernel.dot4(i * dim, (i + 1) * dim, (i + 2) * dim, (i + 3) * dim);
      for (let q = 0; q < 4; q++) coords[(i + q) * rank + b] = kernel.out[q]!;
    }
    for (; i < n; i++) coords[i * rank + b] = dotRow(vectors, i * dim, basis, b * dim, dim);
  }
  const resid = new Float64Array(n);
  const tail = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let head2 = 0;
    let tail2 = 0;
    for (let t = 0; t < rank; t++) {
      if (t < PARTITION_HEAD) head2 += coords[i * rank + t]! ** 2;
      else tail2 += coords[i * rank + t]! ** 2;
    }
    resid[i] = Math.sqrt(Math.max(0, norm2[i]! - (head2 + tail2)) + RESID_SLACK * norm2[i]!);
    tail[i] = Math.sqrt(tail2) * (1 + 1e-12);
  }
  const groupOf = nearestMeans(coords, n, rank, meanCoordinates(means, groupCount, basis, rank, dim), groupCount);
  const stats = groupStats(coords, resid, norm2, groupOf, n, rank, groupCount);
  // Into group order.
  const { members } = stats;
  const posOf = new Int32Array(n);
  const byPos = new Float64Array(n * rank);
  const residByPos = new Float64Array(n);
  const tailByPos = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const i = members[p]!;
    posOf[i] = p;
    byPos.set(coords.subarray(i * rank, (i + 1) * rank), p * rank);
    residByPos[p] = resid[i]!;
    tailByPos[p] = tail[i]!;
  }
  return { rank, coords: byPos, resid: residByPos, tail: tailByPos, groupOf, groupCount, posOf, ...stats };
}

/** The group means (k-means on an evenly spaced sample) and an orthonormal basis of their span. */
function fitBasis(vectors: Float32Array, n: number, dim: number): { means: Float64Array; groupCount: number; basis: Float64Array; rank: number } {
  const sampleSize = Math.min(n, PARTITION_SAMPLE);
  const sample = new Int32Array(sampleSize);
  for (let t = 0; t < sampleSize; t++) sample[t] = Math.floor((t * n) / sampleSize);
  const groupCount = Math.min(PARTITION_RANK, sampleSize);
  const means = fitMeans(vectors, dim, sample, groupCount);
  const spanned = orthonormalise(means, groupCount, dim);
  const pcs = principalResiduals(vectors, dim, sample, spanned.basis, spanned.rank, Math.min(PARTITION_PCS, dim - spanned.rank));
  const all = new Float64Array((spanned.rank + pcs.count) * dim);
  all.set(spanned.basis);
  all.set(pcs.vectors, spanned.rank * dim);
  const joint = orthonormalise(all, spanned.rank + pcs.count, dim);
  return { means, groupCount, ...orthonormalise(byVariance(vectors, dim, sample, joint.basis, joint.rank), joint.rank, dim) };
}

/**
 * The same span, rotated so that coordinate 0 has the most variance over the sample, 1 the next, ...
 * (eigenvectors of the sample's coordinate covariance, by cyclic Jacobi), so that the first
 * PARTITION_HEAD coordinates carry most of a dot product and the cheap head test settles most rows.
 */
function byVariance(vectors: Float32Array, dim: number, sample: Int32Array, basis: Float64Array, rank: number): Float64Array {
  if (rank <= 1) return basis;
  const cov = new Float64Array(rank * rank);
  const y = new Float64Array(rank);
  for (let t = 0; t < sample.length; t++) {
    const o = sample[t]! * dim;
    for (let b = 0; b < rank; b++) y[b] = dotRow(vectors, o, basis, b * dim, dim);
    for (let a = 0; a < rank; a++) for (let b = a; b < rank; b++) cov[a * rank + b] = cov[a * rank + b]! + y[a]! * y[b]!;
  }
  for (let a = 0; a < rank; a++) for (let b = 0; b < a; b++) cov[a * rank + b] = cov[b * rank + a]!;
  const { values, vectors: v } = jacobiEigen(cov, rank);
  const order = Array.from({ length: rank }, (_, k) => k).sort((a, b) => values[b]! - values[a]! || a - b);
  const out = new Float64Array(rank * dim);
  order.forEach((k, row) => {
    for (let b = 0; b < rank; b++) {
      const w = v[b * rank + k]!;
      if (w === 0) continue;
      for (let j = 0; j < dim; j++) out[row * dim + j] = out[row * dim + j]! + w * basis[b * dim + j]!;
    }
  });
  return out;
}

/** Eigen-decomposition of a symmetric matrix (row-major, size r) by cyclic Jacobi; eigenvectors are columns. */
function jacobiEigen(matrix: Float64Array, r: number): { values: Float64Array; vectors: Float64Array } {
  const a = matrix.slice();
  const v = new Float64Array(r * r);
  for (let i = 0; i < r; i++) v[i * r + i] = 1;
  for (let sweep = 0; sweep < 30; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < r; i++) {
      diag += a[i * r + i]! ** 2;
      for (let j = i + 1; j < r; j++) off += a[i * r + j]! ** 2;
    }
    if (off <= 1e-22 * diag) break;
    for (let p = 0; p < r; p++) {
      for (let q = p + 1; q < r; q++) {
        const apq = a[p * r + q]!;
        if (apq === 0) continue;
        const theta = (a[q * r + q]! - a[p * r + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < r; k++) {
          const akp = a[k * r + p]!;
          const akq = a[k * r + q]!;
          a[k * r + p] = c * akp - s * akq;
          a[k * r + q] = s * akp + c * akq;
        }
        for (let k = 0; k < r; k++) {
          const apk = a[p * r + k]!;
          const aqk = a[q * r + k]!;
          a[p * r + k] = c * apk - s * aqk;
          a[q * r + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < r; k++) {
          const vkp = v[k * r + p]!;
          const vkq = v[k * r + q]!;
          v[k * r + p] = c * vkp - s * vkq;
          v[k * r + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(r);
  for (let i = 0; i < r; i++) values[i] = a[i * r + i]!;
  return { values, vectors: v };
}

/** The top principal directions of the sample's part outside the means' span. */
function principalResiduals(vectors: Float32Array, dim: number, sample: Int32Array, basis: Float64Array, rank: number, count: number): { vectors: Float64Array; count: number } {
  if (count <= 0) return { vectors: new Float64Array(0), count: 0 };
  // Covariance (uncentred) of the residuals, upper triangle then mirrored.
  const cov = new Float64Array(dim * dim);
  const r = new Float64Array(dim);
  const every = Math.max(1, Math.floor(sample.length / PCA_SAMPLE));
  for (let t = 0; t < sample.length; t += every) {
    const o = sample[t]! * dim;
    for (let j = 0; j < dim; j++) r[j] = vectors[o + j]!;
    for (let b = 0; b < rank; b++) {
      const d = dotRow64(r, 0, basis, b * dim, dim);
      for (let j = 0; j < dim; j++) r[j] = r[j]! - d * basis[b * dim + j]!;
    }
    for (let a = 0; a < dim; a++) {
      const ra = r[a]!;
      if (ra === 0) continue;
      const row = a * dim;
      for (let b = a; b < dim; b++) cov[row + b] = cov[row + b]! + ra * r[b]!;
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]!;
  // Subspace iteration from a fixed start (coordinate directions of largest variance).
  const order = Array.from({ length: dim }, (_, j) => j).sort((a, b) => cov[b * dim + b]! - cov[a * dim + a]! || a - b);
  let v = new Float64Array(count * dim);
  for (let k = 0; k < count; k++) v[k * dim + order[k]!] = 1;
  for (let it = 0; it < PCA_ITERATIONS; it++) {
    const w = new Float64Array(count * dim);
    for (let k = 0; k < count; k++) {
      for (let a = 0; a < dim; a++) w[k * dim + a] = dotRow64(cov, a * dim, v, k * dim, dim);
    }
    v = orthonormalise(w, count, dim).basis.slice();
    if (v.length < count * dim) {
      const grown = new Float64Array(count * dim);
      grown.set(v);
      v = grown;
    }
  }
  return { vectors: v, count };
}

/** Coordinates of each mean in the basis (groupCount × rank). */
function meanCoordinates(means: Float64Array, groupCount: number, basis: Float64Array, rank: number, dim: number): Float64Array {
  const out = new Float64Array(groupCount * rank);
  for (let g = 0; g < groupCount; g++) {
    for (let b = 0; b < rank; b++) out[g * rank + b] = dotRow64(means, g * dim, basis, b * dim, dim);
  }
  return out;
}

/** Group of each row: the mean nearest in coordinates. */
function nearestMeans(coords: Float64Array, n: number, rank: number, meanCoords: Float64Array, groupCount: number): Int32Array {
  const groupOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let bestG = 0;
    for (let g = 0; g < groupCount; g++) {
      let d = 0;
      for (let t = 0; t < rank; t++) d += (coords[i * rank + t]! - meanCoords[g * rank + t]!) ** 2;
      if (d < best) {
        best = d;
        bestG = g;
      }
    }
    groupOf[i] = bestG;
  }
  return groupOf;
}

/** Members (ascending per group) and the per-group bounds of a grouping. */
function groupStats(
  coords: Float64Array,
  resid: Float64Array,
  norm2: Float64Array,
  groupOf: Int32Array,
  n: number,
  rank: number,
  groupCount: number,
): Omit<Partition, 'rank' | 'coords' | 'resid' | 'tail' | 'groupOf' | 'groupCount' | 'posOf'> {
  const counts = new Int32Array(groupCount);
  for (let i = 0; i < n; i++) counts[groupOf[i]!]!++;
  const start = new Int32Array(groupCount + 1);
  for (let g = 0; g < groupCount; g++) start[g + 1] = start[g]! + counts[g]!;
  const fill = start.slice(0, groupCount);
  const members = new Int32Array(n);
  for (let i = 0; i < n; i++) members[fill[groupOf[i]!]!++] = i;

  const center = new Float64Array(groupCount * rank);
  const radius = new Float64Array(groupCount);
  const maxResid = new Float64Array(groupCount);
  const minNorm2 = new Float64Array(groupCount).fill(Infinity);
  const maxNorm2 = new Float64Array(groupCount);
  for (let g = 0; g < groupCount; g++) {
    const size = start[g + 1]! - start[g]!;
    if (size === 0) continue;
    for (let p = start[g]!; p < start[g + 1]!; p++) {
      const i = members[p]!;
      for (let t = 0; t < rank; t++) center[g * rank + t] = center[g * rank + t]! + coords[i * rank + t]!;
    }
    for (let t = 0; t < rank; t++) center[g * rank + t] = center[g * rank + t]! / size;
    let r2 = 0;
    let cNorm2 = 0;
    for (let t = 0; t < rank; t++) cNorm2 += center[g * rank + t]! ** 2;
    for (let p = start[g]!; p < start[g + 1]!; p++) {
      const i = members[p]!;
      let d = 0;
      for (let t = 0; t < rank; t++) d += (coords[i * rank + t]! - center[g * rank + t]!) ** 2;
      if (d > r2) r2 = d;
      if (resid[i]! > maxResid[g]!) maxResid[g] = resid[i]!;
      if (norm2[i]! < minNorm2[g]!) minNorm2[g] = norm2[i]!;
      if (norm2[i]! > maxNorm2[g]!) maxNorm2[g] = norm2[i]!;
    }
    radius[g] = Math.sqrt(r2) + RADIUS_SLACK * (Math.sqrt(maxNorm2[g]!) + Math.sqrt(cNorm2));
  }
  return { start, members, center, radius, maxResid, minNorm2, maxNorm2 };
}

/** Upper bound on x_i·x_c (rows i and c) from the coordinates and residuals. */
export function rowDotUpper(p: Partition, i: number, c: number): number {
  const r = p.rank;
  const a = p.posOf[i]!;
  const b = p.posOf[c]!;
  let s = 0;
  for (let t = 0; t < r; t++) s += p.coords[a * r + t]! * p.coords[b * r + t]!;
  return s + p.resid[a]! * p.resid[b]!;
}

/**
 * Upper bound on x_i·x_c for every row i of group g, given the coordinates `cCoords` of x_c, their norm
 * `cNorm` and x_c's residual bound `cResid`.
 */
export function groupDotUpper(p: Partition, g: number, cCoords: Float64Array, cNorm: number, cResid: number): number {
  const r = p.rank;
  let s = 0;
  for (let t = 0; t < r; t++) s += p.center[g * r + t]! * cCoords[t]!;
  return s + p.radius[g]! * cNorm + p.maxResid[g]! * cResid;
}

/** Row c's coordinates (a view) and their norm. */
export function rowCoords(p: Partition, c: number): { coords: Float64Array; norm: number } {
  const r = p.rank;
  const coords = p.coords.subarray(p.posOf[c]! * r, (p.posOf[c]! + 1) * r);
  let s = 0;
  for (let t = 0; t < r; t++) s += coords[t]! ** 2;
  return { coords, norm: Math.sqrt(s) };
}

/** k-means (Lloyd) on the sample rows; returns groupCount × dim means. */
function fitMeans(vectors: Float32Array, dim: number, sample: Int32Array, groupCount: number): Float64Array {
  const s = sample.length;
  const means = new Float64Array(groupCount * dim);
  // Started from a farthest-first traversal of the sample (deterministic k-means++): one start per
  // well-separated cluster rather than several in the biggest.
  const nearest = new Float64Array(s).fill(Infinity);
  let pick = 0;
  for (let g = 0; g < groupCount; g++) {
    const po = sample[pick]! * dim;
    for (let j = 0; j < dim; j++) means[g * dim + j] = vectors[po + j]!;
    let far = -1;
    let next = 0;
    for (let t = 0; t < s; t++) {
      const o = sample[t]! * dim;
      let d = 0;
      for (let j = 0; j < dim; j++) d += (vectors[o + j]! - vectors[po + j]!) ** 2;
      if (d < nearest[t]!) nearest[t] = d;
      if (nearest[t]! > far) {
        far = nearest[t]!;
        next = t;
      }
    }
    pick = next;
  }
  const half = new Float64Array(groupCount);
  const assign = new Int32Array(s);
  const sums = new Float64Array(groupCount * dim);
  const sizes = new Int32Array(groupCount);
  for (let it = 0; it < PARTITION_ITERATIONS; it++) {
    for (let g = 0; g < groupCount; g++) {
      let m2 = 0;
      for (let j = 0; j < dim; j++) m2 += means[g * dim + j]! ** 2;
      half[g] = m2 / 2;
    }
    // Nearest mean: largest x·mu - |mu|^2/2.
    for (let t = 0; t < s; t++) {
      const o = sample[t]! * dim;
      let best = -Infinity;
      let bestG = 0;
      for (let g = 0; g < groupCount; g++) {
        const v = dotRow(vectors, o, means, g * dim, dim) - half[g]!;
        if (v > best) {
          best = v;
          bestG = g;
        }
      }
      assign[t] = bestG;
    }
    sums.fill(0);
    sizes.fill(0);
    for (let t = 0; t < s; t++) {
      const g = assign[t]!;
      const o = sample[t]! * dim;
      sizes[g]!++;
      for (let j = 0; j < dim; j++) sums[g * dim + j] = sums[g * dim + j]! + vectors[o + j]!;
    }
    // An emptied mean keeps its place.
    for (let g = 0; g < groupCount; g++) {
      if (sizes[g] === 0) continue;
      for (let j = 0; j < dim; j++) means[g * dim + j] = sums[g * dim + j]! / sizes[g]!;
    }
  }
  return means;
}

/** Modified Gram–Schmidt, twice, over the means; dependent or zero means add no basis vector. */
function orthonormalise(means: Float64Array, count: number, dim: number): { basis: Float64Array; rank: number } {
  const basis = new Float64Array(Math.min(count, dim) * dim);
  const v = new Float64Array(dim);
  let rank = 0;
  for (let g = 0; g < count && rank < dim; g++) {
    v.set(means.subarray(g * dim, (g + 1) * dim));
    let before = 0;
    for (let j = 0; j < dim; j++) before += v[j]! ** 2;
    if (before === 0) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (let b = 0; b < rank; b++) {
        const d = dotRow64(v, 0, basis, b * dim, dim);
        for (let j = 0; j < dim; j++) v[j] = v[j]! - d * basis[b * dim + j]!;
      }
    }
    let after = 0;
    for (let j = 0; j < dim; j++) after += v[j]! ** 2;
    if (after <= INDEPENDENT * INDEPENDENT * before) continue;
    const inv = 1 / Math.sqrt(after);
    for (let j = 0; j < dim; j++) basis[rank * dim + j] = v[j]! * inv;
    rank++;
  }
  return { basis: basis.subarray(0, rank * dim), rank };
}

function dotRow(x: Float32Array, o: number, y: Float64Array, p: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += x[o + j]! * y[p + j]!;
  return s;
}

function dotRow64(x: Float64Array, o: number, y: Float64Array, p: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += x[o + j]! * y[p + j]!;
  return s;
}
