// Fan-out: embed and predict shards run as parallel activities on every worker polling the queue,
// and the merged outputs equal a one-worker run's.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DATA_FILES, type Report } from '../../core/run-layout.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

let t: TestTemporal;
let dir: string;
let dataset: string;
before(async () => {
  t = await testTemporal();
  dir = await mkdtemp(join(tmpdir(), 'dqe-fanout-'));
  dataset = join(dir, 'spam.jsonl');
  await writeFile(dataset, spamAssassinJsonl({ limit: 300 }));
});
after(async () => t.close());

/** Starts a worker process (one worker per task queue per process is the SDK's rule) and waits until it polls. */
async function workerProcess(taskQueue: string, workerId: string, cacheDir: string): Promise<ChildProcess> {
  // One activity at a time per worker, so parallel shards must spread over the workers.
  const opts = { address: t.address, taskQueue, workerId, cacheDir, maxConcurrentActivities: 1 };
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/cpu-worker-process.ts', JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  assert.match(line.toString(), /ready/);
  return child;
}

async function run(workers: number, outputDir: string): Promise<Report> {
  const taskQueue = uniqueId('dqe-fanout');
  const children = await Promise.all(Array.from({ length: workers }, (_, i) => workerProcess(taskQueue, `worker-${i}`, join(dir, `cache-${workers}-${i}`))));
  try {
    await t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-fanout'), args: [{ dataset, outputDir, seed: 3, shardSize: 50 }] });
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
  }
  return JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
}

test('two workers both process shards, and the outputs equal a one-worker run', async () => {
  const two = await run(2, join(dir, 'two'));
  const one = await run(1, join(dir, 'one'));
  const embedWorkers = new Set(two.timings.fanOut.embed.map((s) => s.worker));
  const predictWorkers = new Set(two.timings.fanOut.predict.map((s) => s.worker));
  assert.equal(two.timings.fanOut.embed.length, 6);
  assert.deepEqual(two.timings.fanOut.embed.map((s) => s.rows), [50, 50, 50, 50, 50, 50]);
  assert.equal(two.timings.fanOut.predict.length, 6);
  assert.deepEqual([...new Set([...embedWorkers, ...predictWorkers])].sort(), ['worker-0', 'worker-1']);
  assert.deepEqual(new Set(one.timings.fanOut.embed.map((s) => s.worker)), new Set(['worker-0']));
  for (const f of DATA_FILES) {
    assert.equal(await readFile(join(dir, 'two', f), 'utf8'), await readFile(join(dir, 'one', f), 'utf8'), f);
  }
  assert.deepEqual(two.counts, one.counts);
});
