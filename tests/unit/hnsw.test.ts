// Tests of the embedded store's neighbour search: the ANN index reaches its recall on a small set and breaks ties
// like exact search, and 'auto' picks by row count (the certified exact scan: exact-top1.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { exactNearest, type Split } from '../../core/categorise.js';
import { parseDqeInput } from '../../core/input.js';
import { HnswIndex, DEFAULT_HNSW_TUNING, type HnswTuning } from '../../adapters/vector-stores/hnsw.js';
import { dot64 } from '../../core/float64-rerank.js';
import { CALIBRATION_Z, sampleRows, wilsonLower } from '../../core/index-calibration.js';
import { DEFAULT_ANN_THRESHOLD, createEmbeddedStore, planSearch, type EmbeddedStoreConfig } from '../../adapters/vector-stores/embedded.js';
import { DEFAULT_IVF_TUNING } from '../../adapters/vector-stores/ivf.js';
import type { StorePoint } from '../../adapters/vector-stores/types.js';
import { clustered, exactTopK } from '../helpers/vectors.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);
const points = (n: number, split: (i: number) => Split = (i) => (i % 2 === 0 ? 'sampled' : 'unsampled')): StorePoint[] =>
  ids(n).map((id) => ({ id, label: 'a', split: split(id) }));
/** Single-threaded native calls, so that the HNSW graph (and so every ANN answer) is the same each run. */
const TUNING: Partial<HnswTuning> = { threads: 1, addChunkRows: 500 };

