// Builds the configured embedder; the only place that maps embedder names to implementations.
import type { EmbedderConfig } from '../../core/input.js';
import type { RetryHooks } from '../http-retry.js';
import { endpointFromEnv } from '../openai-client.js';
import { createHashEmbedder } from './hash.js';
import { createMinilmEmbedder } from './minilm.js';
import { createOpenAIEmbedder } from './openai.js';
import type { Embedder } from './types.js';

export type { Embedder } from './types.js';

export interface EmbedderHooks {
  /** Called before a remote embedder waits to retry, so the activity can heartbeat through the wait. */
  onRetry?: RetryHooks['onRetry'];
}

/** `env` is the worker's environment (OPENAI_API_KEY, OPENAI_BASE_URL), never the workflow input. */
export function createEmbedder(config: EmbedderConfig, env: NodeJS.ProcessEnv, hooks: EmbedderHooks = {}): Embedder {
  switch (config.name) {
    case 'minilm':
      return createMinilmEmbedder({ precision: config.precision, batchTokens: config.batchTokens, threads: config.threads });
    case 'hash':
      return createHashEmbedder(config.dim);
    case 'openai':
      return createOpenAIEmbedder({
        model: config.model,
        endpoint: endpointFromEnv(config.baseUrl, env),
        batchSize: config.batchSize,
        concurrency: config.concurrency,
        dimensions: config.dimensions,
        maxRetries: config.maxRetries,
        timeoutMs: config.timeoutMs,
        ...(hooks.onRetry ? { onRetry: hooks.onRetry } : {}),
      });
  }
}
