// Runs one swift command as its own process group and owns that group until it is gone: output to a
// log file and a short tail, a pid file so a later attempt can find a survivor, and SIGTERM-then-SIGKILL
// of the whole group on cancellation (the `swift` wrapper does not forward signals to its Python child).
import { createWriteStream } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { execa } from 'execa';
import { writeJsonAtomic } from '../../files.js';

/** Lines of swift's output kept for a failure message. */
export const OUTPUT_TAIL_LINES = 50;

/** How often a process group is checked while waiting for it to go, in ms. */
const GROUP_POLL_MS = 200;

/** How long to wait for a SIGKILLed group to disappear, in ms: the kernel needs moments, not seconds. */
const SIGKILL_WAIT_MS = 10_000;

/** The last lines of a stream of terminal output, each as a terminal shows it (after its last `\r`). */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly max = OUTPUT_TAIL_LINES) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.add(p);
  }

  private add(line: string): void {
    const shown = line.slice(line.lastIndexOf('\r') + 1).trimEnd();
    if (shown.length === 0) return;
    this.lines.push(shown);
    if (this.lines.length > this.max) this.lines.shift();
  }

  /** The kept lines, the unfinished last one included. */
  get(): string[] {
    const last = this.partial.slice(this.partial.lastIndexOf('\r') + 1).trimEnd();
    return last ? [...this.lines, last].slice(-this.max) : [...this.lines];
  }
}

/** Sends a signal to every process of a group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until no process of the group is left; false if some remain after `ms`. */
export async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (signalGroup(pgid, 0)) {
    if (Date.now() >= deadline) return false;
    await sleep(GROUP_POLL_MS);
  }
  return true;
}

/** SIGTERM to the whole group, SIGKILL to what is left after `graceMs`. */
export async function killGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitGroupGone(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  if (!(await waitGroupGone(pgid, SIGKILL_WAIT_MS))) throw new Error(`process group ${pgid} survived SIGKILL for ${SIGKILL_WAIT_MS / 1000}s`);
}

/** What the pid file records about a running swift. */
interface PidFile {
  pgid: number;
  host: string;
  /** A string in the command line of the group's processes (the output or result path). */
  marker: string;
  startedAt: string;
}

/** Processes of a group whose command line holds `marker` (Linux /proc); undefined when /proc is not there. */
async function groupRunsMarker(pgid: number, marker: string): Promise<boolean | undefined> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((d) => /^\d+$/u.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp ...
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== pgid) continue;
      if ((await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(marker)) return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/**
 * Stops a swift group an earlier attempt left running on this host (its worker died, the group did
 * not), so two trainings never write one output folder. Returns the pgid it stopped.
 */
export async function stopSurvivor(pidPath: string, graceMs: number): Promise<number | undefined> {
  let pf: PidFile;
  try {
    pf = JSON.parse(await readFile(pidPath, 'utf8')) as PidFile;
  } catch {
    return undefined;
  }
  if (pf.host !== hostname() || !signalGroup(pf.pgid, 0)) return undefined;
  // A recycled process-group id must not get us to kill someone else's processes.
  if ((await groupRunsMarker(pf.pgid, pf.marker)) === false) return undefined;
  await killGroup(pf.pgid, graceMs);
  return pf.pgid;
}

export interface RunSwiftOptions {
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** swift's stdout and stderr are appended here. */
  logPath: string;
  /** Where the running group is recorded for `stopSurvivor`. */
  pidPath: string;
  /** Identifies this job's processes in `ps` (its output folder or result file). */
  marker: string;
  signal: AbortSignal;
  /** ms between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** ms between `onPoll` calls. */
  pollMs: number;
  /** Called every `pollMs` while swift runs, and once after it exits: read its files, heartbeat. */
  onPoll: () => Promise<void>;
  /** Called once cancellation arrives, before the group is killed (e.g. to wait for a checkpoint). */
  beforeKill?: (exited: Promise<unknown>) => Promise<void>;
}

export interface SwiftRun {
  /** Exit code, or undefined when a signal ended it. */
  exitCode: number | undefined;
  signal: string | undefined;
  /** True when it was stopped because `signal` was aborted. */
  cancelled: boolean;
  /** The last lines of its output. */
  tail: string[];
}

/** Spawn failed because the executable is not there. */
export class SwiftNotFoundError extends Error {
  override readonly name = 'SwiftNotFoundError';
}

/** Runs swift detached in a new process group and waits for the whole group to end. */
export async function runSwift(o: RunSwiftOptions): Promise<SwiftRun> {
  if (o.signal.aborted) return { exitCode: undefined, signal: undefined, cancelled: true, tail: [] };
  const log = createWriteStream(o.logPath, { flags: 'a' });
  log.write(`\n==== ${new Date().toISOString()} ${o.bin} ${o.args.join(' ')}\n`);
  const tail = new OutputTail();
  const child = execa(o.bin, o.args, {
    cwd: o.cwd,
    env: o.env,
    extendEnv: false,
    // Its own process group, so the group can be signalled as one, and it outlives nothing by accident.
    detached: true,
    cleanup: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
  });
  child.all?.on('data', (d: Buffer) => {
    log.write(d);
    tail.push(d.toString('utf8'));
  });
  const pgid = child.pid;
  let exited = false;
  const done = child.then((r) => {
    exited = true;
    return r;
  });
  let cancelled = false;
  try {
    if (pgid === undefined) {
      const r = await done;
      if ((r as { code?: string }).code === 'ENOENT') throw new SwiftNotFoundError(`cannot run ${o.bin}: not found`);
      throw new Error(`cannot start ${o.bin}: ${r.message}`);
    }
    await writeJsonAtomic(o.pidPath, { pgid, host: hostname(), marker: o.marker, startedAt: new Date().toISOString() } satisfies PidFile);
    const aborted = new Promise<void>((r) => (o.signal.aborted ? r() : o.signal.addEventListener('abort', () => r(), { once: true })));
    try {
      while (!exited && !o.signal.aborted) {
        await Promise.race([done, aborted, sleep(o.pollMs)]);
        await o.onPoll();
      }
    } catch (err) {
      // Whatever went wrong on our side, no swift may run on unwatched.
      await killGroup(pgid, o.killGraceMs);
      throw err;
    }
    if (!exited) {
      cancelled = true;
      if (o.beforeKill) await o.beforeKill(done);
      await killGroup(pgid, o.killGraceMs);
    } else if (o.signal.aborted) {
      cancelled = true;
    }
    const r = await done;
    // The wrapper may exit before its child: wait for the whole group, which we own.
    if (signalGroup(pgid, 0)) await killGroup(pgid, o.killGraceMs);
    await o.onPoll();
    await rm(o.pidPath, { force: true });
    return { exitCode: r.exitCode, signal: r.signal, cancelled, tail: tail.get() };
  } finally {
    await new Promise<void>((r) => log.end(() => r()));
  }
}
