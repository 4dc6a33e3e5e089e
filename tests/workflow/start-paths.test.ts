// The ways users start and follow dqe runs, on the real dev server: the `temporal` CLI (what the Web
// UI's Start Workflow sends), the typed TypeScript API, Temporal's Python SDK by workflow type name,
// `dqe list` over the search attributes, and `dqe cancel` cleaning up the run's Qdrant collection.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time.js';
import { Worker } from '@temporalio/worker';
import { execa } from 'execa';
import { createActivities } from '../../activities/index.js';
import { collectionForRun } from '../../adapters/vector-stores/qdrant.js';
import { cancelDqe, getDqeProgress, startDqe } from '../../client/api.js';
import { listDqeRuns, missingDqeSearchAttributes } from '../../client/runs.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { findTemporalCli } from '../../infra/temporal.js';
import { ensurePythonGroup, REPO_ROOT, VENV_BIN } from '../../infra/python-env.js';
import { createCpuWorker, workflowBundle } from '../../workers/cpu-worker.js';
import { DQE_DATASET, DQE_FINAL_SIZE, DQE_PHASE, DQE_STATUS } from '../../workflows/visibility.js';
import type { DqeResult } from '../../workflows/index.js';
import { startQdrantShim, type QdrantShim } from '../qdrant-shim/start.js';
import { dqeCli } from '../helpers/dqe-cli.js';
import { until } from '../helpers/poll.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

/** Extra calls of the Python example, each of which must exit 0 (its teardown used to abort about 1 in 6). */
const PYTHON_REPEATS = 6;

