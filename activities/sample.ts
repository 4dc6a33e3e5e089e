// Phase 4, sample: the greedy diversity selection splits the kept rows into sampled and unsampled.
import { rm } from 'node:fs/promises';
import { dqeFailure } from '../adapters/failure.js';
import { hashKey, runPhaseOnce, writeTypedAtomic } from '../adapters/files.js';
import type { JobContext } from '../adapters/trainers/types.js';
import { sampleCount, type SamplingRule } from '../core/sampling/index.js';
import { jobContext } from './context.js';
import { runInThread } from './threads.js';
import type { EmbedResult, SampleResult } from './refs.js';
import type { SampleThreadInput, SampleThreadResult } from './sample-thread-main.js';
import { workFile } from '../core/run-layout.js';
import { workDirOf } from '../adapters/run-files.js';

/** Heartbeat interval while the sampling thread runs (the compute profile's heartbeat timeout is minutes). */
const HEARTBEAT_MS = 5_000;

export interface SampleArgs {
  runDir: string;
  embed: EmbedResult;
  ratio: number;
  seed: number;
  rule: 'centroid' | 'kcenter';
}

export async function sampleRows(args: SampleArgs): Promise<SampleResult> {
  const started = performance.now();
  const key = hashKey({ matrix: args.embed.matrix.path, ratio: args.ratio, seed: args.seed, rule: args.rule });
  const ctx = jobContext();
  return runPhaseOnce(workDirOf(args.runDir), 'sample', key, async (prefix) => {
    const { rows, dim, path } = args.embed.matrix;
    const count = sampleCount(rows, args.ratio);
    if (count >= rows) {
      throw dqeFailure(
        'DqeRatioTooHigh',
        `ratio ${args.ratio} × ${rows} kept rows samples ${count}, leaving no unsampled row to predict, so DQE could find nothing uncovered, difficult or noisy; use a ratio of at most ${((rows - 1) / rows).toFixed(4)}`,
      );
    }
    ctx.heartbeat({ rows, count, selected: 0 });
    // Named after the phase's inputs, so a retried attempt continues the picks an earlier one saved.
    const checkpointPath = workFile(prefix, 'order.partial.u32');
    const { order, resumedFrom } = await sampleInThread({ matrixPath: path, rows, dim, count, seed: args.seed, rule: args.rule, checkpointPath }, ctx);
    if (resumedFrom > 0) ctx.log('sampling continued from the checkpoint of an earlier attempt', { picks: resumedFrom, of: count });
    const split = new Uint8Array(rows);
    for (const id of order) split[id] = 1;
    await writeTypedAtomic(workFile(prefix, 'order.u32'), order);
    await writeTypedAtomic(workFile(prefix, 'split.u8'), split);
    await rm(checkpointPath, { force: true });
    return {
      orderPath: workFile(prefix, 'order.u32'),
      splitPath: workFile(prefix, 'split.u8'),
      sampled: count,
      unsampled: rows - count,
      seconds: (performance.now() - started) / 1000,
    } satisfies SampleResult;
  });
}

/**
 * greedySample in a worker thread (activities/sample-thread-main.ts) while this thread heartbeats
 * {rows, count, selected}; cancelling the activity stops the thread at its next block of products. With a
 * checkpoint path (centroid rule), the picks are saved there as they are made and an earlier attempt's continued.
 */
export function sampleInThread(
  input: { matrixPath: string; rows: number; dim: number; count: number; seed: number; rule: SamplingRule; checkpointPath?: string },
  ctx: JobContext,
  heartbeatMs = HEARTBEAT_MS,
): Promise<SampleThreadResult> {
  // [0]: rows selected (the thread writes it); [1]: the stop flag (this side sets it).
  const progress = new SharedArrayBuffer(8);
  const selected = new Int32Array(progress);
  return runInThread<SampleThreadResult>({
    main: './sample-thread-main.ts',
    input: { ...input, progress } satisfies SampleThreadInput,
    what: 'sampling',
    ctx,
    heartbeat: { everyMs: heartbeatMs, details: () => ({ rows: input.rows, count: input.count, selected: Atomics.load(selected, 0) }) },
    stop: () => Atomics.store(selected, 1, 1),
  });
}
