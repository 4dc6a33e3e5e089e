// dqe's public programmatic surface: the input contract, the client API and the worker factory.
// Adapters and activities are internal; build on the workflow contract instead.
export { dqeInputSchema, parseDqeInput, type DqeInput, type DqeConfig } from './core/input.js';
export { DQE_FAILURES, DQE_FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES, isRetryableFailure, type DqeFailureType, type FailureInfo } from './core/failures.js';
export { startDqe, getDqeProgress, waitForDqe, cancelDqe, DQE_WORKFLOW_TYPE, DEFAULT_TASK_QUEUE, type DqeStatus, type StartDqeOptions, type CancelDqeOptions, type CancelDqeOutcome } from './client/api.js';
export {
  createDqeSchedule,
  listDqeSchedules,
  describeDqeSchedule,
  pauseDqeSchedule,
  unpauseDqeSchedule,
  triggerDqeSchedule,
  deleteDqeSchedule,
  ScheduleOverlapPolicy,
  DEFAULT_CATCHUP_WINDOW,
  type DqeScheduleOptions,
  type DqeScheduleInfo,
  type DqeScheduleListing,
  type DqeScheduleRun,
  type OverlapPolicy,
  type TriggerOptions,
  type TriggerResult,
} from './client/schedules.js';
export { listDqeRuns, dqeRunsQuery, ensureDqeSearchAttributes, missingDqeSearchAttributes, type ListDqeRunsOptions, type DqeRunListing } from './client/runs.js';
export { getDqeReview, readReviewFlagged, readReviewPairs, submitDqeReview, type ReviewFlaggedRow, type ReviewPair, type ReviewPairSide, type ReviewSubmission, type ReviewDecision } from './client/review.js';
export { DQE_SEARCH_ATTRIBUTES, RUN_STATUSES, type RunStatus, type DqeMemo } from './workflows/visibility.js';
export { startEvaluation, runEvaluation, EVAL_WORKFLOW_TYPE, type StartEvaluationOptions, type EvalInput } from './client/eval.js';
export type { Evaluation } from './core/evaluation.js';
export { createCpuWorker, CPU_TASK_QUEUE } from './workers/cpu-worker.js';
export { createGpuWorker, GPU_TASK_QUEUE, type GpuWorkerOptions } from './workers/gpu-worker.js';
export type { SwiftRuntime } from './adapters/trainers/swift.js';
export type { DqeProgress, DqeResult, DqeReviewState } from './workflows/index.js';
// The run directory's contract: its file names, line types and report.json, and the final rows' ids.
export { RUN_FILES, DATA_FILES, WORK_DIR, type Report, type ReportWithEvaluation, type FinalRowId, type KeptRow, type RejectRow, type CategoryRow, type NoisyPairLine, type Prediction, type RowVerdict } from './core/run-layout.js';
export { readFinalRowIds, runFile, workDirOf } from './adapters/run-files.js';
