import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argmax, predictLinear, trainLinear } from '../../core/linear-model.js';

test('separates two linearly separable classes and predicts held-out points', () => {
  // Class 0 around (1,0), class 1 around (0,1); rows 0-5 train, 6-7 held out.
  const v = Float32Array.from([1, 0, 0.9, 0.1, 0.95, -0.05, 0, 1, 0.1, 0.9, -0.05, 0.95, 0.8, 0.2, 0.2, 0.8]);
  const model = trainLinear(v, 2, [0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1], 2, { epochs: 200, learningRate: 0.1, l2: 0 });
  const p = predictLinear(model, v, [6, 7]);
  assert.equal(argmax(p, 0, 2), 0);
  assert.equal(argmax(p, 2, 2), 1);
  assert.ok(p[0]! > 0.9 && p[3]! > 0.9, `confident: ${Array.from(p).join(', ')}`);
  assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-12);
});

test('is deterministic: the same data gives bit-identical weights', () => {
  const v = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7));
  const opts = { epochs: 20, learningRate: 0.05, l2: 1e-3 };
  const a = trainLinear(v, 3, [0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 0, 1, 2, 0], 3, opts);
  const b = trainLinear(v, 3, [0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 0, 1, 2, 0], 3, opts);
  assert.deepEqual(a.weights, b.weights);
});

test('argmax breaks ties towards the lower class', () => assert.equal(argmax([0.5, 0.5]), 0));

test('dense rows (the unrolled loop) train the same model as the sparse loop, to rounding', () => {
  // 30 rows × 9 dense columns (9 = two unrolled blocks of 4 and a remainder); the same rows with a zero
  // tenth column go through the sparse loop. The zero column's weights stay 0 (no gradient, no L2 pull).
  const dim = 9;
  const dense = Float32Array.from({ length: 30 * dim }, (_, i) => Math.sin(i * 0.37) + 0.1);
  const sparse = new Float32Array(30 * (dim + 1));
  for (let r = 0; r < 30; r++) sparse.set(dense.subarray(r * dim, (r + 1) * dim), r * (dim + 1));
  const rows = Array.from({ length: 30 }, (_, i) => i);
  const targets = rows.map((i) => i % 3);
  const opts = { epochs: 50, learningRate: 0.05, l2: 1e-3 };
  const a = trainLinear(dense, dim, rows, targets, 3, opts);
  const b = trainLinear(sparse, dim + 1, rows, targets, 3, opts);
  for (let c = 0; c < 3; c++) {
    for (let j = 0; j < dim; j++) assert.ok(Math.abs(a.weights[c * (dim + 1) + j]! - b.weights[c * (dim + 2) + j]!) < 1e-9, `class ${c} column ${j}`);
    assert.equal(b.weights[c * (dim + 2) + dim], 0);
    assert.ok(Math.abs(a.weights[c * (dim + 1) + dim]! - b.weights[c * (dim + 2) + dim + 1]!) < 1e-9, `class ${c} bias`);
  }
  assert.notEqual(a.weights[0], 0);
});

test('training reads each chosen row where it lies in the matrix: the same weights as on those rows alone, dense and sparse', () => {
  // 40 rows; train on 13 of them in a scattered order. The same 13 rows copied into a matrix of their own
  // (in that order) must give bit-identical weights, on dense rows and on rows with zeros (the sparse loop).
  const dim = 7;
  const chosen = [39, 0, 17, 5, 22, 8, 31, 2, 26, 13, 35, 11, 20];
  const targets = chosen.map((r) => r % 3);
  const opts = { epochs: 20, learningRate: 0.05, l2: 1e-3 };
  for (const zeroEvery of [0, 3]) {
    const all = Float32Array.from({ length: 40 * dim }, (_, i) => (zeroEvery > 0 && i % zeroEvery === 0 ? 0 : Math.cos(i * 0.61) + 0.05));
    const own = new Float32Array(chosen.length * dim);
    chosen.forEach((r, i) => own.set(all.subarray(r * dim, (r + 1) * dim), i * dim));
    const a = trainLinear(all, dim, chosen, targets, 3, opts);
    const b = trainLinear(own, dim, chosen.map((_, i) => i), targets, 3, opts);
    assert.deepEqual(Array.from(a.weights), Array.from(b.weights), zeroEvery > 0 ? 'sparse' : 'dense');
    assert.notEqual(a.weights[0], 0);
  }
});
