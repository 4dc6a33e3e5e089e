// A thread of the linear trainer's gradient pass (see trainLinearThreaded in linear.ts). Each epoch the
// coordinator posts 'pass'; the thread takes blocks from the shared counter until none is left, writes each
// block's gradient (summed from zero in row order) and loss into the block's slots, and posts 'done'. Which
// thread takes which block does not matter: the coordinator adds the blocks in block order.
import { parentPort, workerData } from 'node:worker_threads';
import { accumulateGradient, GRADIENT_BLOCK_ROWS, type PackedRows } from '../../core/linear-model.js';

export interface LinearThreadInput {
  packed: PackedRows;
  targets: Uint32Array;
  classes: number;
  /** K × (dim + 1) weights, written by the coordinator between passes. */
  weights: Float64Array;
  /** One K × (dim + 1) gradient per block, block after block. */
  blockGrads: Float64Array;
  blockLosses: Float64Array;
  /** [0]: the next block to take. */
  next: Int32Array;
}

const input = (workerData as { input: LinearThreadInput }).input;
const { packed, targets, classes, weights, blockGrads, blockLosses, next } = input;
const size = weights.length;
const blocks = blockLosses.length;
const logits = new Float64Array(classes);

parentPort!.on('message', () => {
  for (let b = Atomics.add(next, 0, 1); b < blocks; b = Atomics.add(next, 0, 1)) {
    const grad = blockGrads.subarray(b * size, (b + 1) * size);
    grad.fill(0);
    const start = b * GRADIENT_BLOCK_ROWS;
    blockLosses[b] = accumulateGradient(packed, targets, classes, weights, start, Math.min(packed.n, start + GRADIENT_BLOCK_ROWS), grad, logits, 0);
  }
  parentPort!.postMessage('done');
});
