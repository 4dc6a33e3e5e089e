// Planning the encoder's batches by token budget, and the window cut with [CLS]/[SEP].
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planTokenBatches, windowIds } from '../../core/token-batches.js';

test('sorted by length, each batch within the padded-token budget', () => {
  const lengths = [10, 3, 7, 3, 256, 2, 9];
  const batches = planTokenBatches(lengths, 20);
  assert.deepEqual(batches, [
    { rows: [5, 1, 3], width: 3 },
    { rows: [2, 6], width: 9 },
    { rows: [0], width: 10 },
    { rows: [4], width: 256 },
  ]);
  for (const b of batches) if (b.rows.length > 1) assert.ok(b.rows.length * b.width <= 20);
  assert.deepEqual(batches.flatMap((b) => b.rows).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
});

test('no texts, no batches; a bad budget is refused', () => {
  assert.deepEqual(planTokenBatches([], 100), []);
  assert.throws(() => planTokenBatches([1], 0), /token budget must be a positive integer, got 0/);
});

test('window: [CLS] + the first window − 2 ids + [SEP]', () => {
  assert.deepEqual(windowIds([], 256, 101, 102), [101, 102]);
  assert.deepEqual(windowIds([5, 6, 7], 256, 101, 102), [101, 5, 6, 7, 102]);
  const long = Array.from({ length: 300 }, (_, i) => i + 1000);
  const cut = windowIds(long, 256, 101, 102);
  assert.equal(cut.length, 256);
  assert.deepEqual(cut.slice(0, 3), [101, 1000, 1001]);
  assert.deepEqual(cut.slice(-2), [1253, 102]);
});
