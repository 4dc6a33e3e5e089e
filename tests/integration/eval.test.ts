// `dqe eval` on a few hundred real SpamAssassin mails: the CLI end to end (real Temporal dev server,
// in-process worker, cleanlab from PyPI in the project venv), then two-fold DQE on the same split, then
// the same evaluation with its worker SIGKILLed mid-arm.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { execa } from 'execa';
import { readJsonlAll, readUint32 } from '../../adapters/files.js';
import type { ReportWithEvaluation } from '../../activities/report-html.js';
import type { KeptRow } from '../../activities/refs.js';
import { EVAL_WORKFLOW_TYPE, runEvaluation, startEvaluation } from '../../client/eval.js';
import type { Evaluation } from '../../core/evaluation.js';
import type { RowVerdict } from '../../core/judging.js';
import { mergeVerdicts } from '../../core/two-fold.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { REPO_ROOT } from '../../infra/python-env.js';
import { createCpuWorker, workflowBundle } from '../../workers/cpu-worker.js';
import { EVAL_DQE_SUFFIX } from '../../workflows/index.js';
import { startWorkerProcess, writeWorkflowBundle, type WorkerProcess } from '../reliability/worker-processes.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

const MAILS = 400;
const HOLDOUT = 0.25;
const NOISE = 0.1;

