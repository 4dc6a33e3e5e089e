// The CPU trainer: multinomial logistic regression on the embeddings.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { crossValidationFolds, randomSubset } from '../../core/evaluation.js';
import {
  adamStep,
  argmax,
  checkTrainArgs,
  GRADIENT_BLOCK_ROWS,
  packRows,
  predictLinear,
  trainLinearSteps,
  type LinearModel,
  type LinearTrainOptions,
} from '../../core/linear-model.js';
import type { LinearThreadInput } from './linear-thread-main.js';
import { exists, readFloat64, readJson, writeJsonAtomic, writeTypedAtomic } from '../files.js';
import { withSharedMatrix } from '../shared-matrix.js';
import type { JobContext, Trainer } from './types.js';

/** The trainer's options are the model's: epochs, learning rate, L2 penalty. */
export type LinearTrainerOptions = LinearTrainOptions;

/**
 * Longest the trainer computes without letting the event loop run, in ms: heartbeats are only sent
 * from the event loop, so this bounds how long the worker looks dead (and holds up the worker's
 * workflow tasks), whatever the data size.
 */
const MAX_BLOCK_MS = 100;
/** Rows of a gradient pass between checks of the clock: a few milliseconds of work at d = 1024. */
const ROWS_PER_STEP = 4096;

/**
 * Trains like `trainLinear` (bit-identical weights) without holding up the event loop: it heartbeats the
 * epoch and loss and lets the loop run at least every MAX_BLOCK_MS. Above one gradient block of rows
 * (GRADIENT_BLOCK_ROWS) the gradient passes run on `threads` threads (all cores by default); below it, in
 * steps on this thread.
 */
export async function trainLinearYielding(
  vectors: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  targets: ArrayLike<number>,
  classes: number,
  opts: LinearTrainOptions,
  ctx: Pick<JobContext, 'heartbeat'> & { signal?: AbortSignal },
  /** More heartbeat details, e.g. which probe this is. */
  details: Record<string, unknown> = {},
  threads = availableParallelism(),
): Promise<{ model: LinearModel; finalLoss: number }> {
  if (threads > 1 && rows.length > GRADIENT_BLOCK_ROWS) return trainLinearThreaded({ vectors, dim, rows, targets, classes, opts }, ctx, details, threads);
  const steps = trainLinearSteps(vectors, dim, rows, targets, classes, opts, ROWS_PER_STEP);
  let finalLoss = NaN;
  let since = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return { model: step.value, finalLoss };
    if (step.value.loss !== undefined) finalLoss = step.value.loss;
    if (performance.now() - since >= MAX_BLOCK_MS) {
      ctx.heartbeat({ ...details, step: step.value.epoch, maxSteps: opts.epochs, ...(Number.isNaN(finalLoss) ? {} : { loss: finalLoss }) });
      await yieldToEventLoop();
      since = performance.now();
    }
  }
}

/**
 * The gradient passes spread over threads: the training rows are packed into shared memory once (hashed
 * vectors as their non-zero entries, which the one-thread path also builds; dense rows copied, half the
 * matrix when training on the sampled half), each epoch the threads take the blocks of rows in turn and
 * this thread adds the blocks' gradients in block order and takes the Adam step. The weights are
 * `trainLinear`'s bit for bit, whatever the number of threads. The event loop runs while the threads work.
 */
async function trainLinearThreaded(
  problem: { vectors: Float32Array; dim: number; rows: ArrayLike<number>; targets: ArrayLike<number>; classes: number; opts: LinearTrainOptions },
  ctx: Pick<JobContext, 'heartbeat'> & { signal?: AbortSignal },
  details: Record<string, unknown>,
  threads: number,
): Promise<{ model: LinearModel; finalLoss: number }> {
  const { vectors, dim, rows, targets, classes, opts } = problem;
  checkTrainArgs(rows, targets, classes);
  const n = rows.length;
  const size = classes * (dim + 1);
  const blocks = Math.ceil(n / GRADIENT_BLOCK_ROWS);
  const f64 = (length: number) => new Float64Array(new SharedArrayBuffer(length * 8));
  const input: LinearThreadInput = {
    packed: packRows(vectors, dim, rows, true),
    targets: new Uint32Array(new SharedArrayBuffer(n * 4)),
    classes,
    weights: f64(size),
    blockGrads: f64(blocks * size),
    blockLosses: f64(blocks),
    next: new Int32Array(new SharedArrayBuffer(4)),
  };
  input.targets.set(targets);
  const w = input.weights;
  const grad = new Float64Array(size);
  const state = { m: new Float64Array(size), v: new Float64Array(size) };
  const workers = Array.from({ length: Math.min(threads, blocks) }, () =>
    new Worker(new URL('../../activities/thread.js', import.meta.url), { workerData: { main: '../adapters/trainers/linear-thread-main.ts', input } }));
  // Every thread posts 'done' once per pass; an error or an early exit fails the training.
  let failed: Error | undefined;
  let waiting: { left: number; resolve: () => void; reject: (err: Error) => void } | undefined;
  const fail = (err: Error): void => {
    failed ??= err;
    waiting?.reject(failed);
  };
  for (const worker of workers) {
    worker.on('message', () => {
      if (waiting && --waiting.left === 0) waiting.resolve();
    });
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`a linear trainer thread exited with code ${code} during training`)));
  }
  const pass = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (failed) return reject(failed);
      waiting = { left: workers.length, resolve, reject };
      Atomics.store(input.next, 0, 0);
      for (const worker of workers) worker.postMessage('pass');
    });
  let finalLoss = NaN;
  let since = performance.now();
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      if (ctx.signal?.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('training cancelled');
      await pass();
      grad.fill(0);
      let loss = 0;
      for (let b = 0; b < blocks; b++) {
        const block = input.blockGrads.subarray(b * size, (b + 1) * size);
        for (let k = 0; k < size; k++) grad[k] = grad[k]! + block[k]!;
        loss += input.blockLosses[b]!;
      }
      adamStep(w, grad, state, n, epoch, dim, opts);
      finalLoss = loss / n;
      if (performance.now() - since >= MAX_BLOCK_MS || epoch === opts.epochs) {
        ctx.heartbeat({ ...details, step: epoch, maxSteps: opts.epochs, loss: finalLoss, threads: workers.length });
        since = performance.now();
      }
    }
  } finally {
    for (const worker of workers) {
      worker.removeAllListeners('exit');
      void worker.terminate();
    }
  }
  return { model: { classes, dim, weights: Float64Array.from(w) }, finalLoss };
}

