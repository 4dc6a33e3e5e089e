// The workflows a dqe worker registers. Workflow type names are the export names: `dqe`, `dqeEval`.
export { dqe, progressQuery, reviewQuery, submitReviewUpdate, PHASES } from './dqe.js';
export type { DqeProgress, DqeResult, DqeReviewState, Phase } from './dqe.js';
export { dqeEval, EVAL_DQE_SUFFIX } from './eval.js';
