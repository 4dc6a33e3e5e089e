// AtomicWriter: what a caller hands to write() is what lands in the file, even when the caller refills its buffer
// at once (the embed merge reuses one output buffer per read), and nothing is visible under the name before commit.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomicWriter, exists } from '../../adapters/files.js';

test('AtomicWriter: a buffer refilled right after write() does not change what was written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-atomic-writer-'));
  try {
    const path = join(dir, 'out.jsonl');
    const w = await AtomicWriter.create(path);
    const buf = Buffer.alloc(6);
    // The first chunk goes to the file system at once; the next ones wait in the stream while it is in flight:
    // without a copy they would be written as the buffer reads when their turn comes ("zzzzz\n").
    for (const line of ['a1a1a\n', 'b2b2b\n', 'c3c3c\n']) {
      buf.write(line, 0, 'latin1');
      await w.write(buf);
    }
    await w.write(buf.subarray(0, 3));
    buf.write('zzzzz\n', 0, 'latin1');
    await w.writeLine({ id: 4 });
    assert.equal(await exists(path), false, 'nothing under the name before commit');
    await w.commit();
    assert.equal(await readFile(path, 'latin1'), 'a1a1a\nb2b2b\nc3c3c\nc3c{"id":4}\n');
    assert.deepEqual(await readdir(dir), ['out.jsonl'], 'no temporary file left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('AtomicWriter: abort leaves neither the file nor its temporary', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-atomic-writer-'));
  try {
    const w = await AtomicWriter.create(join(dir, 'out.f32'));
    await w.write(new Uint8Array(new Float32Array([1, 2, 3]).buffer));
    await w.abort();
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
