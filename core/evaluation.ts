// The pure parts of `dqe eval`: the seeded held-out split, the seeded label flips of the noise
// experiment, the random baseline subset, cross-validation folds, and the shape of report.json's
// `evaluation`.
import type { BootstrapMacroF1Test, ClassificationMetrics, DetectionScores, McNemarTest, PairedTTest } from './metrics.js';
import { Rng } from './random.js';

/** A Fisher–Yates shuffle of 0..n-1 from a seeded generator. */
export function permutation(n: number, rng: Rng): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Holds out `fraction` of the items as a test split, per label (stratified), so the test split has
 * the data's class mix: round(fraction × count) items of each label. Items with label `undefined`
 * (no usable label) always stay in training. Both lists come back ascending.
 */
export function holdoutSplit(labels: readonly (string | undefined)[], fraction: number, seed: number): { train: number[]; test: number[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`holdout fraction must be in (0, 1), got ${fraction}`);
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => {
    if (l === undefined) return;
    const items = byLabel.get(l);
    if (items) items.push(i);
    else byLabel.set(l, [i]);
  });
  const rng = new Rng(seed);
  const test = new Set<number>();
  for (const label of [...byLabel.keys()].sort()) {
    const items = byLabel.get(label)!;
    const take = Math.round(fraction * items.length);
    for (const k of permutation(items.length, rng).slice(0, take)) test.add(items[k]!);
  }
  const train: number[] = [];
  labels.forEach((_, i) => !test.has(i) && train.push(i));
  return { train, test: [...test].sort((a, b) => a - b) };
}

export interface LabelFlip {
  /** Index of the item in the input list. */
  index: number;
  from: string;
  to: string;
}

/**
 * The noise experiment's flips: round(rate × usable items) items, drawn without replacement, each
 * given a label drawn uniformly from the other labels of `labelSet`. Items whose label is not in
 * `labelSet` are never flipped. Flips come back in index order.
 */
export function injectLabelNoise(labels: readonly (string | undefined)[], labelSet: readonly string[], rate: number, seed: number): LabelFlip[] {
  if (!(rate > 0 && rate < 1)) throw new RangeError(`noise rate must be in (0, 1), got ${rate}`);
  if (labelSet.length < 2) throw new RangeError('flipping labels needs at least 2 labels');
  const usable: number[] = [];
  labels.forEach((l, i) => l !== undefined && labelSet.includes(l) && usable.push(i));
  const rng = new Rng(seed);
  const chosen = permutation(usable.length, rng).slice(0, Math.round(rate * usable.length)).map((k) => usable[k]!).sort((a, b) => a - b);
  return chosen.map((index) => {
    const from = labels[index]!;
    const others = labelSet.filter((l) => l !== from);
    return { index, from, to: others[rng.nextInt(others.length)]! };
  });
}

/** `size` of `ids`, drawn uniformly without replacement; ascending. */
export function randomSubset(ids: readonly number[], size: number, seed: number): number[] {
  if (!Number.isInteger(size) || size < 0 || size > ids.length) throw new RangeError(`subset size must be an integer in [0, ${ids.length}], got ${size}`);
  return permutation(ids.length, new Rng(seed)).slice(0, size).map((k) => ids[k]!).sort((a, b) => a - b);
}

/** The fold (0..k-1) of each of n items: a seeded shuffle dealt round-robin, so folds differ in size by at most 1. */
export function crossValidationFolds(n: number, k: number, seed: number): Uint32Array {
  if (!Number.isInteger(k) || k < 2 || k > n) throw new RangeError(`folds must be an integer in [2, ${n}], got ${k}`);
  const folds = new Uint32Array(n);
  permutation(n, new Rng(seed)).forEach((item, position) => (folds[item] = position % k));
  return folds;
}

/** The three training sets `dqe eval` compares. */
export const ARMS = ['full', 'dqe', 'random'] as const;
export type ArmName = (typeof ARMS)[number];

