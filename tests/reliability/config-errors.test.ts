// Configuration errors, through the real CLI as a subprocess (`node bin/dqe.js ...`) and through the
// workflow: unknown component names list the valid ones; an unreachable Temporal, Qdrant or OpenAI
// endpoint gives one clear line and exit code 1, in seconds.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { execa } from 'execa';
import { REPO_ROOT } from '../../infra/python-env.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const DQE = join(REPO_ROOT, 'bin', 'dqe.js');
const DATASET = join(REPO_ROOT, 'tests', 'fixtures', 'bad-input', 'bom.jsonl');
/** Port 1 on loopback: nothing listens there, so a connection is refused at once. */
const NOWHERE = '127.0.0.1:1';
/** A CLI call that should fail fast may take this long at most, in ms (tsx start-up on 2 busy cores). */
const CLI_TIMEOUT_MS = 90_000;

/** The environment of a CLI call: this process's, without any TEMPORAL_/QDRANT_/OPENAI_/DQE_ settings, plus `extra`. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(TEMPORAL_|QDRANT_|OPENAI_|DQE_)/u.test(k)) env[k] = v;
  return { ...env, ...extra };
}

async function dqe(args: string[], env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [DQE, ...args], { cwd: REPO_ROOT, env: cliEnv(env), extendEnv: false, reject: false, timeout: CLI_TIMEOUT_MS });
  assert.equal(r.timedOut, false, `dqe ${args.join(' ')} hung`);
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI's last stderr line: its one-line verdict. */
const lastLine = (s: string) => s.trimEnd().split('\n').at(-1);

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dqe-config-'));
});
after(async () => rm(scratch, { recursive: true, force: true }));

describe('unknown component names list the valid ones', () => {
  const cases: Array<[string, string, string]> = [
    ['--embedder', 'bert', 'embedder.name: unknown embedder; valid: hash, minilm, openai'],
    ['--trainer', 'svm', 'trainer.name: unknown trainer; valid: linear, encoder, swift'],
    // In the input schema's field order, which is the order the message lists them in.
    ['--vector-store', 'faiss', 'vectorStore.name: unknown vector store; valid: embedded, qdrant'],
    ['--judge', 'claude', 'judge.name: unknown judge; valid: offline, openai'],
  ];
  for (const [flag, name, message] of cases) {
    test(`CLI ${flag} ${name}`, async () => {
      // TEMPORAL_ADDRESS points nowhere: the input is checked before any connection is tried.
      const r = await dqe(['run', DATASET, flag, name], { TEMPORAL_ADDRESS: NOWHERE });
      assert.equal(r.exitCode, 1);
      assert.equal(r.stderr.trim(), `dqe: invalid dqe input: ${message}`);
    });
  }

  test('CLI: all four at once, each named', async () => {
    const r = await dqe(['run', DATASET, ...cases.flatMap(([flag, name]) => [flag, name])], { TEMPORAL_ADDRESS: NOWHERE });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim(), `dqe: invalid dqe input: ${cases.map(([, , m]) => m).join('; ')}`);
  });

  test('workflow: a client that bypasses the CLI gets the same non-retryable failure', async () => {
    const t: TestTemporal = await testTemporal();
    try {
      const taskQueue = uniqueId('dqe-config');
      const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(scratch, 'cache'), env: {} } });
      const err = await worker.runUntil(
        t.client.workflow
          .execute('dqe', { taskQueue, workflowId: uniqueId('dqe-config'), args: [{ dataset: DATASET, embedder: 'bert', trainer: 'svm', judge: 'claude', vectorStore: 'faiss' }] })
          .then(() => assert.fail('should have failed'), (e: unknown) => e),
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'DqeInvalidInput');
      assert.equal(err.cause.nonRetryable, true);
      assert.equal(err.cause.message, `invalid dqe input: ${cases.map(([, , m]) => m).join('; ')}`);
    } finally {
      await t.close();
    }
  });
});

