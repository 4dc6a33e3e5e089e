// The `openai` judge: an LLM behind any OpenAI-compatible chat endpoint (OpenAI, vLLM, `swift deploy`,
// Ollama...) sees each noisy pair (both texts, their labels and the label set) and names each text's
// correct label with a one-sentence reason.
//
// Answers are constrained by a strict JSON schema (structured outputs), or by plain JSON mode once the
// endpoint refuses schemas, and validated here either way; an invalid answer is asked again with what
// was wrong, then left undecided. Valid answers go to the verdict cache, so nothing is paid for twice.
// A row in several pairs gets the majority of its answers (core/verdict-merge.ts).
import pLimit from 'p-limit';
import { dqeFailure } from '../failure.js';
import type OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { mergeRowJudgements, type RowJudgement } from '../../core/verdict-merge.js';
import { DEFAULT_RETRY_POLICY, MalformedResponseError, remoteFailure, withRetries, type RetryPolicy } from '../http-retry.js';
import { createOpenAIClient, type EndpointConfig } from '../openai-client.js';
import { VerdictCache, verdictKey } from '../verdict-cache.js';
import {
  ANSWER_SCHEMA_NAME,
  JUDGE_PROMPT_VERSION,
  answerJsonSchema,
  correctionMessages,
  pairMessages,
  parsePairAnswer,
  promptText,
  type ChatMessage,
  type PairAnswer,
  type PromptItem,
} from './pair-prompt.js';
import type { Judge, JudgeUsage, NoisyPair } from './types.js';

/** Output tokens allowed per answer: two labels and two sentences need about 100; more means rambling. */
const MAX_ANSWER_TOKENS = 400;

/**
 * Milliseconds between heartbeats while requests are in flight or waiting to retry: a request may take
 * up to `timeoutMs` and a wait up to two minutes, longer than a short heartbeat timeout. Every wait is
 * bounded, so ticking proves only that the worker lives, which is what the timeout is there to check.
 */
const HEARTBEAT_EVERY_MS = 5000;

export interface TokenPrice {
  /** USD per million prompt tokens. */
  inputPerMTok: number;
  /** USD per million completion tokens. */
  outputPerMTok: number;
}

/** OpenAI's list prices (standard tier, USD per million tokens) for the models people judge with; exact names only. */
export const KNOWN_PRICES: Readonly<Record<string, TokenPrice>> = {
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
};

export interface OpenAIJudgeOptions {
  model: string;
  endpoint: EndpointConfig;
  /** Pair requests in flight at once. */
  concurrency: number;
  labelDescriptions: Readonly<Record<string, string>>;
  /** Retries of one request after transient faults. */
  maxRetries: number;
  /** Extra tries after an invalid answer. */
  invalidAnswerRetries: number;
  timeoutMs: number;
  maxTextChars: number;
  /** null: not sent. */
  temperature: number | null;
  /** @default KNOWN_PRICES[model] */
  price?: TokenPrice | undefined;
  /** The cache folder shared by runs. */
  cacheDir: string;
  /** Backoff tuning (tests shorten it). @default DEFAULT_RETRY_POLICY */
  retry?: Partial<Omit<RetryPolicy, 'maxRetries'>>;
}

type ResponseFormat = NonNullable<JudgeUsage['responseFormat']>;

/** One distinct prompt: a pair, or several pairs with the same two texts and labels. */
interface PairPrompt {
  key: string;
  items: [PromptItem, PromptItem];
  messages: ChatMessage[];
  pairs: number;
}

type PromptResult = { answer: PairAnswer } | { problem: string };

function checkDescriptions(descriptions: Readonly<Record<string, string>>, labels: readonly string[]): void {
  const unknown = Object.keys(descriptions).filter((l) => !labels.includes(l));
  if (unknown.length > 0) {
    throw dqeFailure('DqeInvalidInput', `judge.labelDescriptions: ${unknown.map((l) => JSON.stringify(l)).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not in the label set (${labels.join(', ')})`);
  }
}

/** A cached answer is reused only if it still fits today's label set. */
function cachedAnswer(labels: readonly string[]) {
  return (v: unknown): PairAnswer | undefined => {
    const a = v as Partial<PairAnswer> | null;
    const ok =
      Array.isArray(a?.labels) && Array.isArray(a.reasons) && a.labels.length === 2 && a.reasons.length === 2 &&
      a.labels.every((l) => typeof l === 'string' && labels.includes(l)) && a.reasons.every((r) => typeof r === 'string' && r.length > 0);
    return ok ? (a as PairAnswer) : undefined;
  };
}

