// The embedding cache: vectors come back as put, across reopenings (segments re-indexed), a torn record at
// a segment's end is ignored, and a vector of another width is refused.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
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
    const [segment] = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
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
    assert.deepEqual((await readdir(dir)).map((f) => f.slice(f.lastIndexOf('.'))).sort(), ['.keys', '.seg']);
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
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.seg')).length, 2);
    await b.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('keys files: opening reads them; a missing, short, torn or wrong one falls back to the segment; a record is used only under its own key', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dqe-cache-test-'));
  try {
    const vec = (i: number) => Float32Array.from({ length: 6 }, (_, j) => i - j / 4);
    const keys = Array.from({ length: 5000 }, (_, i) => textKey(`k${i}`));
    const w = await EmbeddingCache.open(root, 'e');
    for (let s = 0; s < 5000; s += 700) await w.putMany(keys.slice(s, s + 700), keys.slice(s, s + 700).map((_, i) => vec(s + i)));
    await w.close();
    const dir = join(root, 'embeddings', 'e');
    const seg = join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg'))!);
    const keysFile = seg.replace(/\.seg$/u, '.keys');
    const full = await readFile(keysFile);
    assert.equal(full.length, 5000 * 32);
    assert.deepEqual(full.subarray(32 * 4321, 32 * 4322), keys[4321]);
    const check = async (what: string) => {
      const c = await EmbeddingCache.open(root, 'e');
      assert.equal(c.size, 5000, what);
      const got = await c.getMany([keys[0]!, keys[2999]!, keys[3000]!, keys[4999]!]);
      assert.deepEqual(got, [vec(0), vec(2999), vec(3000), vec(4999)], what);
      await c.close();
    };
    await check('keys file whole');
    await writeFile(keysFile, full.subarray(0, 3000 * 32 + 17));
    await check('keys file torn after 3000 keys: the rest from the segment');
    const wrong = Buffer.from(full);
    wrong[32 * 4999] = wrong[32 * 4999]! ^ 1;
    await writeFile(keysFile, wrong);
    await check('keys file that disagrees with the segment: ignored');
    // Two keys swapped in the middle: the last key agrees, so the file is trusted, but the two records' own keys
    // are not the ones asked for: neither vector is handed out (the texts are embedded again), the rest are.
    const swapped = Buffer.from(full);
    full.copy(swapped, 32 * 100, 32 * 101, 32 * 102);
    full.copy(swapped, 32 * 101, 32 * 100, 32 * 101);
    await writeFile(keysFile, swapped);
    const s = await EmbeddingCache.open(root, 'e');
    assert.deepEqual(await s.getMany([keys[99]!, keys[100]!, keys[101]!, keys[102]!]), [vec(99), undefined, undefined, vec(102)]);
    assert.equal(await s.get(keys[101]!), undefined);
    // Embedded again, the two are cached anew (not skipped as cached already), and a reopened cache hands them out:
    // the new segment's records win over the old segment's misnamed ones.
    await s.putMany([keys[99]!, keys[100]!, keys[101]!], [vec(99), vec(100), vec(101)]);
    assert.deepEqual(await s.getMany([keys[100]!, keys[101]!]), [vec(100), vec(101)]);
    await s.close();
    const segments = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
    assert.equal(segments.length, 2);
    const fresh = join(dir, segments.find((f) => join(dir, f) !== seg)!);
    // 4 bytes of width, then the two records alone (key 99 was cached and stays where it was).
    assert.equal((await readFile(fresh)).length, 4 + 2 * (32 + 6 * 4));
    const reopened = await EmbeddingCache.open(root, 'e');
    assert.deepEqual(await reopened.getMany([keys[99]!, keys[100]!, keys[101]!, keys[102]!]), [vec(99), vec(100), vec(101), vec(102)]);
    await reopened.close();
    await rm(fresh);
    await rm(fresh.replace(/\.seg$/u, '.keys'));
    await rm(keysFile);
    await check('no keys file (a cache written before them)');
    // A torn record at the end of the segment, with the keys file naming it: the whole records only.
    await writeFile(keysFile, full);
    await appendFile(seg, Buffer.alloc(20, 7));
    await appendFile(keysFile, Buffer.alloc(32, 7));
    await check('torn record');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
