import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readFloat64, writeTypedAtomic } from '../../adapters/files.js';
import { nearestOtherRows } from '../../adapters/vector-stores/exact-knn.js';
import { clustered, exactTopK } from '../helpers/vectors.js';
import { createOfflineJudge, CROSS_FIT_PROBE, CROSS_FIT_SEED_OFFSET, crossFitProbsPath } from '../../adapters/judges/offline.js';
import { crossFittedProbs } from '../../adapters/trainers/linear.js';
import { crossValidationFolds, randomSubset } from '../../core/evaluation.js';
import { classThresholds, confidentVerdict, flagOutsidePairs, judgeEvidence, mixEvidence, NEIGHBOUR_THRESHOLD_ROWS, neighbourEvidenceName, neighbourLabelShares, neighbourThresholdRows, offlineVerdict } from '../../core/judging.js';
import { predictLinear, trainLinear } from '../../core/linear-model.js';

const close = (actual: number, expected: number, eps = 1e-12) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not ${expected} ± ${eps}`);

const labels = ['ham', 'spam'];
const t = { mislabeledBelow: 0.25, okAtLeast: 0.5 };

test('below mislabeledBelow: mislabeled, with the most probable label suggested', () => {
  assert.deepEqual(
    { ...offlineVerdict(3, 'ham', [0.1, 0.9], labels, t), reason: '' },
    { id: 3, verdict: 'mislabeled', suggested: 'spam', reason: '' },
  );
});
test('at or above okAtLeast: label_ok', () => {
  assert.equal(offlineVerdict(3, 'ham', [0.5, 0.5], labels, t).verdict, 'label_ok');
  assert.equal(offlineVerdict(3, 'spam', [0.2, 0.8], labels, t).verdict, 'label_ok');
});
test('in between: undecided', () => {
  assert.equal(offlineVerdict(3, 'ham', [0.3, 0.7], labels, t).verdict, 'undecided');
  assert.equal(offlineVerdict(3, 'ham', [0.25, 0.75], labels, t).verdict, 'undecided');
});
test('a label outside the set is a programming error', () => {
  assert.throws(() => offlineVerdict(1, 'eggs', [0.5, 0.5], labels, t), /not in the label set/);
});

describe('confident learning thresholds', () => {
  // Three classes a, b, c; rows 0–1 labelled a, 2–3 b, 4–5 c:
  //   t_a = (0.35 + 0.25) / 2 = 0.3, t_b = (0.9 + 0.9) / 2 = 0.9, t_c = (0.8 + 0.8) / 2 = 0.8
  const abc = ['a', 'b', 'c'];
  const labelIds = [0, 0, 1, 1, 2, 2];
  const probs = [
    [0.35, 0.6, 0.05],
    [0.25, 0.05, 0.7],
    [0.05, 0.9, 0.05],
    [0.1, 0.9, 0.0],
    [0.1, 0.1, 0.8],
    [0.0, 0.2, 0.8],
  ];
  const th = classThresholds(probs.flat(), labelIds, 3);

  test('t_j is the mean probability of class j over the rows labelled j', () => {
    close(th[0]!, 0.3);
    close(th[1]!, 0.9);
    close(th[2]!, 0.8);
  });
  test('a wrongly predicted row is cleared when its own class reaches its threshold and no other does', () => {
    // row 0: predicted b (0.6) but 0.6 < t_b = 0.9, while P(a) = 0.35 ≥ t_a = 0.3
    assert.equal(confidentVerdict(0, 'a', probs[0]!, abc, th).verdict, 'label_ok');
  });
  test('no class reaching its threshold leaves the row undecided', () => {
    // row 1: P(a) = 0.25 < 0.3, P(c) = 0.7 < 0.8, P(b) = 0.05 < 0.9
    assert.equal(confidentVerdict(1, 'a', probs[1]!, abc, th).verdict, 'undecided');
  });
  test('another class reaching its threshold makes the row mislabeled, with that class suggested', () => {
    assert.deepEqual({ ...confidentVerdict(9, 'a', [0.05, 0.95, 0], abc, th), reason: '' }, { id: 9, verdict: 'mislabeled', suggested: 'b', reason: '' });
  });
  test('when two classes reach their thresholds the more probable one decides', () => {
    const low = [0.2, 0.5, 0.5];
    assert.deepEqual({ ...confidentVerdict(1, 'a', [0.3, 0.6, 0.1], abc, low), reason: '' }, { id: 1, verdict: 'mislabeled', suggested: 'b', reason: '' });
    assert.equal(confidentVerdict(1, 'b', [0.3, 0.6, 0.1], abc, low).verdict, 'label_ok');
  });
  test('minSuggested: a suggested class below it leaves the row undecided; at or above it, mislabeled', () => {
    // Labelled a; b is the confident class (0.45 ≥ t_b = 0.4, a's 0.15 < t_a = 0.3), but 0.45 < 0.5.
    const t = [0.3, 0.4, 0.8];
    assert.equal(confidentVerdict(2, 'a', [0.15, 0.45, 0.4], abc, t).verdict, 'mislabeled');
    const held = confidentVerdict(2, 'a', [0.15, 0.45, 0.4], abc, t, 0.5);
    assert.equal(held.verdict, 'undecided');
    assert.equal(held.reason, 'out-of-sample P(b) = 45.0% reaches its class threshold but not 50.0%; P(a) = 15.0%');
    assert.deepEqual({ ...confidentVerdict(2, 'a', [0.1, 0.5, 0.4], abc, t, 0.5), reason: '' }, { id: 2, verdict: 'mislabeled', suggested: 'b', reason: '' });
    // It never turns label_ok into anything else.
    assert.equal(confidentVerdict(2, 'b', [0.15, 0.45, 0.4], abc, t, 0.5).verdict, 'label_ok');
  });
  test('a class no row carries gets an infinite threshold', () => {
    assert.deepEqual(classThresholds([0.5, 0.5, 0.75, 0.25], [0, 0], 2), [0.625, Infinity]);
  });
  test('a probability equal to its threshold up to rounding counts as reaching it', () => {
    assert.equal(confidentVerdict(0, 'a', [0.3 - 1e-9, 0.7, 0], abc, th).verdict, 'label_ok');
  });
});

describe("judge scope 'all': flags outside the noisy pairs", () => {
  // The six rows of the thresholds example above (t = 0.3, 0.9, 0.8) plus row 6 labelled c with
  // P = (0.05, 0.92, 0.03): b reaches 0.9, so row 6 is mislabeled with b suggested. Rows 0 and 1 form
  // the only noisy pair; rows 2–5 are confidently their own class.
  const abc = ['a', 'b', 'c'];
  const labelIds = [0, 0, 1, 1, 2, 2, 2];
  const probs = [[0.35, 0.6, 0.05], [0.25, 0.05, 0.7], [0.05, 0.9, 0.05], [0.1, 0.9, 0.0], [0.1, 0.1, 0.8], [0.0, 0.2, 0.8], [0.05, 0.92, 0.03]];
  const th = [0.3, 0.9, 0.8];
  const decide = (id: number) => confidentVerdict(id, abc[labelIds[id]!]!, probs[id]!, abc, th);
  const pairVerdicts = [decide(1), decide(0)];

  test('the pair rows keep their verdicts (label_ok, undecided); of the rest only row 6 (mislabeled) is added; in id order', () => {
    const out = flagOutsidePairs(pairVerdicts, 7, decide);
    assert.deepEqual(out.map((v) => [v.id, v.verdict, v.suggested]), [[0, 'label_ok', undefined], [1, 'undecided', undefined], [6, 'mislabeled', 'b']]);
  });
  test('a pair verdict is never re-decided, even if the rule would flag the row', () => {
    const given = [{ id: 6, verdict: 'label_ok' as const, reason: 'reviewed' }];
    assert.deepEqual(flagOutsidePairs(given, 7, decide).map((v) => [v.id, v.verdict]), [[6, 'label_ok']]);
  });
  test('with no pairs, the flags alone', () => {
    assert.deepEqual(flagOutsidePairs([], 7, decide).map((v) => v.id), [6]);
  });
  test("scope 'wrong': only the listed rows are decided (row 6 flagged only when listed; repeats and pair rows once)", () => {
    assert.deepEqual(flagOutsidePairs(pairVerdicts, [2, 3, 5], decide).map((v) => [v.id, v.verdict]), [[0, 'label_ok'], [1, 'undecided']]);
    assert.deepEqual(flagOutsidePairs(pairVerdicts, [6, 0, 6, 2], decide).map((v) => [v.id, v.verdict, v.suggested]), [[0, 'label_ok', undefined], [1, 'undecided', undefined], [6, 'mislabeled', 'b']]);
    assert.deepEqual(flagOutsidePairs([], [], decide), []);
  });
});

describe('confident learning with many labels', () => {
  // 12 classes; every row labelled j gives its own class 0.2 + 0.05·(j mod 3) and spreads the rest
  // evenly, so t_j = 0.2, 0.25 or 0.3 by j mod 3. With so many labels the own probability of a
  // correct row is far below 0.5: a fixed 0.5 bar would never clear one.
  const k = 12;
  const labels12 = Array.from({ length: k }, (_, j) => `L${j}`);
  const own = (j: number) => 0.2 + 0.05 * (j % 3);
  const row = (j: number) => Array.from({ length: k }, (_, c) => (c === j ? own(j) : (1 - own(j)) / (k - 1)));
  const labelIds = [...Array.from({ length: k }, (_, j) => j), ...Array.from({ length: k }, (_, j) => j)];
  const th = classThresholds(labelIds.flatMap(row), labelIds, k);

  test('thresholds per class', () => {
    th.forEach((t, j) => close(t, own(j)));
  });
  test('a row labelled L0 at 0.21, predicted L2 at 0.28 (< t = 0.3), is cleared', () => {
    const p = new Array<number>(k).fill((1 - 0.21 - 0.28) / (k - 2));
    p[0] = 0.21;
    p[2] = 0.28;
    assert.equal(confidentVerdict(0, 'L0', p, labels12, th).verdict, 'label_ok');
    assert.equal(offlineVerdict(0, 'L0', p, labels12, t).verdict, 'mislabeled', 'the fixed rule calls it mislabeled (0.21 < 0.25)');
  });
  test('a row labelled L0 at 0.1 with L1 at 0.5 (≥ t = 0.25) is mislabeled, L1 suggested', () => {
    const p = new Array<number>(k).fill(0.4 / (k - 2));
    p[0] = 0.1;
    p[1] = 0.5;
    assert.deepEqual({ ...confidentVerdict(0, 'L0', p, labels12, th), reason: '' }, { id: 0, verdict: 'mislabeled', suggested: 'L1', reason: '' });
  });
});

describe('cross-fitted probabilities', () => {
  // Two clusters on the unit circle, 10 rows, 2-dim, 5 folds: each fold's rows must get exactly the
  // probabilities of a model trained on the other folds' rows.
  const n = 10;
  const dim = 2;
  const vectors = new Float32Array(n * dim);
  const labelIds = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const a = (i < 5 ? 0.3 : 1.3) + 0.05 * i;
    vectors[i * 2] = Math.cos(a);
    vectors[i * 2 + 1] = Math.sin(a);
    labelIds[i] = i < 5 ? 0 : 1;
  }
  labelIds[2] = 1; // one wrong label
  const opts = { epochs: 50, learningRate: 0.1, l2: 1e-4 };
  const ctx = { heartbeat: () => {} };

  test('each row is scored by the model of the other folds; same seed, same result', async () => {
    const probs = await crossFittedProbs(vectors, dim, labelIds, 2, 5, 7, opts, ctx);
    const fold = crossValidationFolds(n, 5, 7);
    for (let f = 0; f < 5; f++) {
      const train = [...Array(n).keys()].filter((i) => fold[i] !== f);
      const held = [...Array(n).keys()].filter((i) => fold[i] === f);
      const model = trainLinear(vectors, dim, train, train.map((i) => labelIds[i]!), 2, opts);
      const p = predictLinear(model, vectors, held);
      held.forEach((id, j) => assert.deepEqual([probs[id * 2], probs[id * 2 + 1]], [p[j * 2], p[j * 2 + 1]]));
    }
    assert.deepEqual(await crossFittedProbs(vectors, dim, labelIds, 2, 5, 7, opts, ctx), probs);
    // the wrongly labelled row is confidently of its cluster's class
    const th = classThresholds(probs, labelIds, 2);
    assert.equal(confidentVerdict(2, 'b', probs.subarray(4, 6), ['a', 'b'], th).verdict, 'mislabeled');
  });

  test('above maxTrainRows each fold trains on a seeded subset of the other folds (never on its own rows)', async () => {
    // 10 rows, 5 folds: 8 rows outside each fold, capped at 5.
    const probs = await crossFittedProbs(vectors, dim, labelIds, 2, 5, 7, opts, ctx, 5);
    const fold = crossValidationFolds(n, 5, 7);
    for (let f = 0; f < 5; f++) {
      const others = [...Array(n).keys()].filter((i) => fold[i] !== f);
      const train = randomSubset(others, 5, 7 + 1 + f);
      assert.equal(train.length, 5);
      assert.ok(train.every((i) => fold[i] !== f));
      const held = [...Array(n).keys()].filter((i) => fold[i] === f);
      const p = predictLinear(trainLinear(vectors, dim, train, train.map((i) => labelIds[i]!), 2, opts), vectors, held);
      held.forEach((id, j) => assert.deepEqual([probs[id * 2], probs[id * 2 + 1]], [p[j * 2], p[j * 2 + 1]]));
    }
    // At or above the number of rows, the cap changes nothing.
    assert.deepEqual(await crossFittedProbs(vectors, dim, labelIds, 2, 5, 7, opts, ctx, 8), await crossFittedProbs(vectors, dim, labelIds, 2, 5, 7, opts, ctx));
    assert.notDeepEqual(probs, await crossFittedProbs(vectors, dim, labelIds, 2, 5, 7, opts, ctx));
  });
});

describe("the offline judge with scopes 'wrong' and 'all' (real matrix file, real cross-fitting)", () => {
  // 20 rows in two tight clusters on the unit circle (angles 0.2–0.29 labelled a, 1.4–1.49 labelled b);
  // row 3 sits in cluster a but is labelled b. The only noisy pair is rows 0 and 12. Every model of
  // the folds separates the clusters, so row 3's out-of-sample P(a) is near 1 (≥ t_a) and P(b) far
  // below t_b: 'pairs' never looks at row 3; 'all' flags it mislabeled with a suggested.
  const n = 20;
  const vectors = new Float32Array(n * 2);
  const labelIds = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const a = (i < 10 ? 0.2 : 1.4) + 0.01 * (i % 10);
    vectors[i * 2] = Math.cos(a);
    vectors[i * 2 + 1] = Math.sin(a);
    labelIds[i] = i < 10 && i !== 3 ? 0 : 1;
  }
  const pairRow = (id: number) => ({ id, row: id + 1, text: `t${id}`, label: labelIds[id] === 0 ? 'a' : 'b', split: 'unsampled' as const });
  const ctx = { heartbeat: () => {}, resumeDetails: undefined, signal: new AbortController().signal, log: () => {} };

  test("'pairs' judges rows 0 and 12 only; 'all' adds row 3, mislabeled, a suggested; 'wrong' too when row 3 was a wrong prediction", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dqe-judge-scope-'));
    try {
      const matrix = { path: join(dir, 'm.f32'), rows: n, dim: 2 };
      await writeTypedAtomic(matrix.path, vectors);
      const req = { pairs: [{ x: pairRow(0), neighbour: pairRow(12), similarity: 0.5 }], labels: ['a', 'b'], matrix, labelIds, splits: new Array(n).fill('unsampled'), seed: 0 };
      const judge = (scope: 'pairs' | 'wrong' | 'all', wrongIds?: number[]) =>
        createOfflineJudge({ name: 'offline', rule: 'confident', scope, minSuggested: 0, thresholdScale: 1, folds: 5, neighbours: 0, mislabeledBelow: 0.25, okAtLeast: 0.5 }).judge({ ...req, ...(wrongIds ? { wrongIds } : {}) }, ctx);
      const pairs = await judge('pairs');
      assert.deepEqual(pairs.verdicts.map((v) => [v.id, v.verdict]), [[0, 'label_ok'], [12, 'label_ok']]);
      const all = await judge('all');
      assert.deepEqual(all.verdicts.map((v) => [v.id, v.verdict, v.suggested]), [[0, 'label_ok', undefined], [3, 'mislabeled', 'a'], [12, 'label_ok', undefined]]);
      // 'wrong' flags row 3 only when it was a wrong prediction of the pass (an uncovered or difficult row).
      assert.deepEqual((await judge('wrong', [0, 3, 7])).verdicts.map((v) => [v.id, v.verdict, v.suggested]), [[0, 'label_ok', undefined], [3, 'mislabeled', 'a'], [12, 'label_ok', undefined]]);
      assert.deepEqual((await judge('wrong', [0, 7])).verdicts.map((v) => [v.id, v.verdict]), [[0, 'label_ok'], [12, 'label_ok']]);
      assert.deepEqual((await judge('wrong')).verdicts.map((v) => [v.id, v.verdict]), [[0, 'label_ok'], [12, 'label_ok']]);
      // A pass with no noisy pair: 'pairs' has nothing to judge, 'wrong' and 'all' still flag row 3.
      const alone = (scope: 'pairs' | 'wrong' | 'all', wrongIds?: number[]) =>
        createOfflineJudge({ name: 'offline', rule: 'confident', scope, minSuggested: 0, thresholdScale: 1, folds: 5, neighbours: 0, mislabeledBelow: 0.25, okAtLeast: 0.5 }).judge({ ...req, pairs: [], ...(wrongIds ? { wrongIds } : {}) }, ctx);
      assert.deepEqual((await alone('pairs', [3])).verdicts, []);
      assert.deepEqual((await alone('wrong')).verdicts, []);
      assert.deepEqual((await alone('wrong', [3, 7])).verdicts.map((v) => [v.id, v.verdict, v.suggested]), [[3, 'mislabeled', 'a']]);
      assert.deepEqual((await alone('all')).verdicts.map((v) => [v.id, v.verdict, v.suggested]), [[3, 'mislabeled', 'a']]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  test('with a work folder the cross-fitted probabilities are computed once and read back by the next call (two-fold)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dqe-judge-shared-'));
    try {
      const matrix = { path: join(dir, 'm.f32'), rows: n, dim: 2 };
      await writeTypedAtomic(matrix.path, vectors);
      const req = { pairs: [{ x: pairRow(0), neighbour: pairRow(12), similarity: 0.5 }], labels: ['a', 'b'], matrix, labelIds, splits: new Array(n).fill('unsampled'), seed: 4, workDir: dir };
      const judge = () => createOfflineJudge({ name: 'offline', rule: 'confident', scope: 'pairs', minSuggested: 0, thresholdScale: 1, folds: 5, neighbours: 0, mislabeledBelow: 0.25, okAtLeast: 0.5 }).judge(req, ctx);
      assert.deepEqual((await judge()).verdicts.map((v) => [v.id, v.verdict]), [[0, 'label_ok'], [12, 'label_ok']]);
      const path = join(dir, 'cross-fit-probs-k5-s4.f64');
      assert.deepEqual(await readFloat64(path, n * 2), await crossFittedProbs(vectors, 2, labelIds, 2, 5, 4 + CROSS_FIT_SEED_OFFSET, CROSS_FIT_PROBE, ctx));
      // The second call reads the file, not the matrix: probabilities planted there decide (row 0 now 'b').
      const planted = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) planted.set(i < 10 && i !== 0 ? [0.9, 0.1] : [0.1, 0.9], i * 2);
      await writeTypedAtomic(path, planted);
      assert.deepEqual((await judge()).verdicts.map((v) => [v.id, v.verdict, v.suggested]), [[0, 'mislabeled', 'b'], [12, 'label_ok', undefined]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('neighbour evidence: label shares of the nearest other rows, mixed with the probabilities', () => {
  test('shares count each neighbour 1/k to its label; −1 (no neighbour) counts nothing', () => {
    // 3 rows, labels [0, 1, 1], k = 2; row 2 has one neighbour only.
    const shares = neighbourLabelShares([1, 2, 0, 2, 0, -1], 2, [0, 1, 1], 2);
    assert.deepEqual([...shares], [0, 1, 0.5, 0.5, 0.5, 0]);
    assert.throws(() => neighbourLabelShares([1, 2], 2, [0, 1, 1], 2), /expected 3×2 neighbour ids, got 2/);
    // Some rows only (`rows`): their neighbours still labelled through every row's labels.
    assert.deepEqual([...neighbourLabelShares([2, 0], 2, [0, 1, 1], 2, 1)], [0.5, 0.5]);
  });
  test('the threshold rows: every row up to 20,000, else 20,000 distinct rows drawn with a fixed seed, ascending', () => {
    assert.deepEqual([...neighbourThresholdRows(5)], [0, 1, 2, 3, 4]);
    assert.equal(neighbourThresholdRows(NEIGHBOUR_THRESHOLD_ROWS).length, NEIGHBOUR_THRESHOLD_ROWS);
    const big = neighbourThresholdRows(1_000_000);
    assert.equal(big.length, NEIGHBOUR_THRESHOLD_ROWS);
    assert.ok(big.every((id, i) => id >= 0 && id < 1_000_000 && (i === 0 || id > big[i - 1]!)), 'distinct, ascending, in range');
    assert.deepEqual(neighbourThresholdRows(1_000_000), big, 'the same rows in the search and the judge');
  });
  test('the mixed evidence is the element-wise mean', () => {
    assert.deepEqual([...mixEvidence([0.9, 0.1, 0.6, 0.4], [0.5, 0.5, 1, 0])], [0.7, 0.3, 0.8, 0.2]);
    assert.throws(() => mixEvidence([0.5, 0.5], [1]), /2 probabilities but 1 shares/);
  });
  test('judgeEvidence: the probabilities and their thresholds, or with neighbours the mixed evidence and thresholds over it', () => {
    const probs = Float64Array.from([0.9, 0.1, 0.5, 0.5, 0.2, 0.8, 0.6, 0.4]);
    const labelIds = [0, 0, 1, 1];
    const round = (xs: ArrayLike<number>) => Array.from(xs, (x) => Math.round(x * 1e12) / 1e12);
    const plain = judgeEvidence(probs, labelIds, 2);
    assert.deepEqual(round(plain.of(1)), [0.5, 0.5]);
    // t_0 = (0.9 + 0.5) / 2, t_1 = (0.8 + 0.4) / 2.
    assert.deepEqual(round(plain.thresholds), [0.7, 0.6]);
    // One neighbour each: 0→1 (a), 1→2 (b), 2→3 (b), 3→0 (a); mixed = (P + share) / 2.
    const mixed = judgeEvidence(probs, labelIds, 2, { count: 1, nearest: [1, 2, 3, 0] });
    assert.deepEqual([0, 1, 2, 3].map((id) => round(mixed.of(id))), [[0.95, 0.05], [0.25, 0.75], [0.1, 0.9], [0.8, 0.2]]);
    // t_0 = (0.95 + 0.25) / 2, t_1 = (0.9 + 0.2) / 2.
    assert.deepEqual(round(mixed.thresholds), [0.6, 0.55]);
    // thresholdScale multiplies each class threshold, the evidence unchanged.
    assert.deepEqual(round(judgeEvidence(probs, labelIds, 2, undefined, 0.5).thresholds), [0.35, 0.3]);
    const mixed90 = judgeEvidence(probs, labelIds, 2, { count: 1, nearest: [1, 2, 3, 0] }, 0.9);
    assert.deepEqual(round(mixed90.thresholds), [0.54, 0.495]);
    assert.deepEqual(round(mixed90.of(1)), [0.25, 0.75]);
    // Below 20,000 rows every row sets the thresholds: one not searched is an error naming where they came from.
    assert.throws(() => judgeEvidence(probs, labelIds, 2, { count: 1, nearest: [1, 2, 3], searched: [0, 1, 2], where: 'w/nearest-ids.u32' }), /^Error: offline judge: no neighbours were searched for kept row 3 \(w\/nearest-ids.u32\)$/);
  });
  test('the reason names the evidence E with its neighbours', () => {
    const v = confidentVerdict(1, 'b', [0.8, 0.2], ['a', 'b'], [0.7, 0.8], 0.5, neighbourEvidenceName(2));
    assert.deepEqual(v, { id: 1, verdict: 'mislabeled', suggested: 'a', reason: 'E = (out-of-sample P + share of 2 nearest rows) / 2, E(a) = 80.0% reaches its class threshold 70.0%; E(b) = 20.0% < 80.0%' });
  });
});

describe('the offline judge with neighbours (real nearest-row search, planted probabilities)', () => {
  // 8 unit vectors at angles a: 0, 0.01, 0.03, 0.07 (rows 0–3) and b: 1, 1.01, 1.03, 1.07 (rows 4–7), gaps all
  // different so no two neighbours tie. Row 1 sits in cluster a but is labelled b.
  // The 2 nearest others: 0 → 1, 2; 1 → 0, 2; 2 → 1, 0; 3 → 2, 1; 4 → 5, 6; 5 → 4, 6; 6 → 5, 4; 7 → 6, 5.
  const angles = [0, 0.01, 0.03, 0.07, 1, 1.01, 1.03, 1.07];
  const n = angles.length;
  const vectors = new Float32Array(angles.flatMap((a) => [Math.cos(a), Math.sin(a)]));
  const labelIds = new Uint32Array([0, 1, 0, 0, 1, 1, 1, 1]);
  const ctx = { heartbeat: () => {}, resumeDetails: undefined, signal: new AbortController().signal, log: () => {} };

  test('nearestOtherRows: nearest first, own row skipped, −1 past the others, equal vectors tie to the lower id', async () => {
    assert.deepEqual([...(await nearestOtherRows(vectors, n, 2, 2))], [1, 2, 0, 2, 1, 0, 2, 1, 5, 6, 4, 6, 5, 4, 6, 5]);
    // Some query rows only, in the order given; progress after each product call.
    const heard: Array<[number, number]> = [];
    assert.deepEqual([...(await nearestOtherRows(vectors, n, 2, 2, (done, total) => heard.push([done, total]), [7, 1]))], [6, 5, 0, 2]);
    assert.deepEqual(heard, [[2, 2]]);
    assert.deepEqual([...(await nearestOtherRows(vectors.subarray(0, 6), 3, 2, 4))], [1, 2, -1, -1, 0, 2, -1, -1, 1, 0, -1, -1]);
    assert.deepEqual([...(await nearestOtherRows(vectors.subarray(0, 2), 1, 2, 3))], [-1, -1, -1]);
    // Rows 0 and 1 equal: each is the other's nearest (the top two tie; the own id is skipped either way).
    const twins = new Float32Array([1, 0, 1, 0, 0, 1]);
    assert.deepEqual([...(await nearestOtherRows(twins, 3, 2, 1))], [1, 0, 0]);
    // The matrix in blocks of 3 rows (a million rows go in blocks of 32,768): the blocks' best merge to the same answer.
    assert.deepEqual([...(await nearestOtherRows(vectors, n, 2, 2, undefined, undefined, 1, 3))], [1, 2, 0, 2, 1, 0, 2, 1, 5, 6, 4, 6, 5, 4, 6, 5]);
    assert.deepEqual([...(await nearestOtherRows(twins, 3, 2, 1, undefined, undefined, 1, 1))], [1, 0, 0]);
  });

  test('nearestOtherRows over blocks of rows and queries equals the exact top k, duplicates across blocks tying to the lower id', async () => {
    const dim = 8;
    const rows = 700;
    // Seeded vectors with every 7th row a copy of a row 350 rows earlier: equal scores across row blocks.
    const v = clustered(rows, dim, 5, 3);
    for (let i = 350; i < rows; i += 7) v.copyWithin(i * dim, (i - 350) * dim, (i - 349) * dim);
    const all = Array.from({ length: rows }, (_, i) => i);
    const want = exactTopK(v, rows, dim, all, 6);
    for (const block of [rows, 128, 97]) assert.deepEqual([...(await nearestOtherRows(v, rows, dim, 6, undefined, undefined, 2, block))], want, `row block ${block}`);
  });

  test("a row the probabilities leave undecided is flagged once its neighbours vote; the store's neighbours are used as given", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dqe-judge-neighbours-'));
    try {
      const matrix = { path: join(dir, 'm.f32'), rows: n, dim: 2 };
      await writeTypedAtomic(matrix.path, vectors);
      // Planted cross-fitted probabilities [P(a), P(b)]: rows 0, 2, 3 (a) 0.9 / 0.1, row 1 (b) 0.6 / 0.4, rows 4–7 (b) 0.1 / 0.9.
      const planted = new Float64Array(angles.flatMap((_, i) => (i === 1 ? [0.6, 0.4] : i < 4 ? [0.9, 0.1] : [0.1, 0.9])));
      await writeTypedAtomic(crossFitProbsPath(dir, 5, 0), planted);
      const row = (id: number) => ({ id, row: id + 1, text: `t${id}`, label: labelIds[id] === 0 ? 'a' : 'b', split: 'unsampled' as const });
      const req = { pairs: [{ x: row(1), neighbour: row(0), similarity: 0.99 }], labels: ['a', 'b'], matrix, labelIds, splits: new Array(n).fill('unsampled'), seed: 0, workDir: dir };
      const judge = (neighbours: number, extra: { nearest?: { path: string; idsPath: string; rows: number; k: number } } = {}, thresholdScale = 1) =>
        createOfflineJudge({ name: 'offline', rule: 'confident', scope: 'pairs', minSuggested: 0.5, thresholdScale, folds: 5, neighbours, mislabeledBelow: 0.25, okAtLeast: 0.5 }).judge({ ...req, ...extra }, ctx);
      // Probabilities alone: t_a = 0.9 (rows 0, 2, 3), t_b = (0.4 + 4 · 0.9) / 5 = 0.8; row 1 reaches neither.
      const alone = await judge(0);
      assert.deepEqual(alone.verdicts.map((v) => [v.id, v.verdict]), [[0, 'label_ok'], [1, 'undecided']]);
      assert.equal(alone.evidence, 'cross-fitted probabilities (5 folds)');
      // thresholdScale 0.6: t_a = 0.54, t_b = 0.48; row 1's P(a) = 0.6 reaches t_a, its P(b) = 0.4 not t_b: mislabeled.
      const scaled = await judge(0, {}, 0.6);
      assert.deepEqual(scaled.verdicts, [
        { id: 0, verdict: 'label_ok', reason: 'out-of-sample P(a) = 90.0% reaches its class threshold 54.0%' },
        { id: 1, verdict: 'mislabeled', suggested: 'a', reason: 'out-of-sample P(a) = 60.0% reaches its class threshold 54.0%; P(b) = 40.0% < 48.0%' },
      ]);
      // Rule 'fixed' reads no class thresholds: the scale changes nothing there.
      const fixed = (thresholdScale: number) =>
        createOfflineJudge({ name: 'offline', rule: 'fixed', scope: 'pairs', minSuggested: 0.5, thresholdScale, folds: 5, neighbours: 0, mislabeledBelow: 0.25, okAtLeast: 0.5 }).judge(req, ctx);
      assert.deepEqual(await fixed(0.6), await fixed(1));
      // The neighbours the run's vector store found (`nearest`: the rows it searched, and theirs) are used as given: here
      // row 1's 2 nearest planted as rows 4 and 5 (both b), so its shares are 0 / 1, E(row 1) = 0.3 / 0.7, and
      // t_b = (0.7 + 4 · 0.95) / 5 = 0.9: undecided. 8 rows are under 20,000: every row sets the thresholds, so every
      // row was searched.
      const nearestPath = join(dir, 'nearest.i32');
      const idsPath = join(dir, 'nearest-ids.u32');
      await writeTypedAtomic(idsPath, Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7]));
      await writeTypedAtomic(nearestPath, Int32Array.from([1, 2, 4, 5, 1, 0, 2, 1, 5, 6, 4, 6, 5, 4, 6, 5]));
      const fromStore = await judge(2, { nearest: { path: nearestPath, idsPath, rows: 8, k: 2 } });
      assert.deepEqual(fromStore.verdicts.map((v) => [v.id, v.verdict]), [[0, 'label_ok'], [1, 'undecided']]);
      assert.equal(fromStore.evidence, 'cross-fitted probabilities (5 folds) + label shares of the 2 nearest rows (from the vector store)');
      // A row the store was not asked about cannot be judged: a clear error naming it and the file.
      await writeTypedAtomic(idsPath, Uint32Array.from([0, 2, 3, 4, 5, 6, 7]));
      await writeTypedAtomic(nearestPath, Int32Array.from([1, 2, 1, 0, 2, 1, 5, 6, 4, 6, 5, 4, 6, 5]));
      await assert.rejects(judge(2, { nearest: { path: nearestPath, idsPath, rows: 7, k: 2 } }), new RegExp(`no neighbours were searched for kept row 1 \\(${idsPath}\\)`, 'u'));
      // A `nearest` of another k is not this judge's: it searches exactly (row 1 flagged, as below).
      const otherK = await judge(2, { nearest: { path: nearestPath, idsPath, rows: 7, k: 3 } });
      assert.deepEqual([otherK.verdicts.map((v) => v.verdict), otherK.evidence], [['label_ok', 'mislabeled'], 'cross-fitted probabilities (5 folds) + label shares of the 2 nearest rows (exact search)']);
      // Shares [a, b]: rows 0, 2, 3 see row 1 among their 2 nearest: 0.5 / 0.5; row 1 sees rows 0 and 2: 1 / 0; rows 4–7: 0 / 1.
      // E = (P + shares) / 2: rows 0, 2, 3 0.7 / 0.3, row 1 0.8 / 0.2, rows 4–7 0.05 / 0.95; t_a = 0.7, t_b = (0.2 + 4 · 0.95) / 5 = 0.8.
      // Row 1: E(a) = 0.8 ≥ t_a and ≥ minSuggested: mislabeled, a suggested; row 0: E(a) = 0.7 reaches t_a: label_ok.
      const withNeighbours = await judge(2);
      assert.equal(withNeighbours.evidence, 'cross-fitted probabilities (5 folds) + label shares of the 2 nearest rows (exact search)');
      assert.deepEqual(withNeighbours.verdicts, [
        { id: 0, verdict: 'label_ok', reason: 'E = (out-of-sample P + share of 2 nearest rows) / 2, E(a) = 70.0% reaches its class threshold 70.0%' },
        { id: 1, verdict: 'mislabeled', suggested: 'a', reason: 'E = (out-of-sample P + share of 2 nearest rows) / 2, E(a) = 80.0% reaches its class threshold 70.0%; E(b) = 20.0% < 80.0%' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