describe('starting dqe runs', () => {
  let t: TestTemporal;
  let dir: string;
  let dataset: string;
  let cli: string;
  const taskQueue = uniqueId('dqe-start');
  const deps = () => ({ cacheDir: join(dir, 'cache'), env: {} });

  before(async () => {
    t = await testTemporal();
    cli = await findTemporalCli();
    dir = await mkdtemp(join(tmpdir(), 'dqe-start-'));
    dataset = join(dir, 'spam.jsonl');
    await writeFile(dataset, spamAssassinJsonl({ limit: 120 }));
  });
  after(async () => t.close());

  /** `temporal <args>` against the test server, as a user at a terminal would run it. */
  const temporal = (args: string[]) => execa(cli, [...args, '--address', t.address, '--namespace', 'default'], { reject: false, all: true });

  test('`temporal workflow start --type dqe` (the Web UI path) runs to completion, visible to `dqe list`', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const workflowId = uniqueId('dqe-ui');
    const outputDir = join(dir, 'ui-run');
    const result = await worker.runUntil(async () => {
      const started = await temporal(['workflow', 'start', '--type', 'dqe', '--task-queue', taskQueue, '--workflow-id', workflowId, '--input', JSON.stringify({ dataset, outputDir })]);
      assert.equal(started.exitCode, 0, started.all);
      return (await t.client.workflow.getHandle(workflowId).result()) as DqeResult;
    });
    assert.equal(result.runDir, outputDir);
    const report = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as { counts: { rowsIn: number; final: number } };
    assert.equal(report.counts.rowsIn, 120);
    assert.equal(report.counts.final, result.counts.final);

    // Search attributes and memo as the run left them.
    const d = await t.client.workflow.getHandle(workflowId).describe();
    assert.equal(d.typedSearchAttributes.get(DQE_DATASET), dataset);
    assert.equal(d.typedSearchAttributes.get(DQE_STATUS), 'completed');
    assert.equal(d.typedSearchAttributes.get(DQE_PHASE), 'report');
    assert.equal(d.typedSearchAttributes.get(DQE_FINAL_SIZE), result.counts.final);
    assert.deepEqual(d.memo, { dataset, runDir: outputDir, finalSize: result.counts.final, kept: result.counts.kept });

    // `dqe list` filters by dataset and status (visibility lags a little).
    const listed = await until('dqe list to show the run', async () => {
      const out = await dqeCli(['list', '--json', '--dataset', dataset, '--status', 'completed'], t.address);
      const runs = JSON.parse(out.stdout) as Array<{ workflowId: string; status: string; finalSize: number; execution: string; runDir: string }>;
      return runs.some((r) => r.workflowId === workflowId) ? runs : undefined;
    });
    const mine = listed.find((r) => r.workflowId === workflowId)!;
    assert.deepEqual([mine.status, mine.execution, mine.finalSize, mine.runDir], ['completed', 'COMPLETED', result.counts.final, outputDir]);
    assert.deepEqual(await listDqeRuns(t.client, { dataset, status: 'failed' }), []);
  });

  test('a wrong input fails at once: one workflow task, no activity, a non-retryable error naming every bad field', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const workflowId = uniqueId('dqe-ui-bad');
    const input = { dataset: '', ratio: 3, trainer: 'svm', outputDir: '/runs/{runId}', colour: 'blue' };
    const expected =
      'invalid dqe input: dataset: Too small: expected string to have >=1 characters; ratio: Too big: expected number to be <1; ' +
      'trainer.name: unknown trainer; valid: linear, encoder, swift; outputDir: unknown placeholder(s) {runId}; valid: {workflowId}, {scheduleId}, {scheduledTime}; ' +
      '(input): unknown field(s): colour';
    const executed = await worker.runUntil(
      temporal(['workflow', 'execute', '--type', 'dqe', '--task-queue', taskQueue, '--workflow-id', workflowId, '--input', JSON.stringify(input)]),
    );
    assert.notEqual(executed.exitCode, 0);
    assert.ok(executed.all?.includes(expected), executed.all);

    const err = await t.client.workflow.getHandle(workflowId).result().then(() => assert.fail('should have failed'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'DqeInvalidInput');
    assert.equal(err.cause.nonRetryable, true);
    assert.equal(err.cause.message, expected);
    const events = (await t.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.workflowTaskCompletedEventAttributes).length, 1);
    assert.equal(events.filter((e) => e.workflowTaskFailedEventAttributes).length, 0);
    assert.equal(events.filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
    assert.ok(events.at(-1)?.workflowExecutionFailedEventAttributes);
    assert.equal((await t.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(DQE_STATUS), 'failed');
  });

  test('startDqe is idempotent: two starts with one request id make one run', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const workflowId = `dqe-request-${uniqueId('r')}`;
    const input = { dataset, outputDir: join(dir, 'api-run') };
    const [a, b] = await Promise.all([startDqe(t.client, input, { workflowId, taskQueue }), startDqe(t.client, input, { workflowId, taskQueue })]);
    const runIds = new Set([(await a.describe()).runId, (await b.describe()).runId]);
    assert.equal(runIds.size, 1);
    const result = await worker.runUntil(async () => {
      const r = (await a.result()) as DqeResult;
      // A start after completion also finds the run (REJECT_DUPLICATE), instead of curating again.
      const again = await startDqe(t.client, input, { workflowId, taskQueue });
      assert.equal((await again.describe()).runId, [...runIds][0]);
      const progress = await getDqeProgress(t.client, workflowId);
      assert.equal(progress.status, 'completed');
      assert.equal(progress.execution, 'COMPLETED');
      return r;
    });
    assert.equal(result.runDir, input.outputDir);
  });

  test('the Python SDK starts dqe by workflow type name (examples/start-from-python.py)', async () => {
    await ensurePythonGroup('temporal-sdk', (l) => console.error(`[python] ${l}`));
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const requestId = uniqueId('py');
    const outputDir = join(dir, 'python-run');
    const env = { ...process.env, TEMPORAL_ADDRESS: t.address, DQE_TASK_QUEUE: taskQueue };
    const script = join(REPO_ROOT, 'examples', 'start-from-python.py');
    const run = () => execa(join(VENV_BIN, 'python'), [script, requestId, dataset, outputDir], { env });
    const [first, second, repeats] = await worker.runUntil(async () => {
      const [a, b] = [await run(), await run()];
      const more = [];
      for (let i = 0; i < PYTHON_REPEATS; i++) more.push(await execa(join(VENV_BIN, 'python'), [script, requestId, dataset, outputDir], { env, reject: false }));
      return [a, b, more] as const;
    });
    const lines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { started?: string; result?: DqeResult; status?: string });
    const [started, done] = lines(first.stdout);
    assert.equal(started!.started, `dqe-${requestId}`);
    assert.equal(done!.status, 'completed');
    assert.equal(done!.result!.runDir, outputDir);
    const report = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as { counts: { final: number } };
    assert.equal(done!.result!.counts.final, report.counts.final);
    // The second call with the same request id found the first run.
    assert.deepEqual(lines(second.stdout)[1], done);
    // Each call exits 0 after its good result: the SDK's threads once aborted 4-7 exits in 30 at interpreter teardown.
    assert.deepEqual(repeats.map((r) => [r.exitCode, r.stderr]), repeats.map(() => [0, '']));
    const runs = await until('the Python-started run in visibility', async () => {
      const r = await listDqeRuns(t.client, { query: `WorkflowId = 'dqe-${requestId}'` });
      return r.length > 0 ? r : undefined;
    });
    assert.equal(runs.length, 1);
  });

  test('`dqe setup` registers the search attributes a fresh namespace lacks; workers refuse to start without them', async () => {
    const namespace = uniqueId('dqe-ns');
    await t.client.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const client = new Client({ connection: t.client.connection, namespace });
    const missing = await until('the new namespace', () => missingDqeSearchAttributes(client));
    assert.deepEqual(missing, ['DqeDataset', 'DqePhase', 'DqeStatus', 'DqeFinalSize']);
    const refused = await dqeCli(['worker', '--task-queue', taskQueue], t.address, namespace);
    assert.equal(refused.exitCode, 1);
    assert.equal(
      refused.stderr,
      `dqe: namespace ${namespace} lacks dqe's search attribute(s) DqeDataset, DqePhase, DqeStatus, DqeFinalSize, which every run sets: run \`dqe setup\` once ` +
        '(or `temporal operator search-attribute create --name DqeDataset --type Keyword --name DqePhase --type Keyword --name DqeStatus --type Keyword --name DqeFinalSize --type Int`)',
    );
    const setup = await dqeCli(['setup'], t.address, namespace);
    assert.equal(setup.stdout, `registered DqeDataset, DqePhase, DqeStatus, DqeFinalSize on namespace ${namespace}`);
    assert.deepEqual(await until('the attributes to register', async () => ((await missingDqeSearchAttributes(client)).length === 0 ? [] : undefined)), []);
    assert.equal((await dqeCli(['setup'], t.address, namespace)).stdout, `namespace ${namespace} already has dqe's search attributes`);
  });

  describe('dqe cancel', () => {
    let shim: QdrantShim;
    before(async () => {
      shim = await startQdrantShim();
    });
    after(async () => shim.stop());

    test('stops a run and drops the Qdrant collection it created', async () => {
      // A worker without the categorise activity: the run stops there, with its collection in Qdrant,
      // retrying until it is cancelled.
      const { categoriseWrong: _missing, ...activities } = createActivities(deps());
      const worker = await Worker.create({ connection: t.workerConnection, taskQueue, workflowBundle: await workflowBundle(), activities });
      const workflowId = uniqueId('dqe-cancel');
      const qdrant = new QdrantClient({ url: shim.url, checkCompatibility: false });
      const collection = collectionForRun(workflowId);
      const outcome = await worker.runUntil(async () => {
        await startDqe(t.client, { dataset, outputDir: join(dir, 'cancel-run'), vectorStore: { name: 'qdrant', url: shim.url } }, { workflowId, taskQueue });
        await until('the run to reach categorise', async () => ((await getDqeProgress(t.client, workflowId)).phase === 'categorise' ? true : undefined), 60_000);
        assert.equal((await qdrant.collectionExists(collection)).exists, true);
        return cancelDqe(t.client, workflowId, { wait: true });
      });
      assert.deepEqual(outcome, { execution: 'CANCELLED', cleanup: ["dropped the run's qdrant vector index"] });
      assert.equal((await qdrant.collectionExists(collection)).exists, false);
      const d = await t.client.workflow.getHandle(workflowId).describe();
      assert.equal(d.typedSearchAttributes.get(DQE_STATUS), 'cancelled');
      assert.equal(d.typedSearchAttributes.get(DQE_PHASE), 'categorise');
    });
  });
});
