// A run directory's files as paths: core/run-layout.ts names them, this joins them to a run directory
// (relative run directories resolve against the worker's working directory), and reads the sidecars.
import { join, resolve } from 'node:path';
import { RUN_FILES, WORK_DIR, type FinalRowId, type RunFile } from '../core/run-layout.js';
import { readJsonlAll } from './files.js';

/** The run's work directory (`<runDir>/work`), absolute. */
export function workDirOf(runDir: string): string {
  return join(resolve(runDir), WORK_DIR);
}

/** A file at the top of the run directory, absolute. */
export function runFile(runDir: string, name: RunFile): string {
  return join(resolve(runDir), name);
}

/**
 * final.rows.jsonl: element i is the kept-row id and input row number of final.jsonl's line i, so a
 * reader can link a final row to its kept row, prediction, category and verdict without matching text.
 */
export async function readFinalRowIds(runDir: string): Promise<FinalRowId[]> {
  return readJsonlAll<FinalRowId>(runFile(runDir, RUN_FILES.finalRows));
}
