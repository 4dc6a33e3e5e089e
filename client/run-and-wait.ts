// Starting a workflow from the CLI and waiting for its result, the one way `dqe run` and `dqe eval`
// do it: the server at TEMPORAL_ADDRESS (else the local dev server, started on demand), and an
// in-process worker unless workers run elsewhere.
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import { ensureLocalServer, STATE_DIR } from '../infra/temporal.js';
import { connectClient, connectWorker, temporalTarget } from '../workers/connection.js';
import { createCpuWorker } from '../workers/cpu-worker.js';
import { assertDqeSearchAttributes } from './runs.js';

export interface RunAndWaitOptions<R> {
  workflowId: string;
  /** Task queue of the workflow and its CPU activities, which the in-process worker polls. */
  taskQueue: string;
  /** Also run a CPU worker in this process. @default true when TEMPORAL_ADDRESS is unset */
  inProcessWorker?: boolean | undefined;
  /** Starts the workflow (idempotently, by `workflowId`). */
  start: (client: Client) => Promise<unknown>;
  /** Waits for its result (following progress as it likes). */
  wait: (client: Client) => Promise<R>;
  /** Progress lines for people (stderr). */
  log: (line: string) => void;
}

export interface RunAndWaitResult<R> {
  result: R;
  namespace: string;
  /** The Web UI of the local dev server, when dqe started or found it. */
  uiUrl?: string;
}

/** Whether a command runs its own worker when the flag is not given: yes unless TEMPORAL_ADDRESS names a server with workers of its own. */
export function inProcessByDefault(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return flag ?? !env.TEMPORAL_ADDRESS;
}

/**
 * Connects, starts the workflow and waits for it. The in-process worker's warnings (retries, their
 * stack traces) go to a log file under the state directory, not above the progress output; the file is
 * named when the workflow fails.
 */
export async function runAndWait<R>(o: RunAndWaitOptions<R>): Promise<RunAndWaitResult<R>> {
  let target = temporalTarget();
  let uiUrl: string | undefined;
  if (!target) {
    const local = await ensureLocalServer(o.log);
    if (local.started) o.log(`started a local Temporal dev server at ${local.address} (Web UI ${local.uiUrl}); it keeps running — stop it with \`dqe server stop\``);
    target = { address: local.address, namespace: 'default' };
    uiUrl = local.uiUrl;
  }
  const connection = await connectClient(target);
  const client = new Client({ connection, namespace: target.namespace });
  let workerConnection: NativeConnection | undefined;
  try {
    await assertDqeSearchAttributes(client);
    await o.start(client);
    if (!inProcessByDefault(o.inProcessWorker)) return { result: await o.wait(client), namespace: target.namespace, ...(uiUrl ? { uiUrl } : {}) };
    const logPath = join(STATE_DIR, 'logs', `${o.workflowId}.log`);
    mkdirSync(dirname(logPath), { recursive: true });
    Runtime.install({ logger: new DefaultLogger('WARN', (e) => appendFileSync(logPath, `${new Date(Number(e.timestampNanos / 1_000_000n)).toISOString()} [${e.level}] ${e.message} ${JSON.stringify(e.meta ?? {})}\n`)) });
    workerConnection = await connectWorker(target);
    const worker = await createCpuWorker({ connection: workerConnection, namespace: target.namespace, taskQueue: o.taskQueue });
    try {
      return { result: await worker.runUntil(o.wait(client)), namespace: target.namespace, ...(uiUrl ? { uiUrl } : {}) };
    } catch (err) {
      if (existsSync(logPath)) console.error(`dqe: the worker's warnings and stack traces are in ${logPath}`);
      throw err;
    }
  } finally {
    await connection.close();
    await workerConnection?.close();
  }
}
