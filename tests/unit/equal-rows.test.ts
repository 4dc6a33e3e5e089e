// Tests of the grouping of rows by equal vectors (core/equal-rows.ts): hand-worked groups, −0 = 0, hash
// collisions told apart, and the tie a search settles through them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { equalRows, equalRowsOf, lowestEqualOther, settleTie } from '../../core/equal-rows.js';

describe('equalRows', () => {
  test('hand-worked: first and next of each row, repeats counted, −0 equal to 0', () => {
    // Rows: 0 a, 1 b, 2 a, 3 c, 4 b, 5 a' (a with −0), 6 d.
    const a = [1, 0, 0.5];
    const rows = [a, [0, 1, 0.5], a, [0.5, 0.5, 0.5], [0, 1, 0.5], [1, -0, 0.5], [0, 0, 1]];
    const eq = equalRows(new Float32Array(rows.flat()), 7, 3);
    assert.deepEqual([...eq.first], [0, 1, 0, 3, 1, 0, 6]);
    assert.deepEqual([...eq.next], [2, 4, 5, -1, -1, -1, -1]);
    assert.equal(eq.repeated, 3);
    assert.deepEqual([lowestEqualOther(eq, 2, 0), lowestEqualOther(eq, 0, 2), lowestEqualOther(eq, 4, 1), lowestEqualOther(eq, 3, 3)], [2, 0, 4, -1]);
  });

  test('rows that differ in one coordinate are apart, whatever their hashes; a view into a larger buffer works', () => {
    const n = 2000;
    const dim = 4;
    const buf = new Float32Array(dim + n * dim);
    const v = buf.subarray(dim);
    // Row i: (i mod 1000, 1, 2, 3) — rows i and i + 1000 are equal, nothing else.
    for (let i = 0; i < n; i++) v.set([i % 1000, 1, 2, 3], i * dim);
    const eq = equalRows(v, n, dim);
    assert.equal(eq.repeated, 1000);
    for (let i = 0; i < n; i++) {
      assert.equal(eq.first[i], i % 1000);
      assert.equal(eq.next[i], i < 1000 ? i + 1000 : -1);
    }
  });

  test('settleTie: a tie of one vector is answered by its lowest other row; a tie of distinct vectors is not', () => {
    const rows = [[1, 0], [0, 1], [1, 0], [1, 0], [0.6, 0.8]];
    const eq = equalRows(new Float32Array(rows.flat()), 5, 2);
    // Query 3, candidates 2 and 3 tied at score 1: the lowest row of that vector but 3 is 0.
    assert.deepEqual(settleTie(eq, 3, { id: 2, score: 1 }, [3, 2]), { id: 0, score: 1 });
    // Query 0 among its own copies: 2.
    assert.deepEqual(settleTie(eq, 0, { id: 2, score: 1 }, [0, 2, 3]), { id: 2, score: 1 });
    // The query itself among the candidates is not asked about.
    assert.deepEqual(settleTie(eq, 4, { id: 0, score: 0.6 }, [0, 4, 2]), { id: 0, score: 0.6 });
    // Query 1 whose tied candidates are rows 2 and 4 (different vectors): not settled.
    assert.equal(settleTie(eq, 1, { id: 2, score: 0 }, [2, 4]), undefined);
  });

  test('equalRowsOf keeps one grouping per matrix array (and row count and width)', () => {
    const v = new Float32Array([1, 0, 0, 1, 1, 0]);
    const a = equalRowsOf(v, 3, 2);
    assert.deepEqual([...a.first], [0, 1, 0]);
    assert.equal(equalRowsOf(v, 3, 2), a, 'the same array: the kept grouping');
    assert.notEqual(equalRowsOf(new Float32Array(v), 3, 2), a, 'another array: its own');
    assert.deepEqual([...equalRowsOf(v, 2, 2).first], [0, 1], 'fewer rows of the same array: grouped again');
  });
});
