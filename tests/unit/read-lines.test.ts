// readLines: every line of a file (or of a byte range) once, without its newline, across 1 MiB read chunks and
// multi-byte characters split by them; a last line without a newline too.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readJsonl, readLines } from '../../adapters/files.js';

async function all(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of gen) out.push(l);
  return out;
}

test('readLines: lines across chunk edges, a multi-byte character split by one, ranges, no final newline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-read-lines-'));
  try {
    // 3,000 lines of ~700 bytes with 'é' (2 bytes) and '😀' (4 bytes) throughout: 2 MiB, so chunks end mid-line
    // and, somewhere, mid-character.
    const lines = Array.from({ length: 3000 }, (_, i) => `${i} ${'é😀x'.repeat(100 + (i % 37))}`);
    const path = join(dir, 'a.txt');
    await writeFile(path, `${lines.join('\n')}\n`);
    assert.deepEqual(await all(readLines(path)), lines);
    await writeFile(path, lines.join('\n'));
    assert.deepEqual(await all(readLines(path)), lines, 'no newline after the last line');
    // A byte range: lines 1000..1999 exactly.
    const start = Buffer.byteLength(`${lines.slice(0, 1000).join('\n')}\n`);
    const end = start + Buffer.byteLength(`${lines.slice(1000, 2000).join('\n')}\n`) - 1;
    assert.deepEqual(await all(readLines(path, { start, end })), lines.slice(1000, 2000));
    // Empty lines are lines; readJsonl skips them.
    await writeFile(path, '{"a":1}\n\n{"a":2}\n');
    assert.deepEqual(await all(readLines(path)), ['{"a":1}', '', '{"a":2}']);
    const values: unknown[] = [];
    for await (const v of readJsonl(path)) values.push(v);
    assert.deepEqual(values, [{ a: 1 }, { a: 2 }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
