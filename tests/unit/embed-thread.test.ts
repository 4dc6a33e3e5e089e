// An embed shard with the `hash` embedder runs in a worker thread: the same shard file, byte for byte, as the
// same rows embedded on the activity's own thread; the cache it fills serves the next run; the thread's
// heartbeats reach the activity; cancelling stops the thread and leaves no shard file.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EMBED_THREAD_MIN_ROWS, embedShard } from '../../activities/embed.js';
import { embedRows, type EmbeddedRows, type EmbedRowsInput } from '../../activities/embed-rows.js';
import { createActivities } from '../../activities/index.js';
import { runInThread } from '../../activities/threads.js';
import { createEmbedder } from '../../adapters/embedders/index.js';
import type { JobContext } from '../../adapters/trainers/types.js';
import { parseDqeInput } from '../../core/input.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';

function context(signal = new AbortController().signal): JobContext & { beats: unknown[] } {
  const beats: unknown[] = [];
  return { beats, heartbeat: (d) => beats.push(d), resumeDetails: undefined, signal, log: () => {} };
}

test('a hash embed shard in a thread: same bytes as on the activity thread, cache reused, heartbeats, cancellation', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-embed-thread-'));
  try {
    const dataset = join(dir, 'spam.jsonl');
    await writeFile(dataset, spamAssassinJsonl({ limit: 400 }));
    const parsed = parseDqeInput({ dataset, outputDir: join(dir, 'run'), embedder: { name: 'hash', dim: 64 } });
    assert.ok(parsed.ok);
    const c = parsed.config;
    const runDir = join(dir, 'run');
    const acts = createActivities({ cacheDir: join(dir, 'cache-a'), env: {} });
    const load = await acts.loadDataset({ runDir, dataset: c.dataset, textField: c.textField, labelField: c.labelField });
    const clean = await acts.cleanDataset({ runDir, load });
    const shard = { index: 0, start: 10, end: clean.kept - 5 };
    const args = { runDir, clean, embedder: c.embedder, shard };
    assert.equal(createEmbedder(c.embedder, {}).threaded, true);
    // Shards below EMBED_THREAD_MIN_ROWS stay on the activity's thread unless told otherwise (here: always thread).
    assert.ok(shard.end - shard.start < EMBED_THREAD_MIN_ROWS);

    const threaded = await embedShard({ cacheDir: join(dir, 'cache-a'), env: {}, embedThreadMinRows: 0 }, args);
    const prefix = join(dir, 'main-thread');
    const onMain = await embedRows({ cacheDir: join(dir, 'cache-b'), args, prefix }, createEmbedder(c.embedder, {}), context());
    assert.deepEqual(await readFile(threaded.path), await readFile(onMain.path));
    assert.equal((await readFile(threaded.path)).length, (shard.end - shard.start) * 64 * 4);
    assert.deepEqual([threaded.reused, threaded.embedded, threaded.dim], [0, shard.end - shard.start, 64]);
    assert.deepEqual(threaded.unembeddable, onMain.unembeddable);

    // The thread's cache serves a second run's shard (another run directory, same cache); on the activity's
    // thread (the default for a shard this small) the same bytes again.
    const again = await embedShard({ cacheDir: join(dir, 'cache-a'), env: {}, embedThreadMinRows: 0 }, { ...args, runDir: join(dir, 'run-2') });
    assert.deepEqual([again.reused, again.embedded], [shard.end - shard.start, 0]);
    assert.deepEqual(await readFile(again.path), await readFile(threaded.path));
    const small = await embedShard({ cacheDir: join(dir, 'cache-a'), env: {} }, { ...args, runDir: join(dir, 'run-3') });
    assert.deepEqual([small.reused, small.embedded], [shard.end - shard.start, 0]);
    assert.deepEqual(await readFile(small.path), await readFile(threaded.path));

    // Heartbeats come from the thread, one per batch of 256 rows, with the rows done.
    const input: EmbedRowsInput = { cacheDir: join(dir, 'cache-c'), args, prefix: join(dir, 'beats') };
    const ctx = context();
    const viaThread = await runInThread<EmbeddedRows>({ main: './embed-thread-main.ts', input, what: 'embedding', ctx, stop: (w) => w.postMessage('stop') });
    assert.deepEqual(await readFile(viaThread.path), await readFile(onMain.path));
    const total = shard.end - shard.start;
    assert.deepEqual(ctx.beats, [{ done: 256, total }, { done: total, total }]);

    // Cancelled as soon as it starts: the activity's promise rejects with the reason, the thread stops at its
    // next batch and removes its temporary file; no shard file is left.
    const abort = new AbortController();
    const stopped = runInThread<EmbeddedRows>({ main: './embed-thread-main.ts', input: { ...input, prefix: join(dir, 'cancelled', 'x') }, what: 'embedding', ctx: context(abort.signal), stop: (w) => w.postMessage('stop') });
    abort.abort(new Error('cancelled by the test'));
    await assert.rejects(stopped, /cancelled by the test/u);
    await sleep(1500);
    assert.deepEqual(await readdir(join(dir, 'cancelled')).catch(() => []), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
