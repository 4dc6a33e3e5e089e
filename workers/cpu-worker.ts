// The CPU worker: runs the dqe workflow and every activity but swift training and prediction.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Worker, bundleWorkflowCode, type NativeConnection, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { execa } from 'execa';
import { createActivities, defaultActivityDeps, type ActivityDeps } from '../activities/index.js';
import { collectBetweenActivities } from '../infra/collect-garbage.js';
import { releaseSessions } from '../adapters/onnx/kernels.js';
import { releaseRowCodes } from '../adapters/vector-stores/exact-knn.js';
import { WORKFLOWS_PATH } from './workflows-path.js';

export { WORKFLOWS_PATH };

/** Default task queue of the workflow and the CPU activities. */
export const CPU_TASK_QUEUE = 'dqe-cpu';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflow code once per process (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return bundle;
}

/**
 * Bundles the workflow code in a child process and returns it as a file, for `extra.workflowBundle`:
 * a long-lived worker then never holds webpack's memory (its RSS stays ~150 MB lower). The caller
 * removes the folder (`done`) once the worker is created; Worker.create reads the file at once.
 */
export async function bundleInChildProcess(): Promise<{ codePath: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-bundle-'));
  const codePath = join(dir, 'workflows.js');
  await execa(process.execPath, [fileURLToPath(new URL('./bundle.js', import.meta.url)), codePath], { stdio: ['ignore', 'inherit', 'inherit'] });
  return { codePath, done: () => rm(dir, { recursive: true, force: true }) };
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
    activities: collectBetweenActivities(createActivities(opts.deps ?? defaultActivityDeps()), () => (releaseRowCodes(), releaseSessions())),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? availableParallelism(),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...opts.extra,
  });
}
