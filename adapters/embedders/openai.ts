// Embeddings from any OpenAI-compatible /v1/embeddings endpoint (OpenAI, vLLM, TEI, Ollama, Infinity).
import OpenAI from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import type { Embedder } from './types.js';

export interface OpenAIEmbedderOptions {
  model: string;
  baseUrl?: string | undefined;
  batchSize: number;
  dimensions?: number | undefined;
  /** From the worker's environment only; never from the workflow input. */
  apiKey?: string | undefined;
  /** Retries inside one activity attempt (429/5xx/network, honouring Retry-After). */
  maxRetries?: number;
}

function l2normalise(values: readonly number[]): Float32Array {
  let norm = 0;
  for (const x of values) norm += x * x;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return Float32Array.from(values, (x) => x * inv);
}

export function createOpenAIEmbedder(opts: OpenAIEmbedderOptions): Embedder {
  const client = new OpenAI({
    apiKey: opts.apiKey ?? 'unused',
    baseURL: opts.baseUrl,
    maxRetries: opts.maxRetries ?? 4,
  });
  let dim: number | undefined;
  return {
    id: `openai:${opts.baseUrl ?? 'default'}:${opts.model}:${opts.dimensions ?? 'native'}`,
    batchSize: opts.batchSize,
    async embed(texts, signal) {
      let res;
      try {
        res = await client.embeddings.create(
          { model: opts.model, input: [...texts], ...(opts.dimensions ? { dimensions: opts.dimensions } : {}), encoding_format: 'float' },
          signal ? { signal } : {},
        );
      } catch (err) {
        if (err instanceof OpenAI.APIError && (err.status === 401 || err.status === 403 || err.status === 404 || err.status === 400)) {
          throw ApplicationFailure.nonRetryable(`embeddings endpoint refused the request (${err.status}): ${err.message}`, 'DqeEmbedderRefused');
        }
        throw err;
      }
      const data = [...res.data].sort((a, b) => a.index - b.index);
      if (data.length !== texts.length) {
        throw ApplicationFailure.retryable(`embeddings endpoint returned ${data.length} vectors for ${texts.length} texts`, 'DqeEmbedderBadResponse');
      }
      return data.map((d) => {
        const v = d.embedding;
        dim ??= v.length;
        if (v.length !== dim) {
          throw ApplicationFailure.nonRetryable(`embeddings endpoint returned width ${v.length} after ${dim}`, 'DqeEmbedderDimensionMismatch');
        }
        return l2normalise(v);
      });
    },
  };
}
