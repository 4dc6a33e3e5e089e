// The offline default embedder: hashed word n-grams, no download, no network, deterministic.
import { hashEmbedInto } from '../../core/hash-embedding.js';
import type { Embedder } from './types.js';

/** Version of the hashing scheme; bump it when the features change so caches do not mix. */
const HASH_EMBEDDER_VERSION = 1;

export function createHashEmbedder(dim: number): Embedder {
  return {
    id: `hash-v${HASH_EMBEDDER_VERSION}-d${dim}`,
    batchSize: 256,
    // CPU-bound and synchronous: more batches in flight would not run any sooner.
    concurrency: 1,
    threaded: true,
    embed(texts) {
      return Promise.resolve(
        texts.map((t) => {
          const v = new Float32Array(dim);
          hashEmbedInto(t, dim, v, 0);
          return v;
        }),
      );
    },
  };
}
