// Phase 4, sample: the greedy diversity selection splits the kept rows into sampled and unsampled.
import { join, resolve } from 'node:path';
import { hashKey, readMatrix, runPhaseOnce, writeTypedAtomic } from '../adapters/files.js';
import { greedySample, sampleCount } from '../core/sampling.js';
import { jobContext } from './context.js';
import type { EmbedResult, SampleResult } from './refs.js';

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
  return runPhaseOnce(join(resolve(args.runDir), 'work'), 'sample', key, async (prefix) => {
    const { rows, dim } = args.embed.matrix;
    const vectors = await readMatrix(args.embed.matrix);
    const count = sampleCount(rows, args.ratio);
    ctx.heartbeat({ rows, count });
    const order = greedySample(vectors, rows, dim, { count, seed: args.seed, rule: args.rule });
    const split = new Uint8Array(rows);
    for (const id of order) split[id] = 1;
    await writeTypedAtomic(`${prefix}.order.u32`, order);
    await writeTypedAtomic(`${prefix}.split.u8`, split);
    return {
      orderPath: `${prefix}.order.u32`,
      splitPath: `${prefix}.split.u8`,
      sampled: count,
      unsampled: rows - count,
      seconds: (performance.now() - started) / 1000,
    } satisfies SampleResult;
  });
}
