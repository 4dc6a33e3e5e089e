// The Qdrant vector store: a run's kept rows as points in Qdrant, nearest neighbours by batched filtered queries.
import { createHash } from 'node:crypto';
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { ApplicationFailure } from '@temporalio/common';
import pLimit from 'p-limit';
import { dqeFailure } from '../failure.js';
import { withRetries, type RetryErrors, type RetryPolicy, type Transient } from '../http-retry.js';
import type { Neighbour, Split } from '../../core/categorise.js';
import type { VectorStoreConfig } from '../../core/input.js';
import type { IndexRequest, NearestKRequest, NearestRequest, StorePoint, VectorStore } from './types.js';

export type QdrantStoreConfig = Extract<VectorStoreConfig, { name: 'qdrant' }>;

/** Knobs the tests turn; production uses the defaults. */
export interface QdrantStoreTuning {
  /** Points per upsert request. @default sized so one request carries about UPSERT_REQUEST_BYTES */
  upsertChunkPoints?: number;
  /** Queries per `query/batch` request. @default QUERIES_PER_REQUEST */
  queriesPerRequest?: number;
  /** Attempts per request, the first included. @default MAX_ATTEMPTS */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt up to RETRY_MAX_DELAY_MS. @default RETRY_BASE_DELAY_MS */
  retryBaseDelayMs?: number;
}

/** Per-request timeout when the input sets none: long enough for an exact batch over a million points. */
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** JSON size aimed at per upsert request; Qdrant refuses bodies over 32 MiB by default. */
const UPSERT_REQUEST_BYTES = 8 * 1024 * 1024;
/** JSON bytes per float32 sent at full precision (e.g. `-0.012345678901234567,`). */
const JSON_BYTES_PER_FLOAT = 22;
/** JSON bytes per point besides its vector (id and payload). */
const JSON_BYTES_PER_POINT = 200;
const MAX_UPSERT_CHUNK_POINTS = 2_000;
/** Requests in flight at once, for upserts and for query batches (dqe's machines have 2 cores). */
const CONCURRENT_REQUESTS = 2;
const QUERIES_PER_REQUEST = 64;
/** Points per scroll page when listing what a partial collection already holds. */
const SCROLL_PAGE_POINTS = 5_000;
/**
 * Candidates asked per query besides the top one. Qdrant orders equal scores arbitrarily, so dqe takes
 * the lowest row id among the top score itself; when every candidate ties, it asks again for more.
 */
const EXTRA_CANDIDATES = 3;
const MAX_ATTEMPTS = 6;
const RETRY_BASE_DELAY_MS = 250;
const RETRY_MAX_DELAY_MS = 8_000;
/**
 * Longest Retry-After waited inside the activity; a longer one ends the attempt with a retryable failure
 * that asks Temporal to wait instead. Kept well under the 5-minute heartbeat timeout of the remote
 * activities that run a Qdrant run's index and categorise phases (workflows/dqe.ts).
 */
const MAX_IN_ACTIVITY_WAIT_MS = 120_000;
/** Qdrant allows 255 characters in a collection name; this leaves room for the prefix and a hash. */
const MAX_RUN_ID_CHARS = 200;
const COLLECTION_PREFIX = 'dqe_';
const RUN_ID_HASH_CHARS = 12;
/** Payload fields dqe writes and filters on. */
const FIELD = { row: 'row', label: 'label', split: 'split', run: 'run' } as const;

/** Per-run collection name: readable when the run id is already a safe name, hashed when sanitised. */
export function collectionForRun(runId: string): string {
  const safe = runId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_RUN_ID_CHARS);
  if (safe === runId && safe.length > 0) return `${COLLECTION_PREFIX}${safe}`;
  // Sanitising is lossy ("a/b" and "a:b" both give "a_b"), so the hash keeps distinct runs apart.
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, RUN_ID_HASH_CHARS);
  return `${COLLECTION_PREFIX}${safe}_${hash}`;
}

/**
 * A point id in a collection shared by runs: a UUID derived from (run, row), so a retry writes the same
 * ids and runs never overwrite each other. In a per-run collection the point id is the row id itself.
 */
