// The results activities hand each other: file references and counts, never rows or vectors
// (Temporal payloads are capped at 2 MB).
import type { Category } from '../core/categorise.js';
import type { Shard } from '../core/shards.js';
import type { RejectReason } from '../core/clean.js';
import type { JudgeUsage, Verdict } from '../core/judging.js';
import type { ReviewSummary } from '../core/review.js';
import type { MatrixRef } from '../adapters/files.js';
import type { HnswSummary, IvfSummary } from '../core/index-calibration.js';

export type { MatrixRef, ReviewSummary, Shard };
// The run directory's line types, declared in core/run-layout.ts.
export type { CategoryRow, KeptRow, RejectRow } from '../core/run-layout.js';

export interface LoadResult {
  datasetPath: string;
  /** SHA-256 of exactly the bytes the rows were read from (`datasetBytes` of them). */
  datasetSha256: string;
  /** The file's size when the run read it; bytes appended later are not part of the run. */
  datasetBytes: number;
  format: 'jsonl' | 'csv';
  /** Rows read (blank lines of JSONL are not rows). */
  rowsIn: number;
  blankLines: number;
  /** valid.jsonl: rows that passed validation, as `KeptRow` without `id`. */
  validPath: string;
  valid: number;
  rejectsPath: string;
  rejected: Partial<Record<RejectReason, number>>;
  seconds: number;
}

export interface ConflictSummary {
  groups: number;
  rows: number;
  path: string;
}

export interface CleanResult {
  keptPath: string;
  /** Byte offset of each kept row in kept.jsonl, plus the file's end (float64, kept + 1 entries). */
  keptOffsetsPath: string;
  kept: number;
  /** Class index of every kept row (uint32, id order). */
  labelIdsPath: string;
  labels: string[];
  /** Kept rows per label. */
  perLabel: Record<string, number>;
  /** rejects.jsonl in the run directory: load and clean rejects, in row order. */
  rejectsPath: string;
  rejected: Partial<Record<RejectReason, number>>;
  conflicts: ConflictSummary;
  /** Kept rows whose texts differ only in case and carry different labels (kept; reported). */
  caseConflicts: ConflictSummary;
  seconds: number;
}


export interface EmbedShardResult {
  shard: Shard;
  /** float32 rows of this shard. */
  path: string;
  dim: number;
  embedderId: string;
  /** Ids of rows whose vector is zero or not finite: nothing to embed (`nothing_to_embed`). */
  unembeddable?: number[];
  reused: number;
  embedded: number;
  seconds: number;
  /** Identity of the worker that ran it (fan-out evidence). */
  worker: string;
}

export interface PredictShardResult {
  shard: Shard;
  /** predictions of this shard's unsampled rows, in id order. */
  path: string;
  predicted: number;
  correct: number;
  unmapped: number;
  seconds: number;
  worker: string;
}

export interface EmbedResult {
  matrix: MatrixRef;
  /** Set when rows had nothing to embed: the kept rows without them, which every later phase uses. */
  clean?: CleanResult;
  embedderId: string;
  /** Rows whose vectors came from the cache. */
  reused: number;
  embedded: number;
  seconds: number;
  /** Per shard: rows and the worker that embedded them. */
  shards: Array<{ index: number; rows: number; worker: string }>;
}

export interface SampleResult {
  /** Selection order (uint32 kept-row ids). */
  orderPath: string;
  /** One byte per kept row: 1 = sampled. */
  splitPath: string;
  sampled: number;
  unsampled: number;
  seconds: number;
}

export interface TrainResult {
  trainer: string;
  modelPath: string;
  trainSeconds: number;
  details: Record<string, unknown>;
  seconds: number;
}

export interface PredictResult {
  /** predictions.jsonl: one `Prediction` per unsampled row, in id order. */
  predictionsPath: string;
  predicted: number;
  correct: number;
  wrong: number;
  /** Answers that mapped to no label (instruction-following failures). */
  unmapped: number;
  seconds: number;
  shards: Array<{ index: number; rows: number; worker: string }>;
}

export interface IndexResult {
  store: string;
  indexed: number;
  reused: boolean;
  /** The embedded store's ANN index, when it built one: settings and recall@1 measured against exact. */
  hnsw?: HnswSummary;
  /** The embedded store's IVF index, when it built one: settings and recall@1 measured against exact. */
  ivf?: IvfSummary;
  seconds: number;
}

export interface CategoriseResult {
  categoriesPath: string;
  counts: Record<Category, number>;
  perLabel: Record<string, Record<Category, number>>;
  /**
   * With `neighbours` asked: the `k` nearest other rows, from the store, of the rows the judge needs (`idsPath`:
   * `rows` ascending kept-row ids, uint32; `path`: rows × k int32; the `neighbours` phase).
   */
  nearest?: { path: string; idsPath: string; rows: number; k: number };
  seconds: number;
}

export interface JudgeResult {
  judge: string;
  /** verdicts.jsonl: one `RowVerdict` per distinct row of the noisy pairs. */
  verdictsPath: string;
  /** noisy-pairs.jsonl in the run directory: each pair with both texts, labels and verdicts. */
  pairsPath: string;
  pairs: number;
  /**
   * flagged.jsonl (two-fold second pass: flagged.second-pass.jsonl): the rows outside the pairs the judge called
   * mislabeled, and how many. Absent in results of runs from before these files.
   */
  flaggedPath?: string;
  flagged?: number;
  counts: Record<Verdict, number>;
  usage?: JudgeUsage;
  /** What the judge decided from (JudgeOutput.evidence). */
  evidence?: string;
  seconds: number;
  /** Set when a person reviewed the verdicts (input `review: true`); `counts` are then the reviewed ones. */
  review?: ReviewSummary;
}

/** What the review step hands assembly: the first pass's reviewed verdicts and, two-fold, the second pass's. */
export type ReviewedJudge = JudgeResult & { secondPass?: JudgeResult };

export interface AssembleResult {
  finalPath: string;
  /** final.rows.jsonl: one `FinalRowId` per final.jsonl line, same order. */
  finalRowsPath: string;
  finalSwiftPath: string;
  final: number;
  perLabel: Record<string, number>;
  bySource: Record<string, number>;
  excluded: Record<string, number>;
  relabelled: number;
  seconds: number;
}

export interface ReportResult {
  reportJsonPath: string;
  reportMdPath: string;
  /** report.html: the same with charts, one self-contained file. */
  reportHtmlPath: string;
}
