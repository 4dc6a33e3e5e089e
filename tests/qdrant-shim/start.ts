// Starts the Qdrant-compatible test endpoint (server.py) on loopback and hands back its URL and a stop().
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensurePythonGroup, VENV_BIN } from '../../infra/python-env.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');
const SERVER = join(HERE, 'server.py');
/**
 * The requirement groups server.py needs: qdrant-client's REST models parse the requests
 * (infra/requirements/qdrant.txt) and Qdrant Edge answers them (infra/requirements/qdrant-edge.txt).
 */
const PYTHON_GROUPS = ['qdrant', 'qdrant-edge'];
/** Importing qdrant_client (numpy, pydantic, grpc) takes a few seconds on a busy 2-core machine. */
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;
/** Stderr kept to explain a server that died before it was ready. */
const STDERR_TAIL_CHARS = 4_000;

export interface QdrantShim {
  /** e.g. `http://127.0.0.1:40123`: what QDRANT_URL would be. */
  url: string;
  /** The server process (benchmarks read its CPU time and peak RSS from /proc). */
  pid: number;
  /** Makes the next `count` Qdrant requests fail with `status` (and Retry-After, if given). */
  injectFaults(status: number, count: number, retryAfterSeconds?: number): Promise<void>;
  /** The engine's name and how many nearest-neighbour queries it answered with HNSW-indexed segments. */
  stats(): Promise<QdrantShimStats>;
  stop(): Promise<void>;
}

export interface QdrantShimStats {
  /** e.g. `qdrant-edge-py 0.9.0` */
  engine: string;
  /** Queries (not exact) run while every point of their collection was in an HNSW-indexed segment. */
  indexedQueries: number;
  /** Queries run with some point outside an HNSW index (below the indexing threshold) or asked exact. */
  unindexedQueries: number;
}

export interface QdrantShimOptions {
  /** Require this key in the `api-key` header, as a server with QDRANT__SERVICE__API_KEY does. */
  apiKey?: string;
  /** A Python that has qdrant-client and qdrant-edge-py. @default the project venv, installed from infra/requirements/qdrant.txt and qdrant-edge.txt on first use */
  python?: string;
  /** Where install progress goes. @default stderr */
  log?: (line: string) => void;
  /** Extra server.py arguments, e.g. `['--indexing-threshold-kb', '20000']`. @default none */
  args?: string[];
}

export async function startQdrantShim(opts: QdrantShimOptions = {}): Promise<QdrantShim> {
  let python = opts.python;
  if (python === undefined) {
    // A no-op once the venv holds the pinned requirements (a stamp records them).
    for (const group of PYTHON_GROUPS) await ensurePythonGroup(group, opts.log ?? ((line) => console.error(`[qdrant-shim] ${line}`)));
    python = join(VENV_BIN, 'python');
  }
  if (!existsSync(python)) throw new Error(`qdrant shim: ${python} not found`);
  const args = [SERVER, '0', ...(opts.apiKey !== undefined ? ['--api-key', opts.apiKey] : []), ...(opts.args ?? [])];
  const child = spawn(python, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`qdrant shim: not ready after ${READY_TIMEOUT_MS} ms\n${stderr}`));
    }, READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = /^listening (\S+:\d+)$/.exec(line.trim());
      if (m) {
        clearTimeout(timer);
        resolveUrl(`http://${m[1]}`);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      const hint = /No module named/.test(stderr) ? `\n${python} lacks qdrant-client or qdrant-edge-py: pip install -r infra/requirements/qdrant.txt -r infra/requirements/qdrant-edge.txt` : '';
      reject(new Error(`qdrant shim exited (code ${code}) before it was ready\n${stderr}${hint}`));
    });
  });

  return {
    url,
    pid: child.pid!,
    async injectFaults(status, count, retryAfterSeconds) {
      const res = await fetch(`${url}/__shim/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status, count, ...(retryAfterSeconds !== undefined ? { retry_after: retryAfterSeconds } : {}) }),
      });
      if (!res.ok) throw new Error(`qdrant shim: fault injection answered ${res.status}`);
    },
    async stats() {
      const res = await fetch(`${url}/__shim/stats`);
      if (!res.ok) throw new Error(`qdrant shim: stats answered ${res.status}`);
      const { result } = (await res.json()) as { result: { engine: string; indexed_queries: number; unindexed_queries: number } };
      return { engine: result.engine, indexedQueries: result.indexed_queries, unindexedQueries: result.unindexed_queries };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
