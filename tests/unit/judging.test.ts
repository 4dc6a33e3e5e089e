import assert from 'node:assert/strict';
import { test } from 'node:test';
import { offlineVerdict } from '../../core/judging.js';

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
