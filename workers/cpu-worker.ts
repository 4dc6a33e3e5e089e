// The CPU worker: runs the dqe workflow and every activity but swift training and prediction.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Worker, bundleWorkflowCode, type NativeConnection, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, defaultActivityDeps, type ActivityDeps } from '../activities/index.js';

/** Default task queue of the workflow and the CPU activities. */
export const CPU_TASK_QUEUE = 'dqe-cpu';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflow code once per process (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return bundle;
}

export interface CpuWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  deps?: ActivityDeps;
  /** Activities run at once; they are CPU-bound, so about one per core. @default available cores */
  maxConcurrentActivities?: number;
  identity?: string;
  /**
   * More Worker options, applied last: a pre-built bundle (`workflowBundle: { codePath }`, so a
   * restarted worker skips webpack), interceptors, sticky-queue timeouts. @default none
   */
  extra?: Partial<WorkerOptions>;
}

export async function createCpuWorker(opts: CpuWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? CPU_TASK_QUEUE,
    workflowBundle: opts.extra?.workflowBundle ?? (await workflowBundle()),
    activities: createActivities(opts.deps ?? defaultActivityDeps()),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? availableParallelism(),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...opts.extra,
  });
}
