// Tests of the IVF search and the onnxruntime kernels under it: the kernels equal plain loops (ties to the
// lower column), the float32 exact scan equals exactNearest bit for bit, the IVF index is exact when it
// scans everything, reaches its recall on a small set, keeps ties to the lowest id, and survives a restart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exactNearest } from '../../core/categorise.js';
import { Rng } from '../../core/random.js';
import { maxRowNorm } from '../../core/float64-rerank.js';
import { createEmbeddedStore } from '../../adapters/vector-stores/embedded.js';
import { nearestInBatches } from '../../adapters/vector-stores/index.js';
import { DEFAULT_IVF_TUNING, IvfIndex, calibrateIvf, coordinateScales, decodeIvfState, defaultLists, encodeIvfState, type IvfTuning } from '../../adapters/vector-stores/ivf.js';
import { nearestOtherRows, nearestOtherRowsWithTop1 } from '../../adapters/vector-stores/exact-knn.js';
import { blockedFloatTopK } from '../../adapters/vector-stores/exact-k.js';
import { quantisePerColumn } from '../../adapters/onnx/bert.js';
import { INT8_CODE_MAX, floatTopK, int8BiasTopK, int8TopK, releaseSessions } from '../../adapters/onnx/kernels.js';
import type { StorePoint } from '../../adapters/vector-stores/types.js';
import { clustered, exactTopK } from '../helpers/vectors.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);
const points = (n: number): StorePoint[] => ids(n).map((id) => ({ id, label: 'a', split: id % 2 === 0 ? 'sampled' : 'unsampled' }));
const TUNING: IvfTuning = { ...DEFAULT_IVF_TUNING, threads: 1 };

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-ivf-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Top k columns of each row of `scores` (m × n), best first, ties to the lower column. */
function referenceTopK(scores: number[][], k: number): { values: number[]; indices: number[] } {
  const values: number[] = [];
  const indices: number[] = [];
  for (const row of scores) {
    const order = row.map((s, j) => [s, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [s, j] of order.slice(0, k)) {
      values.push(s);
      indices.push(j);
    }
  }
  return { values, indices };
}

describe('onnxruntime kernels', () => {
  test('int8TopK is the exact integer product for int8 codes within ±INT8_CODE_MAX, on any CPU; top k with ties to the lower column', async () => {
    const rng = new Rng(5);
    const m = 7;
    const n = 50;
    const d = 24;
    const a = Uint8Array.from({ length: m * d }, () => rng.nextInt(256));
    const b = Int8Array.from({ length: d * n }, () => rng.nextInt(2 * INT8_CODE_MAX + 1) - INT8_CODE_MAX);
    // The worst case for kernels that add pairs of products in 16 bits (vpmaddubsw, x86 without VNNI): rows of
    // 255 against columns of ±INT8_CODE_MAX.
    a.fill(255, 0, d);
    a.fill(0, d, 2 * d);
    for (let j = 0; j < d; j++) {
      b[j * n] = INT8_CODE_MAX;
      b[j * n + 1] = -INT8_CODE_MAX;
    }
    // Columns 10 and 3 equal: their scores tie for every row.
    for (let j = 0; j < d; j++) b[j * n + 10] = b[j * n + 3]!;
    const scores = ids(m).map((i) => ids(n).map((c) => ids(d).reduce((s, j) => s + (a[i * d + j]! - 128) * b[j * n + c]!, 0)));
    const want = referenceTopK(scores, n);
    const got = await int8TopK(a, m, b, n, d, n, 1);
    assert.deepEqual([...got.values], want.values);
    assert.deepEqual([...got.indices].map(Number), want.indices);
  });

  test('floatTopK reads views at any offset and adds the bias; int8BiasTopK scales then adds', async () => {
    const rng = new Rng(6);
    const m = 5;
    const n = 40;
    const d = 16;
    const backing = Float32Array.from({ length: (m + 3) * d }, () => rng.nextGaussian());
    const a = backing.subarray(3 * d);
    const rows = Float32Array.from({ length: (n + 1) * d }, () => rng.nextGaussian()).subarray(d);
    const bias = Float32Array.from({ length: n }, () => rng.nextGaussian());
    const scores = ids(m).map((i) => ids(n).map((c) => ids(d).reduce((s, j) => s + a[i * d + j]! * rows[c * d + j]!, 0) + bias[c]!));
    const want = referenceTopK(scores, 6);
    const got = await floatTopK(a, m, rows, n, d, bias, 6, 2);
    assert.deepEqual([...got.indices].map(Number), want.indices);
    got.values.forEach((v, i) => assert.ok(Math.abs(v - want.values[i]!) < 1e-4, `${v} vs ${want.values[i]}`));

    const ua = Uint8Array.from({ length: m * d }, () => rng.nextInt(256));
    const sb = Int8Array.from({ length: d * n }, () => rng.nextInt(2 * INT8_CODE_MAX + 1) - INT8_CODE_MAX);
    ua.fill(255, 0, d);
    const scale = 0.01;
    const s2 = ids(m).map((i) => ids(n).map((c) => Math.fround(scale * ids(d).reduce((s, j) => s + (ua[i * d + j]! - 128) * sb[j * n + c]!, 0)) + bias[c]!));
    const want2 = referenceTopK(s2, 3);
    const got2 = await int8BiasTopK(ua, m, sb, n, d, scale, bias, 3, 1);
    assert.deepEqual([...got2.indices].map(Number), want2.indices);

    // Sessions released (as a worker does when it falls idle, racing a call that is in flight): the next
    // calls build them again and answer the same, bit for bit.
    const inFlight = floatTopK(a, m, rows, n, d, bias, 6, 2);
    await releaseSessions();
    const after = await floatTopK(a, m, rows, n, d, bias, 6, 2);
    assert.deepEqual([...(await inFlight).values], [...got.values]);
    assert.deepEqual([...after.values], [...got.values]);
    assert.deepEqual([...after.indices], [...got.indices]);
    assert.deepEqual([...(await int8BiasTopK(ua, m, sb, n, d, scale, bias, 3, 1)).indices], [...got2.indices]);
  });

  test('the int8 codes dqe makes stay within ±INT8_CODE_MAX: IVF row codes and the int8 MiniLM weights', () => {
    // A coordinate with one large entry, one all zero, signs mixed.
    const n = 6;
    const dim = 3;
    const v = Float32Array.from([0.9, 0, -0.2, -3.5, 0, 0.1, 0.2, 0, 0.4, 1.1, 0, -0.4, 0, 0, 0.3, 0.5, 0, 0.2]);
    const scales = coordinateScales(v, n, dim);
    const codes = Array.from(v, (x, i) => Math.round(x / scales[i % dim]!));
    assert.equal(Math.max(...codes.map(Math.abs)), INT8_CODE_MAX);
    assert.deepEqual(codes.slice(3, 6), [-INT8_CODE_MAX, 0, 16]);
    const w = { dims: [3, 2], data: Float32Array.from([0.5, -2, -1, 0.25, 0.25, 1]) };
    const { q, scale } = quantisePerColumn(w);
    assert.deepEqual([...q], [32, -64, -64, 8, 16, 32]);
    assert.deepEqual([...scale], [Math.fround(1 / 64), Math.fround(2 / 64)]);
  });

  test('a wrongly sized input is refused, naming the kernel', async () => {
    await assert.rejects(floatTopK(new Float32Array(10), 2, new Float32Array(8), 2, 4, new Float32Array(2), 1, 1), /floatTopK a: 10 elements, expected 8/);
    await assert.rejects(int8TopK(new Uint8Array(8), 2, new Int8Array(7), 2, 4, 1, 1), /int8TopK b: 7 elements, expected 8/);
  });
});

describe('one exact scan for the k nearest and the certified top-1 (nearestOtherRowsWithTop1)', () => {
  test('the k nearest as nearestOtherRows gives them, the top-1 as exactNearest (ids and score bits), on clustered data with duplicates', async () => {
    const n = 1500;
    const dim = 32;
    const v = clustered(n, dim, 1, 8, 0.3, 0.1);
    const queries = [...ids(n)].filter((i) => i % 3 !== 1);
    for (const k of [10, 1]) {
      const got = await nearestOtherRowsWithTop1(v, n, dim, k, queries, 2);
      assert.deepEqual([...got.k], [...(await nearestOtherRows(v, n, dim, k, undefined, queries, 2))], `k ${k}`);
      assert.deepEqual(got.nearest, exactNearest(v, n, dim, queries), `k ${k}`);
    }
  });

  test('rows a float32 scan cannot tell apart come in float64 order (the k nearest and the top-1)', async () => {
    // Rows 0–39: (0.6, 0.8, e_i, 0); row 40, the query: (0.6, 0.8, 1e-4, 0). The e_i move a product by at most
    // 1e-9, far below float32's resolution at 1: every float32 product ties, so a float32 scan's 10 best are rows
    // 0–9. In float64 row 25 (the largest e) is the nearest, then 39, 38, ... (e grows with i).
    const dim = 4;
    const n = 41;
    const e = (i: number) => (i === 25 ? 1e-5 : (i + 1) * 1e-7);
    const v = new Float32Array(Array.from({ length: n }, (_, i) => [0.6, 0.8, i === 40 ? 1e-4 : e(i), 0]).flat());
    const float32 = await blockedFloatTopK(v.subarray(40 * dim), 1, v, 40, dim, 10, 1);
    assert.deepEqual([...float32.ids], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'precondition: the float32 products tie');
    const got = await nearestOtherRowsWithTop1(v, n, dim, 10, [40], 1);
    assert.deepEqual(got.nearest, exactNearest(v, n, dim, [40]));
    assert.equal(got.nearest[0]!.id, 25);
    assert.deepEqual([...got.k], [25, 39, 38, 37, 36, 35, 34, 33, 32, 31]);
    assert.deepEqual([...got.k], exactTopK(v, n, dim, [40], 10));
    assert.deepEqual([...(await nearestOtherRows(v, n, dim, 10, undefined, [40], 1))], [...got.k]);
  });

  test('N = 1 has no neighbour; N = 2 gives the other row; no queries, no answers', async () => {
    const one = clustered(1, 4, 2);
    const alone = await nearestOtherRowsWithTop1(one, 1, 4, 3, [0], 1);
    assert.deepEqual([alone.nearest, [...alone.k]], [[{ id: -1, score: -Infinity }], [-1, -1, -1]]);
    const two = clustered(2, 4, 3);
    const pair = await nearestOtherRowsWithTop1(two, 2, 4, 2, [1, 0], 1);
    assert.deepEqual([pair.nearest, [...pair.k]], [exactNearest(two, 2, 4, [1, 0]), [0, -1, 1, -1]]);
    const none = await nearestOtherRowsWithTop1(two, 2, 4, 2, [], 1);
    assert.deepEqual([none.nearest, [...none.k]], [[], []]);
  });
});

describe('IVF index (int8 lists on onnxruntime, float64 re-rank)', () => {
  test('lists: the power of two nearest the square root of the rows', () => {
    assert.deepEqual([1, 2, 100, 600, 10_000, 100_000, 1_000_000].map(defaultLists), [1, 2, 8, 32, 128, 256, 1024]);
  });

  test('probing every list with candidates covering every row is exact', async () => {
    const n = 400;
    const dim = 12;
    const v = clustered(n, dim, 4);
    const index = await IvfIndex.build(v, n, dim, { ...TUNING, candidates: n });
    assert.equal(index.lists, 16);
    assert.deepEqual(await index.search(ids(n), index.lists), exactNearest(v, n, dim, ids(n)));
  });

  test('ties go to the lowest id even when the duplicates outnumber the candidates', async () => {
    const dim = 8;
    const base = clustered(300, dim, 5, 8, 0.3, 0);
    // Rows 0..29 are one vector: every one of them has 29 neighbours at the same score.
    const v = new Float32Array(base);
    for (let i = 1; i < 30; i++) v.copyWithin(i * dim, 0, dim);
    const index = await IvfIndex.build(v, 300, dim, { ...TUNING, candidates: 4 });
    const got = await index.search(ids(30), index.lists);
    assert.deepEqual(got, exactNearest(v, 300, dim, ids(30)));
    assert.deepEqual(got.map((g) => g.id), [1, ...Array<number>(29).fill(0)]);
  });

  test('a tie of equal rows is settled by their group: one round, no widening', async () => {
    // 500 of 1,200 rows are one vector; every list probed, 4 candidates: one round scans queries × rows pairs.
    const n = 1200;
    const dim = 8;
    const v = clustered(n, dim, 12, 8, 0.3, 0);
    const copies = ids(500).map((i) => 2 * i + 1);
    for (const c of copies) v.copyWithin(c * dim, dim, 2 * dim);
    const index = await IvfIndex.build(v, n, dim, { ...TUNING, candidates: 4 });
    const scanned = { pairs: 0 };
    const got = await index.search(copies, index.lists, scanned);
    assert.deepEqual(got, exactNearest(v, n, dim, copies));
    assert.deepEqual(got.map((g) => g.id), copies.map((c) => (c === 1 ? 3 : 1)));
    assert.equal(scanned.pairs, copies.length * n);
  });

  test('searchK probing every list with candidates covering every row is the exact top k, ties to the lowest id', async () => {
    const n = 300;
    const dim = 8;
    // clustered() copies 5% of rows, so equal scores occur; k = 12 reaches past each row's cluster mates' ties.
    const v = clustered(n, dim, 6);
    const index = await IvfIndex.build(v, n, dim, { ...TUNING, candidates: n });
    assert.deepEqual([...(await index.searchK(ids(n), index.lists, 12))], exactTopK(v, n, dim, ids(n), 12));
    // More than the other rows: −1 past them.
    const tiny = await IvfIndex.build(v, 3, dim, { ...TUNING, candidates: 3 });
    const got = [...(await tiny.searchK([0, 2], tiny.lists, 4))];
    assert.deepEqual(got, exactTopK(v, 3, dim, [0, 2], 4));
    assert.deepEqual([got[2], got[3], got[6], got[7]], [-1, -1, -1, -1]);
  });

  test('calibration reaches recall@1 >= 0.99 on a small set, and the whole set agrees', async () => {
    const n = 3000;
    const dim = 32;
    const v = clustered(n, dim, 6, 16, 0.4);
    const index = await IvfIndex.build(v, n, dim, TUNING);
    const summary = await calibrateIvf(index, v, n, dim, TUNING, 0.99, maxRowNorm(v, n, dim));
    assert.equal(summary.reached, true);
    assert.ok(summary.recallLowerBound >= 0.99);
    assert.equal(summary.calibrationQueries, 512);
    assert.deepEqual(
      summary.tried.map((t) => t.probes),
      summary.tried.map((_, i) => 2 ** i),
    );
    assert.equal(summary.tried.at(-1)!.probes, summary.probes);
    assert.ok(summary.probes < index.lists, 'not every list needed');
    const got = await index.search(ids(n), summary.probes);
    const want = exactNearest(v, n, dim, ids(n));
    const hits = got.filter((g, i) => g.id === want[i]!.id).length;
    assert.ok(hits / n >= 0.99, `recall@1 over all rows ${hits / n}`);
    // Whatever it returns carries the exact float64 score of that pair.
    got.forEach((g, i) => assert.equal(g.score, exactNearest(v, n, dim, [i], (c) => c === g.id)[0]!.score));
  });

  test('a saved state gives the same index; a damaged file is refused, naming it', async () => {
    const n = 500;
    const dim = 16;
    const v = clustered(n, dim, 7);
    const index = await IvfIndex.build(v, n, dim, TUNING);
    const bytes = encodeIvfState(index.state);
    const again = IvfIndex.fromState(decodeIvfState(bytes, 'x.ivf'), v, n, TUNING);
    assert.deepEqual(await again.search(ids(n), 4), await index.search(ids(n), 4));
    assert.throws(() => decodeIvfState(bytes.subarray(0, bytes.length - 4), 'x.ivf'), /x\.ivf: \d+ bytes, expected \d+ for 16 lists × 16 and 500 rows/);
    assert.throws(() => IvfIndex.fromState(decodeIvfState(bytes, 'x.ivf'), v.subarray(dim), n - 1, TUNING), /does not match a matrix of 499 rows/);
  });
});

describe("embedded store with search 'ivf'", () => {
  test('index saves the lists; another store loads them, answers the same, and drop deletes them', async () => {
    await withDir(async (dir) => {
      const n = 2000;
      const dim = 16;
      const v = clustered(n, dim, 8);
      const req = { runId: 'r', vectors: v, dim, points: points(n), workDir: dir };
      const first = await createEmbeddedStore({ name: 'embedded', search: 'ivf' }, { threads: 1 }).index(req);
      assert.equal(first.reused, false);
      assert.ok(first.ivf && first.ivf.reached && first.ivf.lists === 32 && first.hnsw === undefined);
      const saved = (await readdir(dir)).sort();
      assert.equal(saved.length, 2);
      assert.match(saved[0]!, /^ann-index\.[0-9a-f]+\.ivf$/);
      assert.match(saved[1]!, /^ann-index\.[0-9a-f]+\.json$/);
      const again = await createEmbeddedStore({ name: 'embedded', search: 'ivf' }, { threads: 1 }).index(req);
      assert.deepEqual(again, { ...first, reused: true });
      const queries = ids(200).map((i) => i * 10);
      const a = await createEmbeddedStore({ name: 'embedded', search: 'ivf' }, { threads: 1 }).nearest({ ...req, queryIds: queries });
      const b = await createEmbeddedStore({ name: 'embedded', search: 'ivf' }, { threads: 1 }).nearest({ ...req, queryIds: queries });
      assert.deepEqual(a, b);
      await writeFile(join(dir, 'kept.offsets'), 'x');
      await createEmbeddedStore({ name: 'embedded', search: 'ivf' }).drop('r', dir);
      assert.deepEqual(await readdir(dir), ['kept.offsets']);
    });
  });
});

describe("embedded store with search 'ivf', degenerate sizes", () => {
  test('no rows or one row: nothing is built and the answer is exact', async () => {
    await withDir(async (dir) => {
      const store = createEmbeddedStore({ name: 'embedded', search: 'ivf' }, { threads: 1 });
      assert.deepEqual(await store.index({ runId: 'r', vectors: new Float32Array(0), dim: 4, points: [], workDir: dir }), { indexed: 0, reused: true });
      const one = clustered(1, 4, 10);
      assert.deepEqual(await store.index({ runId: 'r', vectors: one, dim: 4, points: points(1), workDir: dir }), { indexed: 1, reused: true });
      assert.deepEqual(await store.nearest({ runId: 'r', vectors: one, dim: 4, points: points(1), queryIds: [0], workDir: dir }), [{ id: -1, score: -Infinity }]);
      assert.deepEqual(await readdir(dir), []);
    });
  });
});

describe('nearestInBatches', () => {
  test('batches grow from 256 by doubling while they answer fast; the answers equal one call', async () => {
    const n = 5000;
    const dim = 8;
    const v = clustered(n, dim, 9);
    const store = createEmbeddedStore({ name: 'embedded', search: 'exact' }, { threads: 1 });
    const sizes: number[] = [];
    const recording = { ...store, nearest: (req: Parameters<typeof store.nearest>[0]) => (sizes.push(req.queryIds.length), store.nearest(req)) };
    const progress: number[] = [];
    const queries = ids(n);
    const got = await nearestInBatches(recording, { runId: 'r', vectors: v, dim, points: points(n) }, queries, (done, total) => {
      assert.equal(total, n);
      progress.push(done);
    });
    assert.deepEqual(sizes, [256, 512, 1024, 2048, 1160]);
    assert.deepEqual(progress, [256, 768, 1792, 3840, 5000]);
    assert.deepEqual(got, exactNearest(v, n, dim, queries));
  });
});