describe('dqe eval', () => {
  let t: TestTemporal;
  let dir: string;
  let dataset: string;
  let rows: Array<{ id: string; text: string; label: string }>;

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-eval-'));
    dataset = join(dir, 'spam.jsonl');
    const jsonl = spamAssassinJsonl({ limit: MAILS });
    rows = jsonl.trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string; label: string });
    await writeFile(dataset, jsonl);
  });
  after(async () => t.close());

  const oneFoldDir = () => join(dir, 'eval-one');

  test('the CLI splits, flips, runs DQE and scores full / dqe / random and cleanlab consistently', async () => {
    const taskQueue = uniqueId('dqe-eval-cli');
    const workflowId = uniqueId('dqe-eval-cli');
    const out = oneFoldDir();
    const res = await execa(
      process.execPath,
      [join(REPO_ROOT, 'bin/dqe.js'), 'eval', dataset, '--holdout', String(HOLDOUT), '--inject-noise', String(NOISE), '--seed', '3', '--no-two-fold', '--output-dir', out, '--task-queue', taskQueue, '--workflow-id', workflowId, '--in-process-worker', '--json'],
      { cwd: REPO_ROOT, env: { ...process.env, TEMPORAL_ADDRESS: t.address, DQE_CACHE_DIR: join(dir, 'cache') }, reject: false },
    );
    assert.equal(res.exitCode, 0, res.stderr);
    const e = JSON.parse(res.stdout) as Evaluation;
    assert.equal(e.twoFold, false, '--no-two-fold: one pass');
    assert.match(res.stderr, new RegExp(`^eval: started workflow ${workflowId} \\(type dqeEval, task queue ${taskQueue}\\); its dqe run is ${workflowId}-dqe$`, 'mu'));

    // The evaluation is a workflow, as the Web UI shows it: its steps and arms are activities, its dqe run a child workflow; its result is evaluation.json.
    const handle = t.client.workflow.getHandle(workflowId);
    assert.equal((await handle.describe()).type, EVAL_WORKFLOW_TYPE);
    assert.deepEqual(await handle.result(), e);
    assert.deepEqual(JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')), e);
    const events = (await handle.fetchHistory()).events ?? [];
    const steps = events.flatMap((ev) => [
      ...(ev.activityTaskScheduledEventAttributes ? [`${ev.activityTaskScheduledEventAttributes.activityType?.name}@${ev.activityTaskScheduledEventAttributes.taskQueue?.name === taskQueue ? 'cpu' : 'other'}`] : []),
      ...(ev.startChildWorkflowExecutionInitiatedEventAttributes ? [`child ${ev.startChildWorkflowExecutionInitiatedEventAttributes.workflowType?.name} ${ev.startChildWorkflowExecutionInitiatedEventAttributes.workflowId}`] : []),
    ]);
    assert.deepEqual(steps, ['splitEvaluation@cpu', `child dqe ${workflowId}${EVAL_DQE_SUFFIX}`, 'layOutArms@cpu', 'trainArm@cpu', 'trainArm@cpu', 'trainArm@cpu', 'compareCleanlab@cpu', 'finishEvaluation@cpu']);
    assert.equal((await t.client.workflow.getHandle(`${workflowId}${EVAL_DQE_SUFFIX}`).describe()).status.name, 'COMPLETED');

    // The split: stratified, round(25%) of each label held out; a held-out mail whose text is also in training is left out.
    const perLabel = new Map<string, number>();
    for (const r of rows) perLabel.set(r.label, (perLabel.get(r.label) ?? 0) + 1);
    const heldOut = [...perLabel.values()].reduce((s, c) => s + Math.round(HOLDOUT * c), 0);
    const train = await readJsonlAll<{ id: string; label: string }>(join(out, 'train.jsonl'));
    const testRows = await readJsonlAll<{ id: string }>(join(out, 'test.jsonl'));
    assert.equal(train.length, MAILS - heldOut);
    assert.equal(testRows.length + e.test.skipped, heldOut);
    assert.equal(e.test.rows, testRows.length);
    assert.equal(new Set([...train.map((r) => r.id), ...testRows.map((r) => r.id)]).size, train.length + testRows.length);

    // The flips: round(10%) of the training rows, each to the other label, and train.jsonl carries them.
    const flips = await readJsonlAll<{ row: number; from: string; to: string }>(join(out, 'flips.jsonl'));
    assert.equal(flips.length, Math.round(NOISE * train.length));
    const original = new Map(rows.map((r) => [r.id, r.label]));
    for (const f of flips) {
      assert.notEqual(f.from, f.to);
      assert.equal(train[f.row - 1]!.label, f.to);
      assert.equal(original.get(train[f.row - 1]!.id), f.from);
    }
    assert.equal(train.filter((r) => r.label !== original.get(r.id)).length, flips.length);

    // The arms: full = every kept row, dqe = the final set, random = as many rows as the final set.
    const runDir = join(out, 'dqe');
    const report = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as ReportWithEvaluation;
    assert.deepEqual(report.evaluation, e);
    assert.equal(e.trainRows, report.counts.kept);
    assert.equal(e.arms.full.rows, report.counts.kept);
    assert.equal(e.arms.dqe.rows, report.counts.final);
    assert.equal(e.arms.random.rows, report.counts.final);
    assert.equal(e.arms.dqe.dataFraction, report.counts.final / report.counts.kept);
    for (const arm of ['full', 'dqe', 'random'] as const) {
      const m = e.arms[arm].metrics;
      assert.equal(m.n, e.test.rows);
      assert.equal(Object.values(m.perClass).reduce((s, c) => s + c.support, 0), e.test.rows);
    }
    // The paired statistics agree with the accuracies they compare.
    for (const c of e.comparisons) {
      const diff = e.arms[c.a].metrics.accuracy - e.arms[c.b].metrics.accuracy;
      assert.ok(Math.abs(c.tTest.meanDiff - diff) < 1e-12, `${c.a} vs ${c.b}`);
      assert.equal(c.mcnemar.aOnly - c.mcnemar.bOnly, Math.round(diff * e.test.rows));
      assert.equal(c.tTest.df, e.test.rows - 1);
    }

    // Noise detection, recounted from the run's files: kept rows whose label was flipped, and rows judged mislabeled.
    const nz = e.noise!;
    const kept = await readJsonlAll<KeptRow>(join(runDir, report.work.kept));
    const flippedRows = new Set(flips.map((f) => f.row));
    const actual = new Set(kept.filter((r) => flippedRows.has(r.row)).map((r) => r.id));
    const verdicts = await readJsonlAll<RowVerdict>(join(runDir, report.work.verdicts));
    const judged = verdicts.filter((v) => v.verdict === 'mislabeled').map((v) => v.id);
    assert.equal(nz.flipped, flips.length);
    assert.equal(nz.flippedKept, actual.size);
    assert.equal(nz.dqe.detected, judged.length);
    assert.equal(nz.dqe.detected, report.counts.verdicts.mislabeled);
    assert.equal(nz.dqe.truePositives, judged.filter((id) => actual.has(id)).length);
    assert.ok(nz.dqeFlagged.detected >= nz.dqe.detected);
    const cl = nz.cleanlab!;
    assert.equal(cl.version, '2.9.0');
    assert.equal(cl.folds, 5);
    // The same probabilities the run's offline judge cross-fitted (same folds, seed and probe): read, not trained again.
    assert.equal(cl.probabilities, 'judge');
    assert.ok(cl.detected > 0, 'cleanlab flags some of 10% flipped labels');
    assert.equal(cl.precision, cl.truePositives / cl.detected);
    assert.equal(cl.recall, cl.truePositives / actual.size);
    // cleanlab saw the labels DQE saw (flips included).
    const labelIds = await readUint32(join(out, 'work', 'cleanlab.labels.u32'), kept.length);
    assert.deepEqual(Array.from(labelIds), Array.from(await readUint32(join(runDir, report.work.labelIds), kept.length)));

    const html = await readFile(join(runDir, 'report.html'), 'utf8');
    assert.match(html, /<section id="evaluation">/u);
    assert.match(html, /<table id="noise-table">/u);
  });

  test('a missing dataset or an unknown format is a clear error naming the file', async () => {
    const run = (file: string) => execa(process.execPath, [join(REPO_ROOT, 'bin/dqe.js'), 'eval', file, '--output-dir', join(dir, 'eval-bad')], { cwd: REPO_ROOT, reject: false });
    const missing = await run(join(dir, 'nope.jsonl'));
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr.trim(), `dqe: ${join(dir, 'nope.jsonl')}: no such file`);
    const txt = join(dir, 'data.txt');
    await writeFile(txt, 'hello\n');
    const unknown = await run(txt);
    assert.equal(unknown.exitCode, 1);
    assert.equal(unknown.stderr.trim(), `dqe: ${txt}: unknown format; name it .jsonl or .csv, or pass --format`);
  });

  test('two-fold DQE on the same split judges both halves and keeps a subset of the one-fold final set', async () => {
    const taskQueue = uniqueId('dqe-eval-2f');
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const out = join(dir, 'eval-two');
    const workflowId = uniqueId('dqe-eval-2f');
    const e = await worker.runUntil(runEvaluation(t.client, { dataset, holdout: HOLDOUT, injectNoise: NOISE, seed: 3, cleanlab: false, dqe: { twoFold: true }, outputDir: out }, { taskQueue, workflowId }));
    assert.equal(e.twoFold, true);
    // The second pass is its own activities, after categorise and after judge; the history replays deterministically.
    const history = await t.client.workflow.getHandle(`${workflowId}${EVAL_DQE_SUFFIX}`).fetchHistory();
    const activities = (history.events ?? []).flatMap((ev) => (ev.activityTaskScheduledEventAttributes ? [ev.activityTaskScheduledEventAttributes.activityType?.name] : []));
    const following = (type: string) => activities.slice(activities.indexOf(type) + 1);
    assert.deepEqual(following('categoriseWrong').slice(0, 2), ['swapHalves', 'trainModel']);
    assert.equal(activities.filter((a) => a === 'trainModel').length, 2);
    assert.equal(activities.filter((a) => a === 'categoriseWrong').length, 2);
    assert.equal(activities.filter((a) => a === 'judgeNoisy').length, 2);
    assert.deepEqual(activities.slice(-3), ['assembleRun', 'writeReport', 'releaseRunDir']);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `${workflowId}${EVAL_DQE_SUFFIX}`);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, await t.client.workflow.getHandle(workflowId).fetchHistory(), workflowId);
    assert.equal(e.noise!.cleanlab, null);
    // The same seed gives the same training part and flips as the one-fold run.
    assert.equal(await readFile(join(out, 'train.jsonl'), 'utf8'), await readFile(join(oneFoldDir(), 'train.jsonl'), 'utf8'));
    assert.equal(await readFile(join(out, 'flips.jsonl'), 'utf8'), await readFile(join(oneFoldDir(), 'flips.jsonl'), 'utf8'));

    const two = JSON.parse(await readFile(join(out, 'dqe', 'report.json'), 'utf8')) as ReportWithEvaluation;
    const one = JSON.parse(await readFile(join(oneFoldDir(), 'dqe', 'report.json'), 'utf8')) as ReportWithEvaluation;
    const tf = two.twoFold!;
    assert.equal(tf.predicted, two.counts.sampled, 'the second pass predicts every sampled row');
    assert.equal(tf.uncovered + tf.difficult + tf.noisy, tf.wrong);
    assert.equal(tf.confusion.matrix.flat().reduce((s, x) => s + x, 0), two.counts.sampled);
    assert.equal(two.noisyPairs.length, two.counts.noisyPairs + tf.noisyPairs);
    assert.ok(two.work.secondPass);
    // The first pass is the one-fold run; the second only removes rows.
    assert.equal(two.counts.noisyPairs, one.counts.noisyPairs);
    const finalOne = new Set((await readJsonlAll<{ id: string }>(join(oneFoldDir(), 'dqe', 'final.jsonl'))).map((r) => r.id));
    const finalTwo = (await readJsonlAll<{ id: string }>(join(out, 'dqe', 'final.jsonl'))).map((r) => r.id);
    for (const id of finalTwo) assert.ok(finalOne.has(id), `two-fold final row ${id} is not in the one-fold final set`);
    const runDir = join(out, 'dqe');
    const merged = mergeVerdicts(await readJsonlAll<RowVerdict>(join(runDir, two.work.verdicts)), await readJsonlAll<RowVerdict>(join(runDir, two.work.secondPass.verdicts)));
    const mislabeled = [...merged.values()].filter((v) => v.verdict === 'mislabeled').length;
    assert.equal(e.noise!.dqe.detected, mislabeled);
    assert.ok(e.noise!.dqe.detected >= one.evaluation!.noise!.dqe.detected);
    assert.equal(finalOne.size - finalTwo.length, two.counts.excludedFromFinal.mislabeled! - one.counts.excludedFromFinal.mislabeled!);
  });
  // Fails after 10 minutes instead of waiting forever for a kill that never comes (an arm that never starts).
  test('a worker SIGKILLed mid-arm: a new worker finishes the evaluation with the same result file', { timeout: 10 * 60_000 }, async () => {
    const taskQueue = uniqueId('dqe-eval-kill');
    const workflowId = uniqueId('dqe-eval-kill');
    const out = join(dir, 'eval-kill');
    const bundlePath = await writeWorkflowBundle(dir);
    const worker = (identity: string, onEvent?: (w: WorkerProcess) => void) => {
      let self: WorkerProcess | undefined;
      const started = startWorkerProcess({
        address: t.address,
        taskQueue,
        bundlePath,
        identity,
        env: { ...process.env, DQE_CACHE_DIR: join(dir, 'cache') },
        // A killed worker's sticky queue would hold the next workflow task for the SDK's 10 s.
        stickyTimeoutMs: 1000,
        onEvent: () => self && onEvent?.(self),
      });
      return started.then((w) => (self = w));
    };
    // The same evaluation as the CLI's; a 15-second heartbeat timeout moves the killed arm on soon. Not
    // shorter: the default embedder's onnxruntime runs hold the worker's event loop (and its heartbeats)
    // for up to seconds on a loaded machine, and a 2-second timeout failed the arm that embeds the test split.
    const input = { dataset, holdout: HOLDOUT, injectNoise: NOISE, seed: 3, dqe: { heartbeatTimeoutSeconds: 15, twoFold: false }, outputDir: out };
    let killedIn: string | undefined;
    const first = await worker('eval-kill-1', (w) => {
      const open = w.inFlight();
      if (killedIn === undefined && open?.type === 'trainArm') {
        killedIn = `${open.type} attempt ${open.attempt}`;
        void w.kill();
      }
    });
    const handle = await startEvaluation(t.client, input, { workflowId, taskQueue });
    await first.exited;
    assert.equal(killedIn, 'trainArm attempt 1');
    // It died inside the arm: the arm's start was reported and its end never was.
    assert.equal(first.events.filter((ev) => ev.event === 'activity-end' && ev.type === 'trainArm').length, 0);
    const second = await worker('eval-kill-2');
    try {
      const e = (await handle.result()) as Evaluation;
      // The arm ran again, on the new worker.
      const events = (await handle.fetchHistory()).events ?? [];
      const armStarts = events.flatMap((ev) => (ev.activityTaskStartedEventAttributes ? [ev.activityTaskStartedEventAttributes] : [])).filter((a) => a.attempt! > 1);
      assert.ok(armStarts.length >= 1, 'a retried attempt');
      assert.ok(second.events.some((ev) => ev.event === 'activity-end' && ev.type === 'trainArm' && ev.ok));
      // The same result as the uninterrupted CLI run, but for wall-clock timings.
      const timeless = (x: Evaluation) => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'seconds' || k === 'trainSeconds' ? 0 : v))) as unknown;
      const uninterrupted = JSON.parse(await readFile(join(oneFoldDir(), 'evaluation.json'), 'utf8')) as Evaluation;
      assert.deepEqual(timeless(JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as Evaluation), timeless(uninterrupted));
      assert.deepEqual(timeless(e), timeless(uninterrupted));
    } finally {
      await second.stop();
    }
  });
});
