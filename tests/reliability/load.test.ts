// Load: ten dqe runs started at once on one dev server, served by two worker processes, all complete,
// each in its own run directory, each with exactly the outputs its dataset gives when run alone.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import type { DqeResult } from '../../workflows/index.js';
import type { WorkerEvent } from '../fixtures/worker-process.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';
import { DATA_OUTPUTS } from './kill-harness.js';
import { startWorkerProcess, writeWorkflowBundle, type WorkerProcess } from './worker-processes.js';
import { RUN_FILES, WORK_DIR } from '../../core/run-layout.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const RUNS = 10;
const WORKERS = 2;

let scratch: string;
let t: TestTemporal;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dqe-load-'));
  t = await testTemporal();
});
after(async () => {
  await t.close();
  await rm(scratch, { recursive: true, force: true });
});

test(`${RUNS} concurrent runs on ${WORKERS} worker processes: all complete, no cross-talk`, async () => {
  // Ten different datasets: different slices of the corpus, different sizes, different seeds.
  const datasets: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const path = join(scratch, `dataset-${i}.jsonl`);
    await writeFile(path, spamAssassinJsonl({ limit: 60 + 7 * i }));
    datasets.push(path);
  }
  const bundlePath = await writeWorkflowBundle(scratch);
  const taskQueue = uniqueId('dqe-load');
  const events: Array<WorkerEvent & { worker: string }> = [];
  const startWorkers = async (cache: string, tag: string) =>
    Promise.all(
      Array.from({ length: WORKERS }, (_, w) =>
        startWorkerProcess({
          address: t.address,
          taskQueue,
          bundlePath,
          identity: `${tag}-${w}`,
          env: { ...process.env, DQE_CACHE_DIR: cache },
          onEvent: (e) => events.push({ ...e, worker: `${tag}-${w}` }),
        }),
      ),
    );
  const stopAll = (ws: WorkerProcess[]) => Promise.all(ws.map((w) => w.stop()));
  const run = (i: number, phase: string) =>
    t.client.workflow.execute('dqe', { taskQueue, workflowId: `${taskQueue}-${phase}-${i}`, args: [{ dataset: datasets[i]!, outputDir: join(scratch, phase, String(i)), seed: i }] }) as Promise<DqeResult>;

  // Each dataset alone: the one-run result.
  let workers = await startWorkers(join(scratch, 'cache-alone'), 'alone');
  const alone: DqeResult[] = [];
  for (let i = 0; i < RUNS; i++) alone.push(await run(i, 'alone'));
  await stopAll(workers);

  // All ten at once, on two fresh workers sharing one cold embedding cache.
  events.length = 0;
  workers = await startWorkers(join(scratch, 'cache-together'), 'together');
  const together = await Promise.all(Array.from({ length: RUNS }, (_, i) => run(i, 'together')));
  await stopAll(workers);

  for (let i = 0; i < RUNS; i++) {
    const dir = join(scratch, 'together', String(i));
    assert.equal(together[i]!.runDir, dir);
    assert.deepEqual(together[i]!.counts, alone[i]!.counts, `run ${i}: counts`);
    for (const name of DATA_OUTPUTS) {
      const [a, b] = await Promise.all([readFile(join(scratch, 'alone', String(i), name)), readFile(join(dir, name))]);
      assert.ok(a.equals(b), `run ${i}: ${name} differs from the run alone`);
    }
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as { run: { id: string; dataset: string } };
    assert.equal(report.run.id, `${taskQueue}-together-${i}`);
    assert.equal(report.run.dataset, datasets[i]);
    // Only this run's files: the outputs, its work folder and its lock, nothing a neighbour wrote.
    const entries = await readdir(dir);
    for (const name of DATA_OUTPUTS) assert.ok(entries.includes(name), `run ${i}: ${name} missing`);
    const named = new Set<string>([WORK_DIR, ...Object.values(RUN_FILES)]);
    assert.ok(entries.every((e) => named.has(e)), `run ${i}: unexpected ${entries.join(', ')}`);
  }
  // Both workers took part, and the runs really overlapped.
  const starts = events.filter((e): e is Extract<WorkerEvent, { event: 'activity-start' }> & { worker: string } => e.event === 'activity-start');
  assert.deepEqual([...new Set(starts.map((e) => e.worker))].sort(), ['together-0', 'together-1']);
  const firstEnd = Math.min(...events.filter((e) => e.event === 'activity-end' && e.type === 'writeReport').map((e) => (e as { t: number }).t));
  const startedBefore = new Set(starts.filter((e) => e.t < firstEnd).map((e) => e.workflowId));
  assert.ok(startedBefore.size >= RUNS / 2, `only ${startedBefore.size} runs had started when the first one finished`);
});