/** The SDK returns whatever JSON a 2xx carried; anything without a first choice's message is a malformed body. */
function checkCompletion(res: unknown): ChatCompletion {
  const r = res as Partial<ChatCompletion> | null | undefined;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.choices) || typeof r.choices[0]?.message !== 'object' || r.choices[0].message === null) {
    throw new MalformedResponseError(`not a chat completion: ${JSON.stringify(res)?.slice(0, 120) ?? String(res)}`);
  }
  return r as ChatCompletion;
}

function tokens(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0;
}

export function createOpenAIJudge(opts: OpenAIJudgeOptions): Judge {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.retry, maxRetries: opts.maxRetries };
  const what = `judge "openai" (model ${opts.model} at ${opts.endpoint.baseUrl})`;
  const price = opts.price ?? KNOWN_PRICES[opts.model];
  const cache = new VerdictCache(opts.cacheDir);

  return {
    name: 'openai',
    async judge(req, ctx) {
      checkDescriptions(opts.labelDescriptions, req.labels);
      // Built on the first cache miss: a run whose pairs are all cached needs no endpoint and no key.
      let client: OpenAI | undefined;

      // One prompt per distinct pair of (text, label) items, in a canonical order, so a mirror-image
      // pair (x's neighbour is n and n's is x) and any duplicate cost one request.
      const prompts = new Map<string, PairPrompt>();
      const pairPrompts = req.pairs.map((p: NoisyPair) => {
        const a: PromptItem = { text: promptText(p.x.text, opts.maxTextChars), label: p.x.label };
        const b: PromptItem = { text: promptText(p.neighbour.text, opts.maxTextChars), label: p.neighbour.label };
        const flipped = JSON.stringify([b.text, b.label]) < JSON.stringify([a.text, a.label]);
        const items: [PromptItem, PromptItem] = flipped ? [b, a] : [a, b];
        const key = verdictKey({
          model: opts.model,
          promptVersion: JUDGE_PROMPT_VERSION,
          labels: req.labels,
          labelDescriptions: opts.labelDescriptions,
          texts: [items[0].text, items[1].text],
          givenLabels: [items[0].label, items[1].label],
        });
        const known = prompts.get(key);
        if (known) known.pairs++;
        else prompts.set(key, { key, items, messages: pairMessages(req.labels, opts.labelDescriptions, items), pairs: 1 });
        return { key, flipped };
      });

      const usage = { requests: 0, cachedPairs: 0, promptTokens: 0, completionTokens: 0, pairsAsked: 0, invalidAnswers: 0, unansweredPairs: 0, retries: 0 };
      let format: ResponseFormat = 'json_schema';
      const total = req.pairs.length;
      let done = 0;
      const beat = (extra: Record<string, unknown> = {}) => ctx.heartbeat({ pairsDone: done, pairsTotal: total, ...extra });
      beat();
      const ticker = setInterval(() => beat(), HEARTBEAT_EVERY_MS);

      // The first failure stops the rest: queued prompts are skipped and requests in flight aborted.
      const stop = new AbortController();
      const onCancel = () => stop.abort(ctx.signal.reason);
      ctx.signal.addEventListener('abort', onCancel, { once: true });
      let firstError: Error | undefined;

      const body = (messages: ChatMessage[], mode: ResponseFormat): ChatCompletionCreateParamsNonStreaming => ({
        model: opts.model,
        messages,
        response_format:
          mode === 'json_schema'
            ? { type: 'json_schema', json_schema: { name: ANSWER_SCHEMA_NAME, strict: true, schema: answerJsonSchema(req.labels) } }
            : { type: 'json_object' },
        max_completion_tokens: MAX_ANSWER_TOKENS,
        ...(opts.temperature === null ? {} : { temperature: opts.temperature }),
      });

      const complete = async (api: OpenAI, messages: ChatMessage[]): Promise<ChatCompletion> => {
        for (;;) {
          const mode = format;
          try {
            return await withRetries(
              what,
              async () => checkCompletion(await api.chat.completions.create(body(messages, mode), { signal: stop.signal })),
              policy,
              {
                signal: stop.signal,
                secret: opts.endpoint.apiKey,
                onRequest: () => usage.requests++,
                onRetry: ({ retry, delayMs, reason }) => {
                  usage.retries++;
                  ctx.log('judge request failed; retrying', { retry, delayMs: Math.round(delayMs), reason });
                  beat({ waitingMs: Math.round(delayMs) });
                },
              },
            );
          } catch (err) {
            // 400/422 to a schema request: the endpoint has no structured outputs; plain JSON mode from now on.
            const status = (err as { status?: unknown }).status;
            if (mode === 'json_schema' && (status === 400 || status === 422)) {
              if (format === 'json_schema') ctx.log('endpoint refused the JSON schema; falling back to JSON mode', { status });
              format = 'json_object';
              continue;
            }
            throw remoteFailure(what, err, opts.endpoint.apiKey);
          }
        }
      };

      const ask = async (api: OpenAI, prompt: PairPrompt): Promise<PromptResult> => {
        usage.pairsAsked++;
        let messages = prompt.messages;
        let problem = '';
        for (let attempt = 0; attempt <= opts.invalidAnswerRetries; attempt++) {
          const res = await complete(api, messages);
          usage.promptTokens += tokens(res.usage?.prompt_tokens);
          usage.completionTokens += tokens(res.usage?.completion_tokens);
          const choice = res.choices[0]!;
          const content = choice.message.content;
          const parsed = choice.message.refusal
            ? { ok: false as const, problem: `the model refused: ${choice.message.refusal}` }
            : choice.finish_reason === 'length'
              ? { ok: false as const, problem: `the answer was cut off at ${MAX_ANSWER_TOKENS} tokens` }
              : parsePairAnswer(content, req.labels);
          if (parsed.ok) return { answer: parsed.answer };
          usage.invalidAnswers++;
          problem = parsed.problem;
          ctx.log('judge answer invalid', { try: attempt + 1, problem });
          messages = [...prompt.messages, ...correctionMessages(content ?? '', problem)];
        }
        usage.unansweredPairs++;
        return { problem: `the judge gave no valid answer in ${opts.invalidAnswerRetries + 1} tries (last: ${problem})` };
      };

      const results = new Map<string, PromptResult>();
      const limit = pLimit(opts.concurrency);
      const tasks = [...prompts.values()].map((prompt) =>
        limit(async () => {
          if (stop.signal.aborted) return;
          const hit = await cache.get(prompt.key, cachedAnswer(req.labels));
          let result: PromptResult;
          if (hit) {
            result = { answer: hit };
            usage.cachedPairs += prompt.pairs;
          } else {
            client ??= createOpenAIClient(opts.endpoint, opts.timeoutMs, what);
            result = await ask(client, prompt);
            if ('answer' in result) await cache.put(prompt.key, result.answer);
          }
          results.set(prompt.key, result);
          done += prompt.pairs;
          beat();
        }).catch((err: unknown) => {
          firstError ??= err instanceof Error ? err : new Error('judge task failed', { cause: err });
          stop.abort(err);
        }),
      );
      try {
        await Promise.all(tasks);
      } finally {
        clearInterval(ticker);
        ctx.signal.removeEventListener('abort', onCancel);
      }
      if (firstError !== undefined) throw firstError;
      stop.signal.throwIfAborted();

      const judgements: RowJudgement[] = [];
      req.pairs.forEach((p, i) => {
        const { key, flipped } = pairPrompts[i]!;
        const r = results.get(key)!;
        const rows = [p.x, p.neighbour] as const;
        rows.forEach((row, k) => {
          const slot = flipped ? 1 - k : k;
          judgements.push(
            'answer' in r
              ? { id: row.id, given: row.label, judged: r.answer.labels[slot]!, reason: r.answer.reasons[slot]! }
              : { id: row.id, given: row.label, reason: r.problem },
          );
        });
      });

      const costUsd = price ? (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1e6 : null;
      ctx.log('openai judge finished', { pairs: total, ...usage, costUsd });
      return {
        verdicts: mergeRowJudgements(judgements),
        usage: {
          ...usage,
          costUsd,
          model: opts.model,
          responseFormat: format,
          pricePerMTok: price ? { input: price.inputPerMTok, output: price.outputPerMTok } : null,
        },
      };
    },
  };
}

