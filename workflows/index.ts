// The workflows a dqe worker registers. Workflow type names are the export names: `dqe`.
export { dqe, progressQuery, PHASES } from './dqe.js';
export type { DqeProgress, DqeResult, Phase } from './dqe.js';
