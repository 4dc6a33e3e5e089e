// Builds the `openai` client for dqe's judge and embedder from the worker's environment only: the
// package would otherwise read OPENAI_* variables from process.env behind our back.
import OpenAI from 'openai';
import { dqeFailure } from './failure.js';

/** OpenAI's own endpoint, used when neither the input's `baseUrl` nor OPENAI_BASE_URL names one. */
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * Sent as the bearer token to endpoints that need none (vLLM, Ollama, a local TEI): the package refuses
 * to run without a key, and servers without auth ignore it. vLLM's documentation uses the same word.
 */
const NO_KEY = 'EMPTY';

export interface EndpointConfig {
  /** Base URL with its /v1 suffix. */
  baseUrl: string;
  apiKey: string | undefined;
}

/** The endpoint and key: the input's `baseUrl`, else OPENAI_BASE_URL, else OpenAI; the key from OPENAI_API_KEY only. */
export function endpointFromEnv(baseUrl: string | undefined, env: NodeJS.ProcessEnv): EndpointConfig {
  const fromEnv = env.OPENAI_BASE_URL?.trim();
  const key = env.OPENAI_API_KEY?.trim();
  return { baseUrl: baseUrl ?? (fromEnv ? fromEnv : DEFAULT_OPENAI_BASE_URL), apiKey: key ? key : undefined };
}

/**
 * A client with the package's own retries off (adapters/http-retry.ts does them) and nothing read from
 * process.env. `what` names the caller in the failure thrown when OpenAI's endpoint is used without a key.
 */
export function createOpenAIClient(endpoint: EndpointConfig, timeoutMs: number, what: string): OpenAI {
  if (endpoint.apiKey === undefined && new URL(endpoint.baseUrl).hostname === new URL(DEFAULT_OPENAI_BASE_URL).hostname) {
    throw dqeFailure('DqeRemoteUnauthorized', `${what}: OPENAI_API_KEY is not set in the worker's environment, and ${endpoint.baseUrl} needs it (set it on the worker, never in the workflow input)`);
  }
  return new OpenAI({
    apiKey: endpoint.apiKey ?? NO_KEY,
    baseURL: endpoint.baseUrl,
    maxRetries: 0,
    timeout: timeoutMs,
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
  });
}
