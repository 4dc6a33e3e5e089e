// Embeddings from any OpenAI-compatible /v1/embeddings endpoint (OpenAI, vLLM, TEI, Ollama, Infinity):
// batched, retried with backoff (adapters/http-retry.ts), width-checked and L2-normalised. The embed
// activity keeps `concurrency` batches in flight and caches vectors by content hash.
import { dqeFailure } from '../failure.js';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import { DEFAULT_RETRY_POLICY, MalformedResponseError, remoteFailure, withRetries, type RetryHooks, type RetryPolicy } from '../http-retry.js';
import { createOpenAIClient, type EndpointConfig } from '../openai-client.js';
import type { Embedder } from './types.js';


export interface OpenAIEmbedderOptions {
  model: string;
  endpoint: EndpointConfig;
  /** Texts per request. */
  batchSize: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Width to ask for (models that support `dimensions`); every vector must then have it. */
  dimensions?: number | undefined;
  /** Retries of one request after transient faults. */
  maxRetries: number;
  timeoutMs: number;
  /** Backoff tuning (tests shorten it). @default DEFAULT_RETRY_POLICY */
  retry?: Partial<Omit<RetryPolicy, 'maxRetries'>>;
  /** Called before each retry wait, so the activity can heartbeat through long waits. */
  onRetry?: RetryHooks['onRetry'];
}

function l2normalise(values: readonly number[]): Float32Array {
  let norm = 0;
  for (const x of values) norm += x * x;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return Float32Array.from(values, (x) => x * inv);
}

/** The vectors of a 2xx answer in input order, or a MalformedResponseError (retried like a 5xx). */
function vectorsOf(res: unknown, count: number): number[][] {
  const data = (res as Partial<CreateEmbeddingResponse> | null)?.data;
  if (!Array.isArray(data)) throw new MalformedResponseError(`not an embeddings response: ${JSON.stringify(res)?.slice(0, 120) ?? String(res)}`);
  if (data.length !== count) throw new MalformedResponseError(`${data.length} vectors for ${count} texts`);
  const out: number[][] = new Array<number[]>(count);
  data.forEach((d, i) => {
    const index = typeof d?.index === 'number' ? d.index : i;
    const v = d?.embedding as unknown;
    if (!Number.isInteger(index) || index < 0 || index >= count || out[index]) throw new MalformedResponseError(`bad or repeated index ${String(index)}`);
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new MalformedResponseError(`vector ${index} is not a non-empty array of finite numbers`);
    }
    out[index] = v as number[];
  });
  return out;
}

export function createOpenAIEmbedder(opts: OpenAIEmbedderOptions): Embedder {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.retry, maxRetries: opts.maxRetries };
  const what = `embedder "openai" (model ${opts.model} at ${opts.endpoint.baseUrl})`;
  const client = createOpenAIClient(opts.endpoint, opts.timeoutMs, what);
  let width = opts.dimensions;
  return {
    // The endpoint is part of the identity: one model name can mean different weights on two servers.
    id: `openai:${opts.endpoint.baseUrl}:${opts.model}:${opts.dimensions ?? 'native'}`,
    batchSize: opts.batchSize,
    concurrency: opts.concurrency,
    async embed(texts, signal) {
      let vectors: number[][];
      try {
        vectors = await withRetries(
          what,
          async () => {
            const res = await client.embeddings.create(
              { model: opts.model, input: [...texts], encoding_format: 'float', ...(opts.dimensions ? { dimensions: opts.dimensions } : {}) },
              signal ? { signal } : {},
            );
            return vectorsOf(res, texts.length);
          },
          policy,
          { signal, secret: opts.endpoint.apiKey, ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) },
        );
      } catch (err) {
        throw remoteFailure(what, err, opts.endpoint.apiKey);
      }
      return vectors.map((v) => {
        if (width !== undefined && v.length !== width) {
          const asked = opts.dimensions !== undefined ? `asked for ${opts.dimensions} dimensions` : `earlier vectors had ${width} dimensions`;
          throw dqeFailure('DqeEmbedderDimensionMismatch', `${what}: ${asked}, the endpoint returned ${v.length}`);
        }
        width = v.length;
        return l2normalise(v);
      });
    },
  };
}
