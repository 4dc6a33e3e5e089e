// Metrics and significance tests against hand-computed values (closed forms where they exist).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { binomialHalfLowerTail, bootstrapMacroF1Test, classificationMetrics, confusionMatrix, detectionScores, mcnemarTest, pairedTTest, tTwoSidedTail, UNMAPPED } from '../../core/metrics.js';

const close = (actual: number, expected: number, eps = 1e-9) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not ${expected} ± ${eps}`);

describe('classification metrics', () => {
  // truth a a a b b c, predicted a a b b (unmapped) a:
  //   a: tp 2, predicted as a 3, support 3 → P = R = F1 = 2/3
  //   b: tp 1, predicted as b 2, support 2 → P = R = F1 = 1/2
  //   c: tp 0, never predicted, support 1 → 0
  const labels = ['a', 'b', 'c'];
  const truth = [0, 0, 0, 1, 1, 2];
  const predicted = [0, 0, 1, 1, UNMAPPED, 0];

  test('confusion matrix puts unmapped answers in the last column', () => {
    assert.deepEqual(confusionMatrix(truth, predicted, 3), [
      [2, 1, 0, 0],
      [0, 1, 0, 1],
      [1, 0, 0, 0],
    ]);
  });

  test('accuracy, per-class scores and macro-F1', () => {
    const m = classificationMetrics(truth, predicted, labels);
    assert.equal(m.n, 6);
    close(m.accuracy, 0.5);
    close(m.perClass.a!.precision, 2 / 3);
    close(m.perClass.a!.recall, 2 / 3);
    close(m.perClass.a!.f1, 2 / 3);
    assert.equal(m.perClass.a!.support, 3);
    close(m.perClass.b!.f1, 0.5);
    assert.deepEqual(m.perClass.c, { precision: 0, recall: 0, f1: 0, support: 1 });
    close(m.macroF1, (2 / 3 + 1 / 2 + 0) / 3);
  });

  test('a class absent from truth and predictions does not dilute macro-F1', () => {
    const m = classificationMetrics(truth, predicted, [...labels, 'd']);
    close(m.macroF1, 7 / 18);
    assert.deepEqual(m.perClass.d, { precision: 0, recall: 0, f1: 0, support: 0 });
  });

  test('bad class indices are refused with the position', () => {
    assert.throws(() => confusionMatrix([0, 3], [0, 0], 3), /truth\[1\] = 3 is not a class index in \[0, 3\)/u);
    assert.throws(() => confusionMatrix([0], [0, 1], 3), /same length \(1 vs 2\)/u);
  });
});

describe('paired t-test', () => {
  test('df = 2 matches the closed form P(|T| > t) = 1 − t/√(2 + t²)', () => {
    // d = 1, 1, 0: mean 2/3, sd √(1/3), se 1/3 → t = 2
    const r = pairedTTest([1, 1, 0], [0, 0, 0]);
    close(r.t, 2, 1e-12);
    assert.equal(r.df, 2);
    close(r.meanDiff, 2 / 3);
    close(r.pValue, 1 - 2 / Math.sqrt(6), 1e-9);
  });

  test('df = 1 matches the Cauchy closed form P(|T| > 1) = 1/2', () => {
    // d = 1, 0: mean 1/2, sd √(1/2), se 1/2 → t = 1
    const r = pairedTTest([1, 1], [0, 1]);
    close(r.t, 1, 1e-12);
    close(r.pValue, 0.5, 1e-9);
  });

  test('is antisymmetric in its arguments and matches a t table at df = 6', () => {
    const a = [1, 1, 0, 1, 1, 0, 1];
    const b = [0, 1, 0, 0, 1, 1, 0];
    const r = pairedTTest(a, b);
    close(r.t, 1, 1e-12);
    close(r.pValue, 0.3559176837495822, 1e-9);
    const s = pairedTTest(b, a);
    close(s.t, -1, 1e-12);
    close(s.pValue, r.pValue, 1e-12);
  });

  test('constant differences: no difference is p = 1, a constant gain is p = 0', () => {
    assert.deepEqual(pairedTTest([1, 1, 1], [1, 1, 1]), { n: 3, meanDiff: 0, t: 0, df: 2, pValue: 1 });
    assert.deepEqual(pairedTTest([1, 1], [0, 0]), { n: 2, meanDiff: 1, t: Infinity, df: 1, pValue: 0 });
    assert.throws(() => pairedTTest([1], [0]), /at least 2 items, got 1/u);
  });
});

describe("McNemar's test", () => {
  test('few discordant pairs: exact binomial p-value', () => {
    // a right / b wrong once, the reverse five times: 2 · P(X ≤ 1 | n = 6, ½) = 2 · 7/64
    const a = [1, 0, 0, 0, 0, 0, 1, 0];
    const b = [0, 1, 1, 1, 1, 1, 1, 0];
    const r = mcnemarTest(a, b);
    assert.equal(r.aOnly, 1);
    assert.equal(r.bOnly, 5);
    close(r.exactPValue, 14 / 64, 1e-12);
    close(r.statistic, 9 / 6);
    close(r.chiSquarePValue, 0.22067136191984324, 1e-9);
    assert.equal(r.pValue, r.exactPValue);
  });

  test('25 or more discordant pairs: chi-square with continuity correction', () => {
    const a = [...new Array<number>(20).fill(1), ...new Array<number>(10).fill(0), 1, 0];
    const b = [...new Array<number>(20).fill(0), ...new Array<number>(10).fill(1), 1, 0];
    const r = mcnemarTest(a, b);
    close(r.statistic, 81 / 30);
    close(r.chiSquarePValue, 0.10034824646229054, 1e-9);
    close(r.exactPValue, 0.09873714670538905, 1e-9);
    assert.equal(r.pValue, r.chiSquarePValue);
  });

  test('no discordant pair is p = 1; non-0/1 input is refused', () => {
    assert.equal(mcnemarTest([1, 0], [1, 0]).pValue, 1);
    assert.throws(() => mcnemarTest([1, 2], [1, 0]), /item 1 is not 0\/1 correctness/u);
  });
});

describe('detection scores', () => {
  test('precision, recall and F1 against the true positives', () => {
    const r = detectionScores(new Set([1, 2, 3, 4]), new Set([2, 4, 6]));
    assert.equal(r.truePositives, 2);
    close(r.precision, 0.5);
    close(r.recall, 2 / 3);
    close(r.f1, 4 / 7);
  });

  test('nothing detected scores 0, not NaN', () => {
    assert.deepEqual(detectionScores(new Set(), new Set([1])), { detected: 0, actual: 1, truePositives: 0, precision: 0, recall: 0, f1: 0 });
  });
});

describe('tails far below 1e-16', () => {
  const rel = (actual: number, expected: number, r = 1e-9) => assert.ok(Math.abs(actual - expected) <= r * expected, `${actual} is not ${expected} (relative ${r})`);

  test('t tail at df = 1 and 2 matches the closed forms (2/π)·atan(1/t) and 2 / (√(2+t²)(√(2+t²)+t))', () => {
    rel(tTwoSidedTail(1e12, 1), (2 / Math.PI) * Math.atan(1e-12));
    const t = 1e9;
    const r = Math.sqrt(2 + t * t);
    rel(tTwoSidedTail(t, 2), 2 / (r * (r + t)));
    assert.equal(tTwoSidedTail(0, 5), 1);
  });
  test('t tail at t = 40, df = 200 is 2.2487e-97 (scipy.stats.t.sf · 2)', () => {
    rel(tTwoSidedTail(40, 200), 2.2487396535202197e-97, 1e-6);
  });
  test('binomial(n, ½) lower tail: exact small cases and 2⁻⁸⁰', () => {
    rel(binomialHalfLowerTail(2, 10), 56 / 1024, 1e-12);
    rel(binomialHalfLowerTail(0, 80), 2 ** -80, 1e-12);
    assert.equal(binomialHalfLowerTail(10, 10), 1);
    assert.equal(binomialHalfLowerTail(-1, 10), 0);
  });
  test("McNemar 80 / 0: exact p = 2⁻⁷⁹ = 1.65e-24, chi-square p = 1.02e-18 (not 0)", () => {
    const r = mcnemarTest(new Array(80).fill(1), new Array(80).fill(0));
    rel(r.exactPValue, 2 ** -79, 1e-12);
    rel(r.chiSquarePValue, 1.0239055314954176e-18, 1e-6);
    assert.equal(r.pValue, r.chiSquarePValue);
  });
  test('McNemar 197 / 3 exact p = 1.6597e-54 (scipy binom.cdf · 2)', () => {
    const a = [...new Array<number>(197).fill(1), ...new Array<number>(3).fill(0)];
    const b = [...new Array<number>(197).fill(0), ...new Array<number>(3).fill(1)];
    rel(mcnemarTest(a, b).exactPValue, 1.659679419208622e-54, 1e-9);
  });
});

describe('paired bootstrap of macro-F1', () => {
  const truth = Array.from({ length: 200 }, (_, i) => i % 3);
  test('the observed difference is the macro-F1 difference; same seed, same result', () => {
    const a = truth.map((t, i) => (i % 7 === 0 ? (t + 1) % 3 : t));
    const b = truth.map((t, i) => (i % 4 === 0 ? (t + 1) % 3 : t));
    const r = bootstrapMacroF1Test(truth, a, b, 3, 11, 200);
    close(r.diff, classificationMetrics(truth, a, ['x', 'y', 'z']).macroF1 - classificationMetrics(truth, b, ['x', 'y', 'z']).macroF1, 1e-12);
    assert.ok(r.ci95[0] <= r.diff && r.diff <= r.ci95[1]);
    assert.deepEqual(bootstrapMacroF1Test(truth, a, b, 3, 11, 200), r);
    assert.notDeepEqual(bootstrapMacroF1Test(truth, a, b, 3, 12, 200).ci95, r.ci95);
  });
  test('identical predictions: diff 0, p = 1; always right against always wrong: p = 2 / (1 + resamples)', () => {
    const wrong = truth.map((t) => (t + 1) % 3);
    const same = bootstrapMacroF1Test(truth, wrong, wrong, 3, 0, 100);
    assert.deepEqual([same.diff, same.ci95, same.pValue], [0, [0, 0], 1]);
    const r = bootstrapMacroF1Test(truth, truth, wrong, 3, 0, 100);
    assert.deepEqual([r.diff, r.pValue], [1, 2 / 101]);
  });
  test('unmapped answers count as wrong', () => {
    // b: class 0 P = R = 1, class 1 never predicted right (F1 0) → macro-F1 ½; a is perfect
    const r = bootstrapMacroF1Test([0, 1], [0, 1], [0, UNMAPPED], 2, 0, 10);
    close(r.diff, 0.5, 1e-12);
  });
});
