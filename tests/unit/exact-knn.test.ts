// The certified int8 scan behind the exact k nearest (adapters/vector-stores/exact-knn.ts): its row codes worked by
// hand, its answers against the float64 oracle (exactTopK) where the int8 bound settles at once, where it must
// widen, on equal vectors, on rows of very different lengths and on a zero query.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { equalRows } from '../../core/equal-rows.js';
import { Rng } from '../../core/random.js';
import { certifiedTopK, nearestOtherRows, productsForCpu, releaseRowCodes, rowCodes, rowCodesOf, type Products } from '../../adapters/vector-stores/exact-knn.js';
import { releaseSessions } from '../../adapters/onnx/kernels.js';
import { clustered, exactTopK } from '../helpers/vectors.js';

after(releaseSessions);

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The oracle's k + 1 best rows of each query, itself included (what certifiedTopK answers with take = k + 1). */
function oracleWithSelf(v: Float32Array, n: number, dim: number, queries: number[], take: number): number[] {
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[a * dim + j]! * v[b * dim + j]!;
    return s;
  };
  return queries.flatMap((q) => {
    const order = ids(n)
      .map((i) => [dot(q, i), i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .map(([, i]) => i);
    return Array.from({ length: take }, (_, t) => order[t] ?? -1);
  });
}

describe('which products propose the candidates', () => {
  test('int8 with x86 VNNI (AVX-512 or AVX) or Arm dot product, else float32', () => {
    const x86 = (flags: string) => `processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: ${flags}\nbugs\t\t: sysret_ss_attrs\n`;
    assert.equal(productsForCpu(x86('fpu sse2 avx2 avx512f avx512_vnni avx512_bf16')), 'int8');
    assert.equal(productsForCpu(x86('fpu sse2 avx2 avx_vnni')), 'int8');
    assert.equal(productsForCpu(x86('fpu sse2 avx2 fma')), 'float32');
    assert.equal(productsForCpu(x86('fpu sse2 avx2 avx512_vnnix')), 'float32');
    assert.equal(productsForCpu('processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp\n'), 'int8');
    assert.equal(productsForCpu('processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n'), 'float32');
    assert.equal(productsForCpu(''), 'float32');
  });
});

describe('row codes (int8, a scale per row, transposed per block)', () => {
  test('codes, scales, residual and norm worked by hand', () => {
    // Row 0: max 0.5 → scale 0.5 / 64 = 2^-7; codes 64, −32, 0, 16 exactly (no residual).
    // Row 1: max 1 → scale 2^-6; 0.3 / 2^-6 = 19.2 → 19, residual 0.3 − 19 · 2^-6 (in float32 terms).
    // Row 2: all zero → scale 1, codes 0.
    const v = new Float32Array([0.5, -0.25, 0, 0.125, 1, 0.3, 0, 0, 0, 0, 0, 0]);
    const rc = rowCodes(v, 3, 4, 2);
    assert.deepEqual([...rc.scales], [2 ** -7, 2 ** -6, 1]);
    // Block 0 (rows 0, 1) is 4 × 2, transposed: coordinate j of row r at j · 2 + r; block 1 (row 2) is 4 × 1.
    assert.deepEqual([...rc.codes], [64, 64, -32, 19, 0, 0, 16, 0, 0, 0, 0, 0]);
    assert.equal(rc.residuals[0], 0);
    assert.equal(rc.residuals[1], Math.abs(Math.fround(0.3) - 19 * 2 ** -6));
    assert.equal(rc.residuals[2], 0);
    assert.deepEqual([...rc.norms].map((x) => +x.toFixed(12)), [+Math.sqrt(0.25 + 0.0625 + 0.015625).toFixed(12), +Math.sqrt(1 + Math.fround(0.3) ** 2).toFixed(12), 0]);
  });

  test('kept per matrix until released', () => {
    const v = clustered(50, 8, 4);
    const first = rowCodesOf(v, 50, 8);
    assert.equal(rowCodesOf(v, 50, 8), first);
    assert.notEqual(rowCodesOf(v, 40, 8), first, 'another row count: coded again');
    const second = rowCodesOf(v, 40, 8);
    releaseRowCodes();
    const third = rowCodesOf(v, 40, 8);
    assert.notEqual(third, second);
    assert.deepEqual(third, second);
  });
});

for (const products of ['int8', 'float32'] as Products[]) describe(`certifiedTopK: the float64 top-k by a scan of ${products} products`, () => {
  test('equals the float64 oracle on clustered rows with duplicates, over row blocks of several sizes, settling in one round', async () => {
    const n = 1200;
    const dim = 48;
    const v = clustered(n, dim, 7, 8, 0.3, 0.1);
    const queries = ids(n).filter((i) => i % 4 === 0);
    const equal = equalRows(v, n, dim);
    assert.ok(equal.repeated > 50, 'precondition: repeated vectors');
    for (const rowBlock of [n, 256, 97]) {
      const stats = { rounds: 0, widestCandidates: 0 };
      const got = await certifiedTopK(v, n, dim, 11, queries, { equal, threads: 2, rowBlock, stats, products });
      assert.deepEqual([...got.ids], oracleWithSelf(v, n, dim, queries, 11), `row block ${rowBlock}`);
      for (let i = 0; i < queries.length; i++) {
        for (let t = 0; t < 11; t++) {
          const id = got.ids[i * 11 + t]!;
          let s = 0;
          for (let j = 0; j < dim; j++) s += v[queries[i]! * dim + j]! * v[id * dim + j]!;
          assert.equal(got.scores[i * 11 + t], s);
        }
      }
      assert.ok(stats.rounds <= 2, `row block ${rowBlock}: ${stats.rounds} rounds`);
    }
  });

  test('rows the int8 bound cannot separate widen the candidates until they settle', async () => {
    // 400 rows (0.6, 0.8, e_i, 0) with e_i ≤ 4e-5: every bound overlaps every other, so the first candidates (int8
    // 64, float32 take + 8 = 19) cannot settle, nor 4× as many (256; 76, 304); all 400 (every distinct row) do.
    const dim = 4;
    const n = 400;
    const v = new Float32Array(ids(n).flatMap((i) => [0.6, 0.8, (i + 1) * 1e-7, 0]));
    const stats = { rounds: 0, widestCandidates: 0 };
    const queries = [0, 199, 399];
    const got = await certifiedTopK(v, n, dim, 11, queries, { equal: equalRows(v, n, dim), threads: 1, stats, products });
    assert.deepEqual([...got.ids], oracleWithSelf(v, n, dim, queries, 11));
    assert.deepEqual(stats, { rounds: products === 'int8' ? 3 : 4, widestCandidates: 400 });
  });

  test('a group of 600 equal rows settles without widening; its rows come in id order', async () => {
    const n = 1500;
    const dim = 16;
    const v = clustered(n, dim, 11, 6, 0.4, 0);
    const rng = new Rng(3);
    const group = new Set<number>();
    while (group.size < 600) group.add(rng.nextInt(n));
    const first = Math.min(...group);
    for (const r of group) v.copyWithin(r * dim, first * dim, first * dim + dim);
    const queries = [...group].slice(0, 40).concat([0, 1, 2, 3].filter((i) => !group.has(i)));
    const stats = { rounds: 0, widestCandidates: 0 };
    const got = await certifiedTopK(v, n, dim, 11, queries, { equal: equalRows(v, n, dim), threads: 2, stats, products });
    assert.deepEqual([...got.ids], oracleWithSelf(v, n, dim, queries, 11));
    assert.deepEqual(stats, { rounds: 1, widestCandidates: products === 'int8' ? 64 : 19 });
    // The k nearest others of a group row: the group's lowest ids but its own.
    const sorted = [...group].sort((a, b) => a - b);
    const q = sorted[5]!;
    assert.deepEqual([...(await nearestOtherRows(v, n, dim, 10, undefined, [q], 1, undefined, products))], sorted.filter((r) => r !== q).slice(0, 10));
  });

  test('rows of very different lengths and a sparse, spiky matrix: the bound holds (the scan checks it) and the answer is the oracle', async () => {
    const n = 900;
    const dim = 24;
    const rng = new Rng(5);
    const v = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const length = 10 ** (rng.nextFloat() * 6 - 3);
      // Half the rows sparse (one to three coordinates), half dense.
      const nz = i % 2 === 0 ? 1 + rng.nextInt(3) : dim;
      for (let c = 0; c < nz; c++) v[i * dim + (nz === dim ? c : rng.nextInt(dim))] = rng.nextGaussian() * length;
    }
    const queries = ids(n).filter((i) => i % 9 === 0);
    const got = await nearestOtherRows(v, n, dim, 7, undefined, queries, 2, undefined, products);
    assert.deepEqual([...got], exactTopK(v, n, dim, queries, 7));
  });

  test('a zero query ties with every row: the lowest ids', async () => {
    const n = 120;
    const dim = 8;
    const v = clustered(n, dim, 2, 4, 0.3, 0);
    v.fill(0, 50 * dim, 51 * dim);
    assert.deepEqual([...(await nearestOtherRows(v, n, dim, 5, undefined, [50], 1, undefined, products))], [0, 1, 2, 3, 4]);
    assert.deepEqual([...(await nearestOtherRows(v, n, dim, 5, undefined, [50, 7], 1, undefined, products))], [0, 1, 2, 3, 4, ...exactTopK(v, n, dim, [7], 5)]);
  });
});
