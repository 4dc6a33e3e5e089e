// Calibrating an approximate top-1 index on the run's own rows: a seeded sample of query rows, recall@1
// against the certified exact scan, and the one-sided Wilson bound that must reach the target recall.
// Shared by the HNSW graph (usearch) and the IVF index; what each measured goes into report.json.
import type { Neighbour } from './categorise.js';
import { Rng } from './random.js';

/**
 * z of the one-sided confidence with which calibration must show the target recall (1.28: 90%). With 512
 * rows it allows two misses at target 0.99, and passes an index whose true recall is 0.988 about one time in
 * 17; the bare point estimate on 256 rows let runs land at 0.986 and 0.988 (bench/ann.ts sweeps).
 */
export const CALIBRATION_Z = 1.28;

/** What calibrating any index measured (the HNSW graph's and the IVF index's summaries share it). */
export interface CalibratedIndex {
  library: string;
  /** Candidates per query re-ranked in float64. */
  candidates: number;
  /** recall@1 against the certified exact scan on `calibrationQueries` rows of the run itself. */
  recall: number;
  recallHits: number;
  /** Lower end of the one-sided 90% Wilson interval of `recall`: what must reach `targetRecall`. */
  recallLowerBound: number;
  calibrationQueries: number;
  targetRecall: number;
  /** Whether `recallLowerBound` reached `targetRecall` at some setting tried. */
  reached: boolean;
  buildSeconds: number;
  calibrateSeconds: number;
}

/** `count` distinct rows of 0..n-1 drawn with a seeded generator (Floyd's algorithm), ascending. */
export function sampleRows(n: number, count: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const chosen = new Set<number>();
  for (let j = n - Math.min(count, n); j < n; j++) {
    const t = rng.nextInt(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from([...chosen].sort((a, b) => a - b));
}

/** Lower end of the Wilson score interval of a proportion (hits of total) at normal quantile z. */
export function wilsonLower(hits: number, total: number, z: number): number {
  if (total === 0) return 1;
  const p = hits / total;
  const z2 = z * z;
  const centre = p + z2 / (2 * total);
  const spread = z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  return (centre - spread) / (1 + z2 / total);
}

/** recall@1 of `got` against `truth` and whether the lower end of its 90% one-sided interval reaches the target. */
export function measureRecall(
  got: readonly Neighbour[],
  truth: readonly Neighbour[],
  targetRecall: number,
): Pick<CalibratedIndex, 'recall' | 'recallHits' | 'recallLowerBound' | 'calibrationQueries' | 'targetRecall' | 'reached'> {
  const hits = got.reduce((h, g, i) => h + (g.id === truth[i]!.id ? 1 : 0), 0);
  const recallLowerBound = wilsonLower(hits, got.length, CALIBRATION_Z);
  return {
    recall: got.length === 0 ? 1 : hits / got.length,
    recallHits: hits,
    recallLowerBound,
    calibrationQueries: got.length,
    targetRecall,
    reached: recallLowerBound >= targetRecall,
  };
}

/** Scalar type of the vectors inside the HNSW graph. */
export type HnswQuantization = 'i8' | 'f16' | 'f32';

/** What the HNSW index phase measured, kept beside the index file and shown in the run's report. */
export interface HnswSummary extends CalibratedIndex {
  quantization: HnswQuantization;
  connectivity: number;
  expansionAdd: number;
  /** The search breadth chosen by calibration (the largest tried when the target was not reached). */
  expansionSearch: number;
  /** Every breadth tried, in order, with the recall@1 it gave. */
  tried: { expansionSearch: number; recall: number; recallLowerBound: number }[];
}

/** What the IVF index phase measured, kept beside the index file and shown in the run's report. */
export interface IvfSummary extends CalibratedIndex {
  method: 'ivf-int8';
  lists: number;
  /** Lists each query scans, chosen by calibration (all lists when the target was not reached sooner). */
  probes: number;
  /** Every probe count tried, in order, with the recall@1 it gave and the share of rows it scanned. */
  tried: { probes: number; recall: number; recallLowerBound: number; scanned: number }[];
}

