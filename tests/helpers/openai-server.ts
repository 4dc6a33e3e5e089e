// A scripted OpenAI-compatible HTTP server on loopback that stands in for the paid API in tests. It
// checks every request it receives (path, bearer key, no key in the body, model, response format,
// both texts and labels of a pair, embeddings input) and answers with whatever the test scripts,
// including errors, Retry-After headers and malformed bodies. A request that breaks a check gets a
// 400 and is listed in `problems`, which each test asserts empty.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ScriptedReply {
  /** @default 200 */
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body (sent as application/json). */
  json?: unknown;
  /** A raw body, sent as is with `contentType`. */
  raw?: string;
  /** @default 'application/json' */
  contentType?: string;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

/** One chat request as received and checked. */
export interface ChatCall {
  /** 1-based index among all requests this server received. */
  n: number;
  /** performance.now() when it arrived. */
  at: number;
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    response_format?: { type: string; json_schema?: { name?: string; strict?: boolean; schema?: unknown } };
    temperature?: number;
    max_completion_tokens?: number;
  };
  /** The two texts and their given labels, as the prompt shows them. */
  texts: [string, string];
  givenLabels: [string, string];
  /** User turns in the conversation: 1 for a first try, 2 after a correction. */
  userTurns: number;
  /** What this server answered, once it has. */
  reply?: ScriptedReply;
  /** The usage the answer reported, when it was a chat completion built by `completion`. */
  usage?: { prompt_tokens: number; completion_tokens: number };
}

export interface EmbeddingsCall {
  n: number;
  at: number;
  body: { model: string; input: string[]; encoding_format?: string; dimensions?: number };
  reply?: ScriptedReply;
}

export interface OpenAIServerOptions {
  /** The key the worker holds: every request must carry it as `Authorization: Bearer …`, and no body may contain it. */
  apiKey: string;
  /** Expected chat model. */
  model?: string;
  /** Expected embedding model. */
  embeddingModel?: string;
  /** The label set every chat prompt must list; the JSON schema's label enum must equal it. */
  labels?: readonly string[];
  /** Text → given label: when set, each prompt's texts must be known ones, shown with their given labels. */
  knownTexts?: ReadonlyMap<string, string> | undefined;
  /** Accept `response_format: json_object` as well as strict `json_schema`. @default false */
  allowJsonObject?: boolean;
  chat?: (call: ChatCall) => ScriptedReply | Promise<ScriptedReply>;
  embeddings?: (call: EmbeddingsCall) => ScriptedReply | Promise<ScriptedReply>;
}

export interface OpenAIServer {
  /** Base URL with /v1, as `baseUrl` or OPENAI_BASE_URL takes it. */
  url: string;
  chatCalls: ChatCall[];
  embeddingsCalls: EmbeddingsCall[];
  /** Checks that failed, one line each. */
  problems: string[];
  /** Most requests in flight at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

/** How the server compares texts: as dqe's cleaning does (NFC, trimmed, whitespace collapsed). */
function normalise(s: string): string {
  return s.normalize('NFC').trim().replace(/\s+/gu, ' ');
}

const TEXT_BLOCK = /Text ([12]), given label ("(?:[^"\\]|\\.)*"):\n<text_\1>\n([\s\S]*?)\n<\/text_\1>/gu;

/** Deterministic token counts a test can recompute: a quarter of the characters, rounded up. */
export function tokensOf(chars: number): number {
  return Math.ceil(chars / 4);
}

/** A chat completion whose message is `content` (an object is sent as its JSON), with usage derived from the request. */
export function completion(call: ChatCall, content: string | object, extra: { finishReason?: string; refusal?: string } = {}): ScriptedReply {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  const usage = {
    prompt_tokens: tokensOf(call.body.messages.reduce((n, m) => n + m.content.length, 0)),
    completion_tokens: tokensOf(text.length),
  };
  call.usage = usage;
  return {
    json: {
      id: `chatcmpl-test-${call.n}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: call.body.model,
      choices: [{ index: 0, finish_reason: extra.finishReason ?? 'stop', message: { role: 'assistant', content: text, refusal: extra.refusal ?? null } }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    },
  };
}

/** The judge's answer naming `labels[0]` for text 1 and `labels[1]` for text 2. */
export function verdictAnswer(labels: readonly [string, string], reasons: readonly [string, string] = ['reason one.', 'reason two.']) {
  return { text_1: { label: labels[0], reason: reasons[0] }, text_2: { label: labels[1], reason: reasons[1] } };
}

/** An OpenAI-style error body. */
export function apiError(status: number, message: string, headers: Record<string, string> = {}): ScriptedReply {
  return { status, headers, json: { error: { message, type: 'test_error', code: null, param: null } } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: ScriptedReply): void {
  const body = reply.raw ?? JSON.stringify(reply.json ?? {});
  res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json', ...reply.headers });
  res.end(body);
}

function checkChat(call: ChatCall, o: OpenAIServerOptions, fail: (m: string) => void): void {
  const b = call.body;
  if (o.model !== undefined && b.model !== o.model) fail(`model ${JSON.stringify(b.model)}, expected ${JSON.stringify(o.model)}`);
  const rf = b.response_format;
  if (rf?.type === 'json_schema') {
    if (rf.json_schema?.strict !== true) fail('json_schema without strict: true');
    const schema = rf.json_schema?.schema as { properties?: Record<string, { properties?: { label?: { enum?: string[] } } }> } | undefined;
    for (const key of ['text_1', 'text_2']) {
      const labelEnum = schema?.properties?.[key]?.properties?.label?.enum;
      if (o.labels && JSON.stringify(labelEnum) !== JSON.stringify(o.labels)) fail(`schema ${key}.label enum ${JSON.stringify(labelEnum)}, expected ${JSON.stringify(o.labels)}`);
    }
  } else if (!(rf?.type === 'json_object' && o.allowJsonObject)) {
    fail(`response_format ${JSON.stringify(rf)}`);
  }
  const user = b.messages.find((m) => m.role === 'user')?.content ?? '';
  if (o.labels) for (const l of o.labels) if (!user.includes(`- ${JSON.stringify(l)}`)) fail(`label ${JSON.stringify(l)} missing from the label set in the prompt`);
  const blocks = [...user.matchAll(TEXT_BLOCK)];
  if (blocks.length !== 2 || blocks[0]![1] !== '1' || blocks[1]![1] !== '2') {
    fail(`expected text 1 and text 2 in the prompt, found ${blocks.length} text blocks`);
    return;
  }
  blocks.forEach((m, i) => {
    const label = JSON.parse(m[2]!) as string;
    const text = m[3]!;
    call.texts[i] = text;
    call.givenLabels[i] = label;
    if (o.labels && !o.labels.includes(label)) fail(`text ${i + 1}'s given label ${JSON.stringify(label)} is not in the label set`);
    if (o.knownTexts) {
      const known = o.knownTexts.get(normalise(text));
      if (known === undefined) fail(`text ${i + 1} is not a known text: ${JSON.stringify(text.slice(0, 60))}`);
      else if (known !== label) fail(`text ${i + 1} shown with label ${JSON.stringify(label)}, its given label is ${JSON.stringify(known)}`);
    }
  });
}

