// The dqe workflow's own logic with stub activities (no files, no models): the order of its phases
// (two-fold included), waiting for a review, cleanup on cancel, and retries; and where `dqeEval` runs
// its arms. Quick, because the
// activities do nothing; on the real dev server because Temporal's time-skipping test server is a
// download this project's machines cannot make (see the Development section of the README).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { createCpuWorker, workflowBundle } from '../../workers/cpu-worker.js';
import { progressQuery, reviewQuery, submitReviewUpdate } from '../../workflows/dqe.js';
import type { DqeActivities } from '../../activities/index.js';
import type { DqeResult } from '../../workflows/index.js';
import { until } from '../helpers/poll.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

type Stubs = { [K in keyof DqeActivities]: (...args: Parameters<DqeActivities[K]>) => Promise<unknown> };

const counts = (mislabeled: number) => ({ label_ok: 1, mislabeled, undecided: 0 });

/** Stub activities that record each call (name and, for judgeNoisy, its pairs file) and return the least the workflow reads. */
function stubActivities(calls: string[], override: Partial<Stubs> = {}): Stubs {
  const rec = <T>(name: string, value: T) => (): Promise<T> => {
    calls.push(name);
    return Promise.resolve(value);
  };
  const stubs: Stubs = {
    checkEndpoints: rec('checkEndpoints', undefined),
    // The run directory's lock is not part of the phase order these tests check.
    claimRunDir: () => Promise.resolve(undefined),
    releaseRunDir: () => Promise.resolve(undefined),
    loadDataset: rec('loadDataset', { rowsIn: 10 }),
    cleanDataset: rec('cleanDataset', { kept: 8, labels: ['a', 'b'], perLabel: { a: 4, b: 4 }, rejected: { duplicate: 2 } }),
    embedShard: rec('embedShard', {}),
    mergeEmbeddings: rec('mergeEmbeddings', {}),
    sampleRows: rec('sampleRows', { sampled: 4, unsampled: 4 }),
    swapHalves: rec('swapHalves', { sampled: 4, unsampled: 4 }),
    trainModel: rec('trainModel', {}),
    predictShard: rec('predictShard', {}),
    mergePredictions: rec('mergePredictions', { wrong: 2 }),
    indexVectors: rec('indexVectors', {}),
    categoriseWrong: rec('categoriseWrong', { counts: { uncovered: 1, difficult: 0, noisy: 1 } }),
    dropVectors: rec('dropVectors', undefined),
    judgeNoisy: (args) => {
      calls.push(`judgeNoisy:${args.pairsFile ?? 'noisy-pairs.jsonl'}`);
      return Promise.resolve({ pairs: 1, counts: counts(1), pairsPath: `${args.runDir}/${args.pairsFile ?? 'noisy-pairs.jsonl'}` });
    },
    applyReview: (args) => {
      calls.push('applyReview');
      return Promise.resolve({ pairs: 1, counts: counts(0), review: { decisions: args.submission.decisions?.length ?? 0, changed: 1, judgeCounts: counts(1), reviewPath: 'review.jsonl' } });
    },
    assembleRun: (args) => {
      calls.push(`assembleRun:mislabeled=${args.judge.counts.mislabeled}:judge2=${args.judge2 ? 'yes' : 'no'}`);
      return Promise.resolve({ final: 5, finalPath: 'final.jsonl' });
    },
    writeReport: rec('writeReport', { reportJsonPath: 'report.json' }),
    // `dqe eval`'s activities: the dqe workflow never calls them.
    splitEvaluation: rec('splitEvaluation', {}),
    layOutArms: rec('layOutArms', {}),
    trainArm: rec('trainArm', {}),
    compareCleanlab: rec('compareCleanlab', {}),
    finishEvaluation: rec('finishEvaluation', {}),
    ...override,
  };
  return stubs;
}

const FIRST_PASS = ['loadDataset', 'cleanDataset', 'embedShard', 'mergeEmbeddings', 'sampleRows', 'trainModel', 'predictShard', 'mergePredictions', 'indexVectors', 'categoriseWrong'];

