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
