// Wraps every activity so the paths a workflow input names (`dataset`, `runDir`) are checked against
// the worker's allowed roots before the activity touches the disk.
import { confinePath } from '../infra/allowed-roots.js';
import { dqeFailure } from '../adapters/failure.js';

/** Argument fields that carry paths taken from the workflow input, and how messages name them. */
const INPUT_PATHS = [
  ['dataset', 'dataset'],
  ['runDir', 'output directory'],
  // `dqe eval`'s input: its test split and evaluation directory.
  ['test', 'test split'],
  ['outputDir', 'output directory'],
] as const;

async function checkArgs(args: unknown, roots: readonly string[]): Promise<void> {
  if (typeof args !== 'object' || args === null) return;
  for (const [field, what] of INPUT_PATHS) {
    const value = (args as Record<string, unknown>)[field];
    if (typeof value !== 'string') continue;
    const confined = await confinePath(value, what, roots);
    if (!confined.ok) throw dqeFailure('DqePathNotAllowed', confined.message);
  }
}

/**
 * The same activities, each checking its `dataset` and `runDir` arguments first; with no roots
 * configured, the activities unchanged.
 */
export function confineActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, roots: readonly string[] | undefined): T {
  if (!roots) return activities;
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      await checkArgs(args[0], roots);
      return fn(...args);
    };
  }
  return wrapped as T;
}
