// Long CPU phases must let the worker's event loop run, or their heartbeats are never sent and a
// short heartbeat timeout kills a healthy activity: the linear trainer and the offline judge's probes
// train in steps, giving the loop a turn between them, with weights bit-identical to one long loop.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trainLinear, trainLinearSteps } from '../../core/linear-model.js';
import { Rng } from '../../core/random.js';
import { trainLinearYielding } from '../../adapters/trainers/linear.js';

/** A dense N × d problem with K classes, big enough that training takes well over 100 ms. */
function problem(n: number, dim: number, classes: number) {
  const rng = new Rng(5);
  const vectors = Float32Array.from({ length: n * dim }, () => rng.nextGaussian());
  const rows = Array.from({ length: n }, (_, i) => i);
  const targets = Uint32Array.from(rows, (i) => i % classes);
  return { vectors, rows, targets };
}

describe('the linear trainer yields to the event loop', () => {
  test('trainLinearSteps pauses inside and between epochs and gives bit-identical weights', () => {
    const { vectors, rows, targets } = problem(300, 16, 3);
    const opts = { epochs: 5, learningRate: 0.05, l2: 1e-3 };
    const steps = trainLinearSteps(vectors, 16, rows, targets, 3, opts, 100);
    const seen: Array<[number, number, boolean]> = [];
    let r = steps.next();
    while (!r.done) {
      seen.push([r.value.epoch, r.value.rowsDone, r.value.loss !== undefined]);
      r = steps.next();
    }
    // Per epoch: after 100 and 200 rows, then the epoch's end (300 rows) with its loss.
    assert.deepEqual(seen, [1, 2, 3, 4, 5].flatMap((e) => [[e, 100, false], [e, 200, false], [e, 300, true]]));
    assert.deepEqual(r.value.weights, trainLinear(vectors, 16, rows, targets, 3, opts).weights);
  });

  test('trainLinearYielding lets timers run and heartbeats while it trains', async () => {
    const { vectors, rows, targets } = problem(6000, 128, 4);
    const opts = { epochs: 40, learningRate: 0.05, l2: 1e-4 };
    const heartbeats: unknown[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const { model } = await trainLinearYielding(vectors, 128, rows, targets, 4, opts, { heartbeat: (d) => heartbeats.push(d) }, { probe: 'test' });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    assert.deepEqual(model.weights, trainLinear(vectors, 128, rows, targets, 4, opts).weights);
    // The loop got a turn about every 100 ms: each turn heartbeats, and the interval timer fires in it.
    assert.ok(seconds > 0.3, `training took only ${seconds} s: make the problem bigger`);
    assert.ok(heartbeats.length >= 2, `${heartbeats.length} heartbeats in ${seconds} s`);
    assert.ok(ticks >= heartbeats.length - 1, `${ticks} timer ticks for ${heartbeats.length} turns`);
    const first = heartbeats[0] as { probe: string; step: number; maxSteps: number };
    assert.equal(first.probe, 'test');
    assert.equal(first.maxSteps, 40);
    assert.ok(first.step >= 1 && first.step <= 40);
  });
});
