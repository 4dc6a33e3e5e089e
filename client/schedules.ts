// Temporal Schedules that re-run dqe as a dataset grows: create, list, describe, pause, unpause,
// trigger and delete, with each scheduled run writing to a run directory of its own.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { SCHEDULED_OUTPUT_DIR } from '../core/output-dir.js';
import { formatProblems, parseDqeInput, type DqeInput } from '../core/input.js';
import { DQE_DATASET } from '../workflows/visibility.js';
import { DEFAULT_TASK_QUEUE, DQE_WORKFLOW_TYPE } from './api.js';

export { ScheduleOverlapPolicy };

/** Milliseconds, or a duration string as the `ms` package reads it: `'1 day'`, `'6h'`, `'90s'`. */
export type Duration = string | number;

/** Overlap policies by their lower-case CLI names. */
export const OVERLAP_POLICIES = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  terminate_other: ScheduleOverlapPolicy.TERMINATE_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
} as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[keyof typeof OVERLAP_POLICIES];

/**
 * How late a missed run may still start after an outage (Temporal down, schedule paused by the
 * server): a nightly re-curation missed for less than a day still runs once on recovery.
 */
export const DEFAULT_CATCHUP_WINDOW = '1 day';

export interface DqeScheduleOptions {
  /** The schedule's id; its runs get workflow ids `<scheduleId>-<scheduled time>` (Temporal appends the time). */
  scheduleId: string;
  /** The input of every run. Validated now, so a bad schedule fails here and not at each run. */
  input: DqeInput;
  /**
   * Folder under which each run gets `<scheduleId>/<scheduled time>/`, unless `input.outputDir` is
   * set (which may use `{scheduleId}`, `{scheduledTime}` and `{workflowId}` itself).
   * @default `runs` under the worker's working directory
   */
  outputRoot?: string;
  /** Cron expression(s), e.g. `0 3 * * *` (03:00 every day). Give `cron` or `every`. */
  cron?: string | string[];
  /** Interval between runs, e.g. `1 day` or `6h`. Give `cron` or `every`. */
  every?: Duration;
  /** Shifts interval runs, e.g. `every: '1 day', offset: '3h'` runs at 03:00 UTC. */
  offset?: Duration;
  /** IANA time zone the cron expressions are read in. @default 'UTC' */
  timeZone?: string;
  /** What a run due while the previous one still runs does. @default ScheduleOverlapPolicy.SKIP */
  overlap?: OverlapPolicy;
  /** How late a run missed during an outage may still start. @default '1 day' */
  catchupWindow?: Duration;
  /** Pause the schedule when a run fails, so a broken dataset is not re-curated every night. @default false */
  pauseOnFailure?: boolean;
  /** Create it paused. @default false */
  paused?: boolean;
  /** Shown in the UI and `dqe schedule describe`, e.g. why it is paused. */
  note?: string;
  /** Task queue of the runs. @default 'dqe-cpu' */
  taskQueue?: string;
}

/** What dqe keeps in a schedule's memo: the spec as given (Temporal turns cron into calendars). */
interface DqeScheduleMemo {
  dqe: { cron?: string[]; every?: Duration; offset?: Duration; timeZone: string; dataset: string };
}

