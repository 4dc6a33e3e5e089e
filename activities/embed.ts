// Phase 3, embed: one L2-normalised vector per kept row, into one float32 matrix file, through the
// content-hash cache so a re-run embeds only rows it has not seen. Fanned out: each shard of rows is
// its own activity, on whichever worker takes it (a `threaded` embedder's shard in a worker thread of its own:
// activities/embed-thread-main.ts); a merge concatenates the shards in order.
import { hostname } from 'node:os';
import { createEmbedder } from '../adapters/embedders/index.js';
import { AtomicWriter, hashKey, runPhaseOnce } from '../adapters/files.js';
import { runInThread } from './threads.js';
import { jobContext } from './context.js';
import { embedRows, type EmbeddedRows, type EmbedRowsInput, type EmbedShardArgs } from './embed-rows.js';
import { appendRowsWithout, dropUnembeddable } from './unembeddable.js';
import type { CleanResult, EmbedResult, EmbedShardResult } from './refs.js';
import { workFile } from '../core/run-layout.js';
import { workDirOf } from '../adapters/run-files.js';

export interface MergeEmbeddingsArgs {
  runDir: string;
  clean: CleanResult;
  shards: EmbedShardResult[];
}

/**
 * Rows from which a `threaded` embedder's shard gets its own thread. Starting one (tsx, the shard's modules)
 * takes ~0.5 s, what the hash embedder needs for about 10,000 rows; smaller shards (the example's, tests')
 * run on the activity's thread. Either way the shard file is the same, byte for byte.
 */
export const EMBED_THREAD_MIN_ROWS = 10_000;

export interface EmbedDeps {
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  /** Names this worker in fan-out results. */
  workerId?: string;
  /** @default EMBED_THREAD_MIN_ROWS */
  embedThreadMinRows?: number;
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
    const rows = embedder.threaded && shard.end - shard.start >= (deps.embedThreadMinRows ?? EMBED_THREAD_MIN_ROWS)
      ? await runInThread<EmbeddedRows>({ main: './embed-thread-main.ts', input, what: 'embedding', ctx, stop: (worker) => worker.postMessage('stop') })
      : await embedRows(input, embedder, ctx);
    return { shard, ...rows, seconds: (performance.now() - started) / 1000, worker: workerIdentity(deps) } satisfies EmbedShardResult;
  });
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
