// Native caches released and a full garbage collection between activities. A phase's big typed arrays (a matrix, the sampler's
// products, a fold's training rows) are freed only when V8 next collects, and V8 collects on its own
// schedule: a worker then carries one phase's dead arrays into the next phase's peak (measured at 300k
// rows: a phase starting 1.3 GB up, with 0.45 GB of it live). Collecting once the worker has nothing
// running costs tens of milliseconds per phase and returns those pages to the system at once. A full collection
// walks the whole live heap, so it runs only when the worker holds COLLECT_GROWTH_BYTES more (JS heap + array
// buffers) than when it first went busy after the last collection: a status read or a report write pays nothing,
// and what several small activities leave adds up. (Measured when the worker next goes busy, not straight after
// the collection: V8 frees a dead array's memory on a background thread, so that figure can still count it.)
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined | null;

/** Growth of heap + array buffers since the first busy moment after the last collection that makes an idle moment collect. */
export const COLLECT_GROWTH_BYTES = 32 * 2 ** 20;
/** How many full collections ran. */
let collections = 0;

/** Full collections run so far by collectBetweenActivities (for tests). */
export function fullCollections(): number {
  return collections;
}

function held(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

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
 * side by side: once, after the last), by `release` (caches of native memory: onnxruntime sessions) and, when
 * the worker holds COLLECT_GROWTH_BYTES more than when it first went busy after the last one, a full collection.
 */
export function collectBetweenActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, release: () => Promise<void> = () => Promise.resolve()): T {
  const collect = collector() ?? (() => {});
  let running = 0;
  /** Heap + array buffers when the worker first went busy after the last collection (undefined: not yet). */
  let baseline: number | undefined;
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      if (running++ === 0) baseline ??= held();
      try {
        return await fn(...args);
      } finally {
        running--;
        if (running === 0) {
          // A cache that cannot be released stays as it was; the activity's own outcome stands.
          await release().catch(() => {});
          // An activity may have started while `release` ran; it holds what it uses, and the next idle moment collects.
          if (running === 0 && held() - (baseline ?? 0) >= COLLECT_GROWTH_BYTES) {
            collect();
            collections++;
            baseline = undefined;
          }
        }
      }
    };
  }
  return wrapped as T;
}