/** Creates a schedule that starts the `dqe` workflow; fails if a schedule with this id exists. */
export async function createDqeSchedule(client: Client, opts: DqeScheduleOptions): Promise<ScheduleHandle> {
  const cron = opts.cron === undefined ? undefined : Array.isArray(opts.cron) ? opts.cron : [opts.cron];
  if ((cron === undefined || cron.length === 0) === (opts.every === undefined)) {
    throw new Error(`schedule ${opts.scheduleId}: give either cron or every (an interval), not ${cron ? 'both' : 'neither'}`);
  }
  if (opts.offset !== undefined && opts.every === undefined) throw new Error(`schedule ${opts.scheduleId}: offset goes only with every`);
  const outputDir = opts.input.outputDir ?? (opts.outputRoot ? `${opts.outputRoot.replace(/\/+$/u, '')}/{scheduleId}/{scheduledTime}` : SCHEDULED_OUTPUT_DIR);
  const input: DqeInput = { ...opts.input, outputDir };
  const parsed = parseDqeInput(input);
  if (!parsed.ok) throw new Error(`schedule ${opts.scheduleId}: ${formatProblems(parsed.problems)}`);
  const timeZone = opts.timeZone ?? 'UTC';
  const memo: DqeScheduleMemo = {
    dqe: { ...(cron ? { cron } : {}), ...(opts.every !== undefined ? { every: opts.every } : {}), ...(opts.offset !== undefined ? { offset: opts.offset } : {}), timeZone, dataset: parsed.config.dataset },
  };
  return client.schedule.create({
    scheduleId: opts.scheduleId,
    spec: {
      ...(cron ? { cronExpressions: cron } : {}),
      ...(opts.every !== undefined ? { intervals: [{ every: opts.every, ...(opts.offset !== undefined ? { offset: opts.offset } : {}) }] } : {}),
      timezone: timeZone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: DQE_WORKFLOW_TYPE,
      workflowId: opts.scheduleId,
      taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
      args: [input],
      // Set at start, so `dqe list --dataset` finds a run before its first workflow task.
      typedSearchAttributes: [{ key: DQE_DATASET, value: parsed.config.dataset }],
    },
    policies: {
      overlap: opts.overlap ?? ScheduleOverlapPolicy.SKIP,
      catchupWindow: opts.catchupWindow ?? DEFAULT_CATCHUP_WINDOW,
      pauseOnFailure: opts.pauseOnFailure ?? false,
    },
    memo: memo as unknown as Record<string, unknown>,
    state: { paused: opts.paused ?? false, ...(opts.note !== undefined ? { note: opts.note } : {}) },
  });
}

export interface DqeScheduleRun {
  /** The time the run was scheduled for (a trigger's is when it was triggered). */
  scheduledAt: Date;
  takenAt: Date;
  workflowId: string;
  runId: string;
}

export interface DqeScheduleInfo {
  scheduleId: string;
  dataset: string | undefined;
  cron?: string[];
  every?: Duration;
  offset?: Duration;
  timeZone: string | undefined;
  paused: boolean;
  note: string | undefined;
  overlap: OverlapPolicy;
  /** Milliseconds. */
  catchupWindowMs: number;
  pauseOnFailure: boolean;
  taskQueue: string;
  input: DqeInput;
  nextRuns: Date[];
  recentRuns: DqeScheduleRun[];
  /** Workflow ids of the runs still running. */
  running: string[];
  runsStarted: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
  createdAt: Date;
}

/** Runs `fn`, naming the schedule when it does not exist (the SDK's message does not). */
async function onSchedule<T>(scheduleId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new ScheduleNotFoundError(`schedule ${scheduleId} not found`, scheduleId);
    throw err;
  }
}

function memoOf(memo: Record<string, unknown> | undefined): Partial<DqeScheduleMemo['dqe']> {
  return (memo as Partial<DqeScheduleMemo> | undefined)?.dqe ?? {};
}

function runOf(r: ScheduleDescription['info']['recentActions'][number]): DqeScheduleRun {
  return { scheduledAt: r.scheduledAt, takenAt: r.takenAt, workflowId: r.action.workflow.workflowId, runId: r.action.workflow.firstExecutionRunId };
}

