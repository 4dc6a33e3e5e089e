import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleFinal } from '../../core/assemble.js';
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
  assert.deepEqual(r.excluded, { unsampled_correct: 1, mislabeled: 2, undecided: 0 });
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
