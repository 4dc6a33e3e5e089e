// Classification and detection metrics, and the paired significance tests dqe's evaluation reports.
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import tCdf from '@stdlib/stats-base-dists-t-cdf';

/** Predicted class index meaning "the model's answer maps to no label" (always wrong). */
export const UNMAPPED = -1;

/**
 * Discordant pairs below which McNemar's `pValue` is the exact binomial one: the chi-square
 * approximation is poor for few discordant pairs (the usual rule of thumb is 25).
 */
export const MCNEMAR_EXACT_BELOW = 25;

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Items whose true class this is. */
  support: number;
}

export interface ClassificationMetrics {
  /** Items scored. */
  n: number;
  accuracy: number;
  /** Unweighted mean of the per-class F1 over the classes that occur in the truth or the predictions. */
  macroF1: number;
  perClass: Record<string, ClassScores>;
}

/**
 * K × (K + 1) counts: row = true class, column = predicted class, the last column = answers that
 * map to no label (`UNMAPPED`).
 */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  checkPaired(truth, predicted, 'confusionMatrix');
  const m = Array.from({ length: classes }, () => new Array<number>(classes + 1).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= classes) throw new Error(`confusionMatrix: truth[${i}] = ${t} is not a class index in [0, ${classes})`);
    if (p !== UNMAPPED && (!Number.isInteger(p) || p < 0 || p >= classes)) throw new Error(`confusionMatrix: predicted[${i}] = ${p} is not a class index or UNMAPPED`);
    m[t]![p === UNMAPPED ? classes : p]!++;
  }
  return m;
}

/** 0/0 is scored 0, as scikit-learn's `zero_division=0` does. */
function ratio(n: number, d: number): number {
  return d > 0 ? n / d : 0;
}

function f1Of(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** Accuracy, macro-F1 and per-class precision / recall / F1 of class-index predictions. */
export function classificationMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>, labels: readonly string[]): ClassificationMetrics {
  const k = labels.length;
  const m = confusionMatrix(truth, predicted, k);
  let correct = 0;
  const perClass: Record<string, ClassScores> = {};
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const tp = m[c]![c]!;
    correct += tp;
    const support = m[c]!.reduce((s, v) => s + v, 0);
    let predictedAs = 0;
    for (let t = 0; t < k; t++) predictedAs += m[t]![c]!;
    const precision = ratio(tp, predictedAs);
    const recall = ratio(tp, support);
    const f1 = f1Of(precision, recall);
    perClass[labels[c]!] = { precision, recall, f1, support };
    if (support > 0 || predictedAs > 0) {
      f1Sum += f1;
      present++;
    }
  }
  return { n: truth.length, accuracy: ratio(correct, truth.length), macroF1: ratio(f1Sum, present), perClass };
}

export interface PairedTTest {
  /** Items compared. */
  n: number;
  /** Mean of a − b. */
  meanDiff: number;
  /** t statistic; ±Infinity when every difference is the same non-zero value. */
  t: number;
  df: number;
  /** Two-sided p-value. */
  pValue: number;
}

/**
 * Student's paired t-test on per-item scores of two systems on the same items (dqe uses 0/1
 * correctness, as the DQE paper does): t = mean(d) / (sd(d) / √n), d = a − b, df = n − 1.
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): PairedTTest {
  checkPaired(a, b, 'pairedTTest');
  const n = a.length;
  if (n < 2) throw new Error(`pairedTTest: needs at least 2 items, got ${n}`);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i]! - b[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (a[i]! - b[i]! - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const df = n - 1;
  if (sd === 0) return { n, meanDiff: mean, t: mean === 0 ? 0 : Math.sign(mean) * Infinity, df, pValue: mean === 0 ? 1 : 0 };
  const t = mean / (sd / Math.sqrt(n));
  return { n, meanDiff: mean, t, df, pValue: Math.min(1, 2 * (1 - tCdf(Math.abs(t), df))) };
}

export interface McNemarTest {
  /** Items a got right and b got wrong. */
  aOnly: number;
  /** Items b got right and a got wrong. */
  bOnly: number;
  /** Continuity-corrected chi-square statistic (|aOnly − bOnly| − 1)² / (aOnly + bOnly), 1 degree of freedom. */
  statistic: number;
  chiSquarePValue: number;
  /** Two-sided exact p-value: 2 · P(X ≤ min(aOnly, bOnly)), X ~ Binomial(aOnly + bOnly, ½), capped at 1. */
  exactPValue: number;
  /** The exact p-value below `MCNEMAR_EXACT_BELOW` discordant pairs, the chi-square one from there on. */
  pValue: number;
}

/** McNemar's test on per-item 0/1 correctness of two systems on the same items. */
export function mcnemarTest(aCorrect: ArrayLike<number>, bCorrect: ArrayLike<number>): McNemarTest {
  checkPaired(aCorrect, bCorrect, 'mcnemarTest');
  let aOnly = 0;
  let bOnly = 0;
  for (let i = 0; i < aCorrect.length; i++) {
    const x = aCorrect[i]!;
    const y = bCorrect[i]!;
    if ((x !== 0 && x !== 1) || (y !== 0 && y !== 1)) throw new Error(`mcnemarTest: item ${i} is not 0/1 correctness (${x}, ${y})`);
    if (x === 1 && y === 0) aOnly++;
    else if (x === 0 && y === 1) bOnly++;
  }
  const discordant = aOnly + bOnly;
  if (discordant === 0) return { aOnly, bOnly, statistic: 0, chiSquarePValue: 1, exactPValue: 1, pValue: 1 };
  const statistic = Math.max(0, Math.abs(aOnly - bOnly) - 1) ** 2 / discordant;
  const chiSquarePValue = 1 - chisquareCdf(statistic, 1);
  const exactPValue = Math.min(1, 2 * binomialCdf(Math.min(aOnly, bOnly), discordant, 0.5));
  return { aOnly, bOnly, statistic, chiSquarePValue, exactPValue, pValue: discordant < MCNEMAR_EXACT_BELOW ? exactPValue : chiSquarePValue };
}

export interface DetectionScores {
  /** Items flagged. */
  detected: number;
  /** Items that truly are positives (e.g. injected label flips). */
  actual: number;
  truePositives: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Precision, recall and F1 of a set of flagged items against the true positives. */
export function detectionScores(detected: ReadonlySet<number>, actual: ReadonlySet<number>): DetectionScores {
  let tp = 0;
  for (const d of detected) if (actual.has(d)) tp++;
  const precision = ratio(tp, detected.size);
  const recall = ratio(tp, actual.size);
  return { detected: detected.size, actual: actual.size, truePositives: tp, precision, recall, f1: f1Of(precision, recall) };
}

function checkPaired(a: ArrayLike<number>, b: ArrayLike<number>, fn: string): void {
  if (a.length !== b.length) throw new Error(`${fn}: the two arrays must have the same length (${a.length} vs ${b.length})`);
}
