// Multinomial logistic regression on embeddings: dqe's CPU trainer and the offline judge's probe.

export interface LinearModel {
  /** Number of classes K. */
  classes: number;
  /** Embedding width d. */
  dim: number;
  /** Row-major K × (d + 1) weights; the last column of each row is the bias. */
  weights: Float64Array;
}

export interface LinearTrainOptions {
  /** Full-batch Adam steps. */
  epochs: number;
  learningRate: number;
  /** L2 penalty on the weights (biases are not penalised). */
  l2: number;
}

/** Adam's usual moment decay rates and epsilon. */
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

/** Where training is: yielded by `trainLinearSteps` within and at the end of each epoch. */
export interface LinearTrainStep {
  epoch: number;
  /** Rows of this epoch's gradient pass done so far. */
  rowsDone: number;
  /** Mean loss of the epoch, on the step that ends it. */
  loss?: number;
}

/**
 * Trains on the rows `rows` of the N × d matrix `vectors`, with class indices `targets[i]` in [0, K)
 * for `rows[i]`. Deterministic: full-batch gradients summed in row order, zero initial weights.
 */
export function trainLinear(
  vectors: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  targets: ArrayLike<number>,
  classes: number,
  opts: LinearTrainOptions,
  onEpoch?: (epoch: number, loss: number) => void,
): LinearModel {
  const steps = trainLinearSteps(vectors, dim, rows, targets, classes, opts, Infinity);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (step.value.loss !== undefined) onEpoch?.(step.value.epoch, step.value.loss);
  }
}

/**
 * Rows per block of a gradient pass. Each block's gradient (and loss) is summed from zero in row order and
 * the blocks' sums are added in block order, so the weights do not depend on how many threads share the
 * blocks (`adapters/trainers/linear.ts` spreads them over threads); up to one block (every run below this
 * many training rows) the sum is the plain row-order sum.
 */
export const GRADIENT_BLOCK_ROWS = 32_768;

/**
 * The training rows as a gradient pass reads them. Rows with zeros (hashed n-gram vectors are mostly zeros)
 * are packed as (column, value) pairs of their non-zero entries, so every epoch touches only what is there:
 * values stay float32 and columns 16-bit where the width allows (6 bytes per non-zero entry); each product
 * promotes the float32 value to float64 exactly. Dense rows (sentence embeddings: every entry non-zero) are
 * read from `vectors` at `rowOf[i] * dim` (where they lie in the matrix, with no copy), or at `i * dim` when
 * `rowOf` is absent (a copy of the rows in order). Both loops add the same products in the same order, so
 * the weights are the same either way.
 */
export interface PackedRows {
  n: number;
  dim: number;
  dense: boolean;
  vectors: Float32Array;
  rowOf: ArrayLike<number> | undefined;
  /** Sparse rows: row i's entries are [rowStart[i], rowStart[i + 1]) of cols and vals. */
  rowStart: Uint32Array;
  cols: Uint16Array | Uint32Array;
  vals: Float32Array;
}

/**
 * Packs the rows `rows` of the N × dim matrix for the gradient passes. `shared`: every array the pass reads
 * lies in shared memory (dense rows are copied there in order), for threads.
 */
export function packRows(vectors: Float32Array, dim: number, rows: ArrayLike<number>, shared = false): PackedRows {
  const n = rows.length;
  const alloc = shared ? (bytes: number) => new SharedArrayBuffer(bytes) : (bytes: number) => new ArrayBuffer(bytes);
  let nnz = 0;
  const rowStart = new Uint32Array(alloc((n + 1) * 4));
  for (let i = 0; i < n; i++) {
    const base = rows[i]! * dim;
    for (let j = 0; j < dim; j++) if (vectors[base + j] !== 0) nnz++;
    rowStart[i + 1] = nnz;
  }
  const dense = nnz === n * dim;
  if (dense) {
    const none = { rowStart: new Uint32Array(0), cols: new Uint16Array(0), vals: new Float32Array(0) };
    if (!shared) return { n, dim, dense, vectors, rowOf: rows, ...none };
    const copy = new Float32Array(alloc(n * dim * 4));
    for (let i = 0; i < n; i++) copy.set(vectors.subarray(rows[i]! * dim, (rows[i]! + 1) * dim), i * dim);
    return { n, dim, dense, vectors: copy, rowOf: undefined, ...none };
  }
  const cols = dim <= 0x10000 ? new Uint16Array(alloc(nnz * 2)) : new Uint32Array(alloc(nnz * 4));
  const vals = new Float32Array(alloc(nnz * 4));
  for (let i = 0, k = 0; i < n; i++) {
    const base = rows[i]! * dim;
    for (let j = 0; j < dim; j++) {
      const x = vectors[base + j]!;
      if (x !== 0) {
        cols[k] = j;
        vals[k++] = x;
      }
    }
  }
  return { n, dim, dense, vectors: new Float32Array(0), rowOf: undefined, rowStart, cols, vals };
}

