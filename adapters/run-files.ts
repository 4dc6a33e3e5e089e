// A run directory's files as paths: core/run-layout.ts names them, this joins them to a run directory
// (relative run directories resolve against the worker's working directory).
import { join, resolve } from 'node:path';
import { WORK_DIR, type RunFile } from '../core/run-layout.js';

/** The run's work directory (`<runDir>/work`), absolute. */
export function workDirOf(runDir: string): string {
  return join(resolve(runDir), WORK_DIR);
}

/** A file at the top of the run directory, absolute. */
export function runFile(runDir: string, name: RunFile): string {
  return join(resolve(runDir), name);
}
