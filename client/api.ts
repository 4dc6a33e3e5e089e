// The typed programmatic API other services use to start and follow dqe runs.
import { WorkflowIdReusePolicy, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DqeInput } from '../core/input.js';
import { PHASES, progressQuery, type DqeProgress, type DqeResult, type Phase } from '../workflows/index.js';
import { DQE_PHASE, DQE_STATUS, type DqeMemo, type RunStatus } from '../workflows/visibility.js';

/** The workflow type name: a public contract, so any Temporal SDK or the UI can start a run by it. */
export const DQE_WORKFLOW_TYPE = 'dqe';
export const DEFAULT_TASK_QUEUE = 'dqe-cpu';

export interface StartDqeOptions {
  /** Workflow id; derive it from your own request id to make starts idempotent. */
  workflowId: string;
  /** @default 'dqe-cpu' */
  taskQueue?: string;
}

/**
 * Starts a workflow once per workflow id: if one with this id is already running, or completed, its
 * handle comes back instead of a second run.
 */
export async function startOnce(client: Client, workflowType: string, input: unknown, opts: StartDqeOptions): Promise<WorkflowHandle> {
  try {
    return await client.workflow.start(workflowType, {
      taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
      workflowId: opts.workflowId,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(opts.workflowId);
    throw err;
  }
}

/**
 * Starts a dqe run. Idempotent: if a run with this workflow id is already running, or completed,
 * its handle comes back instead of a second run.
 */
export async function startDqe(client: Client, input: DqeInput, opts: StartDqeOptions): Promise<WorkflowHandle> {
  return startOnce(client, DQE_WORKFLOW_TYPE, input, opts);
}

export interface DqeStatus extends DqeProgress {
  workflowId: string;
  /** Temporal's execution status (RUNNING, COMPLETED, FAILED, ...). */
  execution: string;
  /** Progress of the running activity, from its last heartbeat. */
  activity?: { type: string; attempt: number; details?: unknown };
}

/** What a closed run's description says about its progress (no worker needed). */
function closedProgress(d: WorkflowExecutionDescription): DqeProgress {
  const status = d.typedSearchAttributes.get(DQE_STATUS) as RunStatus | undefined;
  const phase = (d.typedSearchAttributes.get(DQE_PHASE) ?? 'load') as Phase;
  const memo = d.memo as Partial<DqeMemo> | undefined;
  const closed: RunStatus = d.status.name === 'COMPLETED' ? 'completed' : d.status.name === 'CANCELLED' ? 'cancelled' : 'failed';
  const index = PHASES.indexOf(phase as (typeof PHASES)[number]);
  return {
    status: status && status !== 'running' && status !== 'awaiting_review' ? status : closed,
    phase,
    phaseIndex: index >= 0 ? index : 0,
    phaseCount: PHASES.length,
    // The phases' timings live in the history and report.json; a description does not carry them.
    done: [],
    ...(memo?.runDir ? { runDir: memo.runDir } : {}),
  };
}

/** The run's phase (from the `progress` query, or its description once closed) and its running activity's last heartbeat. */
export async function getDqeProgress(client: Client, workflowId: string): Promise<DqeStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  // A closed run is described from its search attributes and memo: a query would need a worker to replay it.
  if (description.status.name !== 'RUNNING') return { ...closedProgress(description), workflowId, execution: description.status.name };
  const progress = await handle.query(progressQuery);
  const pending = description.raw.pendingActivities?.[0];
  let activity: DqeStatus['activity'];
  if (pending) {
    const payload = pending.heartbeatDetails?.payloads?.[0];
    const details = payload ? await client.options.loadedDataConverter.payloadConverter.fromPayload(payload) : undefined;
    activity = { type: pending.activityType?.name ?? '', attempt: pending.attempt ?? 1, ...(details !== undefined ? { details } : {}) };
  }
  return { ...progress, workflowId, execution: description.status.name, ...(activity ? { activity } : {}) };
}

export async function waitForDqe(client: Client, workflowId: string): Promise<DqeResult> {
  return client.workflow.getHandle(workflowId).result() as Promise<DqeResult>;
}

export interface CancelDqeOptions {
  /** Wait until the run has closed, so `cleanup` says what it cleaned up. @default false */
  wait?: boolean;
  /** How long to wait for the run to close, in ms (it closes only once a worker takes the cancellation). @default 60000 */
  waitTimeoutMs?: number;
}

/** How long `cancelDqe` waits for a run to close by default, in ms: cleanup is one short activity. */
export const CANCEL_WAIT_MS = 60_000;

export interface CancelDqeOutcome {
  /** Temporal's execution status after the wait (CANCELLED; COMPLETED or FAILED if it closed first; RUNNING if it has not closed yet); absent without `wait`. */
  execution?: string;
  /** What the run cleaned up as it closed (e.g. its Qdrant collection), from its memo; absent without `wait`. */
  cleanup?: string[];
}

/**
 * Requests cancellation: the running activity is cancelled at its next heartbeat, then the run drops
 * what it created outside its run directory (its vector index in Qdrant) and closes as CANCELLED.
 * The run directory stays, for inspection.
 */
export async function cancelDqe(client: Client, workflowId: string, opts: CancelDqeOptions = {}): Promise<CancelDqeOutcome> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.cancel();
  if (!opts.wait) return {};
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    handle.result().catch(() => undefined),
    new Promise((r) => (timer = setTimeout(r, opts.waitTimeoutMs ?? CANCEL_WAIT_MS))),
  ]).finally(() => clearTimeout(timer));
  const d = await handle.describe();
  const cleanup = (d.memo as { cleanup?: string[] } | undefined)?.cleanup ?? [];
  return { execution: d.status.name, cleanup };
}
