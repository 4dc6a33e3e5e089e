// Tests of the certified exact top-1 on onnxruntime's float32 products (`exactTop1Gemm`): it equals the float64
// oracle `exactNearest` (ids and score bits) on clustered data with duplicates, near-duplicates and long vectors, with
// a pool (split filter), and settles groups of equal rows without widening past them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exactNearest } from '../../core/categorise.js';
import { Rng } from '../../core/random.js';
import { f32DotBound, maxRowNorm } from '../../core/float64-rerank.js';
import { exactTop1Gemm, type Pool } from '../../adapters/vector-stores/exact-k.js';
import { nearestOtherRowsWithTop1 } from '../../adapters/vector-stores/exact-knn.js';
import { equalRows } from '../../core/equal-rows.js';
import { clustered } from '../helpers/vectors.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);
const top1 = (v: Float32Array, n: number, dim: number, queries: ArrayLike<number>, options: { pool?: Pool } = {}) => exactTop1Gemm(v, n, dim, queries, maxRowNorm(v, n, dim), 2, options);
/** The rows of `v` that `keep` keeps, as a pool. */
function poolOf(v: Float32Array, n: number, dim: number, keep: (i: number) => boolean): Pool {
  const rows = Int32Array.from(ids(n).filter(keep));
  const matrix = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => matrix.set(v.subarray(r * dim, r * dim + dim), i * dim));
  return { rows, matrix };
}

