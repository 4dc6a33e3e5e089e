// Builds dqe's ApplicationFailures from the catalogue (core/failures.ts): the type decides whether a
// retry may follow, so a throw site cannot disagree with the catalogue, the workflow or the README.
import { ApplicationFailure } from '@temporalio/common';
import { DQE_FAILURES, type DqeFailureType } from '../core/failures.js';

export interface DqeFailureOptions {
  /** Structured context for callers (e.g. the list of bad fields); sent as the failure's details. */
  details?: unknown;
  cause?: Error;
  /** Milliseconds until the next attempt (a server's Retry-After), for retryable types. */
  nextRetryDelay?: number;
}

/** An ApplicationFailure of a catalogued `type`, retryable exactly when the catalogue says so. */
export function dqeFailure(type: DqeFailureType, message: string, opts: DqeFailureOptions = {}): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !DQE_FAILURES[type].retryable,
    details: opts.details === undefined ? [] : [opts.details],
    ...(opts.cause ? { cause: opts.cause } : {}),
    ...(opts.nextRetryDelay !== undefined ? { nextRetryDelay: opts.nextRetryDelay } : {}),
  });
}
