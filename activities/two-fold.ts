// Two-fold DQE: the second pass's split, the first pass's with the halves swapped.
import { readFile } from 'node:fs/promises';
import { hashKey, runPhaseOnce, writeTypedAtomic } from '../adapters/files.js';
import { swapSplit } from '../core/two-fold.js';
import type { SampleResult } from './refs.js';
import { workFile } from '../core/run-layout.js';
import { workDirOf } from '../adapters/run-files.js';

export interface SwapHalvesArgs {
  runDir: string;
  sample: SampleResult;
}

/** The second pass trains on the first pass's unsampled rows and predicts its sampled rows. */
export async function swapHalves(args: SwapHalvesArgs): Promise<SampleResult> {
  const started = performance.now();
  const key = hashKey({ split: args.sample.splitPath });
  return runPhaseOnce(workDirOf(args.runDir), 'swap', key, async (prefix) => {
    const split = swapSplit(new Uint8Array(await readFile(args.sample.splitPath)));
    const order: number[] = [];
    split.forEach((b, id) => b === 1 && order.push(id));
    await writeTypedAtomic(workFile(prefix, 'order.u32'), Uint32Array.from(order));
    await writeTypedAtomic(workFile(prefix, 'split.u8'), split);
    return {
      orderPath: workFile(prefix, 'order.u32'),
      splitPath: workFile(prefix, 'split.u8'),
      sampled: args.sample.unsampled,
      unsampled: args.sample.sampled,
      seconds: (performance.now() - started) / 1000,
    } satisfies SampleResult;
  });
}
