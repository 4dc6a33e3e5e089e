// Builds the configured judge; the only place that maps judge names to implementations.
import type { JudgeConfig } from '../../core/input.js';
import { endpointFromEnv } from '../openai-client.js';
import { createOfflineJudge } from './offline.js';
import { createOpenAIJudge } from './openai.js';
import type { Judge } from './types.js';

export type { Judge, NoisyPair, PairRow } from './types.js';

/** `env` is the worker's environment (OPENAI_API_KEY, OPENAI_BASE_URL); `cacheDir` the cache folder shared by runs. */
export function createJudge(config: JudgeConfig, env: NodeJS.ProcessEnv, cacheDir: string): Judge {
  switch (config.name) {
    case 'offline':
      return createOfflineJudge(config);
    case 'openai':
      return createOpenAIJudge({
        model: config.model,
        endpoint: endpointFromEnv(config.baseUrl, env),
        concurrency: config.concurrency,
        labelDescriptions: config.labelDescriptions ?? {},
        maxRetries: config.maxRetries,
        invalidAnswerRetries: config.invalidAnswerRetries,
        timeoutMs: config.timeoutMs,
        maxTextChars: config.maxTextChars,
        temperature: config.temperature,
        price: config.price,
        cacheDir,
      });
  }
}
