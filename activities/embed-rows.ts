// An embed shard's rows through the content-hash cache and the embedder into the shard's matrix file. Kept apart
// from activities/embed.ts so that the embed thread (activities/embed-thread-main.ts) loads only what this needs:
// not the other embedders (onnxruntime, the OpenAI client) nor Temporal's activity context.
import { EmbeddingCache, textKey } from '../adapters/embedding-cache.js';
import type { Embedder } from '../adapters/embedders/types.js';
import { AtomicWriter } from '../adapters/files.js';
import type { JobContext } from '../adapters/trainers/types.js';
import { workFile } from '../core/run-layout.js';
import { keptRange } from './read.js';
import type { EmbedderConfig } from '../core/input.js';
import type { CleanResult, EmbedShardResult, KeptRow, Shard } from './refs.js';

export interface EmbedShardArgs {
  runDir: string;
  clean: CleanResult;
  embedder: EmbedderConfig;
  shard: Shard;
}

/** Whether a vector has no direction: all zeros, or any NaN or infinity. */
export function isUnembeddable(v: Float32Array): boolean {
  let any = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) return true;
    if (x !== 0) any = true;
  }
  return !any;
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
