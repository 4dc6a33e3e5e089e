// Phase 3, embed: one L2-normalised vector per kept row, into one float32 matrix file, through the
// content-hash cache so a re-run embeds only rows it has not seen. Fanned out: each shard of rows is
// its own activity, on whichever worker takes it; a merge concatenates the shards in order.
import { hostname } from 'node:os';
import { createEmbedder } from '../adapters/embedders/index.js';
import { EmbeddingCache, textKey } from '../adapters/embedding-cache.js';
import { AtomicWriter, hashKey, runPhaseOnce } from '../adapters/files.js';
import type { EmbedderConfig } from '../core/input.js';
import type { Embedder } from '../adapters/embedders/types.js';
import type { JobContext } from '../adapters/trainers/types.js';
import { runInThread } from './threads.js';
import { jobContext } from './context.js';
import { keptRange } from './read.js';
import { appendRowsWithout, dropUnembeddable, isUnembeddable } from './unembeddable.js';
import type { CleanResult, EmbedResult, EmbedShardResult, KeptRow, Shard } from './refs.js';
import { workFile } from '../core/run-layout.js';
import { workDirOf } from '../adapters/run-files.js';

export interface EmbedShardArgs {
  runDir: string;
  clean: CleanResult;
  embedder: EmbedderConfig;
  shard: Shard;
}

export interface MergeEmbeddingsArgs {
  runDir: string;
  clean: CleanResult;
  shards: EmbedShardResult[];
}

export interface EmbedDeps {
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  /** Names this worker in fan-out results. */
  workerId?: string;
}

export function workerIdentity(deps: { workerId?: string }): string {
  return deps.workerId ?? `${process.pid}@${hostname()}`;
}

export async function embedShard(deps: EmbedDeps, args: EmbedShardArgs): Promise<EmbedShardResult> {
  const started = performance.now();
  const ctx = jobContext();
  // A remote embedder may wait minutes for a rate limit; heartbeat through it.
  const embedder = createEmbedder(args.embedder, deps.env, { onRetry: ({ retry, delayMs, reason }) => ctx.heartbeat({ retry, waitingMs: Math.round(delayMs), reason }) });
  const { shard } = args;
  const key = hashKey({ kept: args.clean.keptPath, embedder: embedder.id, start: shard.start, end: shard.end });
  return runPhaseOnce(workDirOf(args.runDir), `embed-shard-${shard.index}`, key, async (prefix) => {
    const input: EmbedRowsInput = { cacheDir: deps.cacheDir, args, prefix };
    const rows = embedder.threaded
      ? await runInThread<EmbeddedRows>({ main: './embed-thread-main.ts', input, what: 'embedding', ctx, stop: (worker) => worker.postMessage('stop') })
      : await embedRows(input, embedder, ctx);
    return { shard, ...rows, seconds: (performance.now() - started) / 1000, worker: workerIdentity(deps) } satisfies EmbedShardResult;
  });
}

export interface EmbedRowsInput {
  cacheDir: string;
  args: EmbedShardArgs;
  /** The phase's file prefix (runPhaseOnce). */
  prefix: string;
}

export type EmbeddedRows = Omit<EmbedShardResult, 'shard' | 'seconds' | 'worker'>;

/**
 * A shard's rows through the cache and the embedder into the shard's matrix file, on this thread (or in
 * the embed thread, activities/embed-thread-main.ts, for a threaded embedder).
 */
