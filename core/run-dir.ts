// Who may write a run directory: the one run whose lock it holds. Pure decisions over what the
// directory holds; activities/run-dir.ts does the I/O.
import { RUN_LOCK_FILE } from './run-layout.js';

/** What the lock file holds. */
export interface RunLock {
  workflowId: string;
  runId: string;
  /** `running` until the run closes; then how it ended. */
  state: 'running' | 'completed' | 'failed';
}

export type ClaimDecision =
  /** Write the lock (the directory is new or empty, or the run replaces a previous run's outputs). */
  | { action: 'claim'; clear: boolean }
  /** The lock is already this run's (a retried attempt, on this worker or another). */
  | { action: 'resume' }
  | { action: 'refuse'; type: 'DqeOutputInUse' | 'DqeOutputNotEmpty'; why: string };

export interface ClaimRequest {
  workflowId: string;
  runId: string;
  /** Replace a finished run's outputs. */
  overwrite: boolean;
}

const holderOf = (lock: RunLock) => `run ${lock.workflowId} (run id ${lock.runId}, ${lock.state})`;

/**
 * Decides whether `me` may write a directory holding `entries` (names, the lock excluded) and `lock`.
 * A run that is still running is never displaced, except by itself: the same workflow id (a retried
 * activity, or the run reset to an earlier point). Files that no dqe run wrote are never removed.
 */
export function decideClaim(lock: RunLock | undefined, entries: readonly string[], me: ClaimRequest): ClaimDecision {
  if (!lock) {
    if (entries.length === 0) return { action: 'claim', clear: false };
    const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, … (${entries.length} entries)` : '');
    return {
      action: 'refuse',
      type: 'DqeOutputNotEmpty',
      why: `holds files no dqe run claimed (${shown}); give a new or empty directory (dqe removes only what a dqe run wrote, even with overwrite)`,
    };
  }
  if (lock.workflowId === me.workflowId && (lock.runId === me.runId || lock.state === 'running')) return { action: 'resume' };
  if (lock.state === 'running') {
    return {
      action: 'refuse',
      type: 'DqeOutputInUse',
      why: `is in use by ${holderOf(lock)}; give another output directory, or wait for that run to end (if it was terminated and will not end, delete ${RUN_LOCK_FILE} there)`,
    };
  }
  if (me.overwrite) return { action: 'claim', clear: true };
  return {
    action: 'refuse',
    type: 'DqeOutputNotEmpty',
    why: `holds the outputs of ${holderOf(lock)}; give another output directory, or set overwrite: true (dqe run --overwrite) to replace them whole`,
  };
}

/** Whether `path` (a real path) lies in `dir` (a real path) or below it. */
export function isInside(path: string, dir: string, sep = '/'): boolean {
  const base = dir.endsWith(sep) ? dir : dir + sep;
  return path.startsWith(base);
}
