// Builds the configured embedder; the only place that maps embedder names to implementations.
import type { EmbedderConfig } from '../../core/input.js';
import { createHashEmbedder } from './hash.js';
import { createOpenAIEmbedder } from './openai.js';
import type { Embedder } from './types.js';

export type { Embedder } from './types.js';

export function createEmbedder(config: EmbedderConfig, env: NodeJS.ProcessEnv): Embedder {
  switch (config.name) {
    case 'hash':
      return createHashEmbedder(config.dim);
    case 'openai':
      return createOpenAIEmbedder({
        model: config.model,
        baseUrl: config.baseUrl ?? env.OPENAI_BASE_URL,
        batchSize: config.batchSize,
        dimensions: config.dimensions,
        apiKey: env.OPENAI_API_KEY,
      });
  }
}
