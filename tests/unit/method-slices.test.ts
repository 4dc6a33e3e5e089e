// Tests of how the method tables name a slice's trainer and count significance (bench/method-slices.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracySignificant, macroF1Significant, trainerLabel } from '../../bench/method-slices.js';

test('a trainer is named by its name alone at the first runs\' settings, with epochs and step size otherwise', () => {
  assert.equal(trainerLabel({ name: 'linear', epochs: 300, learningRate: 0.1 }), 'linear');
  assert.equal(trainerLabel({ name: 'encoder', epochs: 1, learningRate: 5e-5 }), 'encoder');
  assert.equal(trainerLabel({ name: 'encoder', epochs: 4, learningRate: 1e-4 }), 'encoder (4 epochs, lr 0.0001)');
  assert.equal(trainerLabel({ name: 'encoder', epochs: 1, learningRate: 1e-4 }), 'encoder (1 epochs, lr 0.0001)');
  assert.equal(trainerLabel({ name: 'linear', epochs: 50, learningRate: 0.1 }), 'linear (50 epochs, lr 0.1)');
  // A trainer the first runs never used keeps its name.
  assert.equal(trainerLabel({ name: 'swift' }), 'swift');
});

test('accuracy is significant only when McNemar and the t-test both are; macro-F1 by its bootstrap', () => {
  const t = { accuracyDiff: 0.01, tTestP: 0.04, mcnemarP: 0.03, macroF1Diff: 0.02, macroF1P: 0.05 };
  assert.equal(accuracySignificant(t), true);
  assert.equal(accuracySignificant({ ...t, tTestP: 0.06 }), false);
  assert.equal(accuracySignificant({ ...t, mcnemarP: 0.05 }), false);
  assert.equal(macroF1Significant(t), false);
  assert.equal(macroF1Significant({ ...t, macroF1P: 0.049 }), true);
});
