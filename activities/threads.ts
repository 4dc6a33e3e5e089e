// Runs a phase's work in a worker thread (activities/thread.js loads the module named) while the activity's
// own thread heartbeats and listens for cancellation. The thread posts `{ heartbeat }` messages (forwarded)
// and one `{ result }`; a thrown error fails the phase with its message.
import { Worker } from 'node:worker_threads';
import type { JobContext } from '../adapters/trainers/types.js';

/** What the thread posts to the activity. */
export type ThreadMessage<T> = { heartbeat: unknown } | { result: T };

export interface ThreadRun {
  /** The thread's module, relative to activities/ (a .ts file). */
  main: string;
  /** The module's input, as `workerData.input` (structured-cloned). */
  input: unknown;
  /** Names the work in errors: "sampling", "embedding". */
  what: string;
  ctx: JobContext;
  /** Called every `heartbeatMs` while the thread runs, for progress the thread keeps in shared memory. */
  heartbeat?: { everyMs: number; details: () => unknown };
  /**
   * Asks the thread to stop when the activity is cancelled. Asked, not terminated: terminating a thread inside
   * an onnxruntime call aborts the process; it is terminated only if it has not ended after STOP_GRACE_MS.
   */
  stop: (worker: Worker) => void;
}

/** How long a cancelled thread has to stop on its own before it is terminated. */
export const STOP_GRACE_MS = 30_000;

export function runInThread<T>(run: ThreadRun): Promise<T> {
  const { ctx } = run;
  const worker = new Worker(new URL('./thread.js', import.meta.url), { workerData: { main: run.main, input: run.input } });
  return new Promise<T>((resolvePromise, reject) => {
    let settled = false;
    const beat = run.heartbeat ? setInterval(() => ctx.heartbeat(run.heartbeat!.details()), run.heartbeat.everyMs) : undefined;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearInterval(beat);
      ctx.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      finish(() => reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(`${run.what} cancelled`)));
      run.stop(worker);
      const force = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
      force.unref();
      worker.once('exit', () => clearTimeout(force));
    };
    if (ctx.signal.aborted) {
      onAbort();
      return;
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: ThreadMessage<T>) => {
      if ('result' in m) finish(() => resolvePromise(m.result));
      else if (!settled) ctx.heartbeat(m.heartbeat);
    });
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the ${run.what} thread exited with code ${code} before it returned`))));
  });
}
