// The sample phase's worker thread: same rows as greedySample, heartbeats with progress while it runs,
// cancellation ends it, a bad matrix file fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobContext } from '../../adapters/trainers/types.js';
import { sampleInThread } from '../../activities/sample.js';
import { greedySample, sampleCount } from '../../core/sampling/index.js';
import { Rng } from '../../core/random.js';

function rows(n: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = rng.nextGaussian();
  return out;
}

function context(signal = new AbortController().signal): JobContext & { beats: { rows: number; count: number; selected: number }[] } {
  const beats: { rows: number; count: number; selected: number }[] = [];
  return { beats, heartbeat: (d) => beats.push(d as (typeof beats)[number]), resumeDetails: undefined, signal, log: () => {} };
}

async function withMatrix(v: Float32Array, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-sample-thread-'));
  try {
    const path = join(dir, 'matrix.f32');
    await writeFile(path, new Uint8Array(v.buffer));
    await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the thread returns greedySample’s rows for both rules and heartbeats its progress', async () => {
  const n = 6000;
  const dim = 48;
  const v = rows(n, dim, 3);
  const count = sampleCount(n, 0.5);
  await withMatrix(v, async (matrixPath) => {
    for (const rule of ['centroid', 'kcenter'] as const) {
      const ctx = context();
      const order = await sampleInThread({ matrixPath, rows: n, dim, count, seed: 9, rule }, ctx, 20);
      assert.deepEqual(Array.from(order), Array.from(await greedySample(v, n, dim, { count, seed: 9, rule })));
      if (rule === 'kcenter') {
        // kcenter over 6000 rows runs for well over 20 ms: progress arrives in steps of 1024 selections.
        assert.ok(ctx.beats.length > 0, 'no heartbeat while sampling');
        const seen = ctx.beats.map((b) => b.selected);
        assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'progress never goes back');
        for (const b of ctx.beats) {
          assert.equal(b.rows, n);
          assert.equal(b.count, count);
          assert.equal(b.selected % 1024, 0);
          assert.ok(b.selected <= count);
        }
      }
    }
  });
});

test('cancelling the activity ends the sampling thread at once', async () => {
  const n = 20000;
  const dim = 64;
  await withMatrix(rows(n, dim, 4), async (matrixPath) => {
    const abort = new AbortController();
    const started = performance.now();
    const pending = sampleInThread({ matrixPath, rows: n, dim, count: n / 2, seed: 1, rule: 'kcenter' }, context(abort.signal), 20);
    setTimeout(() => abort.abort(new Error('cancelled by the test')), 300);
    await assert.rejects(pending, /cancelled by the test/);
    assert.ok(performance.now() - started < 5000, 'the rejection waited for the sampling');
  });
});

test('a matrix file that is missing or short fails the thread with the file named', async () => {
  await assert.rejects(sampleInThread({ matrixPath: '/nonexistent/matrix.f32', rows: 10, dim: 4, count: 5, seed: 1, rule: 'centroid' }, context()), /nonexistent\/matrix\.f32/);
  await withMatrix(rows(10, 4, 5), async (matrixPath) => {
    await assert.rejects(sampleInThread({ matrixPath, rows: 20, dim: 4, count: 5, seed: 1, rule: 'centroid' }, context()), /matrix\.f32/);
  });
});
