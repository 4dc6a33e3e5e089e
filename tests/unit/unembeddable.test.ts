// The embed merge when rows have nothing to embed: shard files streamed in row blocks into one matrix, the kept
// rows in order, bit for bit, whichever blocks the dropped rows fall in (first row, block edges, a run across an
// edge, a shard's last and first rows).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isUnembeddable } from '../../activities/embed-rows.js';
import { appendRowsWithout } from '../../activities/unembeddable.js';
import { AtomicWriter } from '../../adapters/files.js';

test('appendRowsWithout: two shard files into one matrix, the dropped rows left out, in order, across row blocks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-unembeddable-'));
  try {
    const dim = 3;
    // Row id r holds r + 0.25, r + 0.5, -r (distinct and exact in float32); shard 0 holds ids 0..8999, shard 1 9000..9100.
    const shard = async (name: string, first: number, rows: number) => {
      const m = new Float32Array(rows * dim);
      for (let r = 0; r < rows; r++) m.set([first + r + 0.25, first + r + 0.5, -(first + r)], r * dim);
      const path = join(dir, name);
      await writeFile(path, new Uint8Array(m.buffer));
      return { path, rows, dim };
    };
    const a = await shard('a.f32', 0, 9000);
    const b = await shard('b.f32', 9000, 101);
    const gone = new Set([0, 4095, 4096, 4097, 8190, 8191, 8192, 8999, 9000, 9100]);
    const path = join(dir, 'out.f32');
    const out = await AtomicWriter.create(path);
    assert.equal(await appendRowsWithout(out, a, 0, gone), 9000 - 8);
    assert.equal(await appendRowsWithout(out, b, 9000, gone), 101 - 2);
    await out.commit();
    const got = new Float32Array(new Uint8Array(await readFile(path)).buffer);
    const expected: number[] = [];
    for (let r = 0; r < 9101; r++) if (!gone.has(r)) expected.push(r + 0.25, r + 0.5, -r);
    assert.deepEqual(Array.from(got), expected);
    // Nothing dropped: the same bytes.
    const same = await AtomicWriter.create(path);
    await appendRowsWithout(same, a, 0, new Set());
    await same.commit();
    assert.deepEqual(await readFile(path), await readFile(a.path));
    // A truncated shard file is an error naming the file, not a short matrix.
    await writeFile(a.path, new Uint8Array(12 * 4));
    const bad = await AtomicWriter.create(path);
    await assert.rejects(appendRowsWithout(bad, a, 0, gone), /a\.f32: unexpected end of file at row 4 of 9000/u);
    await bad.abort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('isUnembeddable: zero or non-finite vectors only', () => {
  assert.equal(isUnembeddable(new Float32Array(4)), true);
  assert.equal(isUnembeddable(Float32Array.from([0, NaN, 1, 0])), true);
  assert.equal(isUnembeddable(Float32Array.from([0, 0, Infinity, 0])), true);
  assert.equal(isUnembeddable(Float32Array.from([0, 0, -1e-30, 0])), false);
});
