// The `openai` judge against a scripted OpenAI-compatible server on loopback (tests/helpers/openai-server.ts),
// on real SpamAssassin mails: the request it sends, how it reads answers, every failure path, the
// verdict cache; then a whole dqe run on the Temporal dev server with the key only in the worker's env.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { readJsonlAll } from '../../adapters/files.js';
import { createJudge } from '../../adapters/judges/index.js';
import { createOpenAIJudge, type OpenAIJudgeOptions } from '../../adapters/judges/openai.js';
import type { JudgeRequest, NoisyPair, PairRow } from '../../adapters/judges/types.js';
import type { JobContext } from '../../adapters/trainers/types.js';
import type { Report } from '../../core/run-layout.js';
import { parseDqeInput } from '../../core/input.js';
import type { RowVerdict } from '../../core/judging.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import type { DqeResult } from '../../workflows/index.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { apiError, completion, startOpenAIServer, verdictAnswer, type ChatCall, type OpenAIServer, type OpenAIServerOptions } from '../helpers/openai-server.js';
import { filesContaining, historyStrings } from '../helpers/secrets.js';
import { testTemporal, uniqueId } from '../helpers/temporal.js';

/** The worker's key; the test server demands it in the Authorization header and nowhere else. */
const KEY = 'sk-test-dqe-4f1c9a2b7e6d5c3a';
const LABELS = ['ham', 'spam'] as const;
/** Short backoff so retry tests take milliseconds; a server's Retry-After still rules. */
const FAST = { initialDelayMs: 50, maxDelayMs: 200 };
/** gpt-4o list price (USD per million tokens), the judge's default. */
const GPT4O = { input: 2.5, output: 10 };

interface Mail {
  id: string;
  text: string;
  label: string;
}

const mails: Mail[] = spamAssassinJsonl({ limit: 60 }).trim().split('\n').map((l) => JSON.parse(l) as Mail);
const hams = mails.filter((m) => m.label === 'ham');
const spams = mails.filter((m) => m.label === 'spam');

/** A pair row from a real mail; `given` may differ from the mail's true label to plant noise. */
function row(id: number, mail: Mail, split: PairRow['split'], given = mail.label): PairRow {
  return { id, row: id + 1, text: mail.text, label: given, split };
}

function pair(x: PairRow, neighbour: PairRow): NoisyPair {
  return { x, neighbour, similarity: 0.9 };
}

function request(pairs: NoisyPair[]): JudgeRequest {
  // The openai judge reads only pairs and labels; the rest serves the offline judge.
  return { pairs, labels: [...LABELS], matrix: { path: '', rows: 0, dim: 0 }, labelIds: new Uint32Array(0), splits: [], seed: 0 };
}

function context(): JobContext & { beats: unknown[]; logs: string[] } {
  const beats: unknown[] = [];
  const logs: string[] = [];
  return { beats, logs, heartbeat: (d) => beats.push(d), resumeDetails: undefined, signal: new AbortController().signal, log: (m, a) => logs.push(`${m} ${JSON.stringify(a ?? {})}`) };
}

/** Text → true label, for a server that answers the truth. */
const truth = new Map(mails.map((m) => [m.text, m.label]));
const mailOf = new Map(mails.map((m) => [m.text, m]));

/** Answers each text's true label, with a reason naming the mail, so the test can tell whose reason landed where. */
function truthful(call: ChatCall) {
  const labels = call.texts.map((t) => truth.get(t)!) as [string, string];
  return completion(call, verdictAnswer(labels, [`mail ${mailOf.get(call.texts[0])!.id} is ${labels[0]}.`, `mail ${mailOf.get(call.texts[1])!.id} is ${labels[1]}.`]));
}