describe('an unreachable Temporal server', () => {
  test('dqe run: one clear line, exit code 1, no 10-second wait', async () => {
    const started = performance.now();
    const r = await dqe(['run', DATASET, '--no-progress'], { TEMPORAL_ADDRESS: NOWHERE });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim(), `dqe: cannot reach Temporal at ${NOWHERE} (namespace default, plain TCP): connection refused (ECONNREFUSED)`);
    assert.ok(performance.now() - started < CLI_TIMEOUT_MS);
  });

  test('dqe worker and dqe status, too', async () => {
    const worker = await dqe(['worker'], { TEMPORAL_ADDRESS: NOWHERE, TEMPORAL_NAMESPACE: 'prod' });
    assert.equal(worker.exitCode, 1);
    assert.equal(worker.stderr.trim(), `dqe: cannot reach Temporal at ${NOWHERE} (namespace prod, plain TCP): connection refused (ECONNREFUSED)`);
    const status = await dqe(['status', 'some-run'], { TEMPORAL_ADDRESS: NOWHERE });
    assert.equal(status.exitCode, 1);
    assert.equal(status.stderr.trim(), `dqe: cannot reach Temporal at ${NOWHERE} (namespace default, plain TCP): connection refused (ECONNREFUSED)`);
  });

  test('an unknown host names the lookup failure', async () => {
    const r = await dqe(['status', 'some-run'], { TEMPORAL_ADDRESS: 'no-such-host.invalid:7233' });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr.trim(), /^dqe: cannot reach Temporal at no-such-host\.invalid:7233 \(namespace default, plain TCP\): getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid$/u);
  });

  test('a half-configured mTLS client names the missing variable', async () => {
    const r = await dqe(['status', 'some-run'], { TEMPORAL_ADDRESS: NOWHERE, TEMPORAL_TLS_CERT: DATASET });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr.trim(), 'dqe: TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: mTLS needs both the client certificate and its key');
    const missing = await dqe(['status', 'some-run'], { TEMPORAL_ADDRESS: NOWHERE, TEMPORAL_TLS_CA: join(scratch, 'no-ca.pem') });
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr.trim(), `dqe: TEMPORAL_TLS_CA: cannot read ${join(scratch, 'no-ca.pem')} (ENOENT)`);
  });
});

describe('unreachable or unset Qdrant and OpenAI endpoints fail the run before any work', () => {
  let t: TestTemporal;
  before(async () => {
    t = await testTemporal();
  });
  after(async () => t.close());

  /** `dqe run` against the test server with an in-process worker whose environment is `env`. */
  async function run(flags: string[], env: Record<string, string>) {
    return dqe(['run', DATASET, '--in-process-worker', '--no-progress', '--task-queue', uniqueId('dqe-endpoints'), '--output-dir', join(scratch, uniqueId('run')), ...flags], {
      TEMPORAL_ADDRESS: t.address,
      ...env,
    });
  }

  test('Qdrant unreachable', async () => {
    const r = await run(['--vector-store', 'qdrant'], { QDRANT_URL: `http://${NOWHERE}` });
    assert.equal(r.exitCode, 1);
    assert.equal(
      lastLine(r.stderr),
      `dqe: the run failed in activity checkEndpoints: DqeEndpointUnreachable: vector store qdrant at http://${NOWHERE} is unreachable: connection refused (ECONNREFUSED ${NOWHERE}) (check vectorStore.url in the input or QDRANT_URL on the worker)`,
    );
  });

  test('Qdrant not configured at all', async () => {
    const r = await run(['--vector-store', 'qdrant'], {});
    assert.equal(r.exitCode, 1);
    assert.equal(lastLine(r.stderr), 'dqe: the run failed in activity checkEndpoints: DqeEndpointNotConfigured: vector store qdrant needs a URL: set vectorStore.url in the input or QDRANT_URL on the worker');
  });

  test('OpenAI-compatible embeddings endpoint unreachable', async () => {
    const r = await run(['--embedder', 'openai'], { OPENAI_BASE_URL: `http://${NOWHERE}/v1`, OPENAI_API_KEY: 'sk-unused' });
    assert.equal(r.exitCode, 1);
    assert.equal(
      lastLine(r.stderr),
      `dqe: the run failed in activity checkEndpoints: DqeEndpointUnreachable: embedder openai at http://${NOWHERE}/v1 is unreachable: connection refused (ECONNREFUSED ${NOWHERE}) (check embedder.baseUrl in the input or OPENAI_BASE_URL on the worker)`,
    );
  });

  test('OpenAI judge endpoint unreachable (from the input)', async () => {
    const r = await run(['--judge', JSON.stringify({ name: 'openai', baseUrl: `http://${NOWHERE}/v1` })], { OPENAI_API_KEY: 'sk-unused' });
    assert.equal(r.exitCode, 1);
    assert.equal(
      lastLine(r.stderr),
      `dqe: the run failed in activity checkEndpoints: DqeEndpointUnreachable: judge openai at http://${NOWHERE}/v1 is unreachable: connection refused (ECONNREFUSED ${NOWHERE}) (check judge.baseUrl in the input or OPENAI_BASE_URL on the worker)`,
    );
  });
});
