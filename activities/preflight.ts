// Before any work: checks that the remote services a run is configured with (an OpenAI-compatible
// endpoint, Qdrant) answer at all, so a wrong URL fails the run in seconds with a message naming the
// service, the URL and the setting, instead of after hours of patient retries in a later phase.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { dqeFailure } from '../adapters/failure.js';
import { endpointFromEnv } from '../adapters/openai-client.js';
import type { EmbedderConfig, JudgeConfig, VectorStoreConfig } from '../core/input.js';

export interface PreflightArgs {
  embedder: EmbedderConfig;
  vectorStore: VectorStoreConfig;
  judge: JudgeConfig;
}

export interface PreflightDeps {
  env: NodeJS.ProcessEnv;
}

export interface EndpointCheck {
  /** What uses it, e.g. `embedder openai`. */
  component: string;
  /** The URL, without any credentials written into it. */
  url: string;
  /** Milliseconds until the connection (and, for https, the TLS handshake) was up. */
  connectMs: number;
}

/** How long one probe waits for an answer, in ms: far above a healthy round trip, far below a phase. */
const PROBE_TIMEOUT_MS = 10_000;

interface Target {
  component: string;
  url: string | undefined;
  /** Where the URL comes from, for the message. */
  setting: string;
}

function targets(args: PreflightArgs, env: NodeJS.ProcessEnv): Target[] {
  const out: Target[] = [];
  if (args.embedder.name === 'openai') {
    out.push({ component: 'embedder openai', url: endpointFromEnv(args.embedder.baseUrl, env).baseUrl, setting: 'embedder.baseUrl in the input or OPENAI_BASE_URL on the worker' });
  }
  if (args.judge.name === 'openai') {
    out.push({ component: 'judge openai', url: endpointFromEnv(args.judge.baseUrl, env).baseUrl, setting: 'judge.baseUrl in the input or OPENAI_BASE_URL on the worker' });
  }
  if (args.vectorStore.name === 'qdrant') {
    out.push({ component: 'vector store qdrant', url: args.vectorStore.url ?? (env.QDRANT_URL || undefined), setting: 'vectorStore.url in the input or QDRANT_URL on the worker' });
  }
  return out;
}

/**
 * Opens one connection to the URL's host and port (with a verified TLS handshake for https) and
 * closes it: no HTTP request, so no key is sent and a server's request log stays as it was.
 * Resolves to the milliseconds it took, or rejects with the operating system's or TLS's reason.
 */
function connectOnce(url: URL): Promise<number> {
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/u, '$1');
  const port = Number(url.port || (https ? 443 : 80));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket: Socket = https ? tlsConnect({ host, port, servername: host }) : tcpConnect({ host, port });
    socket.setTimeout(PROBE_TIMEOUT_MS, () => {
      socket.destroy();
      reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000}s`));
    });
    socket.once(https ? 'secureConnect' : 'connect', () => {
      socket.destroy();
      resolve(performance.now() - started);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(err.code === 'ECONNREFUSED' ? new Error(`connection refused (ECONNREFUSED ${host}:${port})`) : err);
    });
  });
}

/**
 * Connects once to every remote endpoint of the run (see `connectOnce`).
 *
 * @throws ApplicationFailure `DqeEndpointNotConfigured` when a URL is missing or not http(s);
 *   `DqeEndpointUnreachable` (retryable: the workflow's preflight tries 3 times) when an endpoint does not answer.
 */
export async function checkEndpoints(deps: PreflightDeps, args: PreflightArgs): Promise<EndpointCheck[]> {
  const checks: EndpointCheck[] = [];
  for (const t of targets(args, deps.env)) {
    if (!t.url) {
      throw dqeFailure('DqeEndpointNotConfigured', `${t.component} needs a URL: set ${t.setting}`);
    }
    let url: URL;
    try {
      url = new URL(t.url);
    } catch {
      throw dqeFailure('DqeEndpointNotConfigured', `${t.component}: "${t.url}" is not a URL (from ${t.setting})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw dqeFailure('DqeEndpointNotConfigured', `${t.component}: the URL must start with http:// or https://, not ${url.protocol}// (from ${t.setting})`);
    }
    // Credentials written into a URL (user:pass@host) are not repeated in messages.
    const shown = url.origin + url.pathname.replace(/\/+$/u, '');
    try {
      checks.push({ component: t.component, url: shown, connectMs: Math.round(await connectOnce(url)) });
    } catch (err) {
      throw dqeFailure('DqeEndpointUnreachable', `${t.component} at ${shown} is unreachable: ${(err as Error).message} (check ${t.setting})`);
    }
  }
  return checks;
}
