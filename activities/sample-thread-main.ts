// Runs the greedy sampling off the activity's event loop, so the activity keeps heartbeating (and an
// in-process worker keeps serving workflow tasks) during the minutes a million rows take. The centroid rule's
// picks so far are appended to a checkpoint file as it goes (every PROGRESS_EVERY picks, synced), and a
// retried attempt continues after them: a worker killed two hours into a million rows loses minutes, not hours.
// The rows are read straight into WebAssembly memory (allocateVectors): the SIMD kernels use them
// without a copy, and the activity's own thread never holds the matrix.
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { readBytesInto } from '../adapters/files.js';
import { allocateVectors, greedySample, type SamplingRule } from '../core/sampling/index.js';
import { validateResume } from '../core/sampling/options.js';
import type { ThreadMessage } from './threads.js';

export interface SampleThreadInput {
  matrixPath: string;
  rows: number;
  dim: number;
  count: number;
  seed: number;
  rule: SamplingRule;
  /** Int32Array[2]: [0] rows selected so far, for the activity's heartbeats; [1] set to 1 to stop. */
  progress: SharedArrayBuffer;
  /**
   * Centroid rule: the picks so far, uint32 in order, appended as they are made; an earlier attempt's picks in it
   * are continued from. Its inputs must be the same (the activity names it after them).
   */
  checkpointPath?: string;
}

/** What the thread returns: the picks, and how many of them came from an earlier attempt's checkpoint. */
export interface SampleThreadResult {
  order: Uint32Array;
  resumedFrom: number;
}

/**
 * The whole uint32 picks in the checkpoint file (a torn last write is cut off), or none when it is missing or
 * names picks greedySample would refuse (then the run starts over and the file is rewritten).
 */
function readCheckpoint(path: string, check: (picks: Uint32Array) => void): Uint32Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return new Uint32Array(0);
  }
  const picks = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length - (bytes.length % 4)));
  try {
    check(picks);
    return picks;
  } catch (err) {
    console.warn(`sampling: ${path} is not a checkpoint of this run (${(err as Error).message}); starting over`);
    return new Uint32Array(0);
  }
}

/** Index of the stop flag in `progress`. */
const STOP_SLOT = 1;

const input = (workerData as { input: SampleThreadInput }).input;
const vectors = allocateVectors(input.rows, input.dim);
await readBytesInto(input.matrixPath, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
const progress = new Int32Array(input.progress);
const options = { count: input.count, seed: input.seed, rule: input.rule };
const checkpointPath = input.rule === 'centroid' ? input.checkpointPath : undefined;
const resume = checkpointPath === undefined ? new Uint32Array(0) : readCheckpoint(checkpointPath, (picks) => validateResume(picks, input.rows, input.count, input.seed, input.rule));
// Opened for appending after what it holds that counts (a torn tail or a stale file is cut off first).
const checkpoint = checkpointPath === undefined ? undefined : openSync(checkpointPath, 'a+');
if (checkpoint !== undefined) ftruncateSync(checkpoint, resume.byteLength);
let saved = resume.length;
Atomics.store(progress, 0, saved);
/** Appends the picks made since the last save and syncs them. */
const save = (order: Uint32Array, selected: number): void => {
  if (checkpoint === undefined || selected <= saved) return;
  const bytes = new Uint8Array(order.buffer, order.byteOffset + saved * 4, (selected - saved) * 4);
  for (let off = 0; off < bytes.length; ) off += writeSync(checkpoint, bytes, off);
  fdatasyncSync(checkpoint);
  saved = selected;
};
/**
 * A cancelled activity asks the thread to stop instead of terminating it: terminating a thread inside an
 * onnxruntime call aborts the whole process (a Napi::Error thrown during the thread's teardown).
 */
const stopIfAsked = (): void => {
  if (Atomics.load(progress, STOP_SLOT) !== 0) throw new Error('sampling stopped: the activity was cancelled');
};
// Both rules score most rows with onnxruntime float32 products on every core.
const { floatProducts } = await import('../adapters/onnx/kernels.js');
const order = await greedySample(vectors, input.rows, input.dim, {
  ...options,
  resume,
  // The thread's own copy, read for nothing else: the centroid rule may reorder it (its products skip picked rows).
  rowsAreScratch: true,
  onProgress: (selected, picks) => {
    // Saved first, so the progress the activity reports is never ahead of what a retry would find.
    save(picks, selected);
    Atomics.store(progress, 0, selected);
    stopIfAsked();
  },
  products: (a, m, b, nb, d) => {
    stopIfAsked();
    return floatProducts(a, m, b, nb, d, availableParallelism());
  },
});
if (checkpoint !== undefined) closeSync(checkpoint);
parentPort!.postMessage({ result: { order, resumedFrom: resume.length } } satisfies ThreadMessage<SampleThreadResult>, [order.buffer as ArrayBuffer]);
