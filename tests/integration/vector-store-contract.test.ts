// The vector-store contract, run with the same data against every backend: embedded, Qdrant through the
// loopback test endpoint (tests/qdrant-shim), and a real Qdrant when QDRANT_URL is set.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';
import { ApplicationFailure } from '@temporalio/common';
import { exactNearest, type Neighbour, type Split } from '../../core/categorise.js';
import { Rng } from '../../core/random.js';
import { createVectorStore, nearestWithKInBatches } from '../../adapters/vector-stores/index.js';
import {
  collectionForRun,
  createQdrantStore,
  sharedPointId,
  type QdrantStoreConfig,
  type QdrantStoreTuning,
} from '../../adapters/vector-stores/qdrant.js';
import type { StorePoint, VectorStore } from '../../adapters/vector-stores/types.js';
import { startQdrantShim, type QdrantShim } from '../qdrant-shim/start.js';
import { exactTopK } from '../helpers/vectors.js';

const DIM = 4;
/** Scores come back as float32 from Qdrant and as float64 dot products from exactNearest. */
const SCORE_TOLERANCE = 1e-5;
/** Small chunks and batches so that a 14-row set still goes through chunking, batching and tie widening. */
const TUNING: QdrantStoreTuning = { upsertChunkPoints: 4, queriesPerRequest: 5, retryBaseDelayMs: 10, maxAttempts: 4 };
/** Unique per test run, so a real Qdrant that outlives the suite never sees a collection twice. */
const RUN_PREFIX = `contract-${process.pid}-${Date.now()}`;

const E3 = [0, 0, 1, 0];
/**
 * Rows 4, 5, 6, 10, 11, 12 and 13 are the same vector: seven-way ties, more than the store's first
 * request asks for, so tie-breaking (lowest id) and widening are both exercised.
 */
const ROWS: readonly [number[], string, Split][] = [
  [[1, 0, 0, 0], 'a', 'sampled'], // 0
  [[0.9, 0.1, 0, 0], 'a', 'unsampled'], // 1
  [[0, 1, 0, 0], 'b', 'sampled'], // 2
  [[0.1, 0.9, 0, 0], 'b', 'unsampled'], // 3
  [E3, 'c', 'sampled'], // 4
  [E3, 'c', 'unsampled'], // 5
  [E3, 'a', 'unsampled'], // 6
  [[0, 0, 0, 1], 'b', 'sampled'], // 7
  [[0.05, 0, 0.05, 1], 'c', 'unsampled'], // 8
  [[0.6, 0.8, 0, 0], 'a', 'unsampled'], // 9
  [E3, 'b', 'unsampled'], // 10
  [E3, 'c', 'sampled'], // 11
  [E3, 'a', 'unsampled'], // 12
  [E3, 'b', 'sampled'], // 13
];
const N = ROWS.length;
const ALL_IDS = ROWS.map((_, i) => i);

/** Worked out by hand from ROWS (and checked against exactNearest below). */
const EXPECTED_ALL = [1, 0, 3, 2, 5, 4, 4, 8, 7, 3, 4, 4, 4, 4];
const EXPECTED_SAMPLED = [2, 0, 0, 2, 11, 4, 4, 0, 7, 2, 4, 4, 4, 4];
const EXPECTED_UNSAMPLED = [1, 9, 3, 9, 5, 6, 5, 8, 5, 3, 5, 5, 5, 5];

function unitMatrix(rows: readonly number[][], dim: number): Float32Array {
  const m = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    const norm = Math.hypot(...r);
    r.forEach((x, j) => (m[i * dim + j] = x / norm));
  });
  return m;
}

const VECTORS = unitMatrix(ROWS.map((r) => r[0]), DIM);
const POINTS: StorePoint[] = ROWS.map(([, label, split], id) => ({ id, label, split }));

function request(runId: string, over: { vectors?: Float32Array; dim?: number; points?: StorePoint[] } = {}) {
  return { runId, vectors: over.vectors ?? VECTORS, dim: over.dim ?? DIM, points: over.points ?? POINTS };
}

function oracle(split?: Split): Neighbour[] {
  const candidate = split === undefined ? undefined : (i: number) => POINTS[i]!.split === split;
  return exactNearest(VECTORS, N, DIM, ALL_IDS, candidate);
}