/**
 * Adds the cross-entropy gradient of rows [from, to) (in row order) at weights `w` into `grad`, and returns
 * `loss` plus their losses (added in row order). `logits`: scratch of length `classes`.
 */
export function accumulateGradient(
  p: PackedRows,
  targets: ArrayLike<number>,
  classes: number,
  w: Float64Array,
  from: number,
  to: number,
  grad: Float64Array,
  logits: Float64Array,
  loss: number,
): number {
  const { dim, dense, vectors, rowOf, rowStart, cols, vals } = p;
  const width = dim + 1;
  for (let i = from; i < to; i++) {
    const a = rowStart[i]!;
    const b = rowStart[i + 1]!;
    const xb = (rowOf === undefined ? i : rowOf[i]!) * dim;
    const target = targets[i]!;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      const off = c * width;
      let z = w[off + dim]!;
      if (dense) {
        let z1 = 0, z2 = 0, z3 = 0, j = 0;
        for (; j + 3 < dim; j += 4) {
          z += w[off + j]! * vectors[xb + j]!;
          z1 += w[off + j + 1]! * vectors[xb + j + 1]!;
          z2 += w[off + j + 2]! * vectors[xb + j + 2]!;
          z3 += w[off + j + 3]! * vectors[xb + j + 3]!;
        }
        for (; j < dim; j++) z += w[off + j]! * vectors[xb + j]!;
        z += z1 + z2 + z3;
      }
      else for (let k = a; k < b; k++) z += w[off + cols[k]!]! * vals[k]!;
      logits[c] = z;
      if (z > max) max = z;
    }
    softmaxOfLogits(logits, classes, max);
    loss -= Math.log(Math.max(logits[target]!, 1e-300));
    for (let c = 0; c < classes; c++) {
      const g = logits[c]! - (c === target ? 1 : 0);
      if (g === 0) continue;
      const off = c * width;
      if (dense) {
        let j = 0;
        for (; j + 3 < dim; j += 4) {
          grad[off + j]! += g * vectors[xb + j]!;
          grad[off + j + 1]! += g * vectors[xb + j + 1]!;
          grad[off + j + 2]! += g * vectors[xb + j + 2]!;
          grad[off + j + 3]! += g * vectors[xb + j + 3]!;
        }
        for (; j < dim; j++) grad[off + j]! += g * vectors[xb + j]!;
      }
      else for (let k = a; k < b; k++) grad[off + cols[k]!]! += g * vals[k]!;
      grad[off + dim]! += g;
    }
  }
  return loss;
}

/** Adam's moment estimates: the optimiser's state between epochs. */
export interface AdamState {
  m: Float64Array;
  v: Float64Array;
}

/** One Adam step (step number `epoch`, from 1) on `w` from the summed gradient `grad` of `n` rows. */
export function adamStep(w: Float64Array, grad: Float64Array, state: AdamState, n: number, epoch: number, dim: number, opts: LinearTrainOptions): void {
  const { m, v } = state;
  const width = dim + 1;
  const scale = 1 / n;
  const b1t = 1 - ADAM_BETA1 ** epoch;
  const b2t = 1 - ADAM_BETA2 ** epoch;
  for (let k = 0; k < w.length; k++) {
    const g = grad[k]! * scale + (k % width < dim ? opts.l2 * w[k]! : 0);
    const mk = ADAM_BETA1 * m[k]! + (1 - ADAM_BETA1) * g;
    const vk = ADAM_BETA2 * v[k]! + (1 - ADAM_BETA2) * g * g;
    m[k] = mk;
    v[k] = vk;
    w[k] = w[k]! - (opts.learningRate * (mk / b1t)) / (Math.sqrt(vk / b2t) + ADAM_EPSILON);
  }
}

