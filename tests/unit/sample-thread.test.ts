// The sample phase's worker thread: same rows as greedySample, heartbeats with progress while it runs,
// cancellation ends it, a bad matrix file fails it, an earlier attempt's checkpoint is continued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { hashEmbedInto } from '../../core/hash-embedding.js';
import { loadMails } from '../../examples/spam-assassin.js';
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
      const { order, resumedFrom } = await sampleInThread({ matrixPath, rows: n, dim, count, seed: 9, rule }, ctx, 20);
      assert.equal(resumedFrom, 0);
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

test('the centroid rule saves its picks as it goes, and an attempt continues what a killed one saved: same rows', async () => {
  const n = 6000;
  const dim = 48;
  const v = rows(n, dim, 6);
  const count = sampleCount(n, 0.5);
  const full = await greedySample(v, n, dim, { count, seed: 9, rule: 'centroid' });
  const bytes = (picks: Uint32Array): Buffer => Buffer.from(picks.buffer, picks.byteOffset, picks.byteLength);
  // Progress (and so a save) comes every 1024 picks; the last pick is not saved (the phase's output follows it).
  const lastSave = Math.floor((count - 1) / 1024) * 1024;
  await withMatrix(v, async (matrixPath) => {
    const checkpointPath = join(matrixPath, '..', 'order.partial.u32');
    const run = async (): Promise<{ order: number[]; resumedFrom: number; saved: Buffer }> => {
      const { order, resumedFrom } = await sampleInThread({ matrixPath, rows: n, dim, count, seed: 9, rule: 'centroid', checkpointPath }, context(), 20);
      return { order: Array.from(order), resumedFrom, saved: await readFile(checkpointPath) };
    };
    // No checkpoint yet: it is written as the picks are made.
    let r = await run();
    assert.deepEqual(r.order, Array.from(full));
    assert.equal(r.resumedFrom, 0);
    assert.deepEqual(r.saved, bytes(full.subarray(0, lastSave)));
    // What a killed attempt leaves, a torn last write included (2 bytes of a pick): continued from its whole picks.
    for (const p of [1, 1024, 2500, count - 1, count]) {
      await writeFile(checkpointPath, Buffer.concat([bytes(full.subarray(0, p)), Buffer.from([7, 7])]));
      r = await run();
      assert.deepEqual(r.order, Array.from(full), `continued after ${p} picks`);
      assert.equal(r.resumedFrom, p);
      assert.deepEqual(r.saved, bytes(full.subarray(0, Math.max(p, lastSave))), `saved after ${p} picks`);
    }
    // A file that cannot be this run's picks (a row twice; another seed's first row) is not trusted: started over, rewritten.
    const twice = full.slice(0, 2000);
    twice[1500] = twice[10]!;
    const otherFirst = full.slice(1, 2000);
    for (const bad of [twice, otherFirst]) {
      await writeFile(checkpointPath, bytes(bad));
      r = await run();
      assert.deepEqual(r.order, Array.from(full));
      assert.equal(r.resumedFrom, 0);
      assert.deepEqual(r.saved, bytes(full.subarray(0, lastSave)));
    }
    // kcenter would have to recompute every row's distance to all saved picks, the very work they stand for: no checkpoint.
    await rm(checkpointPath);
    await sampleInThread({ matrixPath, rows: n, dim, count, seed: 9, rule: 'kcenter', checkpointPath }, context(), 20);
    await assert.rejects(stat(checkpointPath), /ENOENT/u);
  });
});

test('a process SIGKILLed while sampling leaves picks that a new attempt continues from: same rows', async () => {
  // Real text (every SpamAssassin mail, hashed): the blocked products make most picks.
  const mails = loadMails(6046);
  const n = mails.length;
  const dim = 384;
  const v = new Float32Array(n * dim);
  mails.forEach((m, i) => hashEmbedInto(m.text, dim, v, i * dim));
  const count = sampleCount(n, 0.5);
  const full = Array.from(await greedySample(v, n, dim, { count, seed: 1, rule: 'centroid' }));
  await withMatrix(v, async (matrixPath) => {
    const checkpointPath = join(matrixPath, '..', 'order.partial.u32');
    const child = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'tests/fixtures/sample-until-killed.ts', '--matrix', matrixPath, '--rows', String(n), '--dim', String(dim), '--count', String(count), '--seed', '1', '--checkpoint', checkpointPath, '--after', '2048'],
      { cwd: join(import.meta.dirname, '..', '..') },
    );
    await assert.rejects(child, (e: { signal?: string; stderr?: string }) => e.signal === 'SIGKILL' || assert.fail(`not killed: ${e.signal} ${e.stderr}`));
    const left = (await stat(checkpointPath)).size;
    assert.ok(left >= 2048 * 4 && left < count * 4, `the killed process saved ${left / 4} picks`);
    const { order, resumedFrom } = await sampleInThread({ matrixPath, rows: n, dim, count, seed: 1, rule: 'centroid', checkpointPath }, context(), 20);
    assert.equal(resumedFrom, left / 4);
    assert.deepEqual(Array.from(order), full);
  });
});