/**
 * Each test's limit: the stubs answer at once, so a test that runs longer is stuck (a workflow task that
 * fails on every attempt retries forever) and must fail instead of holding up the suite.
 */
const TEST_TIMEOUT_MS = 120_000;

describe('the dqe workflow with stub activities', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  let t: TestTemporal;
  let bundle: Awaited<ReturnType<typeof workflowBundle>>;

  before(async () => {
    t = await testTemporal();
    bundle = await workflowBundle();
  });
  after(async () => t.close());

  async function worker(taskQueue: string, activities: Stubs): Promise<Worker> {
    return createCpuWorker({ connection: t.workerConnection, taskQueue, extra: { workflowBundle: bundle, activities } });
  }
  const input = (extra: Record<string, unknown> = {}) => ({ dataset: '/data/x.jsonl', outputDir: '/runs/{workflowId}', ...extra });

  test('two-fold: the second pass runs after categorise, the index is dropped after it, judge2 after judge', { timeout: TEST_TIMEOUT_MS }, async () => {
    const calls: string[] = [];
    const taskQueue = uniqueId('dqe-logic');
    const w = await worker(taskQueue, stubActivities(calls));
    const workflowId = uniqueId('two-fold');
    const { result, progress } = await w.runUntil(async () => {
      const result = (await t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [input({ twoFold: true })] })) as DqeResult;
      return { result, progress: await t.client.workflow.getHandle(workflowId).query(progressQuery) };
    });
    assert.deepEqual(calls, [
      ...FIRST_PASS,
      'swapHalves', 'trainModel', 'predictShard', 'mergePredictions', 'categoriseWrong',
      'dropVectors',
      'judgeNoisy:noisy-pairs.jsonl', 'judgeNoisy:noisy-pairs.second-pass.jsonl',
      'assembleRun:mislabeled=1:judge2=yes', 'writeReport',
    ]);
    assert.deepEqual(result.counts, { rowsIn: 10, kept: 8, rejected: 2, sampled: 4, unsampled: 4, wrong: 2, uncovered: 1, difficult: 0, noisy: 1, mislabeled: 1, final: 5 });
    // The stubs answer the second pass as the first.
    assert.deepEqual(result.secondPass, { wrong: 2, uncovered: 1, difficult: 0, noisy: 1, mislabeled: 1 });
    assert.deepEqual(progress.done.map((d) => d.phase), ['load', 'clean', 'embed', 'sample', 'train', 'predict', 'index', 'categorise', 'swap', 'train2', 'predict2', 'categorise2', 'judge', 'judge2', 'assemble', 'report']);
    assert.equal(progress.phaseCount, 16);
  });

  test("two-fold with the offline judge's neighbours: the second pass's categorise is handed the first pass's answers; without neighbours neither asks", { timeout: TEST_TIMEOUT_MS }, async () => {
    const calls: string[] = [];
    const seen: Parameters<DqeActivities['categoriseWrong']>[0][] = [];
    const nearest = { path: '/w/neighbours.a.nearest.i32', idsPath: '/w/neighbours.a.nearest-ids.u32', rows: 8, k: 10 };
    const categoriseWrong = (args: Parameters<DqeActivities['categoriseWrong']>[0]) => {
      calls.push('categoriseWrong');
      seen.push(args);
      return Promise.resolve({ counts: { uncovered: 1, difficult: 0, noisy: 1 }, ...(args.neighbours ? { nearest } : {}) });
    };
    const taskQueue = uniqueId('dqe-logic');
    const w = await worker(taskQueue, stubActivities(calls, { categoriseWrong }));
    await w.runUntil(async () => {
      // The default judge: offline, rule confident, scope wrong, 10 neighbours.
      await t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('known-nearest'), args: [input({ twoFold: true })] });
      await t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('no-neighbours'), args: [input({ twoFold: true, judge: { name: 'offline', scope: 'pairs', neighbours: 0 } })] });
    });
    assert.deepEqual(
      seen.map((a) => [a.neighbours, a.knownNearest]),
      [
        [{ k: 10, scope: 'wrong' }, undefined],
        [{ k: 10, scope: 'wrong' }, nearest],
        [undefined, undefined],
        [undefined, undefined],
      ],
    );
  });

  test('review: the run waits after judging, refuses an early or bad submission, and assembles the reviewed verdicts', { timeout: TEST_TIMEOUT_MS }, async () => {
    const calls: string[] = [];
    const taskQueue = uniqueId('dqe-logic');
    const w = await worker(taskQueue, stubActivities(calls));
    const workflowId = uniqueId('review');
    await w.runUntil(async () => {
      const handle = await t.client.workflow.start('dqe', { taskQueue, workflowId, args: [input({ review: true, twoFold: false })] });
      const waiting = await until('the run to wait for review', async () => {
        const r = await handle.query(reviewQuery);
        return r.state === 'waiting' ? r : undefined;
      });
      assert.deepEqual(waiting, { state: 'waiting', pairsPath: `/runs/${workflowId}/noisy-pairs.jsonl`, pairs: 1, verdicts: counts(1), labels: ['a', 'b'] });
      assert.equal((await handle.query(progressQuery)).status, 'awaiting_review');
      assert.equal(calls.at(-1), 'judgeNoisy:noisy-pairs.jsonl', 'nothing runs while it waits');
      await assert.rejects(handle.executeUpdate(submitReviewUpdate, { args: [{ decisions: [{ row: 1, verdict: 'mislabeled', label: 'zzz' }] }] }), (e: Error) => {
        assert.match(String((e.cause as Error | undefined)?.message), /decisions\.0\.label: "zzz" is not a label of this run; labels: a, b/u);
        return true;
      });
      const summary = await handle.executeUpdate(submitReviewUpdate, { args: [{ decisions: [{ row: 1, verdict: 'label_ok' }], reviewer: 'ana' }] });
      assert.deepEqual(summary, { decisions: 1, changed: 1, judgeCounts: counts(1), reviewPath: 'review.jsonl' });
      await handle.result();
      await assert.rejects(handle.executeUpdate(submitReviewUpdate, { args: [{}] })); // closed: no second review
    });
    assert.deepEqual(calls.slice(-4), ['judgeNoisy:noisy-pairs.jsonl', 'applyReview', 'assembleRun:mislabeled=0:judge2=no', 'writeReport']);
  });

  test('cancel during categorise: the activity is cancelled, the vector index dropped, the memo says so', { timeout: TEST_TIMEOUT_MS }, async () => {
    const calls: string[] = [];
    const taskQueue = uniqueId('dqe-logic');
    const categoriseWrong = async () => {
      calls.push('categoriseWrong');
      const ctx = Context.current();
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(200); // throws once the cancellation arrives with a heartbeat response
      }
    };
    const w = await worker(taskQueue, stubActivities(calls, { categoriseWrong }));
    const workflowId = uniqueId('cancel');
    await w.runUntil(async () => {
      const handle = await t.client.workflow.start('dqe', { taskQueue, workflowId, args: [input({ heartbeatTimeoutSeconds: 5 })] });
      await until('categorise to start', async () => ((await handle.query(progressQuery)).phase === 'categorise' && calls.includes('categoriseWrong') ? true : undefined));
      await handle.cancel();
      const err = await handle.result().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const d = await handle.describe();
      assert.equal(d.status.name, 'CANCELLED');
      assert.deepEqual((d.memo as { cleanup?: string[] }).cleanup, ["dropped the run's embedded vector index"]);
    });
    assert.deepEqual(calls.slice(-2), ['categoriseWrong', 'dropVectors']);
  });

  test('retries: a transient failure is retried with backoff; a Dqe* bad-input failure fails the run at once', { timeout: TEST_TIMEOUT_MS }, async () => {
    const calls: string[] = [];
    let attempts = 0;
    const loadDataset = () => {
      calls.push('loadDataset');
      return ++attempts < 3 ? Promise.reject(new Error('disk hiccup')) : Promise.resolve({ rowsIn: 10 });
    };
    const taskQueue = uniqueId('dqe-logic');
    let w = await worker(taskQueue, stubActivities(calls, { loadDataset }));
    await w.runUntil(t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('retry'), args: [input()] }));
    assert.deepEqual(calls.slice(0, 4), ['loadDataset', 'loadDataset', 'loadDataset', 'cleanDataset']);

    const bad: string[] = [];
    const cleanDataset = () => {
      bad.push('cleanDataset');
      return Promise.reject(ApplicationFailure.create({ type: 'DqeTooFewRows', message: 'dataset /data/x.jsonl: 3 rows kept of 10' }));
    };
    w = await worker(taskQueue, stubActivities(bad, { cleanDataset }));
    const err = await w.runUntil(t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('bad'), args: [input()] }).then(() => undefined, (e: unknown) => e));
    assert.ok(err instanceof WorkflowFailedError);
    const cause = (err.cause as { cause?: unknown }).cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, 'DqeTooFewRows');
    assert.deepEqual(bad, ['loadDataset', 'cleanDataset'], 'tried once, then no phase after it');
  });

  test('eval with the swift trainer: the dqe run is a child, the arms and the run\'s training go to the GPU queue, the rest to the CPU queue', { timeout: TEST_TIMEOUT_MS }, async () => {
    const cpuCalls: string[] = [];
    const gpuCalls: string[] = [];
    const taskQueue = uniqueId('dqe-logic-eval');
    const gpuTaskQueue = uniqueId('dqe-logic-gpu');
    const dqeInput = { dataset: '/evals/x/train.jsonl', outputDir: '/evals/x/dqe', overwrite: true, trainer: 'swift', gpuTaskQueue };
    const w = await worker(
      taskQueue,
      stubActivities(cpuCalls, {
        splitEvaluation: () => (cpuCalls.push('splitEvaluation'), Promise.resolve({ dqeInput })),
        finishEvaluation: (args) => (cpuCalls.push(`finishEvaluation:${args.arms.length}`), Promise.resolve({ evaluationVersion: 1 })),
      }),
    );
    const record = (name: string) => (args: { arm?: string }) => {
      gpuCalls.push(args.arm ? `${name}:${args.arm}` : name);
      return Promise.resolve(name === 'trainArm' ? { arm: args.arm } : {});
    };
    const gpu = await Worker.create({ connection: t.workerConnection, taskQueue: gpuTaskQueue, activities: { trainModel: record('trainModel'), predictShard: record('predictShard'), trainArm: record('trainArm') } });
    const workflowId = uniqueId('eval');
    const result: unknown = await gpu.runUntil(w.runUntil(t.client.workflow.execute('dqeEval', { taskQueue, workflowId, args: [{ dataset: '/data/x.jsonl', outputDir: '/evals/x' }] })));
    assert.deepEqual(result, { evaluationVersion: 1 });
    // Two-fold (the default): both passes train and predict on the GPU queue, then the three arms.
    assert.deepEqual(gpuCalls, ['trainModel', 'predictShard', 'trainModel', 'predictShard', 'trainArm:full', 'trainArm:dqe', 'trainArm:random']);
    // The child's own CPU phases ran on the CPU queue; no cleanlab without injected noise.
    assert.equal(cpuCalls[0], 'splitEvaluation');
    assert.ok(cpuCalls.includes('writeReport'));
    assert.deepEqual(cpuCalls.slice(-2), ['layOutArms', 'finishEvaluation:3']);
    assert.ok(!cpuCalls.some((c) => c.startsWith('trainModel') || c.startsWith('predictShard') || c === 'compareCleanlab'));
    assert.equal((await t.client.workflow.getHandle(`${workflowId}-dqe`).describe()).status.name, 'COMPLETED');
  });
});
