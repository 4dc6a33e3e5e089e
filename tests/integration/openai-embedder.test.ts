// The `openai` embedder against a scripted OpenAI-compatible server on loopback: request shape,
// retries (429 with Retry-After, 5xx, malformed bodies), non-retryable refusals, the width check; then
// a dqe run embedding real SpamAssassin mails through it with batches in flight at once, in order,
// and a second run served from the embedding cache.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createEmbedder } from '../../adapters/embedders/index.js';
import { createOpenAIEmbedder, type OpenAIEmbedderOptions } from '../../adapters/embedders/openai.js';
import { readJsonlAll } from '../../adapters/files.js';
import type { KeptRow } from '../../activities/refs.js';
import { hashEmbedInto } from '../../core/hash-embedding.js';
import { parseDqeInput } from '../../core/input.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { apiError, startOpenAIServer, type EmbeddingsCall, type OpenAIServer, type OpenAIServerOptions, type ScriptedReply } from '../helpers/openai-server.js';
import { filesContaining, historyStrings } from '../helpers/secrets.js';
import { testTemporal, uniqueId } from '../helpers/temporal.js';

const KEY = 'sk-test-dqe-embed-9d8c7b6a5f4e';
const MODEL = 'text-embedding-3-small';
/** Width of the scripted server's vectors. */
const DIM = 64;
const FAST = { initialDelayMs: 50, maxDelayMs: 200 };

/** The server's vector for a text: hashed n-grams, scaled by 3 so the client's normalisation shows. */
function serverVector(text: string, dim = DIM): number[] {
  const v = new Float32Array(dim);
  hashEmbedInto(text, dim, v, 0);
  return Array.from(v, (x) => 3 * x);
}

function unit(v: readonly number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => (n > 0 ? x / n : 0));
}

/** An embeddings response, listed in reverse index order (the client must sort by `index`). */
function vectors(call: EmbeddingsCall, dim = DIM): ScriptedReply {
  const data = call.body.input.map((t, index) => ({ object: 'embedding', index, embedding: serverVector(t, dim) })).reverse();
  return { json: { object: 'list', model: call.body.model, data, usage: { prompt_tokens: 1, total_tokens: 1 } } };
}

const texts = spamAssassinJsonl({ limit: 40 }).trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);

