// Human review on the real dev server: a run with `review: true` waits after judging, survives a worker
// restart while it waits, rejects bad decisions without failing, and assembles with the decisions.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { readJsonlAll } from '../../adapters/files.js';
import { getDqeProgress, startDqe } from '../../client/api.js';
import { getDqeReview, readReviewFlagged, readReviewPairs, submitDqeReview, type ReviewPair } from '../../client/review.js';
import type { ReviewChange, ReviewDecision } from '../../core/review.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { flippedSpamJsonl } from '../helpers/flipped.js';
import { createCpuWorker, workflowBundle } from '../../workers/cpu-worker.js';
import type { DqeResult } from '../../workflows/index.js';
import { DQE_STATUS } from '../../workflows/visibility.js';
import { until } from '../helpers/poll.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

/** Mails in the test set: enough for a few noisy pairs with both verdicts. */
const MAILS = 300;

function updateFailure(type: string, message: string) {
  return (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
    assert.equal(err.cause.type, type);
    assert.equal(err.cause.message, message);
    return true;
  };
}

describe('human review on the dev server', () => {
  let t: TestTemporal;
  let dir: string;
  let dataset: string;
  let lines: string[];
  const taskQueue = uniqueId('dqe-review');
  const deps = () => ({ cacheDir: join(dir, 'cache'), env: {} });
  /** The run's review state once it waits for one. */
  const reviewWaiting = (workflowId: string) =>
    until('the run to wait for review', async () => {
      const s = await getDqeReview(t.client, workflowId);
      return s.state === 'waiting' ? s : undefined;
    }, 60_000);

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-review-'));
    dataset = join(dir, 'spam.jsonl');
    lines = spamAssassinJsonl({ limit: MAILS }).trim().split('\n');
    await writeFile(dataset, `${lines.join('\n')}\n`);
  });
  after(async () => t.close());

  test('waits durably for review across a worker restart, rejects bad decisions, and assembles with the good ones', async () => {
    const workflowId = uniqueId('dqe-reviewed');
    // One pass here; the two-fold review (both passes' pairs) is the next test.
    const input = { dataset, seed: 3, twoFold: false };
    const firstWorker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps(), identity: 'worker-before-restart' });
    const [baseline, state] = await firstWorker.runUntil(async () => {
      // The same run without review, to compare the final sets.
      const base = (await t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-unreviewed'), args: [{ ...input, outputDir: join(dir, 'unreviewed') }] })) as DqeResult;
      await startDqe(t.client, { ...input, outputDir: join(dir, 'reviewed'), review: true }, { workflowId, taskQueue });
      const waiting = await reviewWaiting(workflowId);
      const progress = await getDqeProgress(t.client, workflowId);
      assert.deepEqual([progress.status, progress.phase], ['awaiting_review', 'judge']);
      // A decision with a label outside the label set is refused by the update's validator.
      await assert.rejects(
        submitDqeReview(t.client, workflowId, { decisions: [{ row: 1, verdict: 'mislabeled', label: 'eggs' }] }),
        updateFailure('DqeInvalidReview', 'invalid review: decisions.0.label: "eggs" is not a label of this run; labels: ham, spam'),
      );
      return [base, waiting] as const;
    });
    assert.equal(state.labels?.join(','), 'ham,spam');
    assert.equal(state.pairs, baseline.counts.noisy);

    // No worker now: the run still waits, as visibility shows.
    const d = await t.client.workflow.getHandle(workflowId).describe();
    assert.equal(d.status.name, 'RUNNING');
    await until('DqeStatus awaiting_review', async () => ((await t.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(DQE_STATUS) === 'awaiting_review' ? true : undefined));

    // Overrule the judge: rows it found mislabeled are fine, rows it found fine or could not decide are
    // mislabeled (undecided rows stay by default, so flagging them drops them). Only the
    // unsampled row x of each pair, and sampled neighbours, are in the final set unless judged mislabeled.
    const pairs = await readReviewPairs(state);
    assert.equal(pairs.length, state.pairs);
    const sides = new Map<number, ReviewPair['x']>();
    for (const p of pairs) for (const s of [p.x, p.neighbour]) if (s.split === 'sampled' || s === p.x) sides.set(s.row, s);
    const toOk = [...sides.values()].filter((s) => s.verdict?.verdict === 'mislabeled').slice(0, 2);
    const toMislabeled = [...sides.values()].filter((s) => s.verdict !== null && s.verdict.verdict !== 'mislabeled').slice(0, 2);
    assert.ok(toOk.length > 0 && toMislabeled.length > 0, `need rows to overrule both ways among ${sides.size}`);
    const decisions: ReviewDecision[] = [
      ...toOk.map((s) => ({ row: s.row, verdict: 'label_ok' as const, reason: 'read it: the label is right' })),
      ...toMislabeled.map((s) => ({ row: s.row, verdict: 'mislabeled' as const })),
    ];

    // A new worker (as after a deploy or crash) replays the history and takes the review.
    const afterRestart = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps(), identity: 'worker-after-restart' });
    const [summary, result] = await afterRestart.runUntil(async () => {
      // A row in no noisy pair passes the validator but is refused by the review activity; the run keeps waiting.
      await assert.rejects(
        submitDqeReview(t.client, workflowId, { decisions: [{ row: 999_999, verdict: 'label_ok' }] }),
        updateFailure('DqeInvalidReview', 'invalid review: decisions.0.row: row 999999 is in no noisy pair of this run and the judge flagged no such row (see noisy-pairs.jsonl, flagged.jsonl)'),
      );
      assert.equal((await getDqeReview(t.client, workflowId)).state, 'waiting');
      const s = await submitDqeReview(t.client, workflowId, { decisions, reviewer: 'ana' });
      await assert.rejects(submitDqeReview(t.client, workflowId, {}), updateFailure('DqeNotAwaitingReview', 'the review was already submitted'));
      return [s, (await t.client.workflow.getHandle(workflowId).result()) as DqeResult] as const;
    });
    assert.equal(summary.decisions, decisions.length);
    assert.equal(summary.changed, decisions.length);
    assert.equal(summary.reviewer, 'ana');

    // The final set is the unreviewed one, plus the rows the reviewer cleared, minus the rows they flagged.
    const key = (row: number) => JSON.stringify(JSON.parse(lines[row - 1]!));
    const finalOf = async (runDir: string) => new Set((await readJsonlAll<unknown>(join(runDir, 'final.jsonl'))).map((r) => JSON.stringify(r)));
    const expected = await finalOf(baseline.runDir);
    for (const s of toOk) expected.add(key(s.row));
    for (const s of toMislabeled) expected.delete(key(s.row));
    assert.deepEqual([...(await finalOf(result.runDir))].sort(), [...expected].sort());
    assert.equal(result.counts.final, baseline.counts.final + toOk.length - toMislabeled.length);
    assert.equal(result.counts.mislabeled, baseline.counts.mislabeled - toOk.length + toMislabeled.length);

    const changes = await readJsonlAll<ReviewChange>(join(result.runDir, 'review.jsonl'));
    assert.deepEqual(
      changes.map((c) => [c.row, c.judge.verdict, c.review.verdict, c.changed]),
      [...toOk.map((s) => [s.row, 'mislabeled', 'label_ok', true]), ...toMislabeled.map((s) => [s.row, s.verdict!.verdict, 'mislabeled', true])],
    );
    const report = JSON.parse(await readFile(join(result.runDir, 'report.json'), 'utf8')) as {
      judge: { review: { reviewer: string; decisions: number; changed: number } };
      counts: { verdicts: { mislabeled: number } };
    };
    assert.deepEqual([report.judge.review.reviewer, report.judge.review.decisions, report.judge.review.changed], ['ana', decisions.length, decisions.length]);
    assert.equal(report.counts.verdicts.mislabeled, result.counts.mislabeled);
    assert.match(await readFile(join(result.runDir, 'report.md'), 'utf8'), new RegExp(`Reviewed by ana: ${decisions.length} rows decided, ${decisions.length} changed`, 'u'));

    // The history: workflow tasks on both workers, the review applied by the new one, once refused once
    // accepted; and it replays against the current code.
    const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const identities = new Set(events.flatMap((e) => (e.workflowTaskStartedEventAttributes?.identity ? [e.workflowTaskStartedEventAttributes.identity] : [])));
    assert.deepEqual([...identities].sort(), ['worker-after-restart', 'worker-before-restart']);
    const reviewActivities = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'applyReview');
    assert.equal(reviewActivities.length, 2);
    assert.equal(events.filter((e) => e.activityTaskFailedEventAttributes).length, 1);
    assert.equal(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length, 2);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  });

  test("two-fold: the review covers the second pass's pairs, and a row the reviewer clears stays though the second pass called it mislabeled", async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const workflowId = uniqueId('dqe-two-fold-reviewed');
    // A seed whose second pass judges some rows mislabeled and finds others it does not (seed 3 stopped doing so when
    // the int8 MiniLM weights went to 7 bits: the vectors moved slightly). The judge is pinned to the pairs and the
    // probabilities, as when this was worked out, so that a change of the judge's defaults keeps these rows (the
    // default judge's review is the flagged-rows test below).
    const input = { dataset, seed: 5, twoFold: true, judge: { name: 'offline' as const, scope: 'pairs' as const, neighbours: 0 } };
    const [baseline, state, pairs, toOk, toMislabeled, result] = await worker.runUntil(async () => {
      const base = (await t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-two-fold-unreviewed'), args: [{ ...input, outputDir: join(dir, 'two-fold-unreviewed') }] })) as DqeResult;
      await startDqe(t.client, { ...input, outputDir: join(dir, 'two-fold-reviewed'), review: true }, { workflowId, taskQueue });
      const waiting = await reviewWaiting(workflowId);
      const all = await readReviewPairs(waiting);
      // Rows the second pass found wrong are rows of the run's sampled half (in the final set unless
      // mislabeled): clear two it called mislabeled, flag two that no pass called mislabeled.
      const second = all.filter((p) => p.pass === 2);
      const verdicts = new Map<number, string[]>();
      for (const p of all) for (const side of [p.x, p.neighbour]) verdicts.set(side.row, [...(verdicts.get(side.row) ?? []), side.verdict?.verdict ?? 'none']);
      const xs = [...new Map(second.map((p) => [p.x.row, p.x])).values()];
      const ok = xs.filter((x) => x.verdict?.verdict === 'mislabeled').slice(0, 2);
      const flag = xs.filter((x) => !verdicts.get(x.row)!.includes('mislabeled')).slice(0, 2);
      assert.ok(ok.length > 0 && flag.length > 0, `need second-pass rows to overrule both ways among ${xs.length}`);
      const decisions: ReviewDecision[] = [...ok.map((x) => ({ row: x.row, verdict: 'label_ok' as const })), ...flag.map((x) => ({ row: x.row, verdict: 'mislabeled' as const }))];
      await submitDqeReview(t.client, workflowId, { decisions, reviewer: 'ana' });
      return [base, waiting, all, ok, flag, (await t.client.workflow.getHandle(workflowId).result()) as DqeResult] as const;
    });
    const runDir = join(dir, 'two-fold-reviewed');
    assert.deepEqual([state.pairsPath, state.secondPassPairsPath], [join(runDir, 'noisy-pairs.jsonl'), join(runDir, 'noisy-pairs.second-pass.jsonl')]);
    assert.equal(state.pairs, baseline.counts.noisy + baseline.secondPass!.noisy);
    assert.deepEqual([pairs.filter((p) => p.pass === 1).length, pairs.filter((p) => p.pass === 2).length], [baseline.counts.noisy, baseline.secondPass!.noisy]);
    // The second pass predicted the run's sampled half: its wrong rows are named sampled, as in the run.
    assert.deepEqual([...new Set(pairs.filter((p) => p.pass === 2).map((p) => p.x.split))], ['sampled']);

    // The final set is the unreviewed one, plus the rows cleared, minus the rows flagged.
    const key = (row: number) => JSON.stringify(JSON.parse(lines[row - 1]!));
    const finalOf = async (d: string) => new Set((await readJsonlAll<unknown>(join(d, 'final.jsonl'))).map((r) => JSON.stringify(r)));
    const expected = await finalOf(baseline.runDir);
    for (const x of toOk) {
      assert.equal(expected.has(key(x.row)), false, `row ${x.row} left the unreviewed set`);
      expected.add(key(x.row));
    }
    for (const x of toMislabeled) {
      assert.equal(expected.has(key(x.row)), true, `row ${x.row} is in the unreviewed set`);
      expected.delete(key(x.row));
    }
    assert.deepEqual([...(await finalOf(result.runDir))].sort(), [...expected].sort());
    assert.equal(result.counts.final, baseline.counts.final + toOk.length - toMislabeled.length);
    // The second pass's verdicts carry the decisions (each decided row is a second-pass row x).
    assert.equal(result.secondPass!.mislabeled, baseline.secondPass!.mislabeled - toOk.length + toMislabeled.length);
    // review.jsonl records each decision against the verdict the run would have used: both passes merged.
    const merged = (row: number) => {
      const seen = pairs.flatMap((p) => [p.x, p.neighbour]).filter((side) => side.row === row && side.verdict);
      return seen.some((side) => side.verdict!.verdict === 'undecided') ? 'undecided' : 'label_ok';
    };
    const changes = await readJsonlAll<ReviewChange>(join(result.runDir, 'review.jsonl'));
    assert.deepEqual(
      changes.map((c) => [c.row, c.judge.verdict, c.review.verdict, c.changed]),
      [...toOk.map((x) => [x.row, 'mislabeled', 'label_ok', true]), ...toMislabeled.map((x) => [x.row, merged(x.row), 'mislabeled', true])],
    );
  });

  test("two-fold, scope 'wrong': the review covers the rows the judge flagged outside the pairs in both passes, and a flagged row the reviewer clears stays", async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const workflowId = uniqueId('dqe-flagged-reviewed');
    // Every 10th label flipped, so that both passes flag rows outside their pairs.
    const flippedPath = join(dir, 'flipped.jsonl');
    const flippedLines = flippedSpamJsonl(MAILS).trim().split('\n');
    await writeFile(flippedPath, `${flippedLines.join('\n')}\n`);
    const input = { dataset: flippedPath, seed: 3, twoFold: true, judge: { name: 'offline' as const, scope: 'wrong' as const } };
    const [baseline, state, flagged, cleared, result] = await worker.runUntil(async () => {
      const base = (await t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-flagged-unreviewed'), args: [{ ...input, outputDir: join(dir, 'flagged-unreviewed') }] })) as DqeResult;
      await startDqe(t.client, { ...input, outputDir: join(dir, 'flagged-reviewed'), review: true }, { workflowId, taskQueue });
      const waiting = await reviewWaiting(workflowId);
      const rows = await readReviewFlagged(waiting);
      // One row flagged by each pass, where both flagged some.
      const clear = [rows.find((f) => f.pass === 1), rows.find((f) => f.pass === 2)].filter((f) => f !== undefined);
      assert.ok(clear.length === 2, `need a flagged row from each pass, got ${JSON.stringify(rows.map((f) => [f.row, f.pass]))}`);
      await submitDqeReview(t.client, workflowId, { decisions: clear.map((f) => ({ row: f.row, verdict: 'label_ok' as const, reason: 'the label is right' })), reviewer: 'ana' });
      return [base, waiting, rows, clear, (await t.client.workflow.getHandle(workflowId).result()) as DqeResult] as const;
    });
    const runDir = join(dir, 'flagged-reviewed');
    const report = JSON.parse(await readFile(join(baseline.runDir, 'report.json'), 'utf8')) as { counts: { flagged: number }; twoFold: { flagged: number }; outputs: { flagged: string } };
    const ofPass = (pass: number) => flagged.filter((f) => f.pass === pass).length;
    assert.deepEqual(
      [state.flaggedPath, state.secondPassFlaggedPath, state.flagged, report.counts.flagged, report.twoFold.flagged, report.outputs.flagged],
      [join(runDir, 'flagged.jsonl'), join(runDir, 'flagged.second-pass.jsonl'), flagged.length, ofPass(1), ofPass(2), 'flagged.jsonl'],
    );
    // Each flagged row: the input row's own text and label, judged mislabeled, in no noisy pair of its pass, and
    // wrongly predicted by its pass (scope 'wrong').
    const pairs = await readReviewPairs(state);
    for (const f of flagged) {
      const line = JSON.parse(flippedLines[f.row - 1]!) as { text: string; label: string };
      const inPairs = pairs.some((p) => p.pass === f.pass && (p.x.row === f.row || p.neighbour.row === f.row));
      assert.deepEqual([f.text, f.label, f.verdict.verdict, inPairs], [line.text, line.label, 'mislabeled', false]);
      assert.ok(f.predicted !== undefined && f.predicted !== f.label, `row ${f.row} was wrongly predicted`);
    }
    for (const file of ['flagged.jsonl', 'flagged.second-pass.jsonl']) assert.equal(await readFile(join(runDir, file), 'utf8'), await readFile(join(baseline.runDir, file), 'utf8'));
    // The final set is the unreviewed one plus the cleared rows.
    const key = (row: number) => JSON.stringify(JSON.parse(flippedLines[row - 1]!));
    const finalOf = async (d: string) => new Set((await readJsonlAll<unknown>(join(d, 'final.jsonl'))).map((r) => JSON.stringify(r)));
    const expected = await finalOf(baseline.runDir);
    for (const f of cleared) {
      assert.equal(expected.has(key(f.row)), false, `flagged row ${f.row} left the unreviewed set`);
      expected.add(key(f.row));
    }
    assert.deepEqual([...(await finalOf(result.runDir))].sort(), [...expected].sort());
    assert.equal(result.counts.final, baseline.counts.final + cleared.length);
    const changes = await readJsonlAll<ReviewChange>(join(result.runDir, 'review.jsonl'));
    assert.deepEqual(
      changes.map((c) => [c.row, c.judge.verdict, c.review.verdict, c.review.reason]),
      cleared.map((f) => [f.row, 'mislabeled', 'label_ok', 'reviewed by ana: the label is right']),
    );
  });

  test('an empty review accepts every verdict: the final set is the unreviewed one', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const workflowId = uniqueId('dqe-accepted');
    const result = await worker.runUntil(async () => {
      await startDqe(t.client, { dataset, seed: 3, twoFold: false, outputDir: join(dir, 'accepted'), review: true }, { workflowId, taskQueue });
      await reviewWaiting(workflowId);
      const summary = await submitDqeReview(t.client, workflowId, {});
      assert.deepEqual([summary.decisions, summary.changed], [0, 0]);
      return (await t.client.workflow.getHandle(workflowId).result()) as DqeResult;
    });
    assert.equal(await readFile(join(result.runDir, 'final.jsonl'), 'utf8'), await readFile(join(dir, 'unreviewed', 'final.jsonl'), 'utf8'));
    assert.deepEqual(await readJsonlAll(join(result.runDir, 'review.jsonl')), []);
  });

  test('a run without review refuses a review', async () => {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: deps() });
    const workflowId = uniqueId('dqe-noreview');
    await worker.runUntil(async () => {
      const handle = await startDqe(t.client, { dataset, seed: 3, outputDir: join(dir, 'no-review') }, { workflowId, taskQueue });
      await assert.rejects(submitDqeReview(t.client, workflowId, {}), updateFailure('DqeNotAwaitingReview', 'this run was started without review: true'));
      await handle.result();
    });
  });
});