/** Checks a training's arguments (the same for every way of training). */
export function checkTrainArgs(rows: ArrayLike<number>, targets: ArrayLike<number>, classes: number): void {
  if (rows.length !== targets.length) throw new Error('trainLinear: rows and targets must have the same length');
  if (classes < 2) throw new Error('trainLinear: classes must be at least 2');
}

/**
 * `trainLinear` as a generator that pauses after every `rowsPerStep` rows of each gradient pass and
 * at the end of each epoch, so that a caller can let its event loop run (an activity's heartbeats)
 * during a long training. Pausing changes no arithmetic: the weights are `trainLinear`'s, bit for bit.
 */
export function* trainLinearSteps(
  vectors: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  targets: ArrayLike<number>,
  classes: number,
  opts: LinearTrainOptions,
  rowsPerStep: number,
): Generator<LinearTrainStep, LinearModel, void> {
  checkTrainArgs(rows, targets, classes);
  const size = classes * (dim + 1);
  const w = new Float64Array(size);
  const n = rows.length;
  if (n === 0) return { classes, dim, weights: w };
  const grad = new Float64Array(size);
  const block = new Float64Array(size);
  const state: AdamState = { m: new Float64Array(size), v: new Float64Array(size) };
  const logits = new Float64Array(classes);
  const packed = packRows(vectors, dim, rows);
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    grad.fill(0);
    let loss = 0;
    for (let start = 0; start < n; start += GRADIENT_BLOCK_ROWS) {
      const end = Math.min(n, start + GRADIENT_BLOCK_ROWS);
      block.fill(0);
      let blockLoss = 0;
      for (let i = start; i < end; ) {
        const stop = Math.min(end, (Math.floor(i / rowsPerStep) + 1) * rowsPerStep);
        blockLoss = accumulateGradient(packed, targets, classes, w, i, stop, block, logits, blockLoss);
        i = stop;
        if (i % rowsPerStep === 0 && i < n) yield { epoch, rowsDone: i };
      }
      for (let k = 0; k < size; k++) grad[k] = grad[k]! + block[k]!;
      loss += blockLoss;
    }
    adamStep(w, grad, state, n, epoch, dim, opts);
    yield { epoch, rowsDone: n, loss: loss / n };
  }
  return { classes, dim, weights: w };
}

/** Writes the class probabilities of the row starting at `base` into `out` (length K). */
function softmaxInto(w: Float64Array, vectors: Float32Array, base: number, dim: number, classes: number, out: Float64Array): void {
  const width = dim + 1;
  let max = -Infinity;
  for (let c = 0; c < classes; c++) {
    const off = c * width;
    let z = w[off + dim]!;
    for (let j = 0; j < dim; j++) z += w[off + j]! * vectors[base + j]!;
    out[c] = z;
    if (z > max) max = z;
  }
  softmaxOfLogits(out, classes, max);
}

/** Turns the first `classes` logits in `z` (their largest is `max`) into probabilities, in place. */
function softmaxOfLogits(z: Float64Array, classes: number, max: number): void {
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp(z[c]! - max);
    z[c] = e;
    sum += e;
  }
  for (let c = 0; c < classes; c++) z[c] = z[c]! / sum;
}

/** Class probabilities for each of `rows`: a row-major rows.length × K array. */
export function predictLinear(model: LinearModel, vectors: Float32Array, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * model.classes);
  const p = new Float64Array(model.classes);
  for (let i = 0; i < rows.length; i++) {
    softmaxInto(model.weights, vectors, rows[i]! * model.dim, model.dim, model.classes, p);
    out.set(p, i * model.classes);
  }
  return out;
}

/** Index of the largest probability; ties go to the lower class index. */
export function argmax(probs: ArrayLike<number>, offset = 0, length = probs.length - offset): number {
  let best = 0;
  for (let c = 1; c < length; c++) if (probs[offset + c]! > probs[offset + best]!) best = c;
  return best;
}
