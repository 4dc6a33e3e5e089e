import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perMatrix } from '../../core/per-matrix.js';

test('perMatrix: computed once per array, shape and arguments; another array, shape or argument computes again; clear forgets', () => {
  const calls: string[] = [];
  const sum = perMatrix((v: Float32Array, n: number, dim: number, scale?: number) => {
    calls.push(`${n}x${dim}*${scale ?? 1}`);
    return v.subarray(0, n * dim).reduce((a, b) => a + b, 0) * (scale ?? 1);
  });
  const a = Float32Array.from([1, 2, 3, 4]);
  const b = Float32Array.from([1, 2, 3, 4]);
  assert.equal(sum.of(a, 2, 2), 10);
  assert.equal(sum.of(a, 2, 2), 10);
  assert.deepEqual(calls, ['2x2*1']);
  // An equal array is another array; another shape or argument of the same array replaces the kept value.
  assert.equal(sum.of(b, 2, 2), 10);
  assert.equal(sum.of(a, 1, 2), 3);
  assert.equal(sum.of(a, 1, 2, 2), 6);
  assert.equal(sum.of(a, 1, 2, 2), 6);
  assert.deepEqual(calls, ['2x2*1', '2x2*1', '1x2*1', '1x2*2']);
  sum.clear();
  assert.equal(sum.of(a, 1, 2, 2), 6);
  assert.equal(sum.of(b, 2, 2), 10);
  assert.deepEqual(calls.slice(4), ['1x2*2', '2x2*1']);
});
