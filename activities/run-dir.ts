// The run directory's ownership: claimed by the run before any phase writes, released when it ends.
// A directory that holds the dataset, another live run or another run's outputs is refused.
import { mkdir, readdir, readFile, realpath, rm, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { dqeFailure } from '../adapters/failure.js';
import { createFileExclusive, writeJsonAtomic } from '../adapters/files.js';
import { decideClaim, isInside, type RunLock } from '../core/run-dir.js';
import { RUN_LOCK_FILE } from '../core/run-layout.js';

export interface ClaimRunDirArgs {
  runDir: string;
  dataset: string;
  workflowId: string;
  runId: string;
  /** Replace a finished run's outputs in `runDir`. @default false */
  overwrite?: boolean;
}

export interface ReleaseRunDirArgs {
  runDir: string;
  workflowId: string;
  runId: string;
  state: 'completed' | 'failed';
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** How long an empty lock file is given to be written (only where the file system has no hard links). */
const EMPTY_LOCK_WAIT_MS = 2000;

async function readLock(path: string): Promise<RunLock | undefined> {
  const since = Date.now();
  for (;;) {
    try {
      const text = await readFile(path, 'utf8');
      // Empty: a run is creating it where hard links are missing (createFileExclusive); give it a moment.
      if (text.length === 0 && Date.now() - since < EMPTY_LOCK_WAIT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      return JSON.parse(text) as RunLock;
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      // A torn, foreign or unreadable lock file: nobody can tell who holds the directory, so nobody takes it.
      return { workflowId: '(unreadable lock)', runId: '?', state: 'running' };
    }
  }
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
async function realOrNearest(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realOrNearest(parent), path.slice(parent.length + 1));
  }
}

/** Claims `runDir` for the run; throws a non-retryable failure naming why it may not. */
export async function claimRunDir(args: ClaimRunDirArgs): Promise<{ runDir: string; cleared: boolean }> {
  const runDir = resolve(args.runDir);
  if (args.runDir.trim().length === 0) throw dqeFailure('DqeInvalidInput', 'outputDir is empty; give the run directory');
  const dataset = await realOrNearest(resolve(args.dataset));
  const realDir = await realOrNearest(runDir);
  if (isInside(dataset, realDir, sep)) {
    throw dqeFailure('DqeOutputHoldsDataset', `output directory ${runDir} holds the dataset ${resolve(args.dataset)}; dqe writes its outputs there and never writes beside a user's data: give another output directory`);
  }
  try {
    await mkdir(runDir, { recursive: true });
  } catch (err) {
    throw dqeFailure('DqeOutputNotWritable', `output directory ${runDir}: cannot write (${code(err)})`);
  }
  const lockPath = join(runDir, RUN_LOCK_FILE);
  const me: RunLock = { workflowId: args.workflowId, runId: args.runId, state: 'running' };
  for (;;) {
    const lock = await readLock(lockPath);
    // The lock and a rival's lock being written (its temporary name) are not outputs.
    const entries = (await readdir(runDir)).filter((e) => e !== RUN_LOCK_FILE && !e.startsWith(`${RUN_LOCK_FILE}.tmp-`)).sort();
    const decision = decideClaim(lock, entries, { workflowId: args.workflowId, runId: args.runId, overwrite: args.overwrite ?? false });
    if (decision.action === 'refuse') throw dqeFailure(decision.type, `output directory ${runDir} ${decision.why}`);
    if (decision.action === 'resume') {
      if (lock!.runId !== me.runId) await writeJsonAtomic(lockPath, me);
      return { runDir, cleared: false };
    }
    if (decision.clear) {
      for (const e of entries) await rm(join(runDir, e), { recursive: true, force: true });
      await writeJsonAtomic(lockPath, me);
      return { runDir, cleared: true };
    }
    // Exclusive create, whole: of two runs claiming one empty directory at once, exactly one wins, and the other
    // reads the winner's lock complete (never an empty file), so its refusal names the winner.
    let created: boolean;
    try {
      created = await createFileExclusive(lockPath, `${JSON.stringify(me, null, 2)}\n`);
    } catch (err) {
      throw dqeFailure('DqeOutputNotWritable', `output directory ${runDir}: cannot write (${code(err)})`);
    }
    if (created) return { runDir, cleared: false };
    // Another run created the lock between the read and now: decide again on what it wrote.
  }
}

/** Temporary files (`<name>.tmp-<pid>-<hex>`) under `dir`, at any depth. */
async function tempFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await tempFiles(p)));
    else if (/\.tmp-\d+(?:-[0-9a-f]+)?$/u.test(e.name)) out.push(p);
  }
  return out;
}

/** Removes what killed attempts left (their temporary files), then records how the run ended. */
export async function releaseRunDir(args: ReleaseRunDirArgs): Promise<{ removedTemps: number }> {
  const runDir = resolve(args.runDir);
  const lockPath = join(runDir, RUN_LOCK_FILE);
  const lock = await readLock(lockPath);
  // Only the holder releases; a run refused at the claim must not touch another run's directory.
  if (!lock || lock.workflowId !== args.workflowId || lock.runId !== args.runId) return { removedTemps: 0 };
  const temps = await tempFiles(runDir);
  for (const t of temps) await unlink(t).catch(() => {});
  await writeJsonAtomic(lockPath, { ...lock, state: args.state } satisfies RunLock);
  return { removedTemps: temps.length };
}
