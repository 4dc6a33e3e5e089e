// Builds the configured vector store; the only place that maps store names to implementations.
import type { Neighbour } from '../../core/categorise.js';
import type { VectorStoreConfig } from '../../core/input.js';
import { createEmbeddedStore } from './embedded.js';
import { createQdrantStore } from './qdrant.js';
import type { NearestRequest, VectorStore } from './types.js';

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
 * Neighbours of `queryIds` asked of `store` in batches that grow from 256 to 8192 queries while a batch
 * answers in under 2 s: the IVF index scans each list once per batch, so a large batch shares each list's
 * int8 product among many queries, while a slow store (the exact scan at a million rows) keeps small
 * batches and so frequent `onBatch` calls (the categorise activity heartbeats there).
 */
export async function nearestInBatches(
  store: VectorStore,
  req: Omit<NearestRequest, 'queryIds'>,
  queryIds: readonly number[],
  onBatch?: (done: number, total: number) => void,
): Promise<Neighbour[]> {
  const out: Neighbour[] = [];
  let size = FIRST_BATCH;
  for (let i = 0; i < queryIds.length; ) {
    const batch = queryIds.slice(i, i + size);
    const started = performance.now();
    out.push(...(await store.nearest({ ...req, queryIds: batch })));
    i += batch.length;
    onBatch?.(i, queryIds.length);
    if ((performance.now() - started) / 1000 < BATCH_SECONDS) size = Math.min(MAX_BATCH, size * 2);
  }
  return out;
}