export function sharedPointId(runId: string, row: number): string {
  const h = createHash('sha256').update(`${runId}\u0000${row}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5 (name-based, SHA)
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

type PointId = string | number;
/** A point found in the collection, with the payload that tells whether it is this run's row as given. */
interface PresentPoint {
  id: PointId;
  label: unknown;
  split: unknown;
}
type Filter = Schemas['Filter'];
type Condition = Schemas['Condition'];

interface Layout {
  collection: string;
  shared: boolean;
  pointId(row: number): PointId;
  /** Conditions every request of this run adds (the run filter in a shared collection). */
  runConditions: Condition[];
}

function layoutFor(config: QdrantStoreConfig, runId: string): Layout {
  if (config.collection === undefined) {
    return { collection: collectionForRun(runId), shared: false, pointId: (row) => row, runConditions: [] };
  }
  return {
    collection: config.collection,
    shared: true,
    pointId: (row) => sharedPointId(runId, row),
    runConditions: [{ key: FIELD.run, match: { value: runId } }],
  };
}

/** What a failed HTTP call looks like (the client's ApiError, duck-typed: it is not exported). */
interface HttpErrorLike {
  status: number;
  data?: unknown;
  headers?: { get(name: string): string | null };
}

function isHttpError(err: unknown): err is HttpErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}

/** Qdrant's own error text from `{status: {error}}`, else the HTTP status line. */
function qdrantMessage(err: HttpErrorLike): string {
  const data = err.data as { status?: { error?: unknown } } | string | undefined;
  if (typeof data === 'object' && data !== null && typeof data.status?.error === 'string') return data.status.error;
  if (typeof data === 'string' && data.length > 0) return data.slice(0, 500);
  return `HTTP ${err.status}`;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown; cause?: { code?: unknown } }).cause?.code ?? (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  // undici reports every connection failure as `TypeError: fetch failed`, the cause holding the detail.
  return err instanceof TypeError && err.message === 'fetch failed';
}

/** A transient fault worth retrying, and how long the server asked us to wait (ms), if it did. */
function transient(err: unknown): Transient {
  if (err instanceof Error && err.name === 'QdrantClientTimeoutError') return { retry: true, reason: 'request timed out' };
  if (err instanceof Error && err.name === 'QdrantClientResourceExhaustedError') {
    const seconds = (err as { retry_after?: unknown }).retry_after;
    return { retry: true, reason: 'resource exhausted', waitMs: typeof seconds === 'number' && Number.isFinite(seconds) ? seconds * 1000 : undefined };
  }
  if (isHttpError(err)) {
    if (err.status === 429 || err.status === 408 || err.status >= 500) {
      const after = Number(err.headers?.get('retry-after'));
      return { retry: true, reason: `HTTP ${err.status}`, waitMs: Number.isFinite(after) && after > 0 ? after * 1000 : undefined };
    }
    return { retry: false, reason: `HTTP ${err.status}` };
  }
  return { retry: isNetworkError(err), reason: err instanceof Error ? err.message : String(err) };
}

/** The collection's one unnamed dense vector; undefined for named vectors (dqe writes unnamed ones). */
function singleVector(vectors: Schemas['VectorsConfig'] | undefined): Schemas['VectorParams'] | undefined {
  if (vectors === undefined) return undefined;
  const v = vectors as Partial<Schemas['VectorParams']>;
  return typeof v.size === 'number' && typeof v.distance === 'string' ? (vectors as Schemas['VectorParams']) : undefined;
}

let warnedPlainHttp = false;

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}

/** Runs `items` through `fn`, at most `concurrency` at once; after the first failure no new item starts. */
async function inParallel<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const limit = pLimit(concurrency);
  let failed = false;
  const run = async (item: T) => {
    if (failed) return;
    try {
      await fn(item);
    } catch (err) {
      failed = true;
      throw err;
    }
  };
  await Promise.all(items.map((item) => limit(() => run(item))));
}

function checkShape(vectors: Float32Array, dim: number, points: readonly StorePoint[], what: string): void {
  if (!Number.isInteger(dim) || dim <= 0 || vectors.length !== points.length * dim) {
    throw dqeFailure('DqeVectorDimensionMismatch', `${what}: ${vectors.length} floats do not make ${points.length} vectors of dimension ${dim}`);
  }
}

function vectorAt(vectors: Float32Array, dim: number, pos: number): number[] {
  // Full precision: the float64 value of each float32 parses back to the very same float32 on the server.
  return Array.from(vectors.subarray(pos * dim, (pos + 1) * dim));
}

export function createQdrantStore(config: QdrantStoreConfig, env: NodeJS.ProcessEnv, tuning: QdrantStoreTuning = {}): VectorStore {
  const url = config.url ?? env['QDRANT_URL'];
  const apiKey = env['QDRANT_API_KEY'] || undefined;
  const timeoutMs = config.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const maxAttempts = tuning.maxAttempts ?? MAX_ATTEMPTS;
  const policy: RetryPolicy = {
    maxRetries: maxAttempts - 1,
    initialDelayMs: tuning.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS,
    maxDelayMs: RETRY_MAX_DELAY_MS,
    maxInActivityWaitMs: MAX_IN_ACTIVITY_WAIT_MS,
  };
  const errors: RetryErrors = {
    transient,
    giveUp: (what, _reason, _tries, err, nextRetryDelayMs) => failure(what, err, true, nextRetryDelayMs),
  };
  const queriesPerRequest = tuning.queriesPerRequest ?? QUERIES_PER_REQUEST;

  let client: QdrantClient | undefined;
  /** Built on first use, so a store for the embedded path or a failed config costs nothing up front. */
  function qdrant(): QdrantClient {
    if (client) return client;
    if (!url) {
      throw dqeFailure('DqeQdrantNotConfigured', 'vectorStore "qdrant" needs a server: set QDRANT_URL on the worker or vectorStore.url in the input');
    }
    if (!/^https?:\/\//.test(url)) {
      throw dqeFailure('DqeQdrantNotConfigured', `QDRANT_URL must start with http:// or https://, got "${url}"`);
    }
    if (apiKey && url.startsWith('http://') && !isLoopback(url) && !warnedPlainHttp) {
      warnedPlainHttp = true;
      console.warn(`dqe: QDRANT_API_KEY is sent over plain http to ${url}; use https outside a private network`);
    }
    client = new QdrantClient({
      url,
      // As a header rather than `apiKey`, whose warning would repeat for every activity's client and
      // also fire for a loopback sidecar; the warning above says it once, where it matters.
      ...(apiKey ? { headers: { 'api-key': apiKey } } : {}),
      timeout: timeoutMs,
      // The version probe runs un-awaited at construction and only warns; dqe reports a server too old
      // for an endpoint when that endpoint answers 404 instead (see `call`).
      checkCompatibility: false,
    });
    return client;
  }

  /** One Qdrant request with retries on transient faults; everything else becomes a clear failure. */
  async function call<T>(what: string, fn: (c: QdrantClient) => Promise<T>): Promise<T> {
    const c = qdrant();
    try {
      return await withRetries(what, () => fn(c), policy, {}, errors);
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      throw failure(what, err, false);
    }
  }

  function failure(what: string, err: unknown, wasTransient: boolean, nextRetryDelayMs?: number): Error {
    const where = `Qdrant at ${url}: ${what}`;
    if (wasTransient) {
      const detail = isHttpError(err)
        ? `${err.status} ${qdrantMessage(err)}`
        : err instanceof Error
          ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`
          : String(err);
      if (nextRetryDelayMs !== undefined) {
        return dqeFailure('DqeQdrantUnavailable', `${where}: ${detail}, and the server asks to wait ${Math.round(nextRetryDelayMs / 1000)} s; retrying the activity then`, { nextRetryDelay: Math.ceil(nextRetryDelayMs) });
      }
      return dqeFailure('DqeQdrantUnavailable', `${where} still failing after ${maxAttempts} attempts: ${detail}`);
    }
    if (!isHttpError(err)) return err instanceof Error ? err : new Error(String(err));
    const message = qdrantMessage(err);
    if (err.status === 401 || err.status === 403) {
      return dqeFailure('DqeQdrantUnauthorized', `${where} refused the API key (${err.status}: ${message}); check QDRANT_API_KEY`);
    }
    if (/dimension/i.test(message)) {
      return dqeFailure('DqeVectorDimensionMismatch', `${where}: ${message}`);
    }
    if (err.status === 404 && /collection/i.test(message)) {
      return dqeFailure('DqeQdrantCollectionMissing', `${where}: ${message}`);
    }
    const hint = err.status === 404 ? ' (no such endpoint: dqe needs Qdrant 1.10 or newer)' : '';
    return dqeFailure('DqeQdrantRejected', `${where} rejected the request (${err.status}: ${message})${hint}`);
  }

  /** Creates the collection if needed and checks that an existing one fits this run's vectors. */
  async function ensureCollection(layout: Layout, dim: number): Promise<void> {
    const name = layout.collection;
    const exists = (await call(`check collection ${name}`, (c) => c.collectionExists(name))).exists;
    if (!exists) {
      try {
        await call(`create collection ${name}`, (c) =>
          c.createCollection(name, {
            // Cosine: dqe's neighbour is the largest cosine similarity (design §1 phase 7).
            vectors: { size: dim, distance: 'Cosine' },
          }),
        );
      } catch (err) {
        // Another attempt of the same activity may have created it in between: check it like any other.
        if (!(err instanceof ApplicationFailure && /already exists/i.test(err.message))) throw err;
      }
    }
    const info = await call(`read collection ${name}`, (c) => c.getCollection(name));
    const vectors = singleVector(info.config.params.vectors);
    if (!vectors) {
      throw dqeFailure('DqeQdrantCollectionMismatch', `Qdrant collection "${name}" uses named vectors; dqe needs one unnamed vector per point (use another collection)`);
    }
    if (vectors.size !== dim) {
      throw dqeFailure('DqeVectorDimensionMismatch', `Qdrant collection "${name}" holds ${vectors.size}-dimensional vectors but this run's embeddings have ${dim} dimensions; ` +
          (layout.shared ? 'point vectorStore.collection at a collection for this embedder' : 'drop the collection or start a new run'));
    }
    if (vectors.distance !== 'Cosine') {
      throw dqeFailure('DqeQdrantCollectionMismatch', `Qdrant collection "${name}" uses ${vectors.distance} distance; dqe needs Cosine (use another collection)`);
    }
    // Keyword indexes make the split filter (and a shared collection's run filter) cheap for HNSW's
    // filtered search; creating an index that exists is a no-op on the server.
    const fields: string[] = layout.shared ? [FIELD.split, FIELD.run] : [FIELD.split];
    for (const field of fields) {
      await call(`index payload field ${field} of ${name}`, (c) =>
        c.createPayloadIndex(name, { field_name: field, field_schema: 'keyword', wait: true }),
      );
    }
  }

  function runFilter(layout: Layout): Filter | undefined {
    return layout.runConditions.length > 0 ? { must: layout.runConditions } : undefined;
  }

  /** The rows this run already has in the collection (to complete a partial index without redoing it). */
  async function presentRows(layout: Layout): Promise<{ present: Map<number, PresentPoint>; foreign: PointId[] }> {
    const present = new Map<number, PresentPoint>();
    /** Points without a numeric row payload: not dqe's, so not this run's either. */
    const foreign: PointId[] = [];
    const filter = runFilter(layout);
    let offset: PointId | undefined;
    do {
      const page = await call(`list points of ${layout.collection}`, (c) =>
        c.scroll(layout.collection, {
          limit: SCROLL_PAGE_POINTS,
          with_payload: [FIELD.row, FIELD.label, FIELD.split],
          with_vector: false,
          ...(filter ? { filter } : {}),
          ...(offset !== undefined ? { offset } : {}),
        }),
      );
      for (const p of page.points) {
        const payload = p.payload ?? {};
        const row = payload[FIELD.row];
        if (typeof row === 'number') present.set(row, { id: p.id, label: payload[FIELD.label], split: payload[FIELD.split] });
        else foreign.push(p.id);
      }
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
    return { present, foreign };
  }

  async function countRun(layout: Layout): Promise<number> {
    const filter = runFilter(layout);
    const res = await call(`count points of ${layout.collection}`, (c) =>
      c.count(layout.collection, { exact: true, ...(filter ? { filter } : {}) }),
    );
    return res.count;
  }

  /** A request's query builder: each query row's vector, the run's filter and the query itself excluded. */
  const searcher = (req: NearestRequest | NearestKRequest) => {
    checkShape(req.vectors, req.dim, req.points, 'nearest');
    const layout = layoutFor(config, req.runId);
    const posOf = new Map<number, number>();
    req.points.forEach((p, pos) => posOf.set(p.id, pos));
    const params: Schemas['SearchParams'] | undefined = config.exact
      ? { exact: true }
      : config.hnswEf !== undefined
        ? { hnsw_ef: config.hnswEf }
        : undefined;
    const split: Split | undefined = 'split' in req ? req.split : undefined;
    const search = (row: number, limit: number): Schemas['QueryRequest'] => {
      const pos = posOf.get(row);
      if (pos === undefined) {
        throw dqeFailure('DqeQdrantRejected', `nearest: query row ${row} is not among the run's ${req.points.length} points`);
      }
      const must: Condition[] = [...layout.runConditions];
      if (split !== undefined) must.push({ key: FIELD.split, match: { value: split } });
      return {
        query: vectorAt(req.vectors, req.dim, pos),
        filter: { ...(must.length > 0 ? { must } : {}), must_not: [{ has_id: [layout.pointId(row)] }] },
        limit,
        with_payload: [FIELD.row],
        with_vector: false,
        ...(params ? { params } : {}),
      };
    };
    return { search, layout };
  };
  /** A scored point's row (its payload's), undefined for a point without one. */
  const rowOf = (p: Schemas['ScoredPoint']): number | undefined => {
    const row = (p.payload as Record<string, unknown> | null | undefined)?.[FIELD.row];
    return typeof row === 'number' ? row : undefined;
  };
  /** Query indices in batches of `queriesPerRequest`. */
  const batchesOf = (n: number): number[][] => {
    const batches: number[][] = [];
    for (let i = 0; i < n; i += queriesPerRequest) batches.push(Array.from({ length: Math.min(queriesPerRequest, n - i) }, (_, k) => i + k));
    return batches;
  };

  return {
    name: 'qdrant',

    async index(req: IndexRequest) {
      checkShape(req.vectors, req.dim, req.points, 'index');
      const layout = layoutFor(config, req.runId);
      const total = req.points.length;
      await ensureCollection(layout, req.dim);

      const count = await countRun(layout);
      if (count === total) {
        req.onProgress?.(total, total);
        return { indexed: total, reused: true };
      }

      // Partial (an earlier attempt died mid-way) or stale: keep what is there, write what is missing,
      // remove points whose row this run does not have. Point ids are derived from row ids, so a
      // rewrite overwrites and never duplicates.
      const expected = new Set(req.points.map((p) => p.id));
      const { present, foreign } = count === 0 ? { present: new Map<number, PresentPoint>(), foreign: [] } : await presentRows(layout);
      const extra = [...foreign, ...[...present].filter(([row]) => !expected.has(row)).map(([, p]) => p.id)];
      if (extra.length > 0) {
        await call(`delete stale points of ${layout.collection}`, (c) => c.delete(layout.collection, { wait: true, points: extra }));
      }
      const missing: number[] = [];
      req.points.forEach((p, pos) => {
        // A point written with another label or split (not this run's data after all) is rewritten;
        // vectors are not compared, as that would mean reading the whole collection back.
        const there = present.get(p.id);
        if (!there || there.label !== p.label || there.split !== p.split) missing.push(pos);
      });

      const perChunk =
        tuning.upsertChunkPoints ??
        Math.max(1, Math.min(MAX_UPSERT_CHUNK_POINTS, Math.floor(UPSERT_REQUEST_BYTES / (req.dim * JSON_BYTES_PER_FLOAT + JSON_BYTES_PER_POINT))));
      const chunks: number[][] = [];
      for (let i = 0; i < missing.length; i += perChunk) chunks.push(missing.slice(i, i + perChunk));
      let done = total - missing.length;
      req.onProgress?.(done, total);
      await inParallel(chunks, CONCURRENT_REQUESTS, async (chunk) => {
        const points = chunk.map((pos) => {
          const p = req.points[pos]!;
          return {
            id: layout.pointId(p.id),
            vector: vectorAt(req.vectors, req.dim, pos),
            payload: { [FIELD.row]: p.id, [FIELD.label]: p.label, [FIELD.split]: p.split, [FIELD.run]: req.runId },
          };
        });
        // wait: the points are searchable when the call returns, so a completed index is a complete one.
        await call(`upsert ${points.length} points into ${layout.collection}`, (c) => c.upsert(layout.collection, { wait: true, points }));
        done += chunk.length;
        req.onProgress?.(done, total);
      });
      return { indexed: total, reused: false };
    },

    async nearest(req: NearestRequest): Promise<Neighbour[]> {
      const { search, layout } = searcher(req);
      /** Top row by (score desc, row asc), or undefined when every candidate tied (the tie may go on). */
      const pick = (points: readonly Schemas['ScoredPoint'][], limit: number): Neighbour | 'none' | undefined => {
        if (points.length === 0) return 'none';
        const top = Math.max(...points.map((p) => p.score));
        const tied = points.filter((p) => p.score === top);
        if (tied.length === limit) return undefined;
        let best = Infinity;
        for (const p of tied) {
          const row = rowOf(p);
          if (row !== undefined && row < best) best = row;
        }
        return { id: best, score: top };
      };

      const out: Neighbour[] = new Array<Neighbour>(req.queryIds.length);
      await inParallel(batchesOf(req.queryIds.length), CONCURRENT_REQUESTS, async (batch) => {
        let pending = batch;
        let limit = 1 + EXTRA_CANDIDATES;
        while (pending.length > 0) {
          const searches = pending.map((qi) => search(req.queryIds[qi]!, limit));
          const results = await call(`query ${searches.length} neighbours in ${layout.collection}`, (c) =>
            c.queryBatch(layout.collection, { searches }),
          );
          const again: number[] = [];
          pending.forEach((qi, k) => {
            const picked = pick(results[k]?.points ?? [], limit);
            if (picked === undefined) again.push(qi);
            else out[qi] = picked === 'none' ? { id: -1, score: -Infinity } : picked;
          });
          // Every candidate tied at the top score: ask for more until the tie ends inside the answer.
          pending = again;
          limit *= 4;
        }
      });
      return out;
    },

    async nearestK(req: NearestKRequest): Promise<Int32Array> {
      const { search, layout } = searcher(req);
      const k = req.k;
      const out = new Int32Array(req.queryIds.length * k).fill(-1);
      await inParallel(batchesOf(req.queryIds.length), CONCURRENT_REQUESTS, async (batch) => {
        let pending = batch;
        let limit = k + EXTRA_CANDIDATES;
        while (pending.length > 0) {
          const searches = pending.map((qi) => search(req.queryIds[qi]!, limit));
          const results = await call(`query ${searches.length} × ${k} neighbours in ${layout.collection}`, (c) => c.queryBatch(layout.collection, { searches }));
          const again: number[] = [];
          pending.forEach((qi, i) => {
            // Nearest first, ties to the lower row, as the embedded store answers.
            const found = (results[i]?.points ?? []).flatMap((p) => {
              const row = rowOf(p);
              return row === undefined ? [] : [{ row, score: p.score }];
            });
            found.sort((x, y) => y.score - x.score || x.row - y.row);
            // A full answer whose last score ties the k-th may have cut the tie past a lower row: ask for more.
            if (found.length === limit && found.length > k && found[found.length - 1]!.score === found[k - 1]!.score) again.push(qi);
            else found.slice(0, k).forEach((f, j) => (out[qi * k + j] = f.row));
          });
          pending = again;
          limit *= 4;
        }
      });
      return out;
    },

    async drop(runId: string) {
      const layout = layoutFor(config, runId);
      if (!layout.shared) {
        // Deleting a missing collection answers `false`, not an error, so a retried drop is harmless.
        await call(`delete collection ${layout.collection}`, (c) => c.deleteCollection(layout.collection));
        return;
      }
      const exists = (await call(`check collection ${layout.collection}`, (c) => c.collectionExists(layout.collection))).exists;
      if (!exists) return;
      await call(`delete the run's points from ${layout.collection}`, (c) =>
        c.delete(layout.collection, { wait: true, filter: { must: layout.runConditions } }),
      );
    },
  };
}
