// Stable, non-retryable failure types for bad input and misconfiguration.
import { ApplicationFailure } from '@temporalio/common';

/** Failure `type`s callers can match on; listed in the README. */
export const FailureType = {
  InvalidInput: 'DqeInvalidInput',
  DatasetNotFound: 'DqeDatasetNotFound',
  DatasetNotAFile: 'DqeDatasetNotAFile',
  DatasetUnreadable: 'DqeDatasetUnreadable',
  UnknownFormat: 'DqeUnknownFormat',
  TooFewRows: 'DqeTooFewRows',
  TooFewLabels: 'DqeTooFewLabels',
  OutputNotWritable: 'DqeOutputNotWritable',
  /** A CSV header without the text or label column the input names. */
  DatasetMissingColumn: 'DqeDatasetMissingColumn',
  /** A dataset or run directory outside the worker's DQE_ALLOWED_ROOTS. */
  PathNotAllowed: 'DqePathNotAllowed',
} as const;

export function badInput(type: (typeof FailureType)[keyof typeof FailureType], message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? [] : [details] });
}
