import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assembleFinal, capReturned, shareCapWarnings } from '../../core/assemble.js';
import type { Category, Split } from '../../core/categorise.js';
import type { RowVerdict } from '../../core/judging.js';

// Ten rows: 0-4 sampled, 5-9 unsampled. Wrong predictions: 5 uncovered, 6 difficult, 7 and 8 noisy
// (7's neighbour is sampled row 1, 8's neighbour is sampled row 2); 9 was predicted right.
const labels = ['a', 'a', 'b', 'b', 'a', 'a', 'b', 'a', 'b', 'a'];
const splits: Split[] = ['sampled', 'sampled', 'sampled', 'sampled', 'sampled', 'unsampled', 'unsampled', 'unsampled', 'unsampled', 'unsampled'];
const categories = new Map<number, Category>([[5, 'uncovered'], [6, 'difficult'], [7, 'noisy'], [8, 'noisy']]);
const verdicts = new Map<number, RowVerdict>([
  [7, { id: 7, verdict: 'mislabeled', suggested: 'b', reason: '' }],
  [1, { id: 1, verdict: 'label_ok', reason: '' }],
  [8, { id: 8, verdict: 'label_ok', reason: '' }],
  [2, { id: 2, verdict: 'mislabeled', suggested: 'a', reason: '' }],
]);

test('drop: sampled + uncovered + difficult + noisy judged right, minus every mislabeled row', () => {
  const r = assembleFinal(labels, splits, categories, verdicts, { noisy: 'drop', undecided: 'keep' });
  // 5 sampled − row 2 (mislabeled) + 5 + 6 + 8 = 7 rows; 7 (mislabeled) and 9 (predicted right) out.
  assert.deepEqual(r.rows.map((x) => x.id), [0, 1, 3, 4, 5, 6, 8]);
  assert.deepEqual(r.excluded, { unsampled_correct: 1, mislabeled: 2, undecided: 0, over_share: 0 });
  assert.equal(r.relabelled, 0);
  assert.equal(r.rows.length + r.excluded.unsampled_correct + r.excluded.mislabeled + r.excluded.undecided, labels.length);
});

test('relabel: mislabeled rows stay with the suggested label', () => {
  const r = assembleFinal(labels, splits, categories, verdicts, { noisy: 'relabel', undecided: 'keep' });
  assert.deepEqual(r.rows.map((x) => [x.id, x.label, x.relabelled]), [
    [0, 'a', false], [1, 'a', false], [2, 'a', true], [3, 'b', false], [4, 'a', false], [5, 'a', false], [6, 'b', false], [7, 'b', true], [8, 'b', false],
  ]);
  assert.equal(r.relabelled, 2);
});

test('undecided rows follow the undecided option', () => {
  const v = new Map<number, RowVerdict>([[8, { id: 8, verdict: 'undecided', reason: '' }]]);
  const keep = assembleFinal(labels, splits, categories, v, { noisy: 'drop', undecided: 'keep' });
  const drop = assembleFinal(labels, splits, categories, v, { noisy: 'drop', undecided: 'drop' });
  assert.ok(keep.rows.some((x) => x.id === 8));
  assert.ok(!drop.rows.some((x) => x.id === 8));
  assert.equal(drop.excluded.undecided, 1);
});

