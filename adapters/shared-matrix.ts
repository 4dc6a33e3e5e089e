// The run's embedding matrix, read once per worker process and shared by the phases that read it in turn
// (train, predict's shards, index, categorise, both passes of two-fold, the offline judge): each phase used
// to read its own copy, so a worker held the matrix several times over until the garbage collector caught
// up (3.95× the matrix at 300k rows). One entry, for the matrix asked for last; it is let go after a minute
// without use so an idle worker does not keep a run's matrix.
//
// Callers must not write into the array they get: every other phase on this worker sees the same one.
import { stat } from 'node:fs/promises';
import { readMatrix, type MatrixRef } from './files.js';

/** How long an unused matrix stays held, in ms (tests shorten it). */
let idleMs = 60_000;

interface Entry {
  key: string;
  matrix: Promise<Float32Array>;
  timer: NodeJS.Timeout | undefined;
  users: number;
}

let held: Entry | undefined;

/** Identity of a matrix file: its path, shape, size and modification time (dqe writes matrix files once, atomically). */
async function keyOf(ref: MatrixRef): Promise<string> {
  const s = await stat(ref.path);
  return `${ref.path}\0${ref.rows}x${ref.dim}\0${s.size}\0${s.mtimeMs}\0${s.ino}`;
}

function release(entry: Entry): void {
  entry.users--;
  if (entry.users > 0 || held !== entry) return;
  entry.timer = setTimeout(() => {
    if (held === entry && entry.users === 0) held = undefined;
  }, idleMs);
  entry.timer.unref();
}

/**
 * Runs `fn` with the matrix of `ref`, read from disk only when this process does not hold it already (calls
 * at the same time share one read). Read-only: see the module comment.
 */
export async function withSharedMatrix<T>(ref: MatrixRef, fn: (matrix: Float32Array) => Promise<T> | T): Promise<T> {
  const key = await keyOf(ref);
  let entry = held;
  if (entry?.key !== key) {
    // A different matrix: the old one is dropped from the cache (phases still using it keep their reference).
    const matrix = readMatrix(ref);
    entry = { key, matrix, timer: undefined, users: 0 };
    held = entry;
    matrix.catch(() => {
      if (held === entry) held = undefined;
    });
  }
  if (entry.timer) clearTimeout(entry.timer);
  entry.timer = undefined;
  entry.users++;
  try {
    return await fn(await entry.matrix);
  } finally {
    release(entry);
  }
}

/** Whether this process holds a matrix now, and sets how long an unused one stays held (tests). */
export function sharedMatrixHeld(setIdleMs?: number): boolean {
  if (setIdleMs !== undefined) idleMs = setIdleMs;
  return held !== undefined;
}
