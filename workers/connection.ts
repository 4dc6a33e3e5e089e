// Connection settings for workers and clients, from the environment (TEMPORAL_* names as the
// Temporal CLI and SDKs use them), including TLS, mTLS and Temporal Cloud API keys.
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** TLS settings; `{}` means TLS with the system's trusted roots. Absent: plain TCP. */
  tls?: TLSConfig;
  /** Temporal Cloud API key (sent as a bearer token). Read from the environment only; never logged. */
  apiKey?: string;
}

/** The options both `Connection.connect` (clients) and `NativeConnection.connect` (workers) take. */
export interface ConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/** A configuration mistake in the TEMPORAL_* environment: names the variable and what is wrong. */
export class TemporalConfigError extends Error {
  override readonly name = 'TemporalConfigError';
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name]?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new TemporalConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/** PEM bytes from `<NAME>_DATA` (inline) or `<NAME>` (a file path), as the Temporal CLI reads them. */
function pem(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const data = env[`${name}_DATA`];
  const path = env[name];
  if (data && path) throw new TemporalConfigError(`set ${name} (a file) or ${name}_DATA (the PEM itself), not both`);
  if (data) return Buffer.from(data);
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TemporalConfigError(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * The Temporal server to use, or undefined when TEMPORAL_ADDRESS is unset (dqe then starts a local
 * dev server). TLS is on when TEMPORAL_TLS is true, when any TEMPORAL_TLS_* certificate or server
 * name is set, or when TEMPORAL_API_KEY is set (Temporal Cloud); TEMPORAL_TLS=false turns it off.
 *
 * @throws TemporalConfigError naming the variable, for a half-configured client certificate or an
 *   unreadable PEM file.
 */
export function temporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget | undefined {
  if (!env.TEMPORAL_ADDRESS) return undefined;
  const target: TemporalTarget = { address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE || 'default' };
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const crt = pem(env, 'TEMPORAL_TLS_CERT');
  const key = pem(env, 'TEMPORAL_TLS_KEY');
  const ca = pem(env, 'TEMPORAL_TLS_CA');
  const serverName = env.TEMPORAL_TLS_SERVER_NAME || undefined;
  if (crt && !key) throw new TemporalConfigError('TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: mTLS needs both the client certificate and its key');
  if (key && !crt) throw new TemporalConfigError('TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not: mTLS needs both the client certificate and its key');
  if (flag(env, 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION')) {
    throw new TemporalConfigError('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the TypeScript SDK: set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate instead');
  }
  const explicit = flag(env, 'TEMPORAL_TLS');
  const wanted = explicit ?? Boolean(crt || ca || serverName || apiKey);
  if (explicit === false && (crt || ca || serverName)) {
    throw new TemporalConfigError('TEMPORAL_TLS is false but TEMPORAL_TLS_CERT, TEMPORAL_TLS_CA or TEMPORAL_TLS_SERVER_NAME is set');
  }
  if (wanted) {
    target.tls = {
      ...(serverName ? { serverNameOverride: serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    };
  }
  if (apiKey) target.apiKey = apiKey;
  return target;
}

/** What to pass to `Connection.connect` or `NativeConnection.connect` for a target. */
export function connectionOptions(target: Pick<TemporalTarget, 'address' | 'tls' | 'apiKey'>): ConnectionOptions {
  return {
    address: target.address,
    ...(target.tls ? { tls: target.tls } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  };
}

/** A one-line description of a target for messages: address, namespace and TLS mode, never the key. */
export function describeTarget(target: TemporalTarget): string {
  const mode = !target.tls ? 'plain TCP' : target.tls.clientCertPair ? 'mTLS' : 'TLS';
  return `${target.address} (namespace ${target.namespace}, ${mode}${target.apiKey ? ', API key' : ''})`;
}

/** The server at a target did not answer: the message names the address and the reason. */
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

/** How long the TCP probe waits before calling a server unreachable, in ms: a WAN round trip is far less. */
const PROBE_TIMEOUT_MS = 5_000;

/** `host:port` or `[v6]:port` → parts; undefined when it has no port. */
function hostPort(address: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/u.exec(address);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/**
 * Opens and closes one TCP connection, so an unreachable server fails in milliseconds with the
 * operating system's reason (ECONNREFUSED, ENOTFOUND...) instead of the SDK's generic deadline.
 */
async function probe(address: string): Promise<string | undefined> {
  const hp = hostPort(address);
  if (!hp) return `"${address}" is not host:port`;
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hp.host, port: hp.port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(`no answer within ${PROBE_TIMEOUT_MS / 1000}s`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : err.message));
  });
}

async function connectWith<T>(target: TemporalTarget, open: (o: ConnectionOptions) => Promise<T>): Promise<T> {
  const reason = await probe(target.address);
  if (reason) throw new TemporalUnreachableError(`cannot reach Temporal at ${describeTarget(target)}: ${reason}`);
  try {
    return await open(connectionOptions(target));
  } catch (err) {
    throw new TemporalUnreachableError(`cannot connect to Temporal at ${describeTarget(target)}: ${(err as Error).message}`, { cause: err });
  }
}

/** A client connection to a target, failing fast with a clear message when the server is not there. */
export function connectClient(target: TemporalTarget): Promise<Connection> {
  return connectWith(target, (o) => Connection.connect(o));
}

/** A worker connection to a target, failing fast with a clear message when the server is not there. */
export function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return connectWith(target, (o) => NativeConnection.connect(o));
}