describe('certified exact scan on onnxruntime (float32 proposals, float64 re-rank)', () => {
  test('equals exactNearest, ids and score bits, on clustered data with duplicates', async () => {
    const n = 1500;
    const dim = 32;
    const v = clustered(n, dim, 1, 8, 0.3, 0.1);
    assert.deepEqual(await exactTop1Gemm(v, n, dim, ids(n), maxRowNorm(v, n, dim), 2), exactNearest(v, n, dim, ids(n)));
  });

  test('a group of equal rows larger than the candidates settles over one row per group, without widening', async () => {
    // 600 of 1,500 rows are one vector (rows 3, 5, 7, ...): each one's nearest other row is the lowest other copy.
    const n = 1500;
    const dim = 16;
    const v = clustered(n, dim, 11, 8, 0.3, 0);
    const copies = ids(600).map((i) => 3 + 2 * i);
    for (const c of copies) v.copyWithin(c * dim, 3 * dim, 4 * dim);
    const want = exactNearest(v, n, dim, ids(n));
    assert.deepEqual(
      copies.map((c) => want[c]!.id),
      copies.map((c) => (c === 3 ? 5 : 3)),
      'precondition',
    );
    for (const group of ['when-unsettled', 'at-once'] as const) {
      const stats = { widestCandidates: 0, grouped: false };
      assert.deepEqual(await exactTop1Gemm(v, n, dim, ids(n), maxRowNorm(v, n, dim), 2, { group, stats }), want, `group ${group}`);
      assert.deepEqual(stats, { widestCandidates: 8, grouped: true }, `group ${group}`);
    }
    // Without grouping the copies' tie widens their candidates 8 → 32 → 128 → 512 → 1,500: the same answers.
    const stats = { widestCandidates: 0, grouped: false };
    assert.deepEqual(await exactTop1Gemm(v, n, dim, ids(n), maxRowNorm(v, n, dim), 2, { group: 'never', stats }), want);
    assert.deepEqual(stats, { widestCandidates: n, grouped: false });
    // Distinct rows only: never grouped.
    const plain = clustered(n, dim, 11, 8, 0.3, 0);
    const plainStats = { widestCandidates: 0, grouped: false };
    assert.deepEqual(await exactTop1Gemm(plain, n, dim, ids(n), maxRowNorm(plain, n, dim), 2, { group: 'at-once', stats: plainStats }), exactNearest(plain, n, dim, ids(n)));
    assert.equal(plainStats.grouped, false);
  });

  test("a group's first row weighs its next row against the scan: a longer vector elsewhere can score higher", async () => {
    // Rows 0, 2, 3: (0.6, 0.8, 0); row 1: (1.2, 1.6, 0), twice as long: the best other row of each copy (1.0 vs 2.0).
    // Row 4: (0, 0, 1) and row 5: (−0, 0, 1) — equal by value: one group, each the other's nearest.
    const dim = 3;
    const rows = [
      [0.6, 0.8, 0],
      [1.2, 1.6, 0],
      [0.6, 0.8, 0],
      [0.6, 0.8, 0],
      [0, 0, 1],
      [-0, 0, 1],
    ];
    const v = new Float32Array(rows.flat());
    const got = await exactTop1Gemm(v, 6, dim, ids(6), maxRowNorm(v, 6, dim), 1, { group: 'at-once' });
    assert.deepEqual(got, exactNearest(v, 6, dim, ids(6)));
    assert.deepEqual(
      got.map((g) => g.id),
      [1, 0, 1, 1, 5, 4],
    );
    // Every row one vector: one row per group left to scan, each answered by its group.
    const same = new Float32Array([0.6, 0.8, 0.6, 0.8, 0.6, 0.8]);
    assert.deepEqual(await exactTop1Gemm(same, 3, 2, [0, 1, 2], 1, 1, { group: 'at-once' }), exactNearest(same, 3, 2, [0, 1, 2]));
  });


  test('equals exactNearest, ids and score bits, on clustered data with duplicates', async () => {
    for (const [n, dim, seed] of [
      [400, 32, 1],
      [300, 7, 2],
      [250, 128, 3],
      [200, 1, 4],
    ] as const) {
      const v = clustered(n, dim, seed);
      assert.deepEqual(await top1(v, n, dim, ids(n)), exactNearest(v, n, dim, ids(n)), `n=${n} dim=${dim}`);
    }
  });

  test('N = 1 has no neighbour; N = 2 gives the other row', async () => {
    const one = new Float32Array([0.6, 0.8]);
    assert.deepEqual(await top1(one, 1, 2, [0]), [{ id: -1, score: -Infinity }]);
    const two = new Float32Array([0.6, 0.8, 1, 0]);
    const got = await top1(two, 2, 2, [0, 1]);
    assert.deepEqual(got, exactNearest(two, 2, 2, [0, 1]));
    assert.deepEqual(
      got.map((g) => g.id),
      [1, 0],
    );
  });

  test('more exact duplicates than its first candidates: the lowest other copy', async () => {
    // 40 copies of one vector scattered among 200 rows: each copy's neighbour is the lowest other copy.
    const dim = 16;
    const base = clustered(200, dim, 5, 4, 0.3, 0);
    const copies = ids(40).map((i) => 5 * i + 3);
    for (const c of copies) base.copyWithin(c * dim, 0, dim);
    const got = await top1(base, 200, dim, copies);
    assert.deepEqual(
      got.map((g) => g.id),
      copies.map((c) => (c === 0 ? 3 : 0)),
    );
    assert.deepEqual(got, exactNearest(base, 200, dim, copies));
  });

  test('near-duplicates closer than float32 can order them: the float64 order wins', async () => {
    // 60 copies of one vector, each nudged by a few float32 ulps on some coordinates: their float64 scores
    // differ below float32's resolution, so the float32 candidate order is noise and only widening finds the best.
    const dim = 64;
    const n = 400;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const v = clustered(n, dim, seed, 4, 0.3, 0);
      const rng = new Rng(seed);
      const copies = ids(60).map((i) => 6 * i + 5);
      for (const c of copies) {
        v.copyWithin(c * dim, 0, dim);
        for (let t = 0; t < 8; t++) {
          const j = rng.nextInt(dim);
          v[c * dim + j] = v[c * dim + j]! * (1 + (rng.nextInt(7) - 3) * 2 ** -23);
        }
      }
      const queries = [0, ...copies];
      assert.deepEqual(await top1(v, n, dim, queries), exactNearest(v, n, dim, queries), `seed ${seed}`);
    }
  });

  test('a candidate pool (split filter) equals exactNearest with the same filter', async () => {
    const n = 300;
    const dim = 24;
    const v = clustered(n, dim, 6);
    assert.deepEqual(await top1(v, n, dim, ids(n), { pool: poolOf(v, n, dim, (i) => i % 3 === 0) }), exactNearest(v, n, dim, ids(n), (i) => i % 3 === 0));
  });

  test("the float32 error bound covers onnxruntime's products on long vectors with large entries", async () => {
    // One coordinate carries most of the mass: the worst case for rounding in a float32 sum.
    const dim = 1536;
    const n = 64;
    const v = clustered(n, dim, 7, 2, 1, 0);
    for (let i = 0; i < n; i++) v[i * dim] = 0.9 + i / 1000;
    assert.deepEqual(await top1(v, n, dim, ids(n)), exactNearest(v, n, dim, ids(n)));
    assert.ok(f32DotBound(dim, 1, 1) < 1e-3, 'the bound stays tight enough to settle most queries');
  });

  test('a pool with equal rows: grouped within the pool, the query inside or outside it', async () => {
    // Rows 0..599: clustered; every third row from 2 on is one vector (200 copies). Pool: even rows.
    const n = 600;
    const dim = 16;
    const v = clustered(n, dim, 13, 8, 0.3, 0);
    for (let c = 2; c < n; c += 3) v.copyWithin(c * dim, 2 * dim, 3 * dim);
    const pool = poolOf(v, n, dim, (i) => i % 2 === 0);
    const stats = { widestCandidates: 0, grouped: false };
    const got = await exactTop1Gemm(v, n, dim, ids(n), maxRowNorm(v, n, dim), 2, { pool, stats });
    assert.deepEqual(got, exactNearest(v, n, dim, ids(n), (i) => i % 2 === 0));
    // Copies in the pool are 2, 8, 14, ...: copy 2's nearest is 8, every other copy's (odd ones too) is 2.
    assert.deepEqual(got.filter((_, i) => i % 3 === 2).map((g) => g.id), ids(200).map((j) => (j === 0 ? 8 : 2)));
    assert.deepEqual(stats, { widestCandidates: 8, grouped: true });
  });

  test("a caller's kept grouping is asked for, not recomputed; the one scan hands it to its fallback", async () => {
    const n = 900;
    const dim = 16;
    const v = clustered(n, dim, 14, 8, 0.3, 0);
    for (let c = 1; c < n; c += 3) v.copyWithin(c * dim, dim, 2 * dim);
    const kept = equalRows(v, n, dim);
    let asked = 0;
    const equal = () => (asked++, kept);
    const want = exactNearest(v, n, dim, ids(n));
    assert.deepEqual(await exactTop1Gemm(v, n, dim, ids(n), maxRowNorm(v, n, dim), 2, { equal }), want);
    assert.equal(asked, 1);
    const one = await nearestOtherRowsWithTop1(v, n, dim, 10, ids(n), 2, undefined, undefined, equal);
    assert.deepEqual(one.nearest, want);
    assert.equal(asked, 2);
  });

  test('pool rows out of order are refused', async () => {
    const v = clustered(4, 2, 1);
    await assert.rejects(exactTop1Gemm(v, 4, 2, [0], 1, 1, { pool: { rows: Int32Array.from([2, 1]), matrix: new Float32Array(4) } }), /pool rows must be ascending ids/);
  });
});
