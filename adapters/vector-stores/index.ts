// Builds the configured vector store; the only place that maps store names to implementations.
import type { VectorStoreConfig } from '../../core/input.js';
import { createEmbeddedStore } from './embedded.js';
import { createQdrantStore } from './qdrant.js';
import type { VectorStore } from './types.js';

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
