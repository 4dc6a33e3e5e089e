// dqe's public programmatic surface: the input contract, the client API and the worker factory.
// Adapters and activities are internal; build on the workflow contract instead.
export { dqeInputSchema, parseDqeInput, type DqeInput, type DqeConfig } from './core/input.js';
export { startDqe, getDqeProgress, waitForDqe, cancelDqe, DQE_WORKFLOW_TYPE, DEFAULT_TASK_QUEUE, type DqeStatus, type StartDqeOptions } from './client/api.js';
export { createCpuWorker, CPU_TASK_QUEUE } from './workers/cpu-worker.js';
export type { DqeProgress, DqeResult } from './workflows/index.js';
