// Starts, follows and kills dqe CPU workers running as child processes (tests/fixtures/worker-process.ts),
// and builds the workflow bundle they load once, so a restarted worker is polling again within seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { REPO_ROOT } from '../../infra/python-env.js';
import { WORKFLOWS_PATH } from '../../workers/cpu-worker.js';
import type { WorkerEvent } from '../fixtures/worker-process.js';

const WORKER_SCRIPT = join(REPO_ROOT, 'tests', 'fixtures', 'worker-process.ts');

/** How long a worker process may take to start and connect, in ms (tsx compiles on first load; 2 busy cores). */
const READY_TIMEOUT_MS = 60_000;

/** Bundles the workflow code once and writes it to `<dir>/workflow-bundle.js` for workers to load. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  const path = join(dir, 'workflow-bundle.js');
  await writeFile(path, bundle.code);
  return path;
}

export interface WorkerProcessOptions {
  address: string;
  taskQueue: string;
  bundlePath: string;
  identity: string;
  /** The whole environment of the process (the caller decides what it inherits). */
  env: NodeJS.ProcessEnv;
  /** The SDK's log level in the worker: its logs are what the secrets test searches. @default 'WARN' */
  logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** A dead worker's sticky queue holds the next workflow task this long before anyone else takes it, in ms. @default the SDK's 10 s */
  stickyTimeoutMs?: number;
  maxConcurrentActivities?: number;
  /** Called with every event the worker reports. */
  onEvent?: (e: WorkerEvent) => void;
}

/** A running worker process. */
export class WorkerProcess {
  readonly events: WorkerEvent[] = [];
  /** Everything the process wrote to stderr (the SDK's logs among it). */
  stderr = '';
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once every line the process wrote has been read (its stdout closed). */
  private readonly drained: Promise<void>;
  private readonly child: ChildProcess;

  constructor(readonly opts: WorkerProcessOptions) {
    const args = [
      '--import', 'tsx', WORKER_SCRIPT,
      '--address', opts.address,
      '--task-queue', opts.taskQueue,
      '--bundle', opts.bundlePath,
      '--identity', opts.identity,
      '--log-level', opts.logLevel ?? 'WARN',
      ...(opts.stickyTimeoutMs !== undefined ? ['--sticky-timeout-ms', String(opts.stickyTimeoutMs)] : []),
      ...(opts.maxConcurrentActivities !== undefined ? ['--max-concurrent-activities', String(opts.maxConcurrentActivities)] : []),
    ];
    this.child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const lines = createInterface({ input: this.child.stdout! });
    this.drained = new Promise((resolve) => lines.once('close', resolve));
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${opts.identity} not ready within ${READY_TIMEOUT_MS / 1000}s:\n${this.stderr.slice(-2000)}`)), READY_TIMEOUT_MS);
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`worker ${opts.identity} exited (code ${code}, signal ${signal}) before it was ready:\n${this.stderr.slice(-2000)}`));
      });
      lines.on('line', (line) => {
        let e: WorkerEvent;
        try {
          e = JSON.parse(line) as WorkerEvent;
        } catch {
          return;
        }
        this.events.push(e);
        if (e.event === 'ready') {
          clearTimeout(timer);
          resolve();
        }
        opts.onEvent?.(e);
      });
    });
    // Whoever awaits `ready` sees a failure; nobody else should crash on it.
    this.ready.catch(() => {});
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * SIGKILL: no shutdown, no flush, exactly what a crash or an OOM kill does. Resolves once the
   * process is gone and all it wrote is read, so `inFlight()` then tells what was running at its death.
   */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
    await this.drained;
  }

  /** SIGTERM: a graceful shutdown (in-flight activities finish or are cancelled). */
  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
    await this.drained;
  }

  /** The activity started on this worker and not (yet, as far as its lines have been read) ended, if any: the last one when several are. */
  inFlight(): Extract<WorkerEvent, { event: 'activity-start' }> | undefined {
    const open = new Map<string, Extract<WorkerEvent, { event: 'activity-start' }>>();
    for (const e of this.events) {
      const key = e.event === 'activity-start' || e.event === 'activity-end' ? `${e.workflowId}/${e.type}/${e.attempt}` : '';
      if (e.event === 'activity-start') open.set(key, e);
      else if (e.event === 'activity-end') open.delete(key);
    }
    return [...open.values()].at(-1);
  }
}

/** Starts a worker process and waits until it is connected and polling. */
export async function startWorkerProcess(opts: WorkerProcessOptions): Promise<WorkerProcess> {
  const w = new WorkerProcess(opts);
  await w.ready;
  return w;
}
