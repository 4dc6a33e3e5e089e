// The Gaussian mixtures of bench/sampling.ts and bench/ann.ts (the synthetic side of their comparisons).
import { allocateVectors } from '../core/sampling/index.js';
import { Rng } from '../core/random.js';

export interface MixtureParams {
  readonly dim: number;
  readonly clusters: number;
  readonly noise: number;
  /** Sub-clusters per cluster (0: none): each row is its sub-cluster's centre plus `subnoise` of noise. */
  readonly subclusters: number;
  readonly subnoise: number;
  readonly alpha: number;
  readonly dup: number;
  readonly seed: number;
}

/**
 * Unit rows from an anisotropic Gaussian mixture: a direction shared by all
 * rows, one of `clusters` centres with Zipf(1) sizes, noise whose per-axis scale decays as (j+1)^-alpha so
 * the intrinsic dimension is well below dim, as with text embeddings; a fraction `dup` of rows are exact
 * copies of earlier rows. Both greedy rules are rotation invariant, so axis-aligned decay loses no generality.
 * Rows are drawn one after another, so a prefix of n rows is itself such a sample.
 * With `subclusters` > 0 the noise above places one of that many sub-centres per cluster (drawn when first
 * used) and each row adds `subnoise` of the same anisotropic noise to its sub-centre: topics made of tight
 * groups (templates, paraphrases), where a row's nearest neighbour is clearly nearer than the rest of its
 * topic. Without it, each cluster is one wide Gaussian of up to a fifth of the rows, whose nearest
 * neighbours are barely nearer than the next hundred: the hard case for any graph index.
 */
export function makeMixture(n: number, p: MixtureParams): Float32Array {
  const { dim } = p;
  const rng = new Rng(p.seed);
  let spare = Number.NaN;
  const gauss = (): number => {
    if (!Number.isNaN(spare)) {
      const v = spare;
      spare = Number.NaN;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - rng.nextFloat()));
    const t = 2 * Math.PI * rng.nextFloat();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  const unit = (): Float64Array => {
    const v = new Float64Array(dim);
    let s = 0;
    for (let j = 0; j < dim; j++) s += (v[j] = gauss()) ** 2;
    s = Math.sqrt(s);
    for (let j = 0; j < dim; j++) v[j] = v[j]! / s;
    return v;
  };
  const shared = unit();
  const centres = Array.from({ length: p.clusters }, unit);
  const cumulative = new Float64Array(p.clusters);
  let total = 0;
  for (let c = 0; c < p.clusters; c++) cumulative[c] = total += 1 / (c + 1);
  const scale = new Float64Array(dim);
  let z = 0;
  for (let j = 0; j < dim; j++) z += (scale[j] = Math.pow(j + 1, -p.alpha)) ** 2;
  for (let j = 0; j < dim; j++) scale[j] = (p.noise * scale[j]!) / Math.sqrt(z);
  const SHARED_WEIGHT = 0.5; // cosine ~0.2 between unrelated rows, as typical sentence embeddings show
  const CENTRE_WEIGHT = 0.6;
  // allocateVectors: the SIMD kernels read the matrix without a copy.
  const out = allocateVectors(n, dim);
  const row = new Float64Array(dim);
  const subCentres = new Map<number, Float32Array>();
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.nextFloat() < p.dup) {
      const src = rng.nextInt(i);
      out.copyWithin(i * dim, src * dim, src * dim + dim);
      continue;
    }
    const u = rng.nextFloat() * total;
    let c = 0;
    while (cumulative[c]! < u) c++;
    const centre = centres[c]!;
    let s = 0;
    if (p.subclusters > 0) {
      const k = rng.nextInt(p.subclusters);
      const key = c * p.subclusters + k;
      let sub = subCentres.get(key);
      if (!sub) {
        sub = new Float32Array(dim);
        for (let j = 0; j < dim; j++) sub[j] = scale[j]! * gauss();
        subCentres.set(key, sub);
      }
      for (let j = 0; j < dim; j++) {
        const v = SHARED_WEIGHT * shared[j]! + CENTRE_WEIGHT * centre[j]! + sub[j]! + (p.subnoise / p.noise) * scale[j]! * gauss();
        row[j] = v;
        s += v * v;
      }
    } else {
      for (let j = 0; j < dim; j++) {
        const v = SHARED_WEIGHT * shared[j]! + CENTRE_WEIGHT * centre[j]! + scale[j]! * gauss();
        row[j] = v;
        s += v * v;
      }
    }
    s = Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[i * dim + j] = row[j]! / s;
  }
  return out;
}
