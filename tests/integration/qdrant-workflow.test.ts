// A whole dqe run with vectorStore qdrant (against the Qdrant-compatible test endpoint, answered by Qdrant
// Edge's engine with HNSW) gives the same categories and final set as the embedded index, and leaves no
// collection behind.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Report } from '../../core/run-layout.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { startQdrantShim, type QdrantShim } from '../qdrant-shim/start.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

let t: TestTemporal;
let shim: QdrantShim;
let dir: string;
before(async () => {
  [t, shim] = await Promise.all([testTemporal(), startQdrantShim()]);
  dir = await mkdtemp(join(tmpdir(), 'dqe-qdrant-wf-'));
  await writeFile(join(dir, 'spam.jsonl'), spamAssassinJsonl({ limit: 400 }));
});
after(async () => {
  await shim.stop();
  await t.close();
});

test('qdrant and the embedded index give the same categories and final set', async () => {
  const taskQueue = uniqueId('dqe-qdrant');
  const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: { QDRANT_URL: shim.url } } });
  const run = (vectorStore: string, out: string) =>
    t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId(`dqe-${vectorStore}`), args: [{ dataset: join(dir, 'spam.jsonl'), outputDir: join(dir, out), seed: 2, vectorStore }] });
  await worker.runUntil(async () => {
    await run('embedded', 'embedded');
    await run('qdrant', 'qdrant');
  });
  const read = (out: string, f: string) => readFile(join(dir, out, f), 'utf8');
  const categories = (text: string) => text.trim().split('\n').map((l) => {
    const c = JSON.parse(l) as { id: number; category: string; neighbour: { id: number } };
    return [c.id, c.category, c.neighbour.id];
  });
  const embeddedCategories = categories(await read('embedded', 'categories.jsonl'));
  assert.ok(embeddedCategories.length > 0, 'the run has wrong predictions to categorise');
  assert.deepEqual(categories(await read('qdrant', 'categories.jsonl')), embeddedCategories);
  assert.equal(await read('qdrant', 'final.jsonl'), await read('embedded', 'final.jsonl'));
  const [e, q] = [JSON.parse(await read('embedded', 'report.json')) as Report, JSON.parse(await read('qdrant', 'report.json')) as Report];
  assert.deepEqual(q.counts, e.counts);
  assert.equal(q.vectorStore.name, 'qdrant');
  // The neighbour queries ran on Qdrant's HNSW index, not a full scan: the run's vectors are past the
  // shim's indexing threshold, so the engine indexed them before the first query.
  const stats = await shim.stats();
  assert.match(stats.engine, /^qdrant-edge-py /);
  assert.ok(stats.indexedQueries >= embeddedCategories.length, `${stats.indexedQueries} HNSW queries for ${embeddedCategories.length} categorised rows`);
  assert.equal(stats.unindexedQueries, 0);
  // The run's collection was dropped once categorising was done.
  const { collections } = await new QdrantClient({ url: shim.url, checkCompatibility: false }).getCollections();
  assert.deepEqual(collections, []);
});
