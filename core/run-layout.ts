// The run directory as a contract: the name of every file a run writes, the type of every line in its
// JSONL files, and report.json's shape. Activities write what this module declares, clients and
// `dqe eval` read it, and tests list it; adapters/run-files.ts joins the names to a run directory.
// Pure and workflow-safe (no Node built-ins), so the workflow can name files too.
import type { Category, Split } from './categorise.js';
import type { ConflictGroup, RejectReason } from './clean.js';
import type { HnswSummary, IvfSummary } from './index-calibration.js';
import type { Evaluation } from './evaluation.js';
import type { DqeConfig } from './input.js';
import type { JudgeUsage, RowVerdict, Verdict } from './judging.js';
import type { ReviewChange, ReviewSummary } from './review.js';

export type { ReviewChange, RowVerdict };

/** The lock file in a run directory: it names the run that owns the directory (core/run-dir.ts). */
export const RUN_LOCK_FILE = '.dqe-run.json';

/** The run's intermediate files, under the run directory; `dqe eval` and a re-run read them back. */
export const WORK_DIR = 'work';

/** Every file a run writes at the top of its run directory. */
export const RUN_FILES = {
  /** The curated rows: the user's own rows, byte for byte (a relabelled row differs only in its label's value). */
  final: 'final.jsonl',
  /** One `FinalRowId` per line of final.jsonl, same order: which kept and input row each final row is. */
  finalRows: 'final.rows.jsonl',
  /** The same rows as ms-swift `messages` rows. */
  finalSwift: 'final.swift.jsonl',
  /** One `RejectRow` per input row that left before training, in row order. */
  rejects: 'rejects.jsonl',
  /** One `CategoryRow` per wrongly predicted unsampled row. */
  categories: 'categories.jsonl',
  /** One `NoisyPairLine` per noisy pair, with the judge's verdicts. */
  noisyPairs: 'noisy-pairs.jsonl',
  /** Two-fold DQE: the second pass's noisy pairs (its "unsampled" rows are the run's sampled half). */
  noisyPairsSecondPass: 'noisy-pairs.second-pass.jsonl',
  /**
   * One `FlaggedRowLine` per row outside the noisy pairs that the judge called mislabeled (offline judge with
   * scope 'wrong' or 'all'; empty otherwise): these rows leave the final set like a pair row judged mislabeled.
   */
  flagged: 'flagged.jsonl',
  /** Two-fold DQE: the second pass's flagged rows. */
  flaggedSecondPass: 'flagged.second-pass.jsonl',
  /** One `ReviewChange` per row a reviewer decided (runs with `review: true`). */
  review: 'review.jsonl',
  /** `Report`: every count of the run. */
  reportJson: 'report.json',
  reportMd: 'report.md',
  /** One self-contained page with charts (activities/report-html.ts). */
  reportHtml: 'report.html',
  lock: RUN_LOCK_FILE,
} as const;

export type RunFile = (typeof RUN_FILES)[keyof typeof RUN_FILES];

/**
 * The data files of a finished run that depend only on the input and the configuration: two runs of the
 * same input and configuration write them byte-identical, whatever happened to the workers in between.
 */
export const DATA_FILES = [RUN_FILES.final, RUN_FILES.finalRows, RUN_FILES.finalSwift, RUN_FILES.rejects, RUN_FILES.categories, RUN_FILES.noisyPairs, RUN_FILES.flagged] as const;

/**
 * The files of the work directory. Each phase names its files `<phase>.<key>.<suffix>`: `key` hashes
 * the phase's inputs (16 hex digits, adapters/files.ts hashKey), and `<phase>.<key>.json` is the phase's
 * manifest, written last (runPhaseOnce). Keyed by suffix; the phases that write each. The embedded
 * vector store keeps its index beside them as `ann-index.<key>.{ivf,usearch,json}`.
 */
