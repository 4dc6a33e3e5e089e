// Metrics and significance tests against hand-computed values (closed forms where they exist).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classificationMetrics, confusionMatrix, detectionScores, mcnemarTest, pairedTTest, UNMAPPED } from '../../core/metrics.js';

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
