// Native caches released and a full garbage collection between activities. A phase's big typed arrays (a matrix, the sampler's
// products, a fold's training rows) are freed only when V8 next collects, and V8 collects on its own
// schedule: a worker then carries one phase's dead arrays into the next phase's peak (measured at 300k
// rows: a phase starting 1.3 GB up, with 0.45 GB of it live). Collecting once the worker has nothing
// running costs tens of milliseconds per phase and returns those pages to the system at once.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined | null;

/** V8's collector, exposed at run time (as `node --expose-gc` would); null where the runtime refuses. */
function collector(): (() => void) | null {
  if (gc !== undefined) return gc;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    gc = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gc = null;
  }
  return gc;
}

/**
 * The same activities, each followed, when no other activity of this worker is still running (shards that run
 * side by side: once, after the last), by `release` (caches of native memory: onnxruntime sessions) and a full
 * collection.
 */
export function collectBetweenActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, release: () => Promise<void> = () => Promise.resolve()): T {
  const collect = collector() ?? (() => {});
  let running = 0;
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      running++;
      try {
        return await fn(...args);
      } finally {
        running--;
        if (running === 0) {
          // A cache that cannot be released stays as it was; the activity's own outcome stands.
          await release().catch(() => {});
          // An activity may have started while `release` ran; it holds what it uses, and the next idle moment collects.
          if (running === 0) collect();
        }
      }
    };
  }
  return wrapped as T;
}
