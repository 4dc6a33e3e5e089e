// The embed merge when rows have nothing to embed: shard files streamed in row blocks into one matrix, the kept
// rows in order, bit for bit, whichever blocks the dropped rows fall in (first row, block edges, a run across an
// edge, a shard's last and first rows).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isUnembeddable } from '../../activities/embed-rows.js';
import { appendRowsWithout, dropUnembeddable } from '../../activities/unembeddable.js';
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

test('dropUnembeddable: kept rows renumbered byte for byte around the dropped ones, across reads and a line longer than one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-unembeddable-'));
  try {
    // 14 kept rows (ids of one and two digits), texts with multi-byte characters; row 6's text is longer than
    // the 64-byte read, so it is read alone. Rows 0, 6 and 9 have nothing to embed (the first row, the long
    // one, the last one-digit id): the ids after them shrink, 10 to 8 included.
    const labels = ['ham', 'spam'];
    const rows = Array.from({ length: 14 }, (_, id) => ({
      id,
      row: id + 2,
      line: id + 3,
      text: id === 6 ? 'é'.repeat(40) : `text ${id} — ünïcödé ✓`,
      label: labels[id % 2]!,
      source: `{"t":"${id}"}`,
    }));
    const keptPath = join(dir, 'kept.jsonl');
    const lines = rows.map((r) => `${JSON.stringify(r)}\n`);
    await writeFile(keptPath, lines.join(''));
    const offsets = new Float64Array(rows.length + 1);
    lines.forEach((l, i) => (offsets[i + 1] = offsets[i]! + Buffer.byteLength(l)));
    assert.ok(offsets[7]! - offsets[6]! > 64);
    const keptOffsetsPath = join(dir, 'kept-offsets.f64');
    await writeFile(keptOffsetsPath, new Uint8Array(offsets.buffer));
    const labelIdsPath = join(dir, 'label-ids.u32');
    await writeFile(labelIdsPath, new Uint8Array(Uint32Array.from(rows, (r) => r.id % 2).buffer));
    const rejectsPath = join(dir, 'rejects.jsonl');
    const earlier = { row: 5, line: 6, reason: 'duplicate', detail: 'same text as row 4' };
    await writeFile(rejectsPath, `${JSON.stringify(earlier)}\n`);
    const clean = {
      keptPath,
      keptOffsetsPath,
      kept: rows.length,
      labelIdsPath,
      labels,
      perLabel: { ham: 7, spam: 7 },
      rejectsPath,
      rejected: { duplicate: 1 },
      conflicts: { groups: 0, rows: 0, path: join(dir, 'conflicts.json') },
      caseConflicts: { groups: 0, rows: 0, path: join(dir, 'case-conflicts.json') },
      seconds: 0,
    };
    const drop = [0, 6, 9];
    const out = await dropUnembeddable(clean, drop, join(dir, 'embed.x'), 'hash-test', 64);
    const left = rows.filter((r) => !drop.includes(r.id));
    const expectedLines = left.map((r, id) => `${JSON.stringify({ ...r, id })}\n`);
    assert.equal(await readFile(out.keptPath, 'utf8'), expectedLines.join(''));
    assert.equal(out.kept, 11);
    const newOffsets = new Float64Array(new Uint8Array(await readFile(out.keptOffsetsPath)).buffer);
    assert.deepEqual(Array.from(newOffsets), expectedLines.reduce((acc, l) => [...acc, acc.at(-1)! + Buffer.byteLength(l)], [0]));
    const newLabels = new Uint32Array(new Uint8Array(await readFile(out.labelIdsPath)).buffer);
    assert.deepEqual(Array.from(newLabels), left.map((r) => r.id % 2));
    assert.deepEqual(out.perLabel, { ham: 5, spam: 6 });
    assert.deepEqual(out.rejected, { duplicate: 1, nothing_to_embed: 3 });
    // The run's rejects: the earlier one and the three, in input row order.
    const rejects = (await readFile(rejectsPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { row: number; reason: string; raw?: string });
    assert.deepEqual(rejects.map((r) => [r.row, r.reason, r.raw]), [[2, 'nothing_to_embed', '{"t":"0"}'], [5, 'duplicate', undefined], [8, 'nothing_to_embed', '{"t":"6"}'], [11, 'nothing_to_embed', '{"t":"9"}']]);
    // The kept file's own bytes are checked: a line that does not start with its id fails, naming the file and line.
    await writeFile(keptPath, lines.join('').replace('{"id":3,', '{"id":4,'));
    await assert.rejects(dropUnembeddable(clean, drop, join(dir, 'embed.y'), 'hash-test', 64), new RegExp(`${keptPath.replace(/[/.]/gu, '\\$&')}: line 4 does not start with \\{"id":3,`, 'u'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