async function withDir<T>(fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-ann-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('ANN index (usearch HNSW, float64 re-rank)', () => {
  test('reaches recall@1 >= 0.99 against exact on a small set, and reports what it measured', async () => {
    await withDir(async (dir) => {
      const n = 3000;
      const dim = 32;
      const v = clustered(n, dim, 11);
      const store = createEmbeddedStore({ name: 'embedded', search: 'hnsw', targetRecall: 0.99 }, TUNING);
      const res = await store.index({ runId: 'r', vectors: v, dim, points: points(n), workDir: dir });
      assert.equal(res.indexed, n);
      assert.equal(res.reused, false);
      const ann = res.hnsw!;
      assert.equal(ann.calibrationQueries, DEFAULT_HNSW_TUNING.calibrationQueries);
      assert.equal(ann.recallHits / ann.calibrationQueries, ann.recall);
      assert.ok(ann.reached && ann.recallLowerBound >= 0.99 && ann.recall >= ann.recallLowerBound, `calibration recall ${ann.recall}`);
      assert.equal(ann.recallLowerBound, wilsonLower(ann.recallHits, ann.calibrationQueries, CALIBRATION_Z));
      assert.equal(ann.tried.at(-1)!.expansionSearch, ann.expansionSearch);
      // Every row as a query, against the exact answers: recall on the whole set, not just the sample.
      const got = await store.nearest({ runId: 'r', vectors: v, dim, points: points(n), queryIds: ids(n), workDir: dir });
      const want = exactNearest(v, n, dim, ids(n));
      const hits = got.filter((g, i) => g.id === want[i]!.id).length;
      assert.ok(hits / n >= 0.99, `recall@1 over all rows ${hits / n}`);
      // A hit carries the exact float64 score (the same bits as exactNearest), never the quantised one.
      got.forEach((g, i) => {
        if (g.id === want[i]!.id) assert.equal(g.score, want[i]!.score);
        assert.notEqual(g.id, i, 'a query is never its own neighbour');
      });
    });
  });

  test('ties go to the lowest id even when the duplicates outnumber the candidates', async () => {
    await withDir(async (dir) => {
      const n = 1000;
      const dim = 16;
      const v = clustered(n, dim, 12, 8, 0.3, 0);
      // 30 copies of row 7 (more than the 10 candidates re-ranked), spread over the id range.
      const copies = [7, ...ids(29).map((i) => 31 * i + 40)];
      for (const c of copies) v.copyWithin(c * dim, 7 * dim, 8 * dim);
      const tuning = { ...TUNING, candidates: 10 };
      const store = createEmbeddedStore({ name: 'embedded', search: 'hnsw', targetRecall: 0.99 }, tuning);
      await store.index({ runId: 'r', vectors: v, dim, points: points(n), workDir: dir });
      const got = await store.nearest({ runId: 'r', vectors: v, dim, points: points(n), queryIds: copies, workDir: dir });
      assert.deepEqual(
        got.map((g) => g.id),
        copies.map((c) => (c === 7 ? 40 : 7)),
      );
      got.forEach((g) => assert.equal(g.score, exactNearest(v, n, dim, [7])[0]!.score));
    });
  });

  test('categorise on another worker loads the saved index instead of building it again', async () => {
    await withDir(async (dir) => {
      const n = 1500;
      const dim = 24;
      const v = clustered(n, dim, 13);
      const req = { runId: 'r', vectors: v, dim, points: points(n), workDir: dir };
      const first = await createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING).index(req);
      const files = (await readdir(dir)).sort();
      assert.deepEqual(
        files.map((f) => f.replace(/\.[0-9a-f]{16}\./, '.KEY.')),
        ['ann-index.KEY.json', 'ann-index.KEY.usearch'],
      );
      const indexFile = join(dir, files[1]!);
      const built = (await stat(indexFile)).mtimeMs;
      const again = await createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING).index(req);
      assert.deepEqual(again, { ...first, reused: true });
      const queries = ids(200).map((i) => i * 7);
      const a = await createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING).nearest({ ...req, queryIds: queries });
      const b = await createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING).nearest({ ...req, queryIds: queries });
      assert.deepEqual(a, b);
      assert.equal((await stat(indexFile)).mtimeMs, built, 'the index file was not rewritten');
      // Another matrix of the same shape is another index, not the saved one.
      const other = clustered(n, dim, 14);
      const third = await createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING).index({ ...req, vectors: other });
      assert.equal(third.reused, false);
      await writeFile(join(dir, 'kept.offsets'), 'not an index');
      assert.equal((await readdir(dir)).length, 5);
      // Dropping deletes every saved index of the run and nothing else in its work directory.
      await createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING).drop('r', dir);
      assert.deepEqual(await readdir(dir), ['kept.offsets']);
      await createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING).drop('r', join(dir, 'gone'));
    });
  });

  test("'auto' falls back to exact search when calibration cannot reach the target", async () => {
    await withDir(async (dir) => {
      const n = 2000;
      const dim = 64;
      // A target of 1 can never be shown from a sample: the IVF index is built, measured, and not used.
      const v = clustered(n, dim, 15, 1, 10, 0);
      const config: EmbeddedStoreConfig = { name: 'embedded', search: 'auto', annThreshold: 1000, targetRecall: 1 };
      const store = createEmbeddedStore(config, TUNING, { candidates: 1 });
      const res = await store.index({ runId: 'r', vectors: v, dim, points: points(n), workDir: dir });
      assert.equal(res.ivf!.reached, false);
      assert.equal(res.ivf!.probes, res.ivf!.lists);
      const got = await store.nearest({ runId: 'r', vectors: v, dim, points: points(n), queryIds: ids(n), workDir: dir });
      assert.deepEqual(got, exactNearest(v, n, dim, ids(n)));
    });
  });

  test('calibration asks for the target at the lower end of a 90% one-sided Wilson interval', () => {
    const z = CALIBRATION_Z;
    assert.equal(z, 1.28);
    // With nothing missed the bound is 1 / (1 + z²/n); of 512 rows two misses pass 0.99 and three do not.
    assert.ok(Math.abs(wilsonLower(512, 512, z) - 1 / (1 + z ** 2 / 512)) < 1e-12);
    assert.ok(wilsonLower(510, 512, z) >= 0.99);
    assert.ok(wilsonLower(509, 512, z) < 0.99);
    assert.ok(wilsonLower(990, 1000, z) < 0.99, 'a point estimate at the target is not enough');
    assert.equal(wilsonLower(0, 0, z), 1);
  });

  test('the calibration sample is seeded, distinct and sorted', () => {
    const a = sampleRows(1000, 50, 3);
    assert.deepEqual(a, sampleRows(1000, 50, 3));
    assert.notDeepEqual(a, sampleRows(1000, 50, 4));
    assert.equal(new Set(a).size, 50);
    assert.ok(a.every((x, i) => x >= 0 && x < 1000 && (i === 0 || x > a[i - 1]!)));
    assert.deepEqual(sampleRows(5, 50, 3), Int32Array.from([0, 1, 2, 3, 4]));
  });

  test('HnswIndex.search with a breadth and candidates covering every row is exact', async () => {
    await withDir((dir) => {
      const n = 120;
      const dim = 8;
      const v = clustered(n, dim, 16);
      const tuning: HnswTuning = { ...DEFAULT_HNSW_TUNING, ...TUNING, candidates: n };
      const path = join(dir, 'i.usearch');
      HnswIndex.build(v, n, dim, tuning, path);
      assert.deepEqual(HnswIndex.load(path, dim, tuning, n).search(v, dim, ids(n)), exactNearest(v, n, dim, ids(n)));
      // searchK likewise: the exact top 10, ties to the lowest id.
      assert.deepEqual([...HnswIndex.load(path, dim, tuning, n).searchK(v, dim, ids(n), 10)], exactTopK(v, n, dim, ids(n), 10));
    });
  });
});

