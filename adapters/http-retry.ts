// Retries calls to HTTP endpoints — OpenAI-compatible ones (judge and embedder), and Qdrant with its own
// reading of errors (`RetryErrors`) — and turns their final failures into Temporal ApplicationFailures
// with stable types.
//
// The `openai` package's own retries are turned off (maxRetries: 0) and done here instead, because dqe
// needs what they lack: a Retry-After of a minute or more is honoured (the SDK falls back to its own
// short backoff there), a very long one ends the activity attempt with `nextRetryDelay` so that Temporal
// waits instead of a worker slot, waits heartbeat and stop on cancellation, and every request and retry
// is counted for the report.
import { setTimeout as sleep } from 'node:timers/promises';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import { dqeFailure } from './failure.js';

/** How hard to retry one request within one activity attempt. */
export interface RetryPolicy {
  /** Retries after the first try. @default 5 */
  maxRetries: number;
  /** Backoff before the first retry when the server gives no Retry-After, milliseconds; doubles per retry. @default 1000 */
  initialDelayMs: number;
  /** Longest backoff, milliseconds. @default 30000 */
  maxDelayMs: number;
  /**
   * Longest Retry-After waited inside the activity, milliseconds. A longer one ends the attempt with a
   * retryable failure whose `nextRetryDelay` is the server's wait, so the worker slot is freed meanwhile.
   * Kept under the remote activities' 5-minute heartbeat timeout. @default 120000
   */
  maxInActivityWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 5, initialDelayMs: 1000, maxDelayMs: 30_000, maxInActivityWaitMs: 120_000 };

export interface RetryHooks {
  /** Cancels waits and requests (the activity's cancellation signal). */
  signal?: AbortSignal | undefined;
  /** Called before every request, retries included. */
  onRequest?: () => void;
  /** Called before every wait: lets the caller heartbeat and count retries. */
  onRetry?: (info: { retry: number; delayMs: number; reason: string }) => void;
  /** Scrubbed from every message, should an endpoint echo it. */
  secret?: string | undefined;
}

/** A 2xx answer whose body is not what the API promises (a proxy's HTML page, a truncated JSON). */
export class MalformedResponseError extends Error {
  override readonly name = 'MalformedResponseError';
}

/** Milliseconds the server asked us to wait: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Whether a failed request is worth retrying, why (for logs and the final message), and the server's wait. */
export interface Transient {
  retry: boolean;
  reason: string;
  waitMs?: number | undefined;
}

/** How one kind of endpoint's errors are read, and the failure when retrying ends. */
export interface RetryErrors {
  transient(err: unknown): Transient;
  /**
   * The failure once retrying ends: after `tries` tries, or (with `nextRetryDelayMs`) because the server
   * asks to wait longer than the policy waits inside an activity.
   */
  giveUp(what: string, reason: string, tries: number, err: unknown, nextRetryDelayMs?: number): Error;
}

/** Whether a failed OpenAI SDK request is worth retrying. */
function openAiTransient(err: unknown): Transient {
  if (err instanceof APIUserAbortError) return { retry: false, reason: 'cancelled' };
  if (err instanceof APIConnectionError) return { retry: true, reason: err instanceof APIConnectionTimeoutError ? 'request timed out' : `connection failed: ${err.message}` };
  if (err instanceof APIError && typeof err.status === 'number') {
    const s: number = err.status;
    const headers = err.headers as Headers | undefined;
    // 408 request timeout, 409 lock conflict, 429 rate limit, 5xx server trouble: all pass with time.
    if (s === 408 || s === 409 || s === 429 || s >= 500) return { retry: true, reason: `HTTP ${s}`, waitMs: retryAfterMs(headers) };
    return { retry: false, reason: `HTTP ${s}` };
  }
  // A 2xx body that is not JSON: the SDK's JSON.parse throws a SyntaxError.
  if (err instanceof SyntaxError || err instanceof MalformedResponseError) return { retry: true, reason: `malformed response body: ${err.message}` };
  return { retry: false, reason: err instanceof Error ? err.message : String(err) };
}

