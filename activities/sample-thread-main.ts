// Runs the greedy sampling off the activity's event loop, so the activity keeps heartbeating (and an
// in-process worker keeps serving workflow tasks) during the minutes a million rows take.
// The rows are read straight into WebAssembly memory (allocateVectors): the SIMD kernels use them
// without a copy, and the activity's own thread never holds the matrix.
import { availableParallelism } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { readBytesInto } from '../adapters/files.js';
import { allocateVectors, greedySample, type SamplingRule } from '../core/sampling/index.js';

export interface SampleThreadInput {
  matrixPath: string;
  rows: number;
  dim: number;
  count: number;
  seed: number;
  rule: SamplingRule;
  /** Int32Array[1]: rows selected so far, for the activity's heartbeats. */
  progress: SharedArrayBuffer;
}

const input = workerData as SampleThreadInput;
const vectors = allocateVectors(input.rows, input.dim);
await readBytesInto(input.matrixPath, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
const progress = new Int32Array(input.progress);
// Both rules score most rows with onnxruntime float32 products on every core.
const { floatProducts } = await import('../adapters/onnx/kernels.js');
const order = await greedySample(vectors, input.rows, input.dim, {
  count: input.count,
  seed: input.seed,
  rule: input.rule,
  onProgress: (selected) => Atomics.store(progress, 0, selected),
  products: (a, m, b, nb, d) => floatProducts(a, m, b, nb, d, availableParallelism()),
});
parentPort!.postMessage(order, [order.buffer as ArrayBuffer]);