export async function embedRows({ cacheDir, args, prefix }: EmbedRowsInput, embedder: Embedder, ctx: JobContext): Promise<EmbeddedRows> {
  const { shard } = args;
  const cache = await EmbeddingCache.open(cacheDir, embedder.id);
  const out = await AtomicWriter.create(workFile(prefix, 'f32'));
  let dim: number | undefined;
  const unembeddable: number[] = [];
  let reused = 0;
  let embedded = 0;
  let done = 0;
  const total = shard.end - shard.start;
  // Up to `embedder.concurrency` batches are asked for at once; they are written (and cached) in
  // order, so the matrix rows stay in id order. The first failure aborts the batches still in flight.
  const stop = new AbortController();
  const onCancel = () => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onCancel, { once: true });
  // Cancelled before this began (a 'stop' that reached the embed thread first): the event has fired already.
  if (ctx.signal.aborted) onCancel();
  interface Pending {
    batch: KeptRow[];
    keys: Buffer[];
    vectors: Array<Float32Array | undefined>;
    missing: number[];
    fresh: Promise<Float32Array[]> | undefined;
  }
  const start = async (batch: KeptRow[]): Promise<Pending> => {
    const keys = batch.map((r) => textKey(r.text));
    const vectors = await cache.getMany(keys);
    const missing = batch.flatMap((_, i) => (vectors[i] ? [] : [i]));
    const fresh = missing.length > 0 ? embedder.embed(missing.map((i) => batch[i]!.text), stop.signal) : undefined;
    // Awaited in order by `finish`; until then a rejection must not count as unhandled.
    fresh?.catch(() => {});
    return { batch, keys, vectors, missing, fresh };
  };
  const finish = async ({ batch, keys, vectors, missing, fresh }: Pending) => {
    if (fresh) {
      const got = await fresh;
      missing.forEach((i, m) => (vectors[i] = got[m]!));
      // One writer: EmbeddingCache.putMany is not safe to call concurrently.
      await cache.putMany(
        missing.map((i) => keys[i]!),
        got,
      );
    }
    // The batch's rows go to the shard file in one write.
    const rows = new Float32Array(vectors.reduce((n, v) => n + v!.length, 0));
    let at = 0;
    for (const [i, v] of vectors.entries()) {
      if (isUnembeddable(v!)) unembeddable.push(batch[i]!.id);
      dim ??= v!.length;
      if (v!.length !== dim) throw new Error(`embedder ${embedder.id} returned width ${v!.length} after ${dim}`);
      rows.set(v!, at);
      at += v!.length;
    }
    await out.write(new Uint8Array(rows.buffer));
    reused += batch.length - missing.length;
    embedded += missing.length;
    done += batch.length;
    ctx.heartbeat({ done, total });
  };
  const inFlight: Pending[] = [];
  try {
    let batch: KeptRow[] = [];
    for await (const r of keptRange(args.clean, shard.start, shard.end)) {
      // Cancelled: stop between batches (an embedder that does not watch the signal would run to the end).
      stop.signal.throwIfAborted();
      batch.push(r);
      if (batch.length >= embedder.batchSize) {
        inFlight.push(await start(batch));
        batch = [];
        if (inFlight.length >= embedder.concurrency) await finish(inFlight.shift()!);
      }
    }
    if (batch.length > 0) inFlight.push(await start(batch));
    while (inFlight.length > 0) await finish(inFlight.shift()!);
    await out.commit();
  } catch (err) {
    stop.abort(err);
    await Promise.allSettled(inFlight.flatMap((p) => (p.fresh ? [p.fresh] : [])));
    await out.abort();
    throw err;
  } finally {
    ctx.signal.removeEventListener('abort', onCancel);
    await cache.close();
  }
  return { path: out.path, dim: dim ?? 0, embedderId: embedder.id, unembeddable, reused, embedded };
}

/** Concatenates the shards' vectors, in shard order, into the run's matrix file. */
export async function mergeEmbeddings(args: MergeEmbeddingsArgs): Promise<EmbedResult> {
  const started = performance.now();
  const shards = [...args.shards].sort((a, b) => a.shard.index - b.shard.index);
  const key = hashKey(shards.map((s) => s.path));
  return runPhaseOnce(workDirOf(args.runDir), 'embed', key, async (prefix) => {
    const dims = new Set(shards.map((s) => s.dim));
    if (dims.size > 1) throw new Error(`embedding shards disagree on width: ${[...dims].join(', ')}`);
    let expected = 0;
    for (const s of shards) {
      if (s.shard.start !== expected) throw new Error(`embedding shards do not tile the rows: shard ${s.shard.index} starts at ${s.shard.start}, expected ${expected}`);
      expected = s.shard.end;
    }
    if (expected !== args.clean.kept) throw new Error(`embedding shards cover ${expected} rows of ${args.clean.kept}`);
    // Rows an embedder could place nowhere leave the matrix here, as it is written (their kept rows below).
    const drop = shards.flatMap((s) => s.unembeddable ?? []);
    const gone = new Set(drop);
    const dim = shards[0]?.dim ?? 0;
    const out = await AtomicWriter.create(workFile(prefix, 'matrix.f32'));
    let rows = 0;
    try {
      for (const s of shards) rows += await appendRowsWithout(out, { path: s.path, rows: s.shard.end - s.shard.start, dim }, s.shard.start, gone);
    } catch (err) {
      await out.abort();
      throw err;
    }
    await out.commit();
    const clean = drop.length > 0 ? await dropUnembeddable(args.clean, drop, prefix, shards[0]!.embedderId) : undefined;
    return {
      matrix: { path: out.path, rows, dim },
      ...(clean ? { clean } : {}),
      embedderId: shards[0]?.embedderId ?? '',
      reused: shards.reduce((n, s) => n + s.reused, 0),
      embedded: shards.reduce((n, s) => n + s.embedded, 0),
      seconds: (performance.now() - started) / 1000 + shards.reduce((n, s) => n + s.seconds, 0),
      shards: shards.map((s) => ({ index: s.shard.index, rows: s.shard.end - s.shard.start, worker: s.worker })),
    } satisfies EmbedResult;
  });
}