async function caught(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => assert.fail('should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  return err;
}

function close(actual: Float32Array, expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((x, i) => assert.ok(Math.abs(actual[i]! - x) < 1e-6, `component ${i}: ${actual[i]} vs ${x}`));
}

describe('openai embedder against a scripted endpoint', () => {
  const servers: OpenAIServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function server(embeddings: NonNullable<OpenAIServerOptions['embeddings']>): Promise<OpenAIServer> {
    const s = await startOpenAIServer({ apiKey: KEY, embeddingModel: MODEL, knownTexts: new Map(texts.map((t) => [t, ''])), embeddings });
    servers.push(s);
    return s;
  }

  function embedder(s: OpenAIServer, o: Partial<OpenAIEmbedderOptions> = {}) {
    return createOpenAIEmbedder({ model: MODEL, endpoint: { baseUrl: s.url, apiKey: KEY }, batchSize: 8, concurrency: 2, maxRetries: 3, timeoutMs: 10_000, retry: FAST, ...o });
  }

  test('sends the batch with the model and width asked for, and returns unit vectors in input order', async () => {
    const s = await server((call) => vectors(call, 32));
    const input = parseDqeInput({ dataset: 'x.jsonl', embedder: { name: 'openai', baseUrl: s.url, dimensions: 32 } });
    assert.ok(input.ok);
    const e = createEmbedder(input.config.embedder, { OPENAI_API_KEY: KEY });
    assert.equal(e.id, `openai:${s.url}:${MODEL}:32`);
    assert.equal(e.batchSize, 128);
    assert.equal(e.concurrency, 4);
    const out = await e.embed(texts.slice(0, 5));
    assert.deepEqual(s.problems, []);
    assert.equal(s.embeddingsCalls.length, 1);
    assert.deepEqual(s.embeddingsCalls[0]!.body, { model: MODEL, input: texts.slice(0, 5), encoding_format: 'float', dimensions: 32 });
    out.forEach((v, i) => close(v, unit(serverVector(texts[i]!, 32))));
  });

  test('429 with Retry-After is waited out; 500 and malformed bodies are retried with backoff', async () => {
    const s = await server((call) =>
      call.n === 1
        ? apiError(429, 'Rate limit reached', { 'retry-after': '1' })
        : call.n === 2
          ? apiError(500, 'boom')
          : call.n === 3
            ? { raw: '{"object": "list", "data": [' }
            : call.n === 4
              ? { json: { object: 'list', data: [{ index: 0, embedding: [1, 2] }] } }
              : vectors(call),
    );
    const waits: number[] = [];
    const out = await embedder(s, { maxRetries: 4, onRetry: ({ delayMs }) => waits.push(delayMs) }).embed(texts.slice(0, 3));
    assert.deepEqual(s.problems, []);
    assert.equal(s.embeddingsCalls.length, 5);
    assert.ok(s.embeddingsCalls[1]!.at - s.embeddingsCalls[0]!.at >= 1000, 'Retry-After honoured');
    assert.equal(waits.length, 4);
    assert.equal(waits[0], 1000);
    out.forEach((v, i) => close(v, unit(serverVector(texts[i]!))));
  });

  test('401, 403 and 404 fail at once, non-retryable, with the key scrubbed', async () => {
    for (const [status, type] of [
      [401, 'DqeRemoteUnauthorized'],
      [403, 'DqeRemoteForbidden'],
      [404, 'DqeRemoteNotFound'],
    ] as const) {
      const s = await server(() => apiError(status, `refused ${KEY}`));
      const err = await caught(embedder(s).embed(texts.slice(0, 2)));
      assert.equal(err.type, type);
      assert.equal(err.nonRetryable, true);
      assert.ok(err.message.startsWith(`embedder "openai" (model ${MODEL} at ${s.url}): `), err.message);
      assert.ok(err.message.includes(`(${status} refused [redacted])`), err.message);
      assert.equal(s.embeddingsCalls.length, 1);
    }
  });

  test('vectors of another width than asked for, or a width that changes, fail non-retryably', async () => {
    const s = await server((call) => vectors(call, 16));
    const err = await caught(embedder(s, { dimensions: 8 }).embed(texts.slice(0, 2)));
    assert.equal(err.type, 'DqeEmbedderDimensionMismatch');
    assert.equal(err.nonRetryable, true);
    assert.equal(err.message, `embedder "openai" (model ${MODEL} at ${s.url}): asked for 8 dimensions, the endpoint returned 16`);

    const t = await server((call) => vectors(call, call.n === 1 ? 16 : 24));
    const e = embedder(t);
    await e.embed(texts.slice(0, 2));
    const changed = await caught(e.embed(texts.slice(2, 4)));
    assert.equal(changed.type, 'DqeEmbedderDimensionMismatch');
    assert.equal(changed.message, `embedder "openai" (model ${MODEL} at ${t.url}): earlier vectors had 16 dimensions, the endpoint returned 24`);
  });
});

describe('a dqe run with embedder "openai" on the dev server', () => {
  let t: Awaited<ReturnType<typeof testTemporal>>;
  let s: OpenAIServer;
  let dir: string;
  let dataset: string;
  const taskQueue = uniqueId('dqe-openai-embed');
  const BATCH = 16;
  const CONCURRENCY = 3;

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-openai-embed-'));
    dataset = join(dir, 'spam.jsonl');
    const data = spamAssassinJsonl({ limit: 300 });
    await writeFile(dataset, data);
    s = await startOpenAIServer({
      apiKey: KEY,
      embeddingModel: MODEL,
      knownTexts: new Map(data.trim().split('\n').map((l) => [(JSON.parse(l) as { text: string }).text, ''])),
      // Every third batch answers slowest, so batches finish out of order and the writer must reorder.
      embeddings: (call) => ({ ...vectors(call), delayMs: call.n % 3 === 1 ? 120 : 20 }),
    });
  });
  after(async () => {
    await s.close();
    await t.close();
  });

  test('keeps `concurrency` batches in flight, writes rows in order, and a second run embeds nothing', async () => {
    const cacheDir = join(dir, 'cache');
    const run = async (name: string) => {
      const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir, env: { OPENAI_API_KEY: KEY } } });
      const workflowId = uniqueId(`dqe-embed-${name}`);
      const outputDir = join(dir, name);
      const input = { dataset, outputDir, embedder: { name: 'openai', model: MODEL, baseUrl: s.url, batchSize: BATCH, concurrency: CONCURRENCY } };
      await worker.runUntil(t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [input] }));
      const work = join(outputDir, 'work');
      const names = await readdir(work);
      const embed = JSON.parse(await readFile(join(work, names.find((n) => /^embed\.[0-9a-f]+\.json$/u.test(n))!), 'utf8')) as {
        matrix: { path: string; rows: number; dim: number };
        reused: number;
        embedded: number;
      };
      const kept = await readJsonlAll<KeptRow>(join(work, names.find((n) => n.endsWith('.kept.jsonl'))!));
      const matrix = new Float32Array(new Uint8Array(await readFile(embed.matrix.path)).buffer);
      return { workflowId, outputDir, embed, kept, matrix };
    };

    const first = await run('first');
    assert.deepEqual(s.problems, []);
    const n = first.kept.length;
    assert.equal(first.embed.matrix.dim, DIM);
    assert.equal(first.embed.embedded, n);
    assert.equal(s.embeddingsCalls.length, Math.ceil(n / BATCH));
    assert.equal(s.embeddingsCalls.reduce((k, c) => k + c.body.input.length, 0), n);
    assert.equal(s.maxInFlight, CONCURRENCY);
    // Row i of the matrix is kept row i's vector, whatever order the batches finished in.
    first.kept.forEach((r, i) => close(first.matrix.subarray(i * DIM, (i + 1) * DIM), unit(serverVector(r.text))));

    // The key: only in the worker's environment.
    const history = historyStrings(await t.client.workflow.getHandle(first.workflowId).fetchHistory()).join('\n');
    assert.ok(history.includes(s.url), 'the history holds the input (baseUrl)');
    assert.equal(history.includes(KEY), false);
    assert.deepEqual(await filesContaining([first.outputDir, cacheDir], KEY), []);

    const calls = s.embeddingsCalls.length;
    const second = await run('second');
    assert.equal(s.embeddingsCalls.length, calls);
    assert.equal(second.embed.reused, n);
    assert.equal(second.embed.embedded, 0);
    assert.deepEqual(second.matrix, first.matrix);
  });
});
