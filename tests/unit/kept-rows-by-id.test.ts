// keptRowsById reads only the wanted rows' lines of kept.jsonl, through the offsets file: rows close together in
// one read, far apart (more than the gap) or past the span in reads of their own, a line longer than a span alone.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { keptRowsById } from '../../activities/read.js';

test('keptRowsById: the wanted rows, whole, wherever they lie in the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-kept-by-id-'));
  try {
    // 6,000 rows of 200-600 bytes (about 2.4 MB: more than two 1 MiB spans); row 3000 is 1.5 MiB long.
    const rows = Array.from({ length: 6000 }, (_, id) => ({
      id,
      row: id + 1,
      line: id + 1,
      text: id === 3000 ? 'x'.repeat(1.5 * 2 ** 20) : `row ${id} ✓ `.repeat(20 + (id * 37) % 40),
      label: id % 3 === 0 ? 'a' : 'b',
      source: '{}',
    }));
    const lines = rows.map((r) => `${JSON.stringify(r)}\n`);
    const keptPath = join(dir, 'kept.jsonl');
    await writeFile(keptPath, lines.join(''));
    const offsets = new Float64Array(rows.length + 1);
    lines.forEach((l, i) => (offsets[i + 1] = offsets[i]! + Buffer.byteLength(l)));
    const keptOffsetsPath = join(dir, 'kept-offsets.f64');
    await writeFile(keptOffsetsPath, new Uint8Array(offsets.buffer));
    const clean = { keptPath, keptOffsetsPath, kept: rows.length, labelIdsPath: '', labels: ['a', 'b'], perLabel: {}, rejectsPath: '', rejected: {}, conflicts: { groups: 0, rows: 0, path: '' }, caseConflicts: { groups: 0, rows: 0, path: '' }, seconds: 0 };
    // The first and last rows, neighbours, rows a little apart and far apart, the long row and its neighbours.
    const wanted = [0, 1, 2, 50, 51, 400, 2999, 3000, 3001, 4500, 5998, 5999];
    const got = await keptRowsById(clean, new Set(wanted));
    assert.deepEqual([...got.keys()].sort((a, b) => a - b), wanted);
    for (const id of wanted) assert.deepEqual(got.get(id), rows[id], `row ${id}`);
    assert.equal((await keptRowsById(clean, new Set())).size, 0);
    // An id the file does not hold is an error, not a missing entry.
    await assert.rejects(keptRowsById(clean, new Set([5, 6000])), /kept row 6000 asked for: .*kept\.jsonl holds ids 0 to 5999/u);
    // Offsets that do not match the file are caught by the row's own id.
    const shifted = Float64Array.from(offsets);
    shifted[10] = offsets[11]!;
    shifted[11] = offsets[12]!;
    await writeFile(keptOffsetsPath, new Uint8Array(shifted.buffer));
    await assert.rejects(keptRowsById(clean, new Set([10])), /the line at kept row 10's offset holds row 11/u);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
