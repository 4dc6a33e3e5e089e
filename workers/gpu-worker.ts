// The GPU worker: runs only swift training and prediction, one job at a time, on its own task queue
// (`dqe-gpu`), so a node's GPUs are never shared by two jobs and the CPU worker never runs swift.
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { confineActivities } from '../activities/confine.js';
import type { DqeActivities } from '../activities/index.js';
import { predictShard, trainModel, type PredictShardArgs, type TrainArgs } from '../activities/train.js';
import { trainArm, type TrainArmArgs } from '../activities/evaluate.js';
import { DEFAULT_KILL_GRACE_MS, resolveSwiftBin, type SwiftRuntime } from '../adapters/trainers/swift.js';
import { allowedRoots } from '../infra/allowed-roots.js';
import { connectWorker, describeTarget, temporalTarget } from './connection.js';

/** Default task queue of the GPU workers. */
export const GPU_TASK_QUEUE = 'dqe-gpu';

/**
 * Longest gap between heartbeats the worker sends the server, in ms. A cancellation reaches an
 * activity only with a heartbeat's reply, so this bounds how long a cancelled run keeps its GPUs.
 */
const MAX_HEARTBEAT_THROTTLE_MS = 10_000;

/** Time for a job to wind down after its swift was told to stop, beyond the kill grace, in ms. */
const SHUTDOWN_MARGIN_MS = 15_000;

/** The activities a GPU worker registers: the swift ones (a run's and `dqe eval`'s arms), under the names the workflows call. */
export function createGpuActivities(swift: SwiftRuntime, workerId?: string): Pick<DqeActivities, 'trainModel' | 'predictShard' | 'trainArm'> {
  const trainers = { swift };
  return {
    trainModel: (args: TrainArgs) => trainModel(args, trainers),
    predictShard: (args: PredictShardArgs) => predictShard({ trainers, ...(workerId ? { workerId } : {}) }, args),
    trainArm: (args: TrainArmArgs) => trainArm(args, trainers),
  };
}

export interface GpuWorkerOptions {
  connection: NativeConnection;
  /** @default 'default' */
  namespace?: string;
  /** @default 'dqe-gpu' */
  taskQueue?: string;
  /** How swift is run here (executable, environment, kill grace, draining). @default {} */
  swift?: SwiftRuntime;
  identity?: string;
  /** Where DQE_ALLOWED_ROOTS (the folders runs may use, as on the CPU workers) is read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** More Worker options, applied last. @default none */
  extra?: Partial<WorkerOptions>;
}

/** An activity-only worker (no workflows) for swift jobs, one at a time. */
export async function createGpuWorker(opts: GpuWorkerOptions): Promise<Worker> {
  const swift = opts.swift ?? {};
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? GPU_TASK_QUEUE,
    activities: confineActivities(createGpuActivities(swift, opts.identity), allowedRoots(opts.env ?? process.env)),
    // One job owns the node's GPUs; a second would run out of memory or halve both.
    maxConcurrentActivityTaskExecutions: 1,
    maxHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE_MS,
    // On shutdown a job may run to its next checkpoint and must then stop swift; only after this is it cancelled.
    shutdownGraceTime: (swift.checkpointWaitMs ?? 0) + (swift.killGraceMs ?? DEFAULT_KILL_GRACE_MS) + SHUTDOWN_MARGIN_MS,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...opts.extra,
  });
}

export interface RunGpuWorkerOptions {
  taskQueue?: string;
  /** The swift executable. @default see `SwiftRuntime.bin` */
  swiftBin?: string;
  /** Seconds between SIGTERM and SIGKILL of swift's process group. @default 30 */
  killGraceSeconds?: number;
  /** On SIGTERM/SIGINT, seconds a training may run on to reach its next checkpoint. @default 0 */
  checkpointWaitSeconds?: number;
}

/** `dqe gpu-worker`: a GPU worker against TEMPORAL_ADDRESS until SIGINT/SIGTERM. */
export async function runGpuWorker(opts: RunGpuWorkerOptions = {}): Promise<void> {
  const target = temporalTarget();
  if (!target) throw new Error('TEMPORAL_ADDRESS is not set: `dqe gpu-worker` needs a Temporal server to poll (e.g. TEMPORAL_ADDRESS=127.0.0.1:7233)');
  const drain = new AbortController();
  const swift: SwiftRuntime = {
    ...(opts.swiftBin ? { bin: opts.swiftBin } : {}),
    ...(opts.killGraceSeconds !== undefined ? { killGraceMs: opts.killGraceSeconds * 1000 } : {}),
    ...(opts.checkpointWaitSeconds ? { checkpointWaitMs: opts.checkpointWaitSeconds * 1000 } : {}),
    drainSignal: drain.signal,
  };
  // A worker without swift would fail every job it takes: refuse to start instead.
  const bin = await resolveSwiftBin(swift);
  const taskQueue = opts.taskQueue ?? GPU_TASK_QUEUE;
  const connection = await connectWorker(target);
  // The Temporal runtime shuts the worker down on these signals; the running job drains alongside.
  const onSignal = () => drain.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const worker = await createGpuWorker({ connection, namespace: target.namespace, taskQueue, swift });
    console.error(`dqe gpu-worker: polling task queue ${taskQueue} at ${describeTarget(target)}; swift ${bin}`);
    await worker.run();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await connection.close();
  }
}
