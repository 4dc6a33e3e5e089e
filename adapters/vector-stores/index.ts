// Builds the configured vector store; the only place that maps store names to implementations.
import type { Neighbour } from '../../core/categorise.js';
import type { VectorStoreConfig } from '../../core/input.js';
import { createEmbeddedStore } from './embedded.js';
import { createQdrantStore } from './qdrant.js';
import type { NearestKRequest, NearestRequest, VectorStore } from './types.js';

export type { VectorStore, StorePoint } from './types.js';

export function createVectorStore(config: VectorStoreConfig, env: NodeJS.ProcessEnv): VectorStore {
  switch (config.name) {
    case 'embedded':
      return createEmbeddedStore(config);
    case 'qdrant':
      // QDRANT_URL and QDRANT_API_KEY come from the worker's environment, never from the workflow input.
      return createQdrantStore(config, env);
  }
}

/** First batch of `nearestInBatches`, and its largest; a batch doubles while one takes under `BATCH_SECONDS`. */
const FIRST_BATCH = 256;
const MAX_BATCH = 8192;
const BATCH_SECONDS = 2;

/**
 * Runs `ask` over [0, total) in batches that grow from 256 to 8192 while a batch answers in under 2 s: the
 * IVF index scans each list once per batch, so a large batch shares each list's int8 product among many
 * queries, while a slow store (the exact scan at a million rows) keeps small batches and so frequent
 * `onBatch` calls (the activities heartbeat there).
 */
async function inGrowingBatches(total: number, ask: (start: number, size: number) => Promise<void>, onBatch?: (done: number, total: number) => void): Promise<void> {
  let size = FIRST_BATCH;
  for (let i = 0; i < total; ) {
    const n = Math.min(size, total - i);
    const started = performance.now();
    await ask(i, n);
    i += n;
    onBatch?.(i, total);
    if ((performance.now() - started) / 1000 < BATCH_SECONDS) size = Math.min(MAX_BATCH, size * 2);
  }
}

/** Top-1 neighbours of `queryIds` asked of `store` in growing batches (`inGrowingBatches`). */
export async function nearestInBatches(
  store: VectorStore,
  req: Omit<NearestRequest, 'queryIds'>,
  queryIds: readonly number[],
  onBatch?: (done: number, total: number) => void,
): Promise<Neighbour[]> {
  const out: Neighbour[] = [];
  await inGrowingBatches(queryIds.length, async (start, size) => void out.push(...(await store.nearest({ ...req, queryIds: queryIds.slice(start, start + size) }))), onBatch);
  return out;
}

/** The `k` nearest other rows of `queryIds` (queries × k ids, as `VectorStore.nearestK`) asked of `store` in growing batches. */
export async function nearestKInBatches(
  store: VectorStore,
  req: Omit<NearestKRequest, 'queryIds' | 'k'>,
  queryIds: readonly number[],
  k: number,
  onBatch?: (done: number, total: number) => void,
): Promise<Int32Array> {
  const out = new Int32Array(queryIds.length * k);
  await inGrowingBatches(queryIds.length, async (start, size) => out.set(await store.nearestK({ ...req, k, queryIds: queryIds.slice(start, start + size) }), start * k), onBatch);
  return out;
}

/**
 * The top-1 and the `k` nearest other rows of `queryIds` (as `nearestInBatches` and `nearestKInBatches`) in growing
 * batches: from one search where the store has `nearestWithK`, else asking `nearest` and `nearestK` in turn.
 */
export async function nearestWithKInBatches(
  store: VectorStore,
  req: Omit<NearestKRequest, 'queryIds' | 'k'>,
  queryIds: readonly number[],
  k: number,
  onBatch?: (done: number, total: number) => void,
): Promise<{ nearest: Neighbour[]; k: Int32Array }> {
  const nearest: Neighbour[] = [];
  const out = new Int32Array(queryIds.length * k);
  await inGrowingBatches(
    queryIds.length,
    async (start, size) => {
      const batch = { ...req, k, queryIds: queryIds.slice(start, start + size) };
      const got = store.nearestWithK ? await store.nearestWithK(batch) : { nearest: await store.nearest(batch), k: await store.nearestK(batch) };
      nearest.push(...got.nearest);
      out.set(got.k, start * k);
    },
    onBatch,
  );
  return { nearest, k: out };
}