describe("search choice: 'auto', 'exact', 'ivf', 'hnsw' (or its old name 'ann')", () => {
  test('planSearch picks by row count against annThreshold, and obeys a forced mode', () => {
    const auto: EmbeddedStoreConfig = { name: 'embedded', annThreshold: 1000 };
    assert.equal(planSearch(auto, 999).mode, 'exact');
    assert.equal(planSearch(auto, 1000).mode, 'ivf');
    assert.equal(planSearch({ name: 'embedded' }, DEFAULT_ANN_THRESHOLD - 1).mode, 'exact');
    assert.equal(planSearch({ name: 'embedded' }, DEFAULT_ANN_THRESHOLD).mode, 'ivf');
    assert.deepEqual(planSearch({ name: 'embedded', search: 'exact', annThreshold: 10 }, 1e6), { mode: 'exact', reason: "vectorStore.search is 'exact'" });
    assert.deepEqual(planSearch({ name: 'embedded', search: 'hnsw' }, 3), { mode: 'hnsw', reason: "vectorStore.search is 'hnsw'" });
    assert.deepEqual(planSearch({ name: 'embedded', search: 'ann' }, 3), { mode: 'hnsw', reason: "vectorStore.search is 'ann'" });
    assert.equal(planSearch({ name: 'embedded', search: 'ivf' }, 3).mode, 'ivf');
  });

  test('below the threshold index builds nothing; at it, index builds the IVF index', async () => {
    await withDir(async (dir) => {
      const dim = 16;
      const config: EmbeddedStoreConfig = { name: 'embedded', annThreshold: 600 };
      const small = clustered(599, dim, 17);
      assert.deepEqual(await createEmbeddedStore(config, TUNING).index({ runId: 'r', vectors: small, dim, points: points(599), workDir: dir }), {
        indexed: 599,
        reused: true,
      });
      assert.deepEqual(await readdir(dir), []);
      const big = clustered(600, dim, 17);
      const res = await createEmbeddedStore(config, TUNING).index({ runId: 'r', vectors: big, dim, points: points(600), workDir: dir });
      assert.equal(res.reused, false);
      assert.ok(res.ivf && res.ivf.calibrationQueries === DEFAULT_IVF_TUNING.calibrationQueries && DEFAULT_IVF_TUNING.calibrationQueries < 600);
      assert.equal(res.hnsw, undefined);
      assert.equal((await readdir(dir)).length, 2);
    });
  });

  test('nearestK in every mode: exact is the exact top k; through an index, other rows nearest first in float64, led by nearest\'s answer', async () => {
    await withDir(async (dir) => {
      const n = 800;
      const dim = 16;
      const k = 10;
      const v = clustered(n, dim, 19);
      const pts = points(n);
      const dot = (a: number, b: number) => dot64(v, dim, a, b);
      for (const search of ['exact', 'ivf', 'hnsw'] as const) {
        const store = createEmbeddedStore({ name: 'embedded', search }, TUNING);
        const req = { runId: 'r', vectors: v, dim, points: pts, workDir: dir };
        await store.index(req);
        const got = await store.nearestK({ ...req, queryIds: ids(n), k });
        if (search === 'exact') assert.deepEqual([...got], exactTopK(v, n, dim, ids(n), k));
        const top1 = await store.nearest({ ...req, queryIds: ids(n) });
        for (let q = 0; q < n; q++) {
          const row = [...got.subarray(q * k, (q + 1) * k)];
          assert.ok(row.every((id) => id >= 0 && id < n && id !== q) && new Set(row).size === k, `${search}: row ${q} gets ${k} distinct other rows`);
          for (let j = 1; j < k; j++) assert.ok(dot(q, row[j - 1]!) > dot(q, row[j]!) || (dot(q, row[j - 1]!) === dot(q, row[j]!) && row[j - 1]! < row[j]!), `${search}: row ${q} nearest first`);
          assert.equal(row[0], top1[q]!.id, `${search}: row ${q} leads with nearest's answer`);
        }
        await store.drop('r', dir);
      }
    });
  });

  test('nearestWithK: one exact scan where nothing is pruned (exact, and an IVF index probing every list), the index\'s own answers where it prunes', async () => {
    await withDir(async (dir) => {
      const k = 10;
      const cases = [
        { search: 'exact', v: clustered(800, 16, 19), n: 800, dim: 16 },
        { search: 'hnsw', v: clustered(800, 16, 19), n: 800, dim: 16 },
        { search: 'ivf', v: clustered(800, 16, 19), n: 800, dim: 16 },
        // One blob with no structure: calibration needs every list (the test below).
        { search: 'ivf', v: clustered(400, 32, 3, 1, 1, 0), n: 400, dim: 32 },
      ] as const;
      for (const { search, v, n, dim } of cases) {
        const store = createEmbeddedStore({ name: 'embedded', search }, TUNING);
        const req = { runId: 'r', vectors: v, dim, points: points(n), workDir: dir };
        const built = await store.index(req);
        const queries = [...ids(n)].filter((i) => i % 5 !== 2);
        const got = await store.nearestWithK!({ ...req, queryIds: queries, k });
        const prunes = search === 'hnsw' || (built.ivf !== undefined && built.ivf.probes < built.ivf.lists);
        assert.equal(prunes, !(search === 'exact' || n === 400), `${search} ${n}: pruning as the case intends`);
        if (prunes) {
          assert.deepEqual(got.nearest, await store.nearest({ ...req, queryIds: queries }), `${search} ${n}`);
          assert.deepEqual([...got.k], [...(await store.nearestK({ ...req, queryIds: queries, k }))], `${search} ${n}`);
        } else {
          assert.deepEqual(got.nearest, exactNearest(v, n, dim, queries), `${search} ${n}`);
          assert.deepEqual([...got.k], exactTopK(v, n, dim, queries, k), `${search} ${n}`);
        }
        await store.drop('r', dir);
      }
    });
  });

  test('an IVF index that probes every list prunes nothing: nearestK is the exact scan\'s answer', async () => {
    await withDir(async (dir) => {
      // One blob with no structure: calibration needs every list for recall@1 0.99.
      const n = 400;
      const dim = 32;
      const v = clustered(n, dim, 3, 1, 1, 0);
      const store = createEmbeddedStore({ name: 'embedded', search: 'ivf' }, TUNING);
      const req = { runId: 'r', vectors: v, dim, points: points(n), workDir: dir };
      const built = await store.index(req);
      assert.deepEqual([built.ivf?.probes, built.ivf?.lists], [16, 16]);
      assert.deepEqual([...(await store.nearestK({ ...req, queryIds: ids(n), k: 10 }))], exactTopK(v, n, dim, ids(n), 10));
    });
  });

  test('split-filtered queries are answered exactly in every mode', async () => {
    await withDir(async (dir) => {
      const n = 800;
      const dim = 16;
      const v = clustered(n, dim, 18);
      const pts = points(n);
      const store = createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING);
      await store.index({ runId: 'r', vectors: v, dim, points: pts, workDir: dir });
      for (const split of ['sampled', 'unsampled'] as const) {
        const got = await store.nearest({ runId: 'r', vectors: v, dim, points: pts, queryIds: ids(n), split, workDir: dir });
        assert.deepEqual(got, exactNearest(v, n, dim, ids(n), (i) => pts[i]!.split === split));
      }
    });
  });

  test('a matrix that does not fit the points, or ANN without a work directory, is a clear non-retryable failure', async () => {
    const store = createEmbeddedStore({ name: 'embedded', search: 'hnsw' }, TUNING);
    const v = clustered(10, 4, 19);
    const rejects = async (p: Promise<unknown>, type: string, message: RegExp) => {
      const err = await p.then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, type);
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, message);
    };
    await rejects(store.index({ runId: 'r', vectors: v.subarray(1), dim: 4, points: points(10) }), 'DqeVectorDimensionMismatch', /39 floats do not make 10 vectors of dimension 4/);
    await rejects(store.index({ runId: 'r', vectors: v, dim: 4, points: points(10) }), 'DqeAnnIndexNeedsWorkDir', /no workDir/);
  });

  test('the input accepts the search settings and names a bad one', () => {
    const ok = parseDqeInput({ dataset: 'd.jsonl', vectorStore: { name: 'embedded', search: 'hnsw', annThreshold: 10, targetRecall: 0.95 } });
    assert.ok(ok.ok);
    assert.deepEqual(ok.config.vectorStore, { name: 'embedded', search: 'hnsw', annThreshold: 10, targetRecall: 0.95 });
    const old = parseDqeInput({ dataset: 'd.jsonl', vectorStore: { name: 'embedded', search: 'ann' } });
    assert.ok(old.ok, "the old name 'ann' is still accepted");
    assert.deepEqual(old.config.vectorStore, { name: 'embedded', search: 'ann' });
    const ivf = parseDqeInput({ dataset: 'd.jsonl', vectorStore: { name: 'embedded', search: 'ivf' } });
    assert.ok(ivf.ok);
    assert.deepEqual(ivf.config.vectorStore, { name: 'embedded', search: 'ivf' });
    const bad = parseDqeInput({ dataset: 'd.jsonl', vectorStore: { name: 'embedded', search: 'fast', targetRecall: 1.5 } });
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.problems.map((p) => p.field).sort(),
      ['vectorStore.search', 'vectorStore.targetRecall'],
    );
  });
});