/** Exponential backoff with equal jitter: half the step fixed, half random, so retries of many calls spread out. */
function backoffMs(retry: number, policy: RetryPolicy): number {
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (retry - 1));
  return step / 2 + Math.random() * (step / 2);
}

/** The OpenAI SDK's errors; retrying ends in a retryable `DqeRemoteUnavailable`. */
export const OPENAI_ERRORS: RetryErrors = {
  transient: openAiTransient,
  giveUp: (what, reason, tries, _err, nextRetryDelayMs) =>
    nextRetryDelayMs !== undefined
      ? dqeFailure('DqeRemoteUnavailable', `${what}: ${reason}, and the server asks to wait ${Math.round(nextRetryDelayMs / 1000)} s; retrying the activity then`, { nextRetryDelay: Math.ceil(nextRetryDelayMs) })
      : dqeFailure('DqeRemoteUnavailable', `${what}: still failing after ${tries} tries: ${reason}`),
};

/**
 * Calls `fn` until it succeeds, retrying transient faults (for the OpenAI SDK: 429, 5xx, 408, 409,
 * network, malformed 2xx bodies) with exponential backoff or the server's Retry-After. Non-transient
 * errors are rethrown as they are (map them with `remoteFailure`); when the retries run out, or the
 * server asks for a wait longer than `maxInActivityWaitMs`, `errors.giveUp`'s failure is thrown.
 */
export async function withRetries<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}, errors: RetryErrors = OPENAI_ERRORS): Promise<T> {
  for (let retry = 0; ; retry++) {
    hooks.signal?.throwIfAborted();
    hooks.onRequest?.();
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      const found = errors.transient(err);
      const t = { ...found, reason: redact(found.reason, hooks.secret) };
      if (!t.retry || hooks.signal?.aborted) throw err;
      if (t.waitMs !== undefined && t.waitMs > policy.maxInActivityWaitMs) throw errors.giveUp(what, t.reason, retry + 1, err, t.waitMs);
      if (retry >= policy.maxRetries) throw errors.giveUp(what, t.reason, retry + 1, err);
      const delayMs = t.waitMs ?? backoffMs(retry + 1, policy);
      hooks.onRetry?.({ retry: retry + 1, delayMs, reason: t.reason });
      await sleep(delayMs, undefined, hooks.signal ? { signal: hooks.signal } : {});
    }
  }
}

/** Removes a secret from text that may reach logs, failures or reports (an endpoint may echo the key). */
export function redact(text: string, secret: string | undefined): string {
  return secret && secret.length > 0 ? text.split(secret).join('[redacted]') : text;
}

/**
 * Maps an error that `withRetries` rethrew to a non-retryable ApplicationFailure with a message that
 * says what to check. `what` names the caller, model and endpoint; `secret` is scrubbed from messages.
 */
export function remoteFailure(what: string, err: unknown, secret?: string): Error {
  if (err instanceof ApplicationFailure || err instanceof APIUserAbortError) return err;
  if (err instanceof APIError && typeof err.status === 'number') {
    const detail = redact(err.message, secret);
    switch (err.status) {
      case 401:
        return dqeFailure('DqeRemoteUnauthorized', `${what}: the endpoint refused the API key (${detail}); set a valid OPENAI_API_KEY in the worker's environment`);
      case 403:
        return dqeFailure('DqeRemoteForbidden', `${what}: access denied (${detail}); the API key may not use this model or endpoint`);
      case 404:
        return dqeFailure('DqeRemoteNotFound', `${what}: not found (${detail}); check the model name and the base URL (baseUrl or OPENAI_BASE_URL, usually ending in /v1)`);
      default:
        return dqeFailure('DqeRemoteBadRequest', `${what}: the endpoint rejected the request (${detail})`);
    }
  }
  const message = redact(err instanceof Error ? err.message : String(err), secret);
  return dqeFailure('DqeRemoteUnavailable', `${what}: ${message}`);
}