export async function startOpenAIServer(o: OpenAIServerOptions): Promise<OpenAIServer> {
  const chatCalls: ChatCall[] = [];
  const embeddingsCalls: EmbeddingsCall[] = [];
  const problems: string[] = [];
  const known = o.knownTexts ? new Map([...o.knownTexts].map(([t, l]) => [normalise(t), l])) : undefined;
  const opts = { ...o, ...(known ? { knownTexts: known } : {}) };
  let n = 0;
  let inFlight = 0;
  const state = { maxInFlight: 0 };

  const server = createServer((req, res) => {
    void (async () => {
      const at = performance.now();
      const index = ++n;
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      const before = problems.length;
      const fail = (m: string) => problems.push(`request ${index} ${req.url}: ${m}`);
      try {
        const raw = await readBody(req);
        if (req.method !== 'POST') fail(`method ${req.method}`);
        if (req.headers.authorization !== `Bearer ${o.apiKey}`) fail(`Authorization header ${JSON.stringify(req.headers.authorization)}`);
        if (raw.includes(o.apiKey)) fail('the API key is in the request body');
        let body: unknown;
        let reply: ScriptedReply;
        try {
          body = JSON.parse(raw);
        } catch {
          fail('body is not JSON');
        }
        if (req.url === '/v1/chat/completions' && body) {
          const call: ChatCall = { n: index, at, body: body as ChatCall['body'], texts: ['', ''], givenLabels: ['', ''], userTurns: 0 };
          call.userTurns = call.body.messages.filter((m) => m.role === 'user').length;
          checkChat(call, opts, fail);
          chatCalls.push(call);
          if (problems.length > before) return send(res, apiError(400, `test server: ${problems.slice(before).join('; ')}`));
          if (!o.chat) return send(res, apiError(500, 'test server: no chat script'));
          reply = call.reply = await o.chat(call);
        } else if (req.url === '/v1/embeddings' && body) {
          const call: EmbeddingsCall = { n: index, at, body: body as EmbeddingsCall['body'] };
          const b = call.body;
          if (o.embeddingModel !== undefined && b.model !== o.embeddingModel) fail(`model ${JSON.stringify(b.model)}, expected ${JSON.stringify(o.embeddingModel)}`);
          if (!Array.isArray(b.input) || b.input.length === 0 || !b.input.every((t) => typeof t === 'string')) fail('input is not a non-empty array of strings');
          else if (known) for (const t of b.input) if (!known.has(normalise(t))) fail(`unknown input text ${JSON.stringify(t.slice(0, 60))}`);
          if (b.encoding_format !== 'float') fail(`encoding_format ${JSON.stringify(b.encoding_format)}`);
          embeddingsCalls.push(call);
          if (problems.length > before) return send(res, apiError(400, `test server: ${problems.slice(before).join('; ')}`));
          if (!o.embeddings) return send(res, apiError(500, 'test server: no embeddings script'));
          reply = call.reply = await o.embeddings(call);
        } else {
          fail('unknown path');
          return send(res, apiError(404, `test server: no route ${req.url}`));
        }
        if (reply.delayMs) await sleep(reply.delayMs);
        send(res, reply);
      } catch (err) {
        problems.push(`request ${index}: server error ${String(err)}`);
        send(res, apiError(500, 'test server error'));
      } finally {
        inFlight--;
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    chatCalls,
    embeddingsCalls,
    problems,
    get maxInFlight() {
      return state.maxInFlight;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

