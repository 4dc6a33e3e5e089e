// Incremental re-curation on the real dev server: a schedule re-runs dqe on a dataset that grew, and
// the second run embeds only the new rows, reusing cached vectors for the rest, as its report says.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readJsonlAll } from '../../adapters/files.js';
import { workDirOf } from '../../adapters/run-files.js';
import { workFilePattern, type KeptRow } from '../../core/run-layout.js';
import { createDqeSchedule, deleteDqeSchedule, describeDqeSchedule, triggerDqeSchedule } from '../../client/schedules.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import type { DqeResult } from '../../workflows/index.js';
import { until } from '../helpers/poll.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

/** Mails at first, and mails appended before the re-run. */
const FIRST = 100;
const GROWTH = 40;

interface EmbeddingReport {
  embedding: { embedder: string; reused: number; embedded: number };
  counts: { kept: number };
}

/** The kept rows a run embedded (its clean phase's output in work/). */
async function keptRows(runDir: string): Promise<KeptRow[]> {
  const names = (await readdir(workDirOf(runDir))).filter((n) => workFilePattern('clean', 'kept.jsonl').test(n));
  assert.equal(names.length, 1, `${runDir}/work: ${names.join(', ')}`);
  return readJsonlAll<KeptRow>(join(workDirOf(runDir), names[0]!));
}

/** The run's embedding matrix (its embed phase's merged output in work/). */
async function matrix(runDir: string): Promise<Buffer> {
  const names = (await readdir(workDirOf(runDir))).filter((n) => workFilePattern('embed', 'matrix.f32').test(n));
  assert.equal(names.length, 1, `${runDir}/work: ${names.join(', ')}`);
  return readFile(join(workDirOf(runDir), names[0]!));
}

describe('incremental re-curation', () => {
  let t: TestTemporal;
  let dir: string;
  const taskQueue = uniqueId('dqe-recurate');

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-recurate-'));
  });
  after(async () => t.close());

  test('a scheduled re-run on a grown dataset reuses the cached embeddings of unchanged rows, and reports how many', async () => {
    const mails = spamAssassinJsonl({ limit: FIRST + GROWTH }).trim().split('\n');
    const dataset = join(dir, 'tickets.jsonl');
    await writeFile(dataset, `${mails.slice(0, FIRST).join('\n')}\n`);
    const cacheDir = join(dir, 'cache');
    const scheduleId = uniqueId('dqe-weekly');
    // Paused: only the triggers below start runs.
    // hash: its vector of a text is the same bytes whatever else is embedded with it, which the byte
    // comparison with a cold run below asks; minilm's can differ in the last bits with the batch's shape.
    await createDqeSchedule(t.client, { scheduleId, input: { dataset, embedder: 'hash' }, outputRoot: join(dir, 'runs'), cron: '0 4 * * 1', paused: true, taskQueue });
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir, env: {} } });

    const runOnce = async (n: number): Promise<DqeResult> => {
      await triggerDqeSchedule(t.client, scheduleId);
      const id = await until(`scheduled run ${n}`, async () => (await describeDqeSchedule(t.client, scheduleId)).recentRuns[n - 1]?.workflowId);
      return (await t.client.workflow.getHandle(id).result()) as DqeResult;
    };
    const [first, second] = await worker.runUntil(async () => {
      const r1 = await runOnce(1);
      await appendFile(dataset, `${mails.slice(FIRST).join('\n')}\n`);
      // Runs triggered within one second would share a scheduled time, so a workflow id.
      await new Promise((r) => setTimeout(r, 1100));
      return [r1, await runOnce(2)] as const;
    });
    await deleteDqeSchedule(t.client, scheduleId);
    assert.notEqual(first.runDir, second.runDir);

    const report = async (r: DqeResult) => JSON.parse(await readFile(r.reportPath, 'utf8')) as EmbeddingReport;
    const [r1, r2] = [await report(first), await report(second)];
    assert.deepEqual([r1.embedding.reused, r1.embedding.embedded], [0, r1.counts.kept]);

    // Reused = the re-run's kept rows whose text the first run embedded; embedded = the rest.
    const seen = new Set((await keptRows(first.runDir)).map((r) => r.text));
    const kept2 = await keptRows(second.runDir);
    const unchanged = kept2.filter((r) => seen.has(r.text)).length;
    assert.equal(unchanged, r1.counts.kept, 'every row of the first run is still kept');
    assert.deepEqual([r2.embedding.reused, r2.embedding.embedded], [unchanged, kept2.length - unchanged]);
    assert.equal(r2.counts.kept, kept2.length);
    assert.ok(r2.embedding.embedded > 0 && r2.embedding.embedded <= GROWTH);
    assert.match(
      await readFile(join(second.runDir, 'report.md'), 'utf8'),
      new RegExp(`Embeddings: ${unchanged} of ${kept2.length} rows reused from the cache, ${kept2.length - unchanged} embedded`, 'u'),
    );

    // The cached vectors are the ones a cold run computes: the matrices are byte-identical.
    const cold = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cold-cache'), env: {} } });
    const coldRun = (await cold.runUntil(
      t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-cold'), args: [{ dataset, outputDir: join(dir, 'cold'), embedder: 'hash' }] }),
    )) as DqeResult;
    assert.deepEqual([(await report(coldRun)).embedding.reused, (await report(coldRun)).embedding.embedded], [0, kept2.length]);
    assert.ok((await matrix(second.runDir)).equals(await matrix(coldRun.runDir)));
    assert.equal(await readFile(second.finalPath, 'utf8'), await readFile(coldRun.finalPath, 'utf8'));
  });
});
