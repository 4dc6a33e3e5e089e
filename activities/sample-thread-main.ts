// Runs the greedy sampling off the activity's event loop, so the activity keeps heartbeating (and an
// in-process worker keeps serving workflow tasks) during the minutes a million rows take.
// The rows are read straight into WebAssembly memory (allocateVectors): the SIMD kernels use them
// without a copy, and the activity's own thread never holds the matrix.
import { availableParallelism } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { readBytesInto } from '../adapters/files.js';
import { allocateVectors, greedySample, type SamplingRule } from '../core/sampling/index.js';
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
}

/** Index of the stop flag in `progress`. */
const STOP_SLOT = 1;

const input = (workerData as { input: SampleThreadInput }).input;
const vectors = allocateVectors(input.rows, input.dim);
await readBytesInto(input.matrixPath, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
const progress = new Int32Array(input.progress);
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
  count: input.count,
  seed: input.seed,
  rule: input.rule,
  onProgress: (selected) => {
    Atomics.store(progress, 0, selected);
    stopIfAsked();
  },
  products: (a, m, b, nb, d) => {
    stopIfAsked();
    return floatProducts(a, m, b, nb, d, availableParallelism());
  },
});
parentPort!.postMessage({ result: order } satisfies ThreadMessage<Uint32Array>, [order.buffer as ArrayBuffer]);
