// `dqe worker`: a standalone CPU worker against TEMPORAL_ADDRESS, until SIGINT/SIGTERM.
import { bundleInChildProcess, createCpuWorker, CPU_TASK_QUEUE } from './cpu-worker.js';
import { connectWorker, temporalTarget } from './connection.js';

export async function runCpuWorker(opts: { taskQueue?: string; maxConcurrentActivities?: number }): Promise<void> {
  const target = temporalTarget();
  if (!target) throw new Error('TEMPORAL_ADDRESS is not set: `dqe worker` needs a Temporal server to poll (e.g. TEMPORAL_ADDRESS=127.0.0.1:7233)');
  const connection = await connectWorker(target);
  try {
    // webpack runs in a child process, so this long-lived worker never holds its memory.
    const bundle = await bundleInChildProcess();
    const worker = await createCpuWorker({
      connection,
      namespace: target.namespace,
      taskQueue: opts.taskQueue ?? CPU_TASK_QUEUE,
      ...(opts.maxConcurrentActivities ? { maxConcurrentActivities: opts.maxConcurrentActivities } : {}),
      extra: { workflowBundle: { codePath: bundle.codePath } },
    }).finally(bundle.done);
    await worker.run();
  } finally {
    await connection.close();
  }
}