export const WORK_FILES = {
  'valid.jsonl': { phases: ['load'], holds: 'rows that passed validation, as `KeptRow` without `id`' },
  'rejects.jsonl': { phases: ['load', 'clean', 'embed'], holds: 'that phase\'s `RejectRow`s (merged into rejects.jsonl)' },
  'rejects-before.jsonl': { phases: ['embed'], holds: 'rejects.jsonl before the rows with nothing to embed were added' },
  'kept.jsonl': { phases: ['clean', 'embed'], holds: 'one `KeptRow` per kept row, id order' },
  'kept-offsets.f64': { phases: ['clean', 'embed'], holds: 'byte offset of each kept row in kept.jsonl, and its end' },
  'label-ids.u32': { phases: ['clean', 'embed'], holds: 'class index of each kept row' },
  'conflicts.json': { phases: ['clean'], holds: 'the `ConflictGroup`s of texts that carry two labels' },
  'case-conflicts.json': { phases: ['clean'], holds: 'the `ConflictGroup`s of kept texts that differ only in case and carry two labels' },
  'unembeddable.jsonl': { phases: ['embed'], holds: 'ids of the rows with nothing to embed' },
  'f32': { phases: ['embed-shard-<i>'], holds: 'one shard\'s float32 vectors' },
  'matrix.f32': { phases: ['embed'], holds: 'the kept rows\' unit vectors, row-major' },
  'order.u32': { phases: ['sample', 'swap'], holds: 'selection order (kept-row ids)' },
  'split.u8': { phases: ['sample', 'swap'], holds: 'one byte per kept row: 1 = sampled' },
  'order.partial.u32': { phases: ['sample'], holds: 'the picks so far while sampling runs (centroid rule), uint32 in order: a retried attempt continues after them; removed once the phase is done' },
  'predictions.jsonl': { phases: ['predict'], holds: 'one `Prediction` per unsampled row, id order' },
  'jsonl': { phases: ['predict-shard-<i>'], holds: 'one shard\'s `Prediction`s' },
  'job': { phases: ['train', 'predict-shard-<i>'], holds: 'the trainer\'s job folder (its model, a subprocess\'s files)' },
  'categories.jsonl': { phases: ['categorise'], holds: 'one `CategoryRow` per wrong prediction' },
  'nearest-ids.u32': { phases: ['neighbours'], holds: 'the kept rows whose neighbours the offline judge needs (ascending)' },
  'nearest.i32': { phases: ['neighbours'], holds: "those rows' k nearest other rows from the vector store (int32, row-major, −1 where fewer): the offline judge's neighbour evidence" },
  'verdicts.jsonl': { phases: ['judge', 'review'], holds: 'one `RowVerdict` per distinct row of the noisy pairs, then the rows flagged outside them (scope wrong or all), id order' },
  'verdicts.second-pass.jsonl': { phases: ['review'], holds: "two-fold: the second pass's verdicts with the reviewer's decisions in them" },
} as const;

export type WorkFileSuffix = keyof typeof WORK_FILES;

/** A phase's work file: `prefix` is `<workDir>/<phase>.<key>` as runPhaseOnce hands it over. */
export function workFile(prefix: string, suffix: WorkFileSuffix): string {
  return `${prefix}.${suffix}`;
}

/** Matches the name (not the path) of `phase`'s work file with `suffix`, whatever the key. */
export function workFilePattern(phase: string, suffix: WorkFileSuffix | 'json'): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
  return new RegExp(`^${esc(phase)}\\.[0-9a-f]{16}\\.${esc(suffix)}$`, 'u');
}

// ---- Line types ----

/** One kept row as kept.jsonl stores it. */
export interface KeptRow {
  /** Kept-row id: 0-based, input order. */
  id: number;
  /** Input row number (1-based). */
  row: number;
  /** Input line number where the row starts (1-based). */
  line: number;
  text: string;
  /** The label compared and trained on: as written, NFC, surrounding whitespace trimmed (core/label-names.ts). */
  label: string;
  /**
   * The row as final.jsonl writes it: a JSONL line's own text (so its bytes), a CSV row's fields as one
   * JSON object of strings, every column included.
   */
  source: string;
}

