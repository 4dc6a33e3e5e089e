// Turns what a dqe command caught into one line a person can act on: for a failed run, the failure
// that caused it (its stable type, the activity it came from, its message) rather than Temporal's wrapper.
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TemporalFailure } from '@temporalio/common';

/** The innermost cause of an error chain (bounded, in case of a cycle). */
function rootCause(err: Error): Error {
  let e = err;
  for (let depth = 0; depth < 32 && e.cause instanceof Error; depth++) e = e.cause;
  return e;
}

/** One line describing `err`; a failed workflow is described by its root cause. */
export function failureMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (!(err instanceof WorkflowFailedError)) return withCauses(err);
  let activity: string | undefined;
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 32; e = e.cause, depth++) {
    if (e instanceof ActivityFailure) activity ??= e.activityType;
  }
  const root = rootCause(err);
  if (root === err) return 'the run failed';
  const type = root instanceof ApplicationFailure && root.type ? `${root.type}: ` : root instanceof TemporalFailure ? `${root.name}: ` : '';
  return `the run failed${activity ? ` in activity ${activity}` : ''}: ${type}${root.message}`;
}

/**
 * An error's message followed by its causes' (e.g. the client's "Failed to start Workflow" and the
 * server's reason under it), each once.
 */
function withCauses(err: Error): string {
  const parts = [err.message];
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.message && !parts.some((p) => p.includes(e.message))) parts.push(e.message);
  }
  return parts.join(': ');
}
