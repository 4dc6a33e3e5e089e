// The evaluation's seeded splits, label flips, random subsets and folds, and two-fold verdict merging.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crossValidationFolds, holdoutSplit, injectLabelNoise, randomSubset } from '../../core/evaluation.js';
import type { RowVerdict } from '../../core/judging.js';
import { mergeVerdicts, swapSplit } from '../../core/two-fold.js';

const labels = [...new Array<string>(30).fill('a'), ...new Array<string>(10).fill('b'), undefined, undefined, ...new Array<string>(5).fill('c')];

describe('holdoutSplit', () => {
  test('holds out round(fraction × count) of each label; unlabelled items stay in training', () => {
    const { train, test: held } = holdoutSplit(labels, 0.2, 7);
    const count = (ids: number[], l: string) => ids.filter((i) => labels[i] === l).length;
    assert.deepEqual([count(held, 'a'), count(held, 'b'), count(held, 'c')], [6, 2, 1]);
    assert.equal(held.length + train.length, labels.length);
    assert.deepEqual([...train, ...held].sort((x, y) => x - y), labels.map((_, i) => i));
    assert.ok(train.includes(40) && train.includes(41), 'unlabelled rows 40 and 41 are in training');
    assert.deepEqual(held, [...held].sort((x, y) => x - y));
  });

  test('is a function of the seed', () => {
    assert.deepEqual(holdoutSplit(labels, 0.2, 7), holdoutSplit(labels, 0.2, 7));
    assert.notDeepEqual(holdoutSplit(labels, 0.2, 7).test, holdoutSplit(labels, 0.2, 8).test);
    assert.throws(() => holdoutSplit(labels, 1, 0), /holdout fraction must be in \(0, 1\), got 1/u);
  });
});

describe('injectLabelNoise', () => {
  test('flips round(rate × usable) distinct items, each to another label of the set', () => {
    const flips = injectLabelNoise(labels, ['a', 'b', 'c'], 0.1, 3);
    assert.equal(flips.length, Math.round(0.1 * 45));
    assert.equal(new Set(flips.map((f) => f.index)).size, flips.length);
    for (const f of flips) {
      assert.equal(f.from, labels[f.index]);
      assert.notEqual(f.to, f.from);
      assert.ok(['a', 'b', 'c'].includes(f.to));
    }
    assert.deepEqual(flips.map((f) => f.index), flips.map((f) => f.index).sort((x, y) => x - y));
  });

  test('never flips an item whose label is outside the set', () => {
    const flips = injectLabelNoise(labels, ['a', 'b'], 0.5, 1);
    assert.equal(flips.length, 20);
    assert.ok(flips.every((f) => f.from !== 'c' && f.to !== 'c' && labels[f.index] !== undefined));
  });
});

describe('randomSubset and crossValidationFolds', () => {
  test('a subset of the requested size, drawn without replacement, ascending', () => {
    const ids = [3, 5, 8, 13, 21, 34, 55];
    const s = randomSubset(ids, 4, 2);
    assert.equal(s.length, 4);
    assert.equal(new Set(s).size, 4);
    assert.ok(s.every((x) => ids.includes(x)));
    assert.deepEqual(s, [...s].sort((x, y) => x - y));
    assert.deepEqual(randomSubset(ids, 7, 9), ids);
    assert.throws(() => randomSubset(ids, 8, 0), /subset size must be an integer in \[0, 7\], got 8/u);
  });

  test('folds differ in size by at most one', () => {
    const folds = crossValidationFolds(23, 5, 1);
    const sizes = [0, 0, 0, 0, 0];
    for (const f of folds) sizes[f]!++;
    assert.deepEqual(sizes.sort(), [4, 4, 5, 5, 5]);
  });
});

describe('two-fold', () => {
  test('swapSplit exchanges the halves', () => {
    assert.deepEqual(Array.from(swapSplit(Uint8Array.from([1, 0, 0, 1]))), [0, 1, 1, 0]);
  });

  test('a row judged mislabeled by either pass is mislabeled; otherwise the first pass wins a tie', () => {
    const first: RowVerdict[] = [
      { id: 1, verdict: 'label_ok', reason: 'p1' },
      { id: 2, verdict: 'mislabeled', suggested: 'b', reason: 'p1' },
      { id: 3, verdict: 'undecided', reason: 'p1' },
    ];
    const second: RowVerdict[] = [
      { id: 1, verdict: 'mislabeled', suggested: 'c', reason: 'p2' },
      { id: 2, verdict: 'label_ok', reason: 'p2' },
      { id: 3, verdict: 'label_ok', reason: 'p2' },
      { id: 4, verdict: 'undecided', reason: 'p2' },
    ];
    const m = mergeVerdicts(first, second);
    assert.deepEqual(m.get(1), { id: 1, verdict: 'mislabeled', suggested: 'c', reason: 'second pass: p2' });
    assert.deepEqual(m.get(2), first[1]);
    assert.deepEqual(m.get(3), first[2]);
    assert.deepEqual(m.get(4), { id: 4, verdict: 'undecided', reason: 'second pass: p2' });
  });
});