/** One line of rejects.jsonl. */
export interface RejectRow {
  row: number;
  line: number;
  reason: RejectReason;
  /** The field at fault, when one is. */
  field?: string;
  detail: string;
  /** The rejected CSV row's fields; a JSONL row is in `raw`, as written. */
  record?: Record<string, unknown>;
  raw?: string;
}

/** One line of final.rows.jsonl: the stable id of the final.jsonl line at the same position. */
export interface FinalRowId {
  /** Kept-row id (kept.jsonl, categories.jsonl, verdicts and predictions use it). */
  id: number;
  /** Input row number (1-based), as rejects.jsonl and review decisions name rows. */
  row: number;
}

/** One line of predictions.jsonl: the trainer's answer for an unsampled row. */
export interface Prediction {
  id: number;
  /** The predicted label, or null when the model's answer maps to no label. */
  predicted: string | null;
  /** The raw answer of a generative model. */
  answer?: string;
  /** Class probabilities in `labels` order, when the model gives them. */
  probs?: number[];
}

/** One line of categories.jsonl: a wrongly predicted unsampled row and its nearest neighbour. */
export interface CategoryRow {
  id: number;
  row: number;
  label: string;
  predicted: string | null;
  category: Category;
  neighbour: { id: number; row: number; label: string; split: Split };
  similarity: number;
}

/** One row of a noisy pair, as the judge gets it. */
export interface NoisyPairSide {
  /** Kept-row id. */
  id: number;
  /** Input row number (1-based): what review decisions name. */
  row: number;
  text: string;
  label: string;
  split: Split;
}

/** A noisy pair as the judge gets it. */
export interface NoisyPair {
  /** The wrongly predicted unsampled row. */
  x: NoisyPairSide;
  /** Its nearest neighbour, which carries another label. */
  neighbour: NoisyPairSide;
  similarity: number;
}

/** One row of a line of noisy-pairs.jsonl: the pair's row with the judge's verdict on it. */
export interface NoisyPairLineSide extends NoisyPairSide {
  verdict: RowVerdict | null;
}

/**
 * One line of flagged.jsonl (and flagged.second-pass.jsonl): a row in no noisy pair that the judge called
 * mislabeled. Review decisions name it by `row`, like a pair row.
 */
export interface FlaggedRowLine {
  /** Kept-row id. */
  id: number;
  /** Input row number (1-based). */
  row: number;
  text: string;
  label: string;
  /** The pass's prediction, when the row was wrongly predicted (scope 'wrong' flags only these). */
  predicted?: string | null;
  verdict: RowVerdict;
}

/** One line of noisy-pairs.jsonl (and of noisy-pairs.second-pass.jsonl). */
export interface NoisyPairLine {
  similarity: number;
  x: NoisyPairLineSide;
  neighbour: NoisyPairLineSide;
}

// ---- report.json ----

/** Column of the confusion matrix for answers that map to no label. */
export const NO_LABEL_COLUMN = '(no label)';

export interface Confusion {
  /** Which rows were predicted: the unsampled half (and, two-fold, the sampled half by the second model). */
  of: 'unsampled' | 'sampled';
  /** Row labels (true class), in `labels` order. */
  rows: string[];
  /** Column labels (predicted class), then `NO_LABEL_COLUMN`. */
  columns: string[];
  /** matrix[true][predicted] counts. */
  matrix: number[][];
}

/** Two-fold DQE's second pass: a model trained on the unsampled half predicts the sampled half. */
export interface TwoFoldSummary {
  trainedOn: 'unsampled';
  predicted: number;
  correct: number;
  wrong: number;
  unmapped: number;
  accuracyOnSampled: number | null;
  uncovered: number;
  difficult: number;
  noisy: number;
  noisyPairs: number;
  /** Rows outside the noisy pairs the second pass's judge called mislabeled (flagged.second-pass.jsonl). */
  flagged: number;
  verdicts: Record<Verdict, number>;
  perLabel: Record<string, Record<Category, number>>;
  confusion: Confusion;
  usage: JudgeUsage | null;
}

