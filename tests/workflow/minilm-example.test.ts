// `dqe run` as `npm run example` runs it (the CLI, an in-process worker, every default) on SpamAssassin
// mails: the default embedder is `minilm`, its vectors are 384-wide, and a second run is served from
// the embedding cache under the same embedder id.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { minilmId } from '../../adapters/embedders/minilm.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { dqeCli } from '../helpers/dqe-cli.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

interface Report {
  counts: { rowsIn: number; kept: number; final: number };
  embedding: { embedder: string; dim: number; reused: number; embedded: number };
}

describe('the example on the default embedder', () => {
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

  test('`dqe run` with no embedder option embeds with minilm f32; a re-run reuses every vector', async () => {
    const run = async (name: string) => {
      const outputDir = join(dir, name);
      const r = await dqeCli(['run', dataset, '--output-dir', outputDir, '--in-process-worker', '--no-progress', '--task-queue', uniqueId('dqe-minilm'), '--json'], t.address);
      assert.equal(r.exitCode, 0, r.stderr);
      return JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
    };
    const first = await run('first');
    assert.equal(first.counts.rowsIn, 150);
    assert.equal(first.embedding.embedder, minilmId('f32'));
    assert.equal(first.embedding.dim, 384);
    assert.equal(first.embedding.embedded + first.embedding.reused, first.counts.kept);
    const second = await run('second');
    assert.equal(second.embedding.embedder, minilmId('f32'));
    assert.equal(second.embedding.reused, second.counts.kept);
    assert.equal(second.embedding.embedded, 0);
    assert.equal(second.counts.final, first.counts.final);
  });
});
