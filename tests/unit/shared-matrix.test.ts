// The worker's shared matrix: phases reading the same matrix file get the very same array (one read, calls at
// the same time included); a rewritten file is read again; an unused matrix is let go after the idle time. And
// the collection between activities: a phase's dead arrays are freed when the worker falls idle.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedMatrixHeld, withSharedMatrix } from '../../adapters/shared-matrix.js';
import { collectBetweenActivities, fullCollections } from '../../infra/collect-garbage.js';

test('withSharedMatrix: one read per matrix file, shared, re-read when the file changes, released when idle', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-shared-matrix-'));
  try {
    const path = join(dir, 'matrix.f32');
    await writeFile(path, new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer));
    const ref = { path, rows: 3, dim: 2 };
    sharedMatrixHeld(200);
    const [a, b] = await Promise.all([withSharedMatrix(ref, (m) => m), withSharedMatrix(ref, (m) => Promise.resolve(m))]);
    assert.ok(a === b, 'calls at the same time share one array');
    assert.deepEqual(Array.from(a), [1, 2, 3, 4, 5, 6]);
    assert.ok((await withSharedMatrix(ref, (m) => m)) === a, 'a later call gets the same array');
    assert.equal(await withSharedMatrix(ref, (m) => m[5]), 6);
    // Replaced the way dqe writes files (a new file renamed over the old): read again.
    await writeFile(`${path}.tmp`, new Uint8Array(Float32Array.from([7, 8, 9, 10, 11, 12]).buffer));
    await rename(`${path}.tmp`, path);
    const c = await withSharedMatrix(ref, (m) => m);
    assert.ok(c !== a);
    assert.deepEqual(Array.from(c), [7, 8, 9, 10, 11, 12]);
    // A shape that does not match the file is the file reader's error, and nothing stays held for it.
    await assert.rejects(withSharedMatrix({ path, rows: 4, dim: 2 }, (m) => m), /expected 32 bytes, found 24/u);
    assert.equal(sharedMatrixHeld(), false);
    await withSharedMatrix(ref, (m) => m);
    assert.equal(sharedMatrixHeld(), true);
    // In use past the idle time: still held; idle past it: let go.
    await withSharedMatrix(ref, () => sleep(300));
    assert.equal(sharedMatrixHeld(), true);
    await sleep(400);
    assert.equal(sharedMatrixHeld(), false);
  } finally {
    sharedMatrixHeld(60_000);
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Array-buffer bytes above `before` once V8's background thread has freed what the last collection found dead
 * (polled for up to a second; without a collection nothing would be freed in that time).
 */
async function heldAbove(before: number): Promise<number> {
  for (let i = 0; i < 100 && process.memoryUsage().arrayBuffers - before >= 16 * 2 ** 20; i++) await sleep(10);
  return process.memoryUsage().arrayBuffers - before;
}

test('collectBetweenActivities: results and errors pass through; once no activity runs, caches are released and dead arrays freed', async () => {
  const MB = 2 ** 20;
  let release!: () => void;
  const released: number[] = [];
  let running = 0;
  const kept: Float32Array[] = [];
  const acts = collectBetweenActivities(
    {
      hold: () => {
        running++;
        return new Promise<number>((r) => (release = () => r(running--)));
      },
      fill: (mb: number) => Promise.resolve(new Float32Array((mb * MB) / 4).fill(1).length),
      // Leaves its array behind (held here, so V8 cannot free it on its own schedule and the growth is exact).
      leave: (mb: number) => Promise.resolve(kept.push(new Float32Array((mb * MB) / 4).fill(1))),
      fail: () => {
        new Float32Array((64 * MB) / 4).fill(1);
        return Promise.reject(new Error('phase failed'));
      },
    },
    () => {
      released.push(running);
      return released.length === 3 ? Promise.reject(new Error('release failed')) : Promise.resolve();
    },
  );
  const before = process.memoryUsage().arrayBuffers;
  const collections = fullCollections();
  assert.equal(await acts.fill(128), (128 * MB) / 4);
  assert.ok((await heldAbove(before)) < 16 * MB, `after the activity: ${(await heldAbove(before)) / MB} MiB still allocated`);
  await assert.rejects(acts.fail(), /phase failed/u);
  assert.ok((await heldAbove(before)) < 16 * MB, 'after a failed activity too');
  assert.deepEqual(released, [0, 0]);
  // Two side by side: nothing is released while one still runs; once, after the second.
  const held = acts.hold();
  assert.equal(await acts.fill(64), (64 * MB) / 4);
  assert.deepEqual(released, [0, 0]);
  release();
  // The third release fails: the activity's result stands.
  assert.equal(await held, 1);
  assert.deepEqual(released, [0, 0, 0]);
  assert.ok((await heldAbove(before)) < 16 * MB);
  // An activity that leaves little behind releases the caches but walks no heap; what small ones leave adds up.
  const now = fullCollections();
  assert.ok(now - collections >= 2, `${now - collections} collections after 128, 64 and 64 MiB`);
  for (let i = 0; i < 3; i++) await acts.leave(4);
  assert.equal(fullCollections(), now);
  assert.deepEqual(released, [0, 0, 0, 0, 0, 0]);
  // 8 more: 44 MiB held in all crosses COLLECT_GROWTH_BYTES (32 MiB) once, and what follows the collection (at most
  // 5 · 4 MiB) does not cross it again.
  for (let i = 0; i < 8; i++) await acts.leave(4);
  assert.equal(fullCollections(), now + 1, 'the 4 MiB activities add up past COLLECT_GROWTH_BYTES');
  kept.length = 0;
});