/** One pass's work files, relative to the run directory. */
export interface PassFiles {
  split: string;
  model: string;
  predictions: string;
  categories: string;
  verdicts: string;
}

/** Where the run's intermediate files are, relative to the run directory (what `dqe eval` reads back). */
export interface WorkFiles extends PassFiles {
  kept: string;
  labelIds: string;
  matrix: { path: string; rows: number; dim: number };
  secondPass: PassFiles | null;
}

/** A noisy pair as the report shows it: texts cut to a preview, marked with the pass that found it. */
export type ReportPair = NoisyPairLine & { pass: 1 | 2 };

export interface ReportCounts {
  rowsIn: number;
  blankLines: number;
  kept: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  sampled: number;
  unsampled: number;
  predicted: number;
  correct: number;
  wrong: number;
  unmapped: number;
  uncovered: number;
  difficult: number;
  noisy: number;
  noisyPairs: number;
  /** Rows outside the noisy pairs the judge called mislabeled (flagged.jsonl; offline judge, scope 'wrong' or 'all'). */
  flagged: number;
  verdicts: Record<Verdict, number>;
  final: number;
  finalBySource: Record<string, number>;
  excludedFromFinal: Record<string, number>;
  relabelled: number;
}

export type LabelCounts = { kept: number; final: number } & Record<Category, number>;

/** Rows and worker of each shard of a fanned-out phase. */
export interface ShardRun {
  index: number;
  rows: number;
  worker: string;
}

/** report.json (`reportVersion` 1). */
export interface Report {
  dqe: { reportVersion: 1 };
  run: { id: string; dataset: string; datasetSha256: string; format: 'jsonl' | 'csv'; config: DqeConfig };
  labels: string[];
  /** Labels that look like one class typed twice, classes too small to learn (core/label-names.ts). */
  warnings: string[];
  counts: ReportCounts;
  perLabel: Record<string, LabelCounts>;
  trainer: {
    name: string;
    accuracyOnUnsampled: number | null;
    instructionFollowingFailureRate: number | null;
    details: Record<string, unknown>;
  };
  confusion: Confusion;
  twoFold: TwoFoldSummary | null;
  embedding: { embedder: string; dim: number; reused: number; embedded: number };
  /** The approximate index's settings and its recall@1 measured against exact search, when the store built one. */
  vectorStore: { name: string; indexed: number; hnsw?: HnswSummary; ivf?: IvfSummary };
  /** `evidence`: what the judge decided from, in words (the offline judge's probabilities and neighbours); null for judges that do not say. */
  judge: { name: string; evidence: string | null; usage: JudgeUsage | null; review: ReviewSummary | null };
  conflicts: ConflictGroup[];
  /** Kept rows whose texts differ only in case and carry different labels (kept: a warning). */
  caseConflicts: ConflictGroup[];
  noisyPairs: ReportPair[];
  timings: {
    fanOut: { embed: ShardRun[]; predict: ShardRun[] };
    /** Wall seconds per phase as the workflow saw them (scheduling included). */
    phases: Record<string, number>;
    /** Seconds inside each phase's activity. */
    activitySeconds: Record<string, number>;
  };
  work: WorkFiles;
  /** The outputs, relative to the run directory. */
  outputs: {
    final: typeof RUN_FILES.final;
    finalRows: typeof RUN_FILES.finalRows;
    finalSwift: typeof RUN_FILES.finalSwift;
    rejects: typeof RUN_FILES.rejects;
    categories: typeof RUN_FILES.categories;
    noisyPairs: typeof RUN_FILES.noisyPairs;
    flagged: typeof RUN_FILES.flagged;
  };
}

/** report.json after `dqe eval`: the run's report plus the evaluation. */
export type ReportWithEvaluation = Report & { evaluation?: Evaluation | null };