/**
 * Most rows each fold's model trains on. A linear probe on a few hundred dimensions has converged long
 * before this; above it (runs of more than 125k kept rows) each fold trains on a seeded random subset of
 * the other folds, so the judge's cost stops growing with the rows but for scoring them (at 1M rows: 5
 * models of 100k rows instead of 800k). Every row's probabilities stay out of sample.
 */
export const CROSS_FIT_MAX_TRAIN_ROWS = 100_000;

/**
 * Cross-fitted class probabilities (N × K, row-major) of the linear model over all N rows of the
 * matrix: the rows are dealt into `folds` seeded folds and each fold is scored by a model trained on
 * the others (at most `maxTrainRows` of them, a seeded subset), so every row's probabilities are out of
 * sample. Deterministic for a seed.
 */
export async function crossFittedProbs(
  vectors: Float32Array,
  dim: number,
  labelIds: Uint32Array,
  classes: number,
  folds: number,
  seed: number,
  opts: LinearTrainOptions,
  ctx: Pick<JobContext, 'heartbeat'>,
  maxTrainRows = CROSS_FIT_MAX_TRAIN_ROWS,
): Promise<Float64Array> {
  const n = labelIds.length;
  const fold = crossValidationFolds(n, folds, seed);
  const probs = new Float64Array(n * classes);
  for (let f = 0; f < folds; f++) {
    const others: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? held : others).push(i);
    const train = others.length > maxTrainRows ? randomSubset(others, maxTrainRows, seed + 1 + f) : others;
    const { model } = await trainLinearYielding(vectors, dim, train, Uint32Array.from(train, (i) => labelIds[i]!), classes, opts, ctx, { fold: f + 1, folds });
    const p = predictLinear(model, vectors, held);
    held.forEach((id, j) => probs.set(p.subarray(j * classes, (j + 1) * classes), id * classes));
  }
  return probs;
}

/** model.json: the model's shape, and what training reported, so a retry that finds the model reports the same. */
interface ModelMeta {
  classes: number;
  dim: number;
  details?: Record<string, unknown>;
}

async function loadModel(path: string): Promise<LinearModel> {
  const meta = await readJson<{ classes: number; dim: number }>(path);
  const weights = await readFloat64(`${path}.f64`, meta.classes * (meta.dim + 1));
  return { ...meta, weights };
}

export function createLinearTrainer(opts: LinearTrainerOptions): Trainer {
  return {
    name: 'linear',
    async train(req, ctx) {
      const modelPath = join(req.jobDir, 'model.json');
      // A retry after the model was written but before the phase recorded it (a crash in between).
      if (await exists(modelPath)) return { modelPath, trainSeconds: 0, details: (await readJson<ModelMeta>(modelPath)).details ?? { reused: true } };
      const started = performance.now();
      const targets = Uint32Array.from(req.trainIds, (id) => req.labelIds[id]!);
      const { model, finalLoss } = await withSharedMatrix(req.matrix, (vectors) => trainLinearYielding(vectors, req.matrix.dim, req.trainIds, targets, req.labels.length, opts, ctx));
      const details = { epochs: opts.epochs, finalLoss };
      await writeTypedAtomic(`${modelPath}.f64`, model.weights);
      await writeJsonAtomic(modelPath, { classes: model.classes, dim: model.dim, details } satisfies ModelMeta);
      return { modelPath, trainSeconds: (performance.now() - started) / 1000, details };
    },
    async predict(req) {
      const model = await loadModel(req.modelPath);
      const probs = await withSharedMatrix(req.matrix, (vectors) => predictLinear(model, vectors, req.ids));
      const k = model.classes;
      return req.ids.map((id, i) => ({
        id,
        predicted: req.labels[argmax(probs, i * k, k)]!,
        probs: Array.from(probs.subarray(i * k, (i + 1) * k)),
      }));
    },
  };
}
