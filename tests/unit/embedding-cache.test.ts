// The embedding cache: vectors come back as put, across reopenings (segments re-indexed), a torn record at
// a segment's end is ignored, and a vector of another width is refused.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddingCache, textKey } from '../../adapters/embedding-cache.js';

test('put, get, reopen, torn tail, width check', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dqe-cache-test-'));
  try {
    const vec = (i: number) => Float32Array.from({ length: 8 }, (_, j) => i + j / 8);
    const first = await EmbeddingCache.open(root, 'emb/1');
    for (let i = 0; i < 3000; i++) await first.put(textKey(`text ${i}`), vec(i));
    await first.put(textKey('text 5'), vec(999)); // already there: kept as first written
    assert.equal(first.size, 3000);
    assert.deepEqual(await first.get(textKey('text 7')), vec(7));
    assert.equal(await first.get(textKey('absent')), undefined);
    await assert.rejects(first.put(textKey('wide'), new Float32Array(9)), /width 9 differs from 8/);
    await first.close();
    // A crash mid-write leaves part of a record at the end of the segment.
    const dir = join(root, 'embeddings', 'emb_1');
    const [segment] = await readdir(dir);
    await appendFile(join(dir, segment!), Buffer.alloc(20, 1));
    const again = await EmbeddingCache.open(root, 'emb/1');
    assert.equal(again.size, 3000);
    assert.deepEqual(await again.get(textKey('text 5')), vec(5));
    assert.deepEqual(await again.get(textKey('text 2999')), vec(2999));
    await again.put(textKey('new'), vec(-1));
    assert.deepEqual(await again.get(textKey('new')), vec(-1));
    await again.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
