import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { categorise, exactNearest } from '../../core/categorise.js';
import { ascendingAnswers, rowsToJudge, unionAnswers, withKnownNearest } from '../../activities/vector-search.js';
import { neighbourThresholdRows } from '../../core/judging.js';

describe('categorise', () => {
  test('same label, unsampled neighbour → uncovered', () => assert.equal(categorise('a', 'a', 'unsampled'), 'uncovered'));
  test('same label, sampled neighbour → difficult', () => assert.equal(categorise('a', 'a', 'sampled'), 'difficult'));
  test('other label → noisy, whatever the split', () => {
    assert.equal(categorise('a', 'b', 'sampled'), 'noisy');
    assert.equal(categorise('a', 'b', 'unsampled'), 'noisy');
  });
});

describe('exactNearest', () => {
  // Unit vectors in 2-D: 0 = (1,0), 1 = (0,1), 2 = (0.6,0.8), 3 = (1,0) (a duplicate of 0), 4 = (0.6,-0.8)
  const v = Float32Array.from([1, 0, 0, 1, 0.6, 0.8, 1, 0, 0.6, -0.8]);
  test('finds the most similar other row, never the query itself', () => {
    // Row 1: dots 0, –, 0.8, 0, -0.8 → row 2. Row 2: dots 0.6, 0.8, –, 0.6, -0.28 → row 1.
    const res = exactNearest(v, 5, 2, [1, 2]);
    assert.deepEqual(res.map((r) => r.id), [2, 1]);
    assert.ok(Math.abs(res[0]!.score - 0.8) < 1e-6);
  });
  test('a duplicate is the nearest neighbour; ties go to the lowest id', () => {
    // Row 4's dot with 0 and with 3 is 0.6 exactly (a tie): row 0 wins. Rows 0 and 3 are each other's nearest.
    assert.deepEqual(exactNearest(v, 5, 2, [4, 0, 3]).map((r) => r.id), [0, 3, 0]);
  });
  test('a candidate filter restricts the neighbours; no candidate gives id -1', () => {
    assert.deepEqual(exactNearest(v, 5, 2, [0], (i) => i === 1 || i === 2).map((r) => r.id), [2]);
    assert.deepEqual(exactNearest(v, 5, 2, [0], () => false).map((r) => r.id), [-1]);
  });
});

test("rowsToJudge: the rows whose neighbours the offline judge needs — every row with scope 'all'; else the threshold rows, the pair rows and, with 'wrong', the wrong rows", () => {
  // Up to 20,000 rows every row sets the thresholds, so every row is asked about whatever the scope.
  assert.deepEqual([...rowsToJudge(6, 'pairs', [], [])], [0, 1, 2, 3, 4, 5]);
  const n = 50_000;
  const sample = new Set(neighbourThresholdRows(n));
  // The first three rows outside the threshold sample (it holds 40% of these rows).
  const [w1, w2, p1] = Array.from({ length: n }, (_, i) => i).filter((id) => !sample.has(id)) as [number, number, number];
  const wrong = rowsToJudge(n, 'wrong', [w1, w2], [p1, w1]);
  assert.deepEqual([...wrong], [...new Set([...sample, w1, w2, p1])].sort((a, b) => a - b));
  const pairs = rowsToJudge(n, 'pairs', [w1, w2], [p1]);
  assert.deepEqual([...pairs], [...new Set([...sample, p1])].sort((a, b) => a - b));
  assert.equal(rowsToJudge(n, 'all', [], []).length, n);
});

test('withKnownNearest: rows an earlier pass answered are copied from it, only the rest are asked, in ascending order', async () => {
  const k = 2;
  // The earlier pass answered rows 1, 4 and 7; row 9's answer comes from the store.
  const known = { ids: Uint32Array.from([1, 4, 7]), nearest: Int32Array.from([10, 11, 40, 41, 70, 71]) };
  const asked: number[][] = [];
  const ask = (rows: Uint32Array) => (asked.push([...rows]), Promise.resolve(Int32Array.from([...rows].flatMap((r) => [r * 100, -1]))));
  const got = await withKnownNearest(Uint32Array.from([0, 4, 5, 7, 9]), k, known, ask);
  assert.deepEqual(asked, [[0, 5, 9]]);
  assert.deepEqual([...got], [0, -1, 40, 41, 500, -1, 70, 71, 900, -1]);
  // Everything known: the store is not asked at all.
  asked.length = 0;
  assert.deepEqual([...(await withKnownNearest(Uint32Array.from([1, 7]), k, known, ask))], [10, 11, 70, 71]);
  assert.deepEqual(asked, []);
  // Nothing known: every row is asked, once.
  assert.deepEqual([...(await withKnownNearest(Uint32Array.from([2, 3]), k, undefined, ask))], [200, -1, 300, -1]);
  assert.deepEqual(asked, [[2, 3]]);
});

test('ascendingAnswers reorders rows and their k answers by id; unionAnswers merges two ascending sets, the first winning a shared row', () => {
  const k = 2;
  const wrong = ascendingAnswers([9, 2, 5], Int32Array.from([90, 91, 20, 21, 50, 51]), k);
  assert.deepEqual([[...wrong.ids], [...wrong.nearest]], [[2, 5, 9], [20, 21, 50, 51, 90, 91]]);
  const earlier = { ids: Uint32Array.from([1, 5, 12]), nearest: Int32Array.from([10, 11, -5, -6, 120, 121]) };
  const both = unionAnswers(earlier, wrong, k);
  assert.deepEqual([[...both.ids], [...both.nearest]], [[1, 2, 5, 9, 12], [10, 11, 20, 21, -5, -6, 90, 91, 120, 121]]);
  const empty = { ids: new Uint32Array(0), nearest: new Int32Array(0) };
  assert.deepEqual([...unionAnswers(empty, wrong, k).nearest], [...wrong.nearest]);
  assert.deepEqual([...unionAnswers(earlier, empty, k).ids], [1, 5, 12]);
});