describe('the share cap (maxShare)', () => {
  // 20 rows: 0-9 sampled, 10-19 unsampled. Returned: uncovered 10, 11, 12 (a) and 13 (b); difficult 14, 15 (b);
  // noisy 16 (a, judged label_ok). 17-19 were predicted right. 10 sampled + 7 returned = 17 rows uncapped.
  const n = 20;
  const capLabels = ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'a', 'a', 'b', 'b', 'b', 'a', 'a', 'b', 'a'];
  const capSplits: Split[] = Array.from({ length: n }, (_, i) => (i < 10 ? 'sampled' : 'unsampled'));
  const capCategories = new Map<number, Category>([[10, 'uncovered'], [11, 'uncovered'], [12, 'uncovered'], [13, 'uncovered'], [14, 'difficult'], [15, 'difficult'], [16, 'noisy']]);
  const capVerdicts = new Map<number, RowVerdict>([[16, { id: 16, verdict: 'label_ok', reason: '' }]]);
  const strata = (ids: number[]) => ({
    uncoveredA: ids.filter((id) => [10, 11, 12].includes(id)).length,
    uncoveredB: ids.filter((id) => id === 13).length,
    difficultB: ids.filter((id) => id === 14 || id === 15).length,
    noisyA: ids.filter((id) => id === 16).length,
  });

  test('thins the returned rows to floor(maxShare × rows), each category and label keeping its share', () => {
    // floor(0.7 × 20) = 14 rows: 10 sampled + 4 of the 7 returned. Shares of 4: uncovered·a 12/7 = 1.71,
    // uncovered·b 4/7 = 0.57, difficult·b 8/7 = 1.14, noisy·a 4/7 = 0.57 → floors 1, 0, 1, 0 and the two
    // largest remainders (0.71, then 0.57 of uncovered·b, the earlier of the tied strata): 2, 1, 1, 0.
    const r = assembleFinal(capLabels, capSplits, capCategories, capVerdicts, { noisy: 'drop', undecided: 'keep', maxShare: 0.7, seed: 3 });
    assert.equal(r.rows.length, 14);
    const ids = r.rows.map((x) => x.id);
    assert.deepEqual(ids.slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(strata(ids.slice(10)), { uncoveredA: 2, uncoveredB: 1, difficultB: 1, noisyA: 0 });
    assert.deepEqual(r.excluded, { unsampled_correct: 3, mislabeled: 0, undecided: 0, over_share: 3 });
    assert.equal(r.rows.length + Object.values(r.excluded).reduce((a, b) => a + b, 0), n);
    // Ascending ids, and the same seed draws the same rows.
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.deepEqual(assembleFinal(capLabels, capSplits, capCategories, capVerdicts, { noisy: 'drop', undecided: 'keep', maxShare: 0.7, seed: 3 }).rows, r.rows);
    // Another seed may draw other rows of a stratum, never other counts.
    const drawn = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const other = assembleFinal(capLabels, capSplits, capCategories, capVerdicts, { noisy: 'drop', undecided: 'keep', maxShare: 0.7, seed }).rows.map((x) => x.id).slice(10);
      assert.deepEqual(strata(other), { uncoveredA: 2, uncoveredB: 1, difficultB: 1, noisyA: 0 });
      drawn.add(other.join(','));
    }
    assert.ok(drawn.size > 1, 'the draw depends on the seed');
  });

  test('no cap where the rows fit, or at maxShare 1; the sampled rows alone fill a cap at the ratio', () => {
    for (const maxShare of [1, 0.85]) {
      const r = assembleFinal(capLabels, capSplits, capCategories, capVerdicts, { noisy: 'drop', undecided: 'keep', maxShare });
      assert.equal(r.rows.length, 17, String(maxShare));
      assert.equal(r.excluded.over_share, 0);
    }
    const atRatio = assembleFinal(capLabels, capSplits, capCategories, capVerdicts, { noisy: 'drop', undecided: 'keep', maxShare: 0.5 });
    assert.deepEqual(atRatio.rows.map((x) => x.id), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(atRatio.excluded.over_share, 7);
    assert.throws(() => assembleFinal(capLabels, capSplits, capCategories, capVerdicts, { noisy: 'drop', undecided: 'keep', maxShare: 0 }), /maxShare must be in \(0, 1\], got 0/);
  });

  test('a sampled row judged mislabeled frees a slot; a relabelled row the cap leaves out is not counted relabelled', () => {
    const v = new Map<number, RowVerdict>([
      [2, { id: 2, verdict: 'mislabeled', suggested: 'b', reason: '' }],
      [16, { id: 16, verdict: 'mislabeled', suggested: 'b', reason: '' }],
    ]);
    // Drop: 9 sampled + 5 slots of floor(0.7 × 20) = 14; returned 10-15 (16 is dropped as mislabeled): 6 rows,
    // shares of 5: uncovered·a 2.5, uncovered·b 0.83, difficult·b 1.67 → 2, 0, 1 + remainders 0.83, 0.67: 2, 1, 2.
    const drop = assembleFinal(capLabels, capSplits, capCategories, v, { noisy: 'drop', undecided: 'keep', maxShare: 0.7 });
    assert.equal(drop.rows.length, 14);
    assert.deepEqual(strata(drop.rows.map((x) => x.id).filter((id) => id >= 10)), { uncoveredA: 2, uncoveredB: 1, difficultB: 2, noisyA: 0 });
    assert.deepEqual(drop.excluded, { unsampled_correct: 3, mislabeled: 2, undecided: 0, over_share: 1 });
    // Relabel: row 2 stays (sampled, relabelled); 4 slots over 7 returned rows, row 16 now in stratum noisy·b.
    const relabel = assembleFinal(capLabels, capSplits, capCategories, v, { noisy: 'relabel', undecided: 'keep', maxShare: 0.7, seed: 0 });
    assert.equal(relabel.rows.length, 14);
    const kept16 = relabel.rows.some((x) => x.id === 16);
    assert.equal(relabel.relabelled, kept16 ? 2 : 1);
    assert.equal(relabel.relabelled, relabel.rows.filter((x) => x.relabelled).length);
  });
});

describe('capReturned', () => {
  test('keeps every row when the slots suffice, none at 0 slots', () => {
    const rows = [10, 11, 12].map((id) => ({ id, label: 'a', source: 'uncovered' as const, relabelled: false }));
    assert.deepEqual([...capReturned(rows, 3, 0)].sort(), [10, 11, 12]);
    assert.deepEqual([...capReturned(rows, 0, 0)], []);
  });
});

test('shareCapWarnings: a warning only where the cap left rows out', () => {
  assert.deepEqual(shareCapWarnings({ over_share: 0 }, 17, 20, 0.7), []);
  assert.deepEqual(shareCapWarnings({}, 17, 20, undefined), []);
  // An assemble result without exclusions (a stub's): no warning, no error.
  assert.deepEqual(shareCapWarnings(undefined, 17, 20, 0.7), []);
  const [w] = shareCapWarnings({ over_share: 3 }, 14, 20, 0.7);
  assert.match(w!, /^3 wrongly predicted rows that DQE returns were left out by the share cap \(maxShare 0\.7\): the final set holds 14 of 20 kept rows\./);
  assert.match(w!, /Raise maxShare \(1: no cap\)/);
});