/** A dqe schedule's spec, policies, state, next and recent runs; throws ScheduleNotFoundError if none. */
export async function describeDqeSchedule(client: Client, scheduleId: string): Promise<DqeScheduleInfo> {
  const d = await onSchedule(scheduleId, () => client.schedule.getHandle(scheduleId).describe());
  if (d.action.workflowType !== DQE_WORKFLOW_TYPE) throw new Error(`schedule ${scheduleId} starts ${d.action.workflowType}, not dqe`);
  const m = memoOf(d.memo);
  const input = (d.action.args?.[0] ?? {}) as DqeInput;
  return {
    scheduleId,
    dataset: m.dataset ?? input.dataset,
    ...(m.cron ? { cron: m.cron } : {}),
    ...(m.every !== undefined ? { every: m.every } : {}),
    ...(m.offset !== undefined ? { offset: m.offset } : {}),
    timeZone: m.timeZone ?? d.spec.timezone,
    paused: d.state.paused,
    note: d.state.note,
    overlap: d.policies.overlap as OverlapPolicy,
    catchupWindowMs: d.policies.catchupWindow,
    pauseOnFailure: d.policies.pauseOnFailure,
    taskQueue: d.action.taskQueue,
    input,
    nextRuns: d.info.nextActionTimes,
    recentRuns: d.info.recentActions.map(runOf),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    runsStarted: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    createdAt: d.info.createdAt,
  };
}

export interface DqeScheduleListing {
  scheduleId: string;
  dataset: string | undefined;
  paused: boolean;
  note: string | undefined;
  nextRuns: Date[];
  recentRuns: Array<Pick<DqeScheduleRun, 'scheduledAt' | 'takenAt' | 'workflowId'>>;
}

/** Every schedule that starts dqe runs (listing is eventually consistent: a new schedule shows within seconds). */
export async function listDqeSchedules(client: Client): Promise<DqeScheduleListing[]> {
  const out: DqeScheduleListing[] = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.workflowType !== DQE_WORKFLOW_TYPE) continue;
    out.push({
      scheduleId: s.scheduleId,
      dataset: memoOf(s.memo).dataset,
      paused: s.state.paused,
      note: s.state.note,
      nextRuns: s.info.nextActionTimes,
      recentRuns: s.info.recentActions.map((r) => ({ scheduledAt: r.scheduledAt, takenAt: r.takenAt, workflowId: r.action.workflow.workflowId })),
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export async function pauseDqeSchedule(client: Client, scheduleId: string, note = 'paused with dqe'): Promise<void> {
  await onSchedule(scheduleId, () => client.schedule.getHandle(scheduleId).pause(note));
}

export async function unpauseDqeSchedule(client: Client, scheduleId: string, note = 'unpaused with dqe'): Promise<void> {
  await onSchedule(scheduleId, () => client.schedule.getHandle(scheduleId).unpause(note));
}

export interface TriggerOptions {
  /**
   * Overlap policy for this one run. The SDK's `trigger()` defaults to ALLOW_ALL, which would start a
   * second run of the same dataset beside a running one; dqe instead applies the schedule's own policy
   * (SKIP unless set otherwise), so a manual trigger while a run is in progress is dropped. Pass
   * `ALLOW_ALL` to run anyway.
   * @default the schedule's overlap policy
   */
  overlap?: OverlapPolicy;
}

export interface TriggerResult {
  overlap: OverlapPolicy;
  /** Runs of this schedule in progress when it was triggered: under SKIP, a reason the trigger may do nothing. */
  running: string[];
}

/**
 * Starts a run now. Its scheduled time is the trigger time, to the second, and the workflow id and
 * run directory derive from it: two triggers within one second make one run.
 */
export async function triggerDqeSchedule(client: Client, scheduleId: string, opts: TriggerOptions = {}): Promise<TriggerResult> {
  const handle = client.schedule.getHandle(scheduleId);
  const d = await onSchedule(scheduleId, () => handle.describe());
  const overlap: OverlapPolicy = opts.overlap ?? d.policies.overlap ?? ScheduleOverlapPolicy.SKIP;
  await onSchedule(scheduleId, () => handle.trigger(overlap));
  return { overlap, running: d.info.runningActions.map((a) => a.workflow.workflowId) };
}

/** Deletes the schedule; runs it started go on. */
export async function deleteDqeSchedule(client: Client, scheduleId: string): Promise<void> {
  await onSchedule(scheduleId, () => client.schedule.getHandle(scheduleId).delete());
}
