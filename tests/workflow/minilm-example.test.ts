// `dqe run` as `npm run example` runs it (the CLI with every default; the worker is the suite's, since the
// CLI's own in-process worker would install a second Temporal runtime) on SpamAssassin mails with
// `--embedder minilm`: its vectors are 384-wide, and a second run is served from the embedding cache
// under the same embedder id.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { minilmId } from '../../adapters/embedders/minilm.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { dqeCli } from '../helpers/dqe-cli.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

interface Report {
  counts: { rowsIn: number; kept: number; final: number };
  embedding: { embedder: string; dim: number; reused: number; embedded: number };
}

describe('the example on the minilm embedder', () => {
  let t: TestTemporal;
  let dir: string;
  let dataset: string;

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-minilm-example-'));
    dataset = join(dir, 'spam.jsonl');
    await writeFile(dataset, spamAssassinJsonl({ limit: 150 }));
  });
  after(async () => t.close());

  test('`dqe run --embedder minilm` embeds with minilm int8; a re-run reuses every vector', async () => {
    const taskQueue = uniqueId('dqe-minilm');
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const run = async (name: string) => {
      const outputDir = join(dir, name);
      const r = await dqeCli(['run', dataset, '--embedder', 'minilm', '--output-dir', outputDir, '--no-progress', '--task-queue', taskQueue, '--json'], t.address);
      assert.equal(r.exitCode, 0, r.stderr);
      return JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
    };
    // One worker for both runs (a worker runs once); the second run finds the first's vectors in its cache.
    const [first, second] = await worker.runUntil(async () => [await run('first'), await run('second')] as const);
    assert.equal(first.counts.rowsIn, 150);
    assert.equal(first.embedding.embedder, minilmId('int8'));
    assert.equal(first.embedding.dim, 384);
    assert.equal(first.embedding.embedded, first.counts.kept);
    assert.equal(first.embedding.reused, 0);
    assert.equal(second.embedding.embedder, minilmId('int8'));
    assert.equal(second.embedding.reused, second.counts.kept);
    assert.equal(second.embedding.embedded, 0);
    assert.equal(second.counts.final, first.counts.final);
  });
});
