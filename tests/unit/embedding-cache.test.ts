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

test('putMany and getMany: one append per batch, repeats kept once, reads in key order across segments', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dqe-cache-test-'));
  try {
    const vec = (i: number) => Float32Array.from({ length: 4 }, (_, j) => i * 10 + j);
    const keys = Array.from({ length: 600 }, (_, i) => textKey(`t${i}`));
    const a = await EmbeddingCache.open(root, 'e');
    await a.put(keys[3]!, vec(3));
    // keys[3] is cached already and keys[10] comes twice in the batch: both keep their first vector.
    await a.putMany([...keys.slice(0, 300), keys[10]!], [...keys.slice(0, 300).map((_, i) => vec(i === 3 ? -3 : i)), vec(-10)]);
    assert.equal(a.size, 300);
    await a.close();
    const dir = join(root, 'embeddings', 'e');
    assert.equal((await readdir(dir)).length, 1);
    const b = await EmbeddingCache.open(root, 'e');
    await b.putMany(keys.slice(300), keys.slice(300).map((_, i) => vec(300 + i)));
    // In order (runs of back-to-back records), shuffled, with absent keys, across the two segments.
    const order = [...Array.from({ length: 600 }, (_, i) => i), 599, 0, 450, 7, 301, 299];
    const got = await b.getMany([...order.map((i) => keys[i]!), textKey('absent')]);
    assert.deepEqual(
      got.slice(0, -1),
      order.map((i) => vec(i)),
    );
    assert.equal(got.at(-1), undefined);
    assert.equal((await readdir(dir)).length, 2);
    await b.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
