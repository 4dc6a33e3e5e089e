// Classification and detection metrics, and the paired significance tests dqe's evaluation reports.
// Tail probabilities are computed as tails (regularized incomplete beta, erfc, log-space sums), never
// as 1 − cdf, which rounds every p below about 1e-16 to 0.
import betainc from '@stdlib/math-base-special-betainc';
import erfc from '@stdlib/math-base-special-erfc';
import { Rng } from './random.js';

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
  for (let c = 0; c < k; c++) {
    correct += m[c]![c]!;
    const { precision, recall, f1, support } = classScores(m, c);
    perClass[labels[c]!] = { precision, recall, f1, support };
  }
  return { n: truth.length, accuracy: ratio(correct, truth.length), macroF1: macroF1Of(m), perClass };
}

/** Precision, recall, F1 and support of class c from a confusion matrix (rows true, columns predicted). */
function classScores(m: readonly (readonly number[])[], c: number): ClassScores & { predictedAs: number } {
  const tp = m[c]![c]!;
  const support = m[c]!.reduce((s, v) => s + v, 0);
  let predictedAs = 0;
  for (let t = 0; t < m.length; t++) predictedAs += m[t]![c]!;
  const precision = ratio(tp, predictedAs);
  const recall = ratio(tp, support);
  return { precision, recall, f1: f1Of(precision, recall), support, predictedAs };
}

/** Mean F1 over the classes present in the truth or the predictions. */
function macroF1Of(m: readonly (readonly number[])[]): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < m.length; c++) {
    const s = classScores(m, c);
    if (s.support > 0 || s.predictedAs > 0) {
      sum += s.f1;
      present++;
    }
  }
  return ratio(sum, present);
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
  return { n, meanDiff: mean, t, df, pValue: tTwoSidedTail(t, df) };
}

/**
 * P(|T| > |t|) for Student's t with df degrees of freedom, as the regularized incomplete beta
 * I_{df/(df+t²)}(df/2, ½) (or its complement form near t = 0), so tiny p-values keep their digits.
 */
export function tTwoSidedTail(t: number, df: number): number {
  const t2 = t * t;
  if (t2 === 0) return 1;
  if (df > 2 * t2) return betainc(t2 / (df + t2), 0.5, df / 2, true, true);
  return betainc(df / (df + t2), df / 2, 0.5, true, false);
}

/** log(Σ exp(x_i)) without overflow or underflow. */
function logSumExp(xs: readonly number[]): number {
  const max = Math.max(...xs);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

/**
 * P(X ≤ k), X ~ Binomial(n, ½), summed in log space from the exact terms C(n, i) / 2ⁿ, so the tail
 * keeps its digits far below 1e-16 (and n in the millions does not overflow).
 */
export function binomialHalfLowerTail(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  const terms: number[] = [];
  let logC = 0;
  for (let i = 0; i <= k; i++) {
    terms.push(logC);
    logC += Math.log(n - i) - Math.log(i + 1);
  }
  return Math.min(1, Math.exp(logSumExp(terms) - n * Math.LN2));
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
  // P(χ²₁ > s) = erfc(√(s/2)).
  const chiSquarePValue = erfc(Math.sqrt(statistic / 2));
  const exactPValue = Math.min(1, 2 * binomialHalfLowerTail(Math.min(aOnly, bOnly), discordant));
  return { aOnly, bOnly, statistic, chiSquarePValue, exactPValue, pValue: discordant < MCNEMAR_EXACT_BELOW ? exactPValue : chiSquarePValue };
}

/** Bootstrap resamples of the macro-F1 test: p-values resolve down to about 2 / 1000. */
export const BOOTSTRAP_RESAMPLES = 1000;

export interface BootstrapMacroF1Test {
  /** Macro-F1 of a minus macro-F1 of b on the test rows as they are. */
  diff: number;
  /** 2.5th and 97.5th percentiles of the resampled differences. */
  ci95: [number, number];
  /**
   * Two-sided: 2 · (1 + resamples on the far side of 0) / (1 + resamples), capped at 1; the +1 keeps
   * a finite bootstrap from claiming p = 0.
   */
  pValue: number;
  resamples: number;
  seed: number;
}

/**
 * Paired bootstrap test of the macro-F1 difference of two systems on the same test rows: the rows
 * are resampled with replacement (seeded), both systems rescored on each resample.
 */
export function bootstrapMacroF1Test(
  truth: ArrayLike<number>,
  predictedA: ArrayLike<number>,
  predictedB: ArrayLike<number>,
  classes: number,
  seed: number,
  resamples = BOOTSTRAP_RESAMPLES,
): BootstrapMacroF1Test {
  checkPaired(truth, predictedA, 'bootstrapMacroF1Test');
  checkPaired(truth, predictedB, 'bootstrapMacroF1Test');
  const n = truth.length;
  if (n < 1) throw new Error('bootstrapMacroF1Test: needs at least 1 item');
  const diff = macroF1Of(confusionMatrix(truth, predictedA, classes)) - macroF1Of(confusionMatrix(truth, predictedB, classes));
  const rng = new Rng(seed);
  const diffs = new Float64Array(resamples);
  const zero = () => Array.from({ length: classes }, () => new Array<number>(classes + 1).fill(0));
  for (let r = 0; r < resamples; r++) {
    const ma = zero();
    const mb = zero();
    for (let i = 0; i < n; i++) {
      const j = rng.nextInt(n);
      const t = truth[j]!;
      const a = predictedA[j]!;
      const b = predictedB[j]!;
      ma[t]![a === UNMAPPED ? classes : a]!++;
      mb[t]![b === UNMAPPED ? classes : b]!++;
    }
    diffs[r] = macroF1Of(ma) - macroF1Of(mb);
  }
  let below = 0;
  let above = 0;
  for (const d of diffs) {
    if (d <= 0) below++;
    if (d >= 0) above++;
  }
  const sorted = Float64Array.from(diffs).sort();
  const at = (q: number) => sorted[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return { diff, ci95: [at(0.025), at(0.975)], pValue: Math.min(1, (2 * (1 + Math.min(below, above))) / (1 + resamples)), resamples, seed };
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