export interface ArmResult {
  /** Rows trained on. */
  rows: number;
  /** rows / kept training rows. */
  dataFraction: number;
  /** Seconds the trainer spent training. */
  trainSeconds: number;
  metrics: ClassificationMetrics;
}

export interface ArmComparison {
  a: ArmName;
  b: ArmName;
  /** Paired t-test on per-item 0/1 correctness (a − b), as the DQE paper does. */
  tTest: PairedTTest;
  mcnemar: McNemarTest;
  /** Paired bootstrap over the test rows of the macro-F1 difference (a − b). */
  macroF1: BootstrapMacroF1Test;
}

export interface NoiseMethodResult extends DetectionScores {
  seconds: number;
}

export interface NoiseExperiment {
  /** Fraction of the training rows whose label was flipped. */
  rate: number;
  /** Rows flipped in the training part. */
  flipped: number;
  /** Flipped rows that survived cleaning (the ground truth every method is scored against). */
  flippedKept: number;
  /** What counts as detected, per method. */
  definitions: Record<string, string>;
  /** DQE's rows judged mislabeled (both passes when two-fold). */
  dqe: DetectionScores;
  /** Looser: every row of a noisy pair, whatever its verdict. */
  dqeFlagged: DetectionScores;
  cleanlab: (NoiseMethodResult & { version: string; folds: number; filterBy: string; probabilities?: 'judge' | 'computed' }) | null;
}

export interface Evaluation {
  evaluationVersion: 1;
  seed: number;
  trainer: string;
  twoFold: boolean;
  /** Where the test items came from. */
  test: { source: 'holdout' | 'file'; fraction: number | null; path: string | null; rows: number; skipped: number };
  /** Kept training rows (the "full cleaned data"). */
  trainRows: number;
  /** Kept rows the judge found mislabeled (in either pass when two-fold): what DQE drops or relabels. */
  judgedMislabeled: { rows: number; share: number };
  arms: Record<ArmName, ArmResult>;
  comparisons: ArmComparison[];
  noise: NoiseExperiment | null;
  seconds: number;
}

/** Offsets of the seeds of the noise flips, the random arm and the macro-F1 bootstrap from the run's seed, so they are independent draws. */
export const NOISE_SEED_OFFSET = 1;
export const RANDOM_ARM_SEED_OFFSET = 2;
export const BOOTSTRAP_SEED_OFFSET = 4;
/** Share of the input held out as the test split when no test file is given. */
export const DEFAULT_HOLDOUT = 0.2;
/** Folds of the cross-validated probabilities handed to cleanlab (cleanlab's own default is 5). */
export const DEFAULT_CLEANLAB_FOLDS = 5;

/** What an evaluation is asked to do: the input of the `dqeEval` workflow (paths as the workers see them). */
export interface EvalInput {
  /** The dataset to split, curate and evaluate on. */
  dataset: string;
  /** @default from the extension */
  format?: 'jsonl' | 'csv' | undefined;
  /** @default 'text' */
  textField?: string | undefined;
  /** @default 'label' */
  labelField?: string | undefined;
  /** A test split in the dataset's format and fields; without it, `holdout` of the dataset is held out. */
  test?: string | undefined;
  /** Share of the dataset held out (stratified by label, seeded) when there is no `test`. @default 0.2 */
  holdout?: number | undefined;
  /** Seeds the split, the flips, the random arm and the run. @default 0 */
  seed?: number | undefined;
  /** Share of the training rows whose label is flipped before DQE runs (0 < r < 1). @default none */
  injectNoise?: number | undefined;
  /** With `injectNoise`, also score cleanlab's find_label_issues. @default true */
  cleanlab?: boolean | undefined;
  /** Cross-validation folds of cleanlab's probabilities. @default 5 */
  cleanlabFolds?: number | undefined;
  /** The rest of the dqe workflow input (ratio, embedder, trainer, judge, twoFold, heartbeat timeouts...). @default {} */
  dqe?: Record<string, unknown> | undefined;
  /** The evaluation directory: train.jsonl, test.jsonl, flips.jsonl, evaluation.json, dqe/ (the run directory), work/. */
  outputDir: string;
}
