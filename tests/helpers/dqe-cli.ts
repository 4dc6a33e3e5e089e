// Runs the `dqe` command in this process (its real parser and actions, without a process start, which
// costs seconds on a busy machine), capturing what it prints and its exit code.
import { format } from 'node:util';
import { main } from '../../client/cli.js';

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** `dqe <args>` against `address` (TEMPORAL_ADDRESS); one at a time, as it swaps console and env. */
export async function dqeCli(args: string[], address: string, namespace = 'default'): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, address: process.env.TEMPORAL_ADDRESS, namespace: process.env.TEMPORAL_NAMESPACE, exitCode: process.exitCode };
  console.log = (...a: unknown[]) => void out.push(format(...a));
  console.error = (...a: unknown[]) => void err.push(format(...a));
  process.env.TEMPORAL_ADDRESS = address;
  process.env.TEMPORAL_NAMESPACE = namespace;
  process.exitCode = 0;
  try {
    await main(['node', 'dqe', ...args]);
    return { stdout: out.join('\n'), stderr: err.join('\n'), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    if (saved.address === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = saved.address;
    if (saved.namespace === undefined) delete process.env.TEMPORAL_NAMESPACE;
    else process.env.TEMPORAL_NAMESPACE = saved.namespace;
    process.exitCode = saved.exitCode;
  }
}