function assertNeighbours(got: Neighbour[], expectedIds: number[], split?: Split): void {
  assert.deepEqual(
    got.map((n) => n.id),
    expectedIds,
  );
  const want = oracle(split);
  got.forEach((n, i) => assert.ok(Math.abs(n.score - want[i]!.score) < SCORE_TOLERANCE, `score of query ${i}: ${n.score} vs ${want[i]!.score}`));
}

async function rejectsWith(p: Promise<unknown>, type: string, pattern: RegExp, nonRetryable = true): Promise<ApplicationFailure> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected an ApplicationFailure of type ${type}`),
    (err: unknown) => (caught = err),
  );
  assert.ok(caught instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(caught)}`);
  assert.equal(caught.type, type, caught.message);
  assert.equal(caught.nonRetryable, nonRetryable, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

interface Backend {
  name: string;
  store(over?: Partial<QdrantStoreConfig>): VectorStore;
  /** Points the backend holds for the run (undefined: the backend keeps nothing of its own). */
  count(runId: string, over?: Partial<QdrantStoreConfig>): Promise<number | undefined>;
  /** The raw client, for setting up states the adapter cannot produce (a crash mid-index). */
  raw?: QdrantClient;
}

function qdrantBackend(name: string, url: string, apiKey: string | undefined): Backend {
  const env: NodeJS.ProcessEnv = { QDRANT_URL: url, ...(apiKey ? { QDRANT_API_KEY: apiKey } : {}) };
  const raw = new QdrantClient({ url, ...(apiKey ? { headers: { 'api-key': apiKey } } : {}), checkCompatibility: false });
  const config = (over: Partial<QdrantStoreConfig> = {}): QdrantStoreConfig => ({ name: 'qdrant', exact: false, keep: false, ...over });
  return {
    name,
    raw,
    store: (over) => createQdrantStore(config(over), env, TUNING),
    async count(runId, over = {}) {
      const c = config(over);
      const collection = c.collection ?? collectionForRun(runId);
      if (!(await raw.collectionExists(collection)).exists) return 0;
      const filter = c.collection ? { must: [{ key: 'run', match: { value: runId } }] } : undefined;
      return (await raw.count(collection, { exact: true, ...(filter ? { filter } : {}) })).count;
    },
  };
}

/** The contract every backend meets; `get` is called inside tests, after the backend has started. */
function contract(get: () => Backend): void {
  const run = (name: string) => `${RUN_PREFIX}-${get().name}-${name}`;

  test('finds the same neighbours as exactNearest, never the query row itself', async () => {
    const b = get();
    const store = b.store();
    const runId = run('neighbours');
    const res = await store.index(request(runId));
    assert.deepEqual(res, { indexed: N, reused: b.raw === undefined });
    const got = await store.nearest({ ...request(runId), queryIds: ALL_IDS });
    assert.deepEqual(oracle().map((n) => n.id), EXPECTED_ALL, 'hand-worked expectations agree with exactNearest');
    assertNeighbours(got, EXPECTED_ALL);
    got.forEach((n, q) => assert.notEqual(n.id, q, `query ${q} must not be its own neighbour`));
    // The exact duplicates (rows 4 and 5 are the same vector) score 1, the query row itself excluded.
    assert.ok(Math.abs(got[4]!.score - 1) < SCORE_TOLERANCE);
    await store.drop(runId);
  });

  test('breaks ties by the lowest row id, the same way every time, for any subset of queries', async () => {
    const b = get();
    const store = b.store();
    const runId = run('ties');
    await store.index(request(runId));
    const tied = [13, 4, 12, 5, 11, 6, 10];
    const first = await store.nearest({ ...request(runId), queryIds: tied });
    assert.deepEqual(
      first.map((n) => n.id),
      [4, 5, 4, 4, 4, 4, 4],
    );
    const second = await store.nearest({ ...request(runId), queryIds: tied });
    assert.deepEqual(second, first);
    await store.drop(runId);
  });

  test('nearestK: the k nearest other rows, nearest first, ties to the lowest id, −1 past the others', async () => {
    const b = get();
    const store = b.store();
    const runId = run('nearest-k');
    await store.index(request(runId));
    const got = await store.nearestK({ ...request(runId), queryIds: ALL_IDS, k: 3 });
    assert.deepEqual([...got], exactTopK(VECTORS, N, DIM, ALL_IDS, 3));
    // Worked by hand: row 0's nearest are 1 (0.994), 9 (0.6), 3 (0.110); row 4's are its equal rows 5, 6, 10;
    // row 7's are 8, then the rows it is orthogonal to, lowest id first.
    assert.deepEqual([0, 4, 7].map((q) => [...got.subarray(q * 3, q * 3 + 3)]), [[1, 9, 3], [5, 6, 10], [8, 0, 1]]);
    // More than the other rows, for a subset of queries in the order given.
    const all = await store.nearestK({ ...request(runId), queryIds: [13, 2], k: N + 1 });
    assert.deepEqual([...all], exactTopK(VECTORS, N, DIM, [13, 2], N + 1));
    assert.deepEqual([all[N - 1], all[N], all[2 * N + 1]], [-1, -1, -1]);
    await store.drop(runId);
  });

  test('nearestWithKInBatches: the top-1 and the k nearest of the same queries, as nearest and nearestK give them', async () => {
    const b = get();
    const store = b.store();
    const runId = run('nearest-with-k');
    await store.index(request(runId));
    const queries = [13, 0, 4, 7, 2, 9];
    const got = await nearestWithKInBatches(store, request(runId), queries, 3);
    assert.deepEqual(got.nearest.map((n) => n.id), queries.map((q) => EXPECTED_ALL[q]));
    assert.deepEqual([...got.k], exactTopK(VECTORS, N, DIM, queries, 3));
    assert.deepEqual([...got.k], [...(await store.nearestK({ ...request(runId), queryIds: queries, k: 3 }))]);
    await store.drop(runId);
  });

  test('filters candidates by split', async () => {
    const b = get();
    const store = b.store();
    const runId = run('split');
    await store.index(request(runId));
    assert.deepEqual(oracle('sampled').map((n) => n.id), EXPECTED_SAMPLED);
    assert.deepEqual(oracle('unsampled').map((n) => n.id), EXPECTED_UNSAMPLED);
    assertNeighbours(await store.nearest({ ...request(runId), queryIds: ALL_IDS, split: 'sampled' }), EXPECTED_SAMPLED, 'sampled');
    assertNeighbours(await store.nearest({ ...request(runId), queryIds: ALL_IDS, split: 'unsampled' }), EXPECTED_UNSAMPLED, 'unsampled');
    await store.drop(runId);
  });

  test('answers id -1 for a query with no candidate', async () => {
    const b = get();
    const store = b.store();
    const runId = run('lonely');
    const points: StorePoint[] = [
      { id: 0, label: 'a', split: 'sampled' },
      { id: 1, label: 'b', split: 'unsampled' },
    ];
    const vectors = unitMatrix([[1, 0, 0, 0], [0, 1, 0, 0]], DIM);
    await store.index(request(runId, { vectors, points }));
    const got = await store.nearest({ ...request(runId, { vectors, points }), queryIds: [0, 1], split: 'sampled' });
    assert.deepEqual(got[0], { id: -1, score: -Infinity });
    assert.equal(got[1]!.id, 0);
    await store.drop(runId);
  });

  test('re-indexing a run is idempotent: same answer, same point count', async (t) => {
    const b = get();
    const store = b.store();
    const runId = run('reindex');
    const first = await store.index(request(runId));
    const second = await store.index(request(runId));
    assert.deepEqual(second, { indexed: N, reused: true });
    assert.equal(first.indexed, N);
    const count = await b.count(runId);
    if (count === undefined) t.diagnostic(`${b.name} keeps no points of its own`);
    else assert.equal(count, N);
    assertNeighbours(await store.nearest({ ...request(runId), queryIds: ALL_IDS }), EXPECTED_ALL);
    await store.drop(runId);
  });

  test('rejects a dimension mismatch with a clear non-retryable error', async (t) => {
    const b = get();
    if (b.raw === undefined) {
      t.skip(`${b.name} keeps no collection between calls: no stored dimension to mismatch`);
      return;
    }
    const store = b.store();
    const runId = run('dim');
    await store.index(request(runId));
    const narrow = unitMatrix(ROWS.map((r) => r[0].slice(0, 3).map((x) => x + 0.1)), 3);
    await rejectsWith(
      store.index(request(runId, { vectors: narrow, dim: 3 })),
      'DqeVectorDimensionMismatch',
      /holds 4-dimensional vectors but this run's embeddings have 3 dimensions/,
    );
    await rejectsWith(
      store.nearest({ ...request(runId, { vectors: narrow, dim: 3 }), queryIds: [0] }),
      'DqeVectorDimensionMismatch',
      /dimension/i,
    );
    await rejectsWith(
      store.index(request(runId, { vectors: VECTORS.subarray(0, N * DIM - 1) })),
      'DqeVectorDimensionMismatch',
      /55 floats do not make 14 vectors of dimension 4/,
    );
    assert.equal(await b.count(runId), N, 'the rejected calls wrote nothing');
    await store.drop(runId);
  });

  test('drop removes what index created, and may be repeated', async () => {
    const b = get();
    const store = b.store();
    const runId = run('drop');
    await store.index(request(runId));
    await store.drop(runId);
    await store.drop(runId);
    const count = await b.count(runId);
    if (count !== undefined) {
      assert.equal(count, 0);
      assert.equal((await b.raw!.collectionExists(collectionForRun(runId))).exists, false);
      await rejectsWith(store.nearest({ ...request(runId), queryIds: [0] }), 'DqeQdrantCollectionMissing', /doesn't exist|not found/i);
    }
  });
}

/** What only a Qdrant backend has: partial collections, shared collections, auth, retries. */
function qdrantOnly(get: () => Backend): void {
  const run = (name: string) => `${RUN_PREFIX}-${get().name}-${name}`;

  test('a retried index completes a partial collection and removes stale points, never duplicating', async () => {
    const b = get();
    const raw = b.raw!;
    const store = b.store();
    const runId = run('partial/retry:1'); // also exercises name sanitising
    const collection = collectionForRun(runId);
    assert.match(collection, /^dqe_contract-\d+-\d+-.+-partial_retry_1_[0-9a-f]{12}$/);
    // What an attempt that died mid-way leaves: some rows (written in reverse, so the server's own
    // order disagrees with row order), one of them with another label, and a point whose row this
    // run does not have.
    await raw.createCollection(collection, { vectors: { size: DIM, distance: 'Cosine' } });
    const stale = [13, 12, 11, 99].map((row) => ({
      id: row,
      vector: Array.from(VECTORS.subarray((row % N) * DIM, ((row % N) + 1) * DIM)),
      payload: { row, label: row === 13 ? 'x' : POINTS[row % N]!.label, split: POINTS[row % N]!.split, run: runId },
    }));
    await raw.upsert(collection, { wait: true, points: stale });
    const progress: number[] = [];
    const res = await store.index({ ...request(runId), onProgress: (done) => progress.push(done) });
    assert.deepEqual(res, { indexed: N, reused: false });
    assert.equal(await b.count(runId), N);
    assert.equal(progress[0], 2, 'rows 11 and 12, already there as given, count as done; row 13 had a wrong label');
    assert.equal(progress.at(-1), N);
    assertNeighbours(await store.nearest({ ...request(runId), queryIds: ALL_IDS }), EXPECTED_ALL);
    // The rewritten rows carry this run's payload, not the dead attempt's.
    const [p13] = await raw.retrieve(collection, { ids: [13], with_payload: true });
    assert.deepEqual(p13?.payload, { row: 13, label: 'b', split: 'sampled', run: runId });
    assert.deepEqual(await store.index(request(runId)), { indexed: N, reused: true });
    await store.drop(runId);
  });

  test('a shared collection keeps runs apart by their run payload', async () => {
    const b = get();
    const shared = `${RUN_PREFIX}-${b.name}-shared`.replace(/[^A-Za-z0-9_-]/g, '_');
    const over = { collection: shared };
    const store = b.store(over);
    const runA = run('shared-a');
    const runB = run('shared-b');
    // Run B: the same rows with row 5 moved next to row 0, so its answers differ from run A's.
    const rowsB = ROWS.map((r) => r[0]);
    rowsB[5] = [1, 0.01, 0, 0];
    const vectorsB = unitMatrix(rowsB, DIM);
    await store.index(request(runA));
    await store.index(request(runB, { vectors: vectorsB }));
    assert.equal(await b.count(runA, over), N);
    assert.equal(await b.count(runB, over), N);
    assert.equal((await b.raw!.count(shared, { exact: true })).count, 2 * N);
    assertNeighbours(await store.nearest({ ...request(runA), queryIds: ALL_IDS }), EXPECTED_ALL);
    const gotB = await store.nearest({ ...request(runB, { vectors: vectorsB }), queryIds: [0, 4] });
    assert.deepEqual(
      gotB.map((n) => n.id),
      [5, 6],
    );
    // Point ids are per (run, row): a retry rewrites the same ids.
    const [pa] = await b.raw!.retrieve(shared, { ids: [sharedPointId(runA, 3)], with_payload: true });
    assert.deepEqual(pa?.payload, { row: 3, label: 'b', split: 'unsampled', run: runA });
    assert.deepEqual(await store.index(request(runA)), { indexed: N, reused: true });
    await store.drop(runA);
    assert.equal(await b.count(runA, over), 0);
    assert.equal(await b.count(runB, over), N, "dropping run A leaves run B's points");
    await store.drop(runB);
    await b.raw!.deleteCollection(shared);
  });

  test('a collection with another distance is refused', async () => {
    const b = get();
    const runId = run('euclid');
    await b.raw!.createCollection(collectionForRun(runId), { vectors: { size: DIM, distance: 'Euclid' } });
    const store = b.store();
    await rejectsWith(store.index(request(runId)), 'DqeQdrantCollectionMismatch', /uses Euclid distance; dqe needs Cosine/);
    await store.drop(runId);
  });

  test('brute-force and hnsw_ef settings give the same neighbours on a small collection', async () => {
    const b = get();
    const runId = run('params');
    await b.store().index(request(runId));
    assertNeighbours(await b.store({ exact: true }).nearest({ ...request(runId), queryIds: ALL_IDS }), EXPECTED_ALL);
    assertNeighbours(await b.store({ hnswEf: 128 }).nearest({ ...request(runId), queryIds: ALL_IDS }), EXPECTED_ALL);
    await b.store().drop(runId);
  });
}

describe('vector store contract: embedded', () => {
  const embedded: Backend = {
    name: 'embedded',
    store: () => createVectorStore({ name: 'embedded' }, {}),
    count: () => Promise.resolve(undefined),
  };
  contract(() => embedded);
});

describe('vector store contract: qdrant via the loopback test endpoint', () => {
  const API_KEY = 'contract-test-key';
  let shim: QdrantShim | undefined;
  let backend: Backend | undefined;
  before(async () => {
    shim = await startQdrantShim({ apiKey: API_KEY });
    backend = qdrantBackend('shim', shim.url, API_KEY);
  });
  after(async () => {
    await shim?.stop();
  });
  const get = () => backend!;
  contract(get);
  qdrantOnly(get);

  test('the factory builds the qdrant store from QDRANT_URL and QDRANT_API_KEY', async () => {
    const store = createVectorStore({ name: 'qdrant', exact: false, keep: false }, { QDRANT_URL: shim!.url, QDRANT_API_KEY: API_KEY });
    assert.equal(store.name, 'qdrant');
    const runId = `${RUN_PREFIX}-factory`;
    assert.deepEqual(await store.index(request(runId)), { indexed: N, reused: false });
    await store.drop(runId);
  });

  test('a wrong API key is a non-retryable failure that names QDRANT_API_KEY', async () => {
    const store = createQdrantStore({ name: 'qdrant', exact: false, keep: false }, { QDRANT_URL: shim!.url, QDRANT_API_KEY: 'wrong' }, TUNING);
    await rejectsWith(store.index(request(`${RUN_PREFIX}-auth`)), 'DqeQdrantUnauthorized', /refused the API key \(401.*QDRANT_API_KEY/);
  });

  test('no QDRANT_URL is a non-retryable configuration failure', async () => {
    const store = createQdrantStore({ name: 'qdrant', exact: false, keep: false }, {}, TUNING);
    await rejectsWith(store.index(request(`${RUN_PREFIX}-nourl`)), 'DqeQdrantNotConfigured', /set QDRANT_URL/);
  });

  test('transient 503 and 429 answers are retried; a fault that outlasts the retries stays retryable', async () => {
    const b = get();
    const store = b.store();
    const runId = `${RUN_PREFIX}-faults`;
    await shim!.injectFaults(503, 2);
    assert.deepEqual(await store.index(request(runId)), { indexed: N, reused: false });
    await shim!.injectFaults(429, 1, 0);
    assertNeighbours(await store.nearest({ ...request(runId), queryIds: ALL_IDS }), EXPECTED_ALL);
    await shim!.injectFaults(502, TUNING.maxAttempts!);
    await rejectsWith(store.drop(runId), 'DqeQdrantUnavailable', /still failing after 4 attempts/, false);
    await store.drop(runId);
    assert.equal(await b.count(runId), 0);
  });

  test("Qdrant Edge's HNSW index serves a collection past the indexing threshold", async (t) => {
    // 400 random 64-d rows (100 KB of vectors, past the shim's 1 KB indexing threshold): the engine
    // builds an HNSW graph for them before the first query, and non-exact queries walk it. With ef
    // above the row count an unfiltered walk reaches every row, so it finds the exact neighbours. A
    // filtered walk (a third of the rows are candidates) can miss: that is HNSW's, and shows the graph
    // is what answers. How many depends on the graph the engine built (its threads and random levels:
    // seen 1 of 400 queries, and 195 once with two test suites on the 2 cores), so the test reports it
    // and checks only that every answer is a sampled other row. exact: true scans, and always agrees
    // with exactNearest.
    const [rows, dim] = [400, 64];
    const rng = new Rng(17);
    const vectors = unitMatrix(Array.from({ length: rows }, () => Array.from({ length: dim }, () => rng.nextGaussian())), dim);
    const points: StorePoint[] = Array.from({ length: rows }, (_, id) => ({ id, label: 'a', split: id % 3 === 0 ? 'sampled' : 'unsampled' }));
    const ids = points.map((p) => p.id);
    const isSampled = (i: number) => points[i]!.split === 'sampled';
    const req = { runId: `${RUN_PREFIX}-hnsw`, vectors, dim, points };
    const before = await shim!.stats();
    assert.match(before.engine, /^qdrant-edge-py \d/);
    const hnsw = get().store({ hnswEf: 2 * rows });
    await hnsw.index(req);
    const all = await hnsw.nearest({ ...req, queryIds: ids });
    assert.deepEqual(all.map((n) => n.id), exactNearest(vectors, rows, dim, ids).map((n) => n.id));
    const info = await get().raw!.getCollection(collectionForRun(req.runId));
    assert.equal(info.indexed_vectors_count, rows, 'every point is in an HNSW-indexed segment');
    const mid = await shim!.stats();
    assert.equal(mid.indexedQueries - before.indexedQueries, rows, 'each query ran on the HNSW-indexed collection');
    const exactSampled = exactNearest(vectors, rows, dim, ids, isSampled).map((n) => n.id);
    const filtered = await hnsw.nearest({ ...req, queryIds: ids, split: 'sampled' });
    const misses = filtered.filter((n, i) => n.id !== exactSampled[i]);
    t.diagnostic(`HNSW with the split filter: ${misses.length} of ${rows} queries missed the exact neighbour`);
    filtered.forEach((n, i) => assert.ok(isSampled(n.id) && n.id !== i, `query ${i} got row ${n.id}, not a sampled other row`));
    const scan = await get().store({ exact: true }).nearest({ ...req, queryIds: ids, split: 'sampled' });
    assert.deepEqual(scan.map((n) => n.id), exactSampled);
    const end = await shim!.stats();
    assert.equal(end.unindexedQueries - mid.unindexedQueries, rows, 'the exact queries scanned');
    await hnsw.drop(req.runId);
  });

  test('an unreachable server is retried, then reported as retryable', async () => {
    // Port 9 (discard) on loopback: nothing listens there, so every connection is refused at once.
    const store = createQdrantStore({ name: 'qdrant', exact: false, keep: false }, { QDRANT_URL: 'http://127.0.0.1:9' }, TUNING);
    const err = await rejectsWith(store.drop(`${RUN_PREFIX}-down`), 'DqeQdrantUnavailable', /still failing after 4 attempts/, false);
    assert.match(err.message, /ECONNREFUSED|fetch failed/);
  });
});

describe('vector store contract: real Qdrant (QDRANT_URL)', () => {
  const url = process.env['QDRANT_URL'];
  if (!url) {
    test('real Qdrant', (t) => {
      t.skip('QDRANT_URL not set: real Qdrant part skipped');
    });
    return;
  }
  const backend = qdrantBackend('real', url, process.env['QDRANT_API_KEY'] || undefined);
  contract(() => backend);
  qdrantOnly(() => backend);
});