async function caught(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => assert.fail('should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  return err;
}

describe('openai judge against a scripted endpoint', () => {
  let dir: string;
  const servers: OpenAIServer[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dqe-openai-judge-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function server(o: Omit<OpenAIServerOptions, 'apiKey'>): Promise<OpenAIServer> {
    const s = await startOpenAIServer({ apiKey: KEY, model: 'gpt-4o', labels: LABELS, knownTexts: new Map(mails.map((m) => [m.text, m.label])), ...o });
    servers.push(s);
    return s;
  }

  // knownTexts holds each mail's true label; tests that plant a wrong given label use a server without it.
  let cacheN = 0;
  function judge(s: OpenAIServer, o: Partial<OpenAIJudgeOptions> = {}) {
    return createOpenAIJudge({
      model: 'gpt-4o',
      endpoint: { baseUrl: s.url, apiKey: KEY },
      concurrency: 2,
      labelDescriptions: {},
      maxRetries: 3,
      invalidAnswerRetries: 2,
      timeoutMs: 10_000,
      maxTextChars: 8000,
      temperature: 0,
      cacheDir: join(dir, `cache-${++cacheN}`),
      retry: FAST,
      ...o,
    });
  }

  const onePair = () => [pair(row(10, hams[0]!, 'unsampled'), row(3, spams[0]!, 'sampled'))];
  const decided: RowVerdict[] = [
    { id: 3, verdict: 'label_ok', reason: `mail ${spams[0]!.id} is spam.` },
    { id: 10, verdict: 'label_ok', reason: `mail ${hams[0]!.id} is ham.` },
  ];

  test('one request per distinct pair, strict schema, majority per row, tokens and cost; a second run pays nothing', async () => {
    const [a, b, c, d, e, f, g] = [hams[0]!, spams[0]!, spams[1]!, spams[2]!, hams[1]!, spams[3]!, hams[2]!];
    const s = await server({ knownTexts: new Map(mails.map((m) => [m.text, m === c ? 'ham' : m.label])), chat: truthful });
    const pairs = [
      pair(row(10, a, 'unsampled'), row(3, b, 'sampled')),
      // c is spam but given ham: the judge should call it mislabeled.
      pair(row(11, c, 'unsampled', 'ham'), row(4, d, 'sampled')),
      // A mirror-image pair (each is the other's neighbour) costs one request.
      pair(row(12, e, 'unsampled'), row(13, f, 'unsampled')),
      pair(row(13, f, 'unsampled'), row(12, e, 'unsampled')),
      // Row 4 sits in two pairs.
      pair(row(14, g, 'unsampled'), row(4, d, 'sampled')),
    ];
    const cacheDir = join(dir, 'cache-main');
    const input = parseDqeInput({ dataset: 'x.jsonl', judge: { name: 'openai', baseUrl: s.url, concurrency: 2, labelDescriptions: { spam: 'unsolicited bulk mail' } } });
    assert.ok(input.ok);
    const ctx = context();
    const out = await createJudge(input.config.judge, { OPENAI_API_KEY: KEY }, cacheDir).judge(request(pairs), ctx);

    assert.deepEqual(s.problems, []);
    assert.deepEqual(out.verdicts, [
      { id: 3, verdict: 'label_ok', reason: `mail ${b.id} is spam.` },
      { id: 4, verdict: 'label_ok', reason: `mail ${d.id} is spam. (2 of 2 pairs)` },
      { id: 10, verdict: 'label_ok', reason: `mail ${a.id} is ham.` },
      { id: 11, verdict: 'mislabeled', suggested: 'spam', reason: `mail ${c.id} is spam.` },
      { id: 12, verdict: 'label_ok', reason: `mail ${e.id} is ham. (2 of 2 pairs)` },
      { id: 13, verdict: 'label_ok', reason: `mail ${f.id} is spam. (2 of 2 pairs)` },
      { id: 14, verdict: 'label_ok', reason: `mail ${g.id} is ham.` },
    ]);
    assert.equal(s.chatCalls.length, 4);
    for (const call of s.chatCalls) {
      assert.equal(call.body.response_format?.type, 'json_schema');
      assert.equal(call.body.temperature, 0);
      assert.equal(call.body.max_completion_tokens, 400);
      const user = call.body.messages[1]!.content;
      assert.match(user, /^Label set:\n- "ham"\n- "spam": unsolicited bulk mail\n/u);
    }
    // Both texts of each pair, with their given labels (c shown as ham, as the training set has it).
    const together = (items: string[]) => items.sort().join(' ');
    const shown = s.chatCalls.map((call) => together(call.texts.map((t, i) => `${mailOf.get(t)!.id}:${call.givenLabels[i]}`)));
    const expectedShown = [[`${a.id}:ham`, `${b.id}:spam`], [`${c.id}:ham`, `${d.id}:spam`], [`${e.id}:ham`, `${f.id}:spam`], [`${g.id}:ham`, `${d.id}:spam`]].map(together);
    assert.deepEqual(shown.sort(), expectedShown.sort());

    const prompt = s.chatCalls.reduce((n, call) => n + call.usage!.prompt_tokens, 0);
    const completionTokens = s.chatCalls.reduce((n, call) => n + call.usage!.completion_tokens, 0);
    assert.deepEqual(out.usage, {
      requests: 4, cachedPairs: 0, promptTokens: prompt, completionTokens, pairsAsked: 4, invalidAnswers: 0, unansweredPairs: 0, retries: 0,
      costUsd: (prompt * GPT4O.input + completionTokens * GPT4O.output) / 1e6, model: 'gpt-4o', responseFormat: 'json_schema', pricePerMTok: GPT4O,
    });
    assert.deepEqual(ctx.beats[0], { pairsDone: 0, pairsTotal: 5 });
    assert.deepEqual(ctx.beats.at(-1), { pairsDone: 5, pairsTotal: 5 });

    // The same pairs again, by a fresh judge over the same cache folder: not one request.
    const again = await createJudge(input.config.judge, { OPENAI_API_KEY: KEY }, cacheDir).judge(request(pairs), context());
    assert.equal(s.chatCalls.length, 4);
    assert.deepEqual(again.verdicts, out.verdicts);
    assert.deepEqual(again.usage, { ...out.usage, requests: 0, cachedPairs: 5, promptTokens: 0, completionTokens: 0, pairsAsked: 0, costUsd: 0 });
  });

  test('an attempt that fails midway leaves its answers cached: the retry asks only for the rest', async () => {
    let down = true;
    const s = await server({ chat: (call) => (down && call.n === 3 ? apiError(503, 'down') : truthful(call)) });
    const pairs = [...onePair(), pair(row(11, hams[1]!, 'unsampled'), row(4, spams[1]!, 'sampled')), pair(row(12, hams[2]!, 'unsampled'), row(5, spams[2]!, 'sampled'))];
    const cacheDir = join(dir, 'cache-midway');
    const err = await caught(judge(s, { cacheDir, concurrency: 1, maxRetries: 0 }).judge(request(pairs), context()));
    assert.equal(err.type, 'DqeRemoteUnavailable');
    assert.equal(err.nonRetryable, false);
    assert.equal(s.chatCalls.length, 3);
    down = false;
    const out = await judge(s, { cacheDir, concurrency: 1, maxRetries: 0 }).judge(request(pairs), context());
    assert.deepEqual(s.problems, []);
    assert.equal(s.chatCalls.length, 4);
    assert.equal(out.usage?.cachedPairs, 2);
    assert.equal(out.usage?.requests, 1);
    assert.equal(out.verdicts.length, 6);
    assert.ok(out.verdicts.every((v) => v.verdict === 'label_ok'));
  });

  test('429 with Retry-After: waits what the server asks, then succeeds', async () => {
    const s = await server({ chat: (call) => (call.n === 1 ? apiError(429, 'Rate limit reached', { 'retry-after': '1' }) : truthful(call)) });
    const ctx = context();
    const out = await judge(s).judge(request(onePair()), ctx);
    assert.deepEqual(s.problems, []);
    assert.deepEqual(out.verdicts, decided);
    assert.equal(s.chatCalls.length, 2);
    // The backoff alone would be 25–50 ms; the gap is the server's second.
    assert.ok(s.chatCalls[1]!.at - s.chatCalls[0]!.at >= 1000, `gap ${s.chatCalls[1]!.at - s.chatCalls[0]!.at} ms`);
    assert.equal(out.usage?.retries, 1);
    assert.equal(out.usage?.requests, 2);
    assert.ok(ctx.beats.some((b) => (b as { waitingMs?: number }).waitingMs === 1000));
  });

  test('500 then 503 with Retry-After, then success: backoff, then the server\'s wait', async () => {
    const s = await server({
      chat: (call) => (call.n === 1 ? apiError(500, 'boom') : call.n === 2 ? apiError(503, 'overloaded', { 'retry-after': '1' }) : truthful(call)),
    });
    const out = await judge(s).judge(request(onePair()), context());
    assert.deepEqual(s.problems, []);
    assert.deepEqual(out.verdicts, decided);
    assert.equal(s.chatCalls.length, 3);
    const [g1, g2] = [s.chatCalls[1]!.at - s.chatCalls[0]!.at, s.chatCalls[2]!.at - s.chatCalls[1]!.at];
    assert.ok(g1 >= 25 && g1 < 900, `backoff gap ${g1} ms`);
    assert.ok(g2 >= 1000, `Retry-After gap ${g2} ms`);
    assert.equal(out.usage?.retries, 2);
  });

  test('malformed bodies (truncated JSON, an HTML page) are retried like a 5xx', async () => {
    const s = await server({
      chat: (call) =>
        call.n === 1 ? { raw: '{"id": "chatcmpl-1", "choices": [' } : call.n === 2 ? { raw: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' } : truthful(call),
    });
    const out = await judge(s).judge(request(onePair()), context());
    assert.deepEqual(s.problems, []);
    assert.deepEqual(out.verdicts, decided);
    assert.equal(s.chatCalls.length, 3);
    assert.equal(out.usage?.retries, 2);
    assert.equal(out.usage?.invalidAnswers, 0);
  });

  test('an answer that breaks the schema is asked again, saying what was wrong', async () => {
    const s = await server({
      chat: (call) => (call.n === 1 ? completion(call, { text_1: { label: 'ham' }, text_2: { label: 'spam', reason: 'x.' } }) : truthful(call)),
    });
    const out = await judge(s).judge(request(onePair()), context());
    assert.deepEqual(s.problems, []);
    assert.deepEqual(out.verdicts, decided);
    const [first, second] = s.chatCalls;
    assert.equal(first!.userTurns, 1);
    assert.equal(second!.userTurns, 2);
    assert.equal(second!.body.messages[2]!.role, 'assistant');
    assert.equal(second!.body.messages[2]!.content, JSON.stringify({ text_1: { label: 'ham' }, text_2: { label: 'spam', reason: 'x.' } }));
    assert.equal(
      second!.body.messages[3]!.content,
      'That answer is not valid: the answer does not follow the schema (text_1.reason: Invalid input: expected string, received undefined). Answer again with the JSON object only, using labels from the label set.',
    );
    assert.equal(out.usage?.invalidAnswers, 1);
    assert.equal(out.usage?.unansweredPairs, 0);
  });

  test('a label outside the label set is invalid; after every try the rows are undecided, and nothing is cached', async () => {
    const s = await server({ chat: (call) => completion(call, verdictAnswer(['phishing', 'spam'])) });
    const cacheDir = join(dir, 'cache-outside');
    const out = await judge(s, { cacheDir }).judge(request(onePair()), context());
    assert.deepEqual(s.problems, []);
    assert.equal(s.chatCalls.length, 3);
    const reason = 'the judge gave no valid answer in 3 tries (last: text_1.label "phishing" is not in the label set (ham, spam))';
    assert.deepEqual(out.verdicts, [
      { id: 3, verdict: 'undecided', reason },
      { id: 10, verdict: 'undecided', reason },
    ]);
    assert.equal(out.usage?.invalidAnswers, 3);
    assert.equal(out.usage?.unansweredPairs, 1);
    // Undecided answers are not cached: a re-run asks again.
    await judge(s, { cacheDir }).judge(request(onePair()), context());
    assert.equal(s.chatCalls.length, 6);
  });

  test('labels are matched exactly, then case- and space-insensitively; an answer that is not JSON is invalid', async () => {
    const loose = (label: string) => (label === 'ham' ? 'Ham' : ' SPAM ');
    const s = await server({
      chat: (call) =>
        call.n === 1 ? completion(call, 'I think text 1 is ham.') : completion(call, verdictAnswer([loose(truth.get(call.texts[0])!), loose(truth.get(call.texts[1])!)], ['r.', 'r.'])),
    });
    const out = await judge(s).judge(request(onePair()), context());
    assert.deepEqual(s.problems, []);
    assert.equal(s.chatCalls.length, 2);
    assert.ok(s.chatCalls[1]!.body.messages[3]!.content.startsWith('That answer is not valid: the answer is not JSON.'));
    assert.deepEqual(out.verdicts, [
      { id: 3, verdict: 'label_ok', reason: 'r.' },
      { id: 10, verdict: 'label_ok', reason: 'r.' },
    ]);
  });

  test('401 fails at once, non-retryable, with a clear message and the key scrubbed from it', async () => {
    const s = await server({ chat: () => apiError(401, `Incorrect API key provided: ${KEY}.`) });
    const pairs = [...onePair(), pair(row(11, hams[1]!, 'unsampled'), row(4, spams[1]!, 'sampled')), pair(row(12, hams[2]!, 'unsampled'), row(5, spams[2]!, 'sampled'))];
    const err = await caught(judge(s, { concurrency: 1 }).judge(request(pairs), context()));
    assert.equal(err.type, 'DqeRemoteUnauthorized');
    assert.equal(err.nonRetryable, true);
    assert.equal(
      err.message,
      `judge "openai" (model gpt-4o at ${s.url}): the endpoint refused the API key (401 Incorrect API key provided: [redacted].); set a valid OPENAI_API_KEY in the worker's environment`,
    );
    // One request: the queued pairs were never sent.
    assert.equal(s.chatCalls.length, 1);
  });

  test('403 and 404 fail at once, non-retryable, saying what to check', async () => {
    for (const [status, type, hint] of [
      [403, 'DqeRemoteForbidden', 'the API key may not use this model or endpoint'],
      [404, 'DqeRemoteNotFound', 'check the model name and the base URL (baseUrl or OPENAI_BASE_URL, usually ending in /v1)'],
    ] as const) {
      const s = await server({ chat: () => apiError(status, 'nope') });
      const err = await caught(judge(s).judge(request(onePair()), context()));
      assert.equal(err.type, type);
      assert.equal(err.nonRetryable, true);
      assert.ok(err.message.endsWith(`(${status} nope); ${hint}`), err.message);
      assert.equal(s.chatCalls.length, 1);
    }
  });

  test('an endpoint that refuses JSON schemas gets plain JSON mode from then on', async () => {
    const s = await server({
      allowJsonObject: true,
      chat: (call) => (call.body.response_format?.type === 'json_schema' ? apiError(400, "response_format 'json_schema' is not supported") : truthful(call)),
    });
    const pairs = [...onePair(), pair(row(11, hams[1]!, 'unsampled'), row(4, spams[1]!, 'sampled'))];
    const out = await judge(s, { concurrency: 1 }).judge(request(pairs), context());
    assert.deepEqual(s.problems, []);
    assert.deepEqual(s.chatCalls.map((c) => c.body.response_format?.type), ['json_schema', 'json_object', 'json_object']);
    assert.equal(out.usage?.responseFormat, 'json_object');
    assert.equal(out.verdicts.filter((v) => v.verdict === 'label_ok').length, 4);

    // An endpoint that refuses plain JSON mode too has a real problem: say so, do not retry.
    const t = await server({ allowJsonObject: true, chat: () => apiError(400, 'bad request') });
    const err = await caught(judge(t).judge(request(onePair()), context()));
    assert.equal(err.type, 'DqeRemoteBadRequest');
    assert.equal(err.nonRetryable, true);
    assert.deepEqual(t.chatCalls.map((c) => c.body.response_format?.type), ['json_schema', 'json_object']);
  });

  test('when the retries run out the failure is retryable, for Temporal to try the activity again', async () => {
    const s = await server({ chat: () => apiError(500, 'down') });
    const err = await caught(judge(s, { maxRetries: 2 }).judge(request(onePair()), context()));
    assert.equal(err.type, 'DqeRemoteUnavailable');
    assert.equal(err.nonRetryable, false);
    assert.equal(err.message, `judge "openai" (model gpt-4o at ${s.url}): still failing after 3 tries: HTTP 500`);
    assert.equal(s.chatCalls.length, 3);
  });

  test('a Retry-After longer than the in-activity limit ends the attempt with that delay for Temporal', async () => {
    const s = await server({ chat: () => apiError(429, 'slow down', { 'retry-after': '30' }) });
    const started = performance.now();
    const err = await caught(judge(s, { retry: { ...FAST, maxInActivityWaitMs: 500 } }).judge(request(onePair()), context()));
    assert.ok(performance.now() - started < 5000);
    assert.equal(err.type, 'DqeRemoteUnavailable');
    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, 30_000);
    assert.equal(s.chatCalls.length, 1);
  });

  test('at most `concurrency` requests in flight', async () => {
    const s = await server({ chat: (call) => ({ ...truthful(call), delayMs: 150 }) });
    const pairs = Array.from({ length: 8 }, (_, i) => pair(row(20 + i, hams[i]!, 'unsampled'), row(i, spams[i]!, 'sampled')));
    const out = await judge(s, { concurrency: 3 }).judge(request(pairs), context());
    assert.deepEqual(s.problems, []);
    assert.equal(s.chatCalls.length, 8);
    assert.equal(s.maxInFlight, 3);
    assert.equal(out.verdicts.length, 16);
  });

  test('label descriptions must name labels of the label set; without a key OpenAI itself is not called', async () => {
    const s = await server({ chat: truthful });
    const err = await caught(judge(s, { labelDescriptions: { spam: 'bulk', phish: 'fraud' } }).judge(request(onePair()), context()));
    assert.equal(err.type, 'DqeInvalidInput');
    assert.equal(err.message, 'judge.labelDescriptions: "phish" is not in the label set (ham, spam)');
    assert.equal(s.chatCalls.length, 0);

    const input = parseDqeInput({ dataset: 'x.jsonl', judge: 'openai' });
    assert.ok(input.ok);
    const noKey = await caught(createJudge(input.config.judge, {}, join(dir, 'cache-nokey')).judge(request(onePair()), context()));
    assert.equal(noKey.type, 'DqeRemoteUnauthorized');
    assert.equal(
      noKey.message,
      'judge "openai" (model gpt-4o at https://api.openai.com/v1): OPENAI_API_KEY is not set in the worker\'s environment, and https://api.openai.com/v1 needs it (set it on the worker, never in the workflow input)',
    );
  });
});

describe('a dqe run with judge "openai" on the dev server', () => {
  let t: Awaited<ReturnType<typeof testTemporal>>;
  let s: OpenAIServer;
  let dir: string;
  let dataset: string;
  /** Rows whose label was flipped before the run: noise for the judge to find. */
  const flipped = new Set<string>();
  const trueLabel = new Map<string, string>();
  const taskQueue = uniqueId('dqe-openai');

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-openai-wf-'));
    dataset = join(dir, 'spam.jsonl');
    const rows = spamAssassinJsonl({ limit: 300 }).trim().split('\n').map((l) => JSON.parse(l) as Mail);
    // Every 7th mail gets the other label: planted noise with a known answer.
    const given = rows.map((r, i) => {
      trueLabel.set(r.text, r.label);
      if (i % 7 !== 3) return r;
      flipped.add(r.text);
      return { ...r, label: r.label === 'ham' ? 'spam' : 'ham' };
    });
    await writeFile(dataset, given.map((r) => JSON.stringify(r)).join('\n') + '\n');
    s = await startOpenAIServer({
      apiKey: KEY,
      model: 'gpt-4o',
      labels: LABELS,
      knownTexts: new Map(given.map((r) => [r.text, r.label])),
      // The scripted judge knows each mail's SpamAssassin folder and answers it.
      chat: (call) => {
        const labels = call.texts.map((x) => trueLabel.get(x)!) as [string, string];
        return completion(call, verdictAnswer(labels, [`SpamAssassin files this mail under ${labels[0]}.`, `SpamAssassin files this mail under ${labels[1]}.`]));
      },
    });
  });
  after(async () => {
    await s.close();
    await t.close();
  });

  test('completes; the report lists each verdict with its reason, tokens and cost; the key is nowhere in history or outputs', async () => {
    const cacheDir = join(dir, 'cache');
    const run = async (name: string) => {
      // A worker runs once; each run gets its own, with the key in its environment and nowhere else.
      const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir, env: { OPENAI_API_KEY: KEY } } });
      const workflowId = uniqueId(`dqe-openai-${name}`);
      const outputDir = join(dir, name);
      // One pass: the request and token counts below are the first pass's (two-fold reports its own under twoFold.usage).
      const input = { dataset, outputDir, seed: 1, twoFold: false, judge: { name: 'openai', baseUrl: s.url } };
      const result = (await worker.runUntil(t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [input] }))) as DqeResult;
      const report = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
      return { workflowId, outputDir, result, report };
    };

    const first = await run('first');
    assert.deepEqual(s.problems, []);
    const r = first.report;
    const c = r.counts;
    assert.ok(c.noisyPairs > 0, 'the sample has noisy pairs');

    // Each row of each pair has the verdict the scripted judge implies: its given label is right
    // unless it was flipped, and the reason is the judge's.
    type Side = { id: number; text: string; label: string; verdict: RowVerdict };
    const pairs = r.noisyPairs as Array<{ x: Side; neighbour: Side }>;
    assert.equal(pairs.length, c.noisyPairs);
    const full = await readJsonlAll<{ x: Side; neighbour: Side }>(join(first.outputDir, 'noisy-pairs.jsonl'));
    const counts = { label_ok: 0, mislabeled: 0, undecided: 0 };
    const seen = new Set<number>();
    for (const p of full) {
      for (const side of [p.x, p.neighbour]) {
        const right = trueLabel.get(side.text)!;
        const expected: Omit<RowVerdict, 'reason'> = side.label === right ? { id: side.id, verdict: 'label_ok' } : { id: side.id, verdict: 'mislabeled', suggested: right };
        const { reason, ...rest } = side.verdict;
        assert.deepEqual(rest, expected);
        assert.match(reason, new RegExp(`^SpamAssassin files this mail under ${right}\\.( \\(\\d+ of \\d+ pairs\\))?$`, 'u'));
        assert.equal(flipped.has(side.text), side.verdict.verdict === 'mislabeled');
        if (!seen.has(side.id)) counts[side.verdict.verdict]++;
        seen.add(side.id);
      }
    }
    assert.deepEqual(c.verdicts, counts);
    assert.ok(counts.mislabeled > 0, 'some planted noise reached the judge');
    assert.equal(first.result.counts.mislabeled, counts.mislabeled);

    // Tokens and cost as the server reported them, priced at gpt-4o's list price.
    const prompt = s.chatCalls.reduce((n, call) => n + call.usage!.prompt_tokens, 0);
    const completionTokens = s.chatCalls.reduce((n, call) => n + call.usage!.completion_tokens, 0);
    const usage = r.judge.usage!;
    assert.equal(r.judge.name, 'openai');
    assert.equal(usage.requests, s.chatCalls.length);
    assert.equal(usage.promptTokens, prompt);
    assert.equal(usage.completionTokens, completionTokens);
    assert.equal(usage.costUsd, (prompt * GPT4O.input + completionTokens * GPT4O.output) / 1e6);
    assert.equal(usage.cachedPairs, 0);
    const md = await readFile(join(first.outputDir, 'report.md'), 'utf8');
    assert.ok(md.includes(`${prompt} prompt + ${completionTokens} completion tokens, estimated cost $${usage.costUsd.toFixed(4)}`), md);

    // Rows judged mislabeled left the final set (noisy: drop).
    const final = await readJsonlAll<Mail>(join(first.outputDir, 'final.jsonl'));
    const mislabeledTexts = new Set(full.flatMap((p) => [p.x, p.neighbour]).filter((x) => x.verdict.verdict === 'mislabeled').map((x) => x.text));
    assert.equal(final.filter((m) => mislabeledTexts.has(m.text)).length, 0);

    // The key: in the worker's environment only, so nowhere in the history, the run directory or the cache.
    const history = historyStrings(await t.client.workflow.getHandle(first.workflowId).fetchHistory()).join('\n');
    assert.ok(history.includes(s.url), 'the history holds the input (baseUrl)');
    assert.equal(history.includes(KEY), false);
    assert.deepEqual(await filesContaining([first.outputDir, cacheDir], KEY), []);

    // Figures for the closing note.
    console.log(`[openai-judge] noisy pairs ${c.noisyPairs}, verdicts ${JSON.stringify(c.verdicts)}, requests ${usage.requests}, tokens ${prompt}+${completionTokens}, cost $${usage.costUsd}`);

    // A second run over the same data: every pair from the cache, no request.
    const before = s.chatCalls.length;
    const second = await run('second');
    assert.equal(s.chatCalls.length, before);
    assert.equal(second.report.judge.usage!.requests, 0);
    assert.equal(second.report.judge.usage!.cachedPairs, c.noisyPairs);
    assert.deepEqual(second.report.counts.verdicts, c.verdicts);
  });

  test('a refused key (401) fails the run after one attempt of the judge phase, naming the cause', async () => {
    const refusing = await startOpenAIServer({ apiKey: KEY, model: 'gpt-4o', labels: LABELS, chat: () => apiError(401, 'Incorrect API key provided.') });
    try {
      const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache-401'), env: { OPENAI_API_KEY: KEY } } });
      const workflowId = uniqueId('dqe-openai-401');
      const input = { dataset, outputDir: join(dir, 'refused'), seed: 1, judge: { name: 'openai', baseUrl: refusing.url } };
      const err = await worker.runUntil(
        t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [input] }).then(
          () => assert.fail('should have failed'),
          (e: unknown) => e,
        ),
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure, String(err));
      assert.equal(err.cause.activityType, 'judgeNoisy');
      assert.equal(err.cause.cause.type, 'DqeRemoteUnauthorized');
      assert.equal(err.cause.cause.nonRetryable, true);
      assert.equal(
        err.cause.cause.message,
        `judge "openai" (model gpt-4o at ${refusing.url}): the endpoint refused the API key (401 Incorrect API key provided.); set a valid OPENAI_API_KEY in the worker's environment`,
      );
      const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
      // A started event records the attempt that ended the activity: every one is the first.
      const attempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : []));
      assert.ok(attempts.length > 0);
      assert.deepEqual(new Set(attempts), new Set([1]));
      // At most the requests already in flight (concurrency 4) when the first 401 came back.
      assert.ok(refusing.chatCalls.length >= 1 && refusing.chatCalls.length <= 4, `${refusing.chatCalls.length} requests`);
      assert.deepEqual(refusing.problems, []);
    } finally {
      await refusing.close();
    }
  });
});

