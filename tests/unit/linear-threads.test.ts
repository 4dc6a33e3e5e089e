// Above one gradient block of rows the linear trainer spreads its gradient passes over threads. The blocks'
// gradients are added in block order, so the weights are trainLinear's bit for bit whatever the number of
// threads, on dense rows and on rows with zeros (the packed sparse loop).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GRADIENT_BLOCK_ROWS, trainLinear } from '../../core/linear-model.js';
import { Rng } from '../../core/random.js';
import { trainLinearYielding } from '../../adapters/trainers/linear.js';

/** N rows (3 blocks and a bit) of a matrix with spare rows, trained in a scattered order. */
function problem(zeroEvery: number) {
  const n = 2 * GRADIENT_BLOCK_ROWS + 1000;
  const dim = 6;
  const rng = new Rng(11 + zeroEvery);
  const vectors = Float32Array.from({ length: (n + 50) * dim }, (_, i) => (zeroEvery > 0 && i % zeroEvery === 0 ? 0 : rng.nextGaussian()));
  const rows = Array.from({ length: n }, (_, i) => (i * 7919 + 13) % (n + 50));
  assert.equal(new Set(rows).size, n);
  const targets = Uint32Array.from(rows, (r) => (r * 31 + (vectors[r * dim + 1]! > 0 ? 1 : 0)) % 3);
  return { vectors, dim, rows, targets };
}

const opts = { epochs: 4, learningRate: 0.05, l2: 1e-3 };

describe('the linear trainer on threads', () => {
  for (const zeroEvery of [0, 3]) {
    test(`gives trainLinear's weights with 2 and 3 threads (${zeroEvery ? 'rows with zeros' : 'dense rows'})`, async () => {
      const { vectors, dim, rows, targets } = problem(zeroEvery);
      const expected = trainLinear(vectors, dim, rows, targets, 3, opts);
      for (const threads of [2, 3]) {
        const heartbeats: Array<Record<string, unknown>> = [];
        const { model, finalLoss } = await trainLinearYielding(vectors, dim, rows, targets, 3, opts, { heartbeat: (d) => heartbeats.push(d as Record<string, unknown>) }, { fold: 1 }, threads);
        assert.deepEqual(Array.from(model.weights), Array.from(expected.weights), `${threads} threads`);
        assert.ok(finalLoss > 0 && finalLoss < Math.log(3) + 0.1, `loss ${finalLoss}`);
        // The last epoch always heartbeats, with how many threads ran.
        assert.deepEqual(heartbeats.at(-1), { fold: 1, step: 4, maxSteps: 4, loss: finalLoss, threads });
      }
      assert.notEqual(expected.weights[1], 0);
    });
  }

  test('a cancelled training stops between passes with the signal\'s reason', async () => {
    const { vectors, dim, rows, targets } = problem(0);
    const abort = new AbortController();
    let beats = 0;
    const ctx = {
      signal: abort.signal,
      heartbeat: () => {
        if (++beats === 1) abort.abort(new Error('cancelled by the test'));
      },
    };
    await assert.rejects(trainLinearYielding(vectors, dim, rows, targets, 3, { ...opts, epochs: 100_000 }, ctx, {}, 2), /cancelled by the test/);
  });
});
