// Temporal Schedules for re-curation, on the real dev server, through `dqe schedule ...`: create,
// describe, trigger (and the overlap policy a trigger obeys), each run completing into its own run
// directory, pause, unpause and delete.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { listDqeRuns } from '../../client/runs.js';
import { createDqeSchedule, deleteDqeSchedule, describeDqeSchedule, type DqeScheduleInfo } from '../../client/schedules.js';
import { timeSegment } from '../../core/output-dir.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import type { DqeResult } from '../../workflows/index.js';
import { dqeCli } from '../helpers/dqe-cli.js';
import { until } from '../helpers/poll.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

/** Scheduled runs get workflow ids `<schedule id>-<scheduled time, RFC 3339 to the second>`. */
function scheduledTimeOf(workflowId: string, scheduleId: string): Date {
  const suffix = workflowId.slice(scheduleId.length + 1);
  assert.match(suffix, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/u, workflowId);
  return new Date(suffix);
}

/** Hour and minute of `time` on the wall clock of `timeZone`. */
function wallClock(time: string | Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(time));
}

describe('dqe schedules on the dev server', () => {
  let t: TestTemporal;
  let dir: string;
  let dataset: string;
  const taskQueue = uniqueId('dqe-sched');

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-sched-'));
    dataset = join(dir, 'spam.jsonl');
    await writeFile(dataset, spamAssassinJsonl({ limit: 120 }));
  });
  after(async () => t.close());

  /** The `dqe` command against the test server. */
  const dqe = (args: string[]) => dqeCli(args, t.address);
  const describeJson = async (id: string) => {
    const out = await dqe(['schedule', 'describe', id, '--json']);
    assert.equal(out.exitCode, 0, out.stderr);
    return JSON.parse(out.stdout) as DqeScheduleInfo;
  };

  test('create, trigger under SKIP and ALLOW_ALL, runs complete into <root>/<schedule id>/<scheduled time>/, pause, unpause, delete', async () => {
    const scheduleId = uniqueId('dqe-nightly');
    const root = join(dir, 'runs');
    const created = await dqe([
      'schedule', 'create', scheduleId, dataset, '--cron', '0 3 * * *', '--time-zone', 'Europe/Paris', '--output-root', root, '--task-queue', taskQueue, '--seed', '1',
    ]);
    assert.equal(created.exitCode, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`^created schedule ${scheduleId}; next runs: `, 'u'));

    const d = await describeJson(scheduleId);
    assert.deepEqual(d.cron, ['0 3 * * *']);
    assert.equal(d.timeZone, 'Europe/Paris');
    assert.equal(d.overlap, 'SKIP');
    assert.equal(d.catchupWindowMs, 24 * 3600 * 1000);
    assert.equal(d.pauseOnFailure, false);
    assert.equal(d.paused, false);
    assert.equal(d.taskQueue, taskQueue);
    assert.deepEqual(d.input, { dataset, seed: 1, outputDir: `${root}/{scheduleId}/{scheduledTime}` });
    assert.ok(d.nextRuns.length > 0);
    for (const next of d.nextRuns) assert.equal(wallClock(next, 'Europe/Paris'), '03:00');

    // No worker yet: the first triggered run starts and stays running.
    const first = await dqe(['schedule', 'trigger', scheduleId]);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(first.stdout.trim(), `triggered schedule ${scheduleId} (overlap SKIP)`);
    const [run1] = await until('the first triggered run', async () => {
      const s = await describeDqeSchedule(t.client, scheduleId);
      return s.running.length === 1 ? s.running : undefined;
    });
    // A trigger within the same second would get the same scheduled time, so the same workflow id.
    await new Promise((r) => setTimeout(r, 1100));

    // Under SKIP (the schedule's policy, which dqe's trigger applies), a trigger during a run starts nothing.
    const skipped = await dqe(['schedule', 'trigger', scheduleId]);
    assert.equal(skipped.exitCode, 0, skipped.stderr);
    assert.equal(skipped.stderr.trim(), `note: ${run1} is still running, so under SKIP this trigger starts nothing; use --overlap allow_all to run anyway`);
    const afterSkip = await until('the skipped trigger to be counted', async () => {
      const s = await describeDqeSchedule(t.client, scheduleId);
      return s.skippedOverlap === 1 ? s : undefined;
    });
    assert.deepEqual(afterSkip.running, [run1]);
    assert.equal(afterSkip.runsStarted, 1);

    // ALLOW_ALL for this one trigger starts a second run beside the first.
    const allowed = await dqe(['schedule', 'trigger', scheduleId, '--overlap', 'allow_all']);
    assert.equal(allowed.exitCode, 0, allowed.stderr);
    // (Temporal tracks ALLOW_ALL runs in recent actions only: the schedule does not wait on them.)
    const running = await until('the second run', async () => {
      const s = await describeDqeSchedule(t.client, scheduleId);
      return s.recentRuns.length === 2 ? s.recentRuns.map((r) => r.workflowId) : undefined;
    });
    assert.equal(running[0], run1);

    // A worker takes both; each writes to the run directory of its own scheduled time.
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const results = await worker.runUntil(Promise.all(running.map((id) => t.client.workflow.getHandle(id).result() as Promise<DqeResult>)));
    const dirs = running.map((id) => join(root, scheduleId, timeSegment(scheduledTimeOf(id, scheduleId))));
    assert.notEqual(dirs[0], dirs[1]);
    assert.deepEqual(results.map((r) => r.runDir), dirs);
    for (const [i, r] of results.entries()) {
      const report = JSON.parse(await readFile(join(dirs[i]!, 'report.json'), 'utf8')) as { run: { id: string }; counts: { rowsIn: number; final: number } };
      assert.equal(report.run.id, running[i]);
      assert.equal(report.counts.rowsIn, 120);
      assert.equal(report.counts.final, r.counts.final);
    }
    // Same data, same seed: the two runs curate the same set.
    assert.equal(await readFile(join(dirs[0]!, 'final.jsonl'), 'utf8'), await readFile(join(dirs[1]!, 'final.jsonl'), 'utf8'));
    // `dqe list --schedule` finds the schedule's runs by Temporal's TemporalScheduledById.
    const listed = await until('both runs in visibility', async () => {
      const runs = await listDqeRuns(t.client, { scheduleId, status: 'completed' });
      return runs.length === 2 ? runs : undefined;
    });
    assert.deepEqual(listed.map((r) => r.workflowId).sort(), [...running].sort());
    assert.deepEqual(listed.map((r) => r.scheduleId), [scheduleId, scheduleId]);

    const paused = await dqe(['schedule', 'pause', scheduleId, '--note', 'dataset frozen for the audit']);
    assert.equal(paused.exitCode, 0, paused.stderr);
    const p = await describeJson(scheduleId);
    assert.deepEqual([p.paused, p.note], [true, 'dataset frozen for the audit']);
    const listedPaused = await until('the paused schedule in `dqe schedule list`', async () => {
      const out = await dqe(['schedule', 'list', '--json']);
      const all = JSON.parse(out.stdout) as Array<{ scheduleId: string; paused: boolean; dataset: string }>;
      const mine = all.find((s) => s.scheduleId === scheduleId);
      return mine?.paused ? mine : undefined;
    });
    assert.equal(listedPaused.dataset, dataset);
    assert.equal((await dqe(['schedule', 'unpause', scheduleId])).exitCode, 0);
    assert.equal((await describeJson(scheduleId)).paused, false);

    const deleted = await dqe(['schedule', 'delete', scheduleId]);
    assert.equal(deleted.exitCode, 0, deleted.stderr);
    await assert.rejects(describeDqeSchedule(t.client, scheduleId), ScheduleNotFoundError);
    const gone = await dqe(['schedule', 'describe', scheduleId]);
    assert.equal(gone.exitCode, 1);
    assert.equal(gone.stderr.trim(), `dqe: schedule ${scheduleId} not found`);
  });

  test('an interval schedule with an offset runs at the offset; an outputDir template of its own is kept', async () => {
    const scheduleId = uniqueId('dqe-daily');
    await createDqeSchedule(t.client, {
      scheduleId,
      input: { dataset, outputDir: '/shared/runs/{scheduleId}-{scheduledTime}' },
      every: '1 day',
      offset: '3h',
      overlap: 'BUFFER_ONE',
      catchupWindow: '2h',
      pauseOnFailure: true,
      paused: true,
      note: 'created paused',
    });
    try {
      const d = await describeDqeSchedule(t.client, scheduleId);
      assert.deepEqual([d.every, d.offset, d.timeZone, d.overlap, d.catchupWindowMs, d.pauseOnFailure, d.paused, d.note], ['1 day', '3h', 'UTC', 'BUFFER_ONE', 2 * 3600 * 1000, true, true, 'created paused']);
      assert.equal(d.input.outputDir, '/shared/runs/{scheduleId}-{scheduledTime}');
      for (const next of d.nextRuns) assert.equal(wallClock(next, 'UTC'), '03:00');
    } finally {
      await deleteDqeSchedule(t.client, scheduleId);
    }
  });

  test('a schedule with a bad input or spec is refused at creation, naming the problem', async () => {
    await assert.rejects(
      createDqeSchedule(t.client, { scheduleId: 'never-1', input: { dataset, ratio: 2, outputDir: 'runs/{date}' }, cron: '0 3 * * *' }),
      { message: 'schedule never-1: invalid dqe input: ratio: Too big: expected number to be <1; outputDir: unknown placeholder(s) {date}; valid: {workflowId}, {scheduleId}, {scheduledTime}' },
    );
    await assert.rejects(createDqeSchedule(t.client, { scheduleId: 'never-2', input: { dataset }, cron: '0 3 * * *', every: '1d' }), {
      message: 'schedule never-2: give either cron or every (an interval), not both',
    });
    const cli = await dqe(['schedule', 'create', 'never-3', dataset, '--task-queue', taskQueue]);
    assert.equal(cli.exitCode, 1);
    assert.equal(cli.stderr.trim(), 'dqe: schedule never-3: give either cron or every (an interval), not neither');
    for (const id of ['never-1', 'never-2', 'never-3']) await assert.rejects(describeDqeSchedule(t.client, id), ScheduleNotFoundError);
  });
});
