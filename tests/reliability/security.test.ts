// Security: no shell strings anywhere; dataset and run-directory paths confined to the worker's
// allowed roots; secrets only from the worker's environment and never in histories, logs or outputs;
// TLS and mTLS to Temporal from the TEMPORAL_TLS_* environment.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { execa } from 'execa';
import { parseDqeInput } from '../../core/input.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { allowedRoots, confinePath } from '../../infra/allowed-roots.js';
import { REPO_ROOT } from '../../infra/python-env.js';
import { describeTarget, temporalTarget } from '../../workers/connection.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';
import { scanRepository, scanScript } from './helpers/shell-scan.js';
import { startWorkerProcess, writeWorkflowBundle } from './worker-processes.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const DQE = join(REPO_ROOT, 'bin', 'dqe.js');

let scratch: string;
let t: TestTemporal;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dqe-security-'));
  t = await testTemporal();
});
after(async () => {
  await t.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A CLI call's environment: this process's, without TEMPORAL_/QDRANT_/OPENAI_/DQE_ settings, plus `extra`. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(TEMPORAL_|QDRANT_|OPENAI_|DQE_)/u.test(k)) env[k] = v;
  return { ...env, ...extra };
}

async function dqe(args: string[], env: Record<string, string>) {
  const r = await execa(process.execPath, [DQE, ...args], { cwd: REPO_ROOT, env: cliEnv(env), extendEnv: false, reject: false, timeout: 180_000 });
  assert.equal(r.timedOut, false, `dqe ${args.join(' ')} hung`);
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('no shell strings', () => {
  test('no source file starts a process through a shell or from one command string', () => {
    const { files, findings } = scanRepository(REPO_ROOT);
    assert.ok(files > 50, `only ${files} source files found`);
    assert.deepEqual(findings, []);
  });

  test('the scan finds each kind of shell string it looks for', () => {
    const sample = [
      "import { exec } from 'node:child_process';",
      "import * as cp from 'child_process';",
      "import { execaCommand } from 'execa';",
      "cp.execSync('ls');",
      "spawn('ls -la');",
      "spawn('ls', '-la');",
      "execa('git', ['status'], { shell: true });",
      "spawn('git', [], { shell });",
      'execa`git status`;',
      "spawn('ok', ['a b'], { shell: false });",
    ].join('\n');
    assert.deepEqual(
      scanScript('sample.ts', sample).map((f) => [f.line, f.rule]),
      [
        [1, 'child_process.exec runs a shell command line'],
        [3, 'execa.execaCommand runs a shell command line'],
        [4, 'child_process.execSync runs a shell command line'],
        [5, 'a command string with spaces (a command line, not a program)'],
        [6, 'arguments as one string, not an array'],
        [7, 'shell option other than false'],
        [8, 'shell option other than false'],
        [9, 'template-string command'],
      ],
    );
  });
});

describe('paths confined to the allowed roots', () => {
  let data: string;
  let runs: string;
  let outside: string;
  before(async () => {
    data = join(scratch, 'data');
    runs = join(scratch, 'runs');
    outside = join(scratch, 'outside');
    for (const d of [data, runs, outside, `${data}-evil`]) await mkdir(d, { recursive: true });
    const mails = spamAssassinJsonl({ limit: 40 });
    await writeFile(join(data, 'mails.jsonl'), mails);
    await writeFile(join(outside, 'secret.jsonl'), mails);
    await writeFile(join(`${data}-evil`, 'mails.jsonl'), mails);
    await symlink(join(outside, 'secret.jsonl'), join(data, 'link-out.jsonl'));
    await symlink(outside, join(data, 'dir-out'));
  });

  test('DQE_ALLOWED_ROOTS: unset or empty means no confinement; entries are resolved', () => {
    assert.equal(allowedRoots({}), undefined);
    assert.equal(allowedRoots({ DQE_ALLOWED_ROOTS: ' ' }), undefined);
    assert.deepEqual(allowedRoots({ DQE_ALLOWED_ROOTS: '/data:/runs/./x::' }), ['/data', '/runs/x']);
    assert.deepEqual(allowedRoots({ DQE_ALLOWED_ROOTS: 'rel' }), [resolve('rel')]);
  });

  test('inside, traversal, symlink escapes and look-alike prefixes', async () => {
    const roots = [data, runs];
    const ok = async (p: string) => assert.deepEqual(await confinePath(p, 'dataset', roots), { ok: true, path: p });
    await ok(join(data, 'mails.jsonl'));
    await ok(join(runs, 'not', 'made', 'yet'));
    await ok(data);
    const refused = async (p: string, shown: string) =>
      assert.deepEqual(await confinePath(p, 'dataset', roots), { ok: false, message: `dataset ${shown} is outside the allowed roots (${data}, ${runs}; set by DQE_ALLOWED_ROOTS on the worker)` });
    await refused(join(data, '..', 'outside', 'secret.jsonl'), join(outside, 'secret.jsonl'));
    // As many '..' as `data` is deep (wherever the suite's TMPDIR puts it), then /etc/passwd.
    const up = data.split('/').filter(Boolean).map(() => '..').join('/');
    await refused(`${data}/${up}/etc/passwd`, '/etc/passwd');
    await refused(join(`${data}-evil`, 'mails.jsonl'), join(`${data}-evil`, 'mails.jsonl'));
    await refused(join(data, 'link-out.jsonl'), `${join(data, 'link-out.jsonl')} (really ${join(outside, 'secret.jsonl')})`);
    await refused(join(data, 'dir-out', 'new-run'), `${join(data, 'dir-out', 'new-run')} (really ${join(outside, 'new-run')})`);
    const loop = join(data, 'loop.jsonl');
    await symlink(loop, loop);
    assert.deepEqual(await confinePath(loop, 'dataset', roots), { ok: false, message: `dataset ${loop}: cannot resolve it to check it against the allowed roots (ELOOP)` });
  });

  test('a worker with DQE_ALLOWED_ROOTS refuses runs that name other paths, at the first attempt', async () => {
    const taskQueue = uniqueId('dqe-roots');
    const env = { DQE_ALLOWED_ROOTS: `${data}:${runs}` };
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(scratch, 'cache'), env } });
    const run = (input: Record<string, unknown>) =>
      t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-roots'), args: [input] }).then((r): unknown => r, (e: unknown) => e);
    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ dataset: join(outside, 'secret.jsonl'), outputDir: join(runs, 'a') }, `dataset ${join(outside, 'secret.jsonl')}`],
      [{ dataset: `${data}/../outside/secret.jsonl`, outputDir: join(runs, 'b') }, `dataset ${join(outside, 'secret.jsonl')}`],
      [{ dataset: join(data, 'link-out.jsonl'), outputDir: join(runs, 'c') }, `dataset ${join(data, 'link-out.jsonl')} (really ${join(outside, 'secret.jsonl')})`],
      [{ dataset: join(data, 'mails.jsonl'), outputDir: join(outside, 'run') }, `output directory ${join(outside, 'run')}`],
      [{ dataset: join(data, 'mails.jsonl'), outputDir: `${runs}/../outside/run` }, `output directory ${join(outside, 'run')}`],
    ];
    await worker.runUntil(async () => {
      for (const [input, shown] of refusals) {
        const err = await run(input);
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure, String(err));
        // The run directory's claim is the first activity, and it checks both paths before anything writes.
        assert.equal(err.cause.activityType, 'claimRunDir');
        assert.equal(err.cause.retryState, RetryState.NON_RETRYABLE_FAILURE);
        assert.equal(err.cause.cause.type, 'DqePathNotAllowed');
        assert.equal(err.cause.cause.message, `${shown} is outside the allowed roots (${data}, ${runs}; set by DQE_ALLOWED_ROOTS on the worker)`);
      }
      // Nothing was written outside the roots.
      assert.deepEqual(readdirSync(outside).sort(), ['secret.jsonl']);
      // The same worker runs a run that stays inside.
      const ok = await run({ dataset: join(data, 'mails.jsonl'), outputDir: join(runs, 'ok') });
      assert.ok(!(ok instanceof Error), String(ok));
      assert.ok(statSync(join(runs, 'ok', 'final.jsonl')).size > 0);
    });
  });
});

/**
 * A scripted stand-in for a paid OpenAI-compatible embeddings endpoint, on loopback: it accepts one
 * bearer token, answers deterministic vectors, and, like some real servers, echoes a refused key.
 */
async function embeddingsServer(acceptedKey: string) {
  const requests: Array<{ path: string; auth: string | undefined }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', auth: req.headers.authorization });
      const key = req.headers.authorization?.replace(/^Bearer /u, '');
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') return res.writeHead(404).end();
      if (key !== acceptedKey) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
      }
      const input = (JSON.parse(body) as { input: string[] }).input;
      const data = input.map((text, index) => ({
        object: 'embedding',
        index,
        embedding: Array.from(createHash('sha256').update(text).digest().subarray(0, 16), (b) => b / 255 - 0.5),
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data, model: 'test-embed', usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Every string in a value, Uint8Arrays decoded as UTF-8 (payload data) and also shown as base64. */
function allText(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('base64'));
  else if (value && typeof value === 'object') for (const v of Object.values(value)) allText(v, out);
  return out;
}

/** Files under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      // A link is not followed (other tests leave links that point outside, or at themselves): what it points at
      // is walked where it lies, if it lies under `dir`.
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(Buffer.from(needle))) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}


describe('secrets only from the environment, and never written anywhere', () => {
  test('the input has no field for a key', () => {
    const parsed = parseDqeInput({ dataset: 'x.jsonl', embedder: { name: 'openai', apiKey: 'sk-in-the-input' } });
    assert.deepEqual(parsed, { ok: false, problems: [{ field: 'embedder', message: 'unknown field(s): apiKey' }] });
  });

  test('a run with a fake key in the worker env: the endpoint gets it; history, logs, outputs and caches never show it', async () => {
    const key = `sk-dqe-test-${randomBytes(12).toString('hex')}`;
    const wrongKey = `sk-dqe-wrong-${randomBytes(12).toString('hex')}`;
    const endpoint = await embeddingsServer(key);
    const dir = await mkdtemp(join(scratch, 'secrets-'));
    const dataset = join(dir, 'mails.jsonl');
    await writeFile(dataset, spamAssassinJsonl({ limit: 60 }));
    const bundlePath = await writeWorkflowBundle(dir);
    const cache = join(dir, 'cache');
    const workerLogs: string[] = [];
    const outputs: string[] = [];
    try {
      for (const [name, workerKey] of [['good', key], ['refused', wrongKey]] as const) {
        const taskQueue = uniqueId(`dqe-secret-${name}`);
        // The key lives only in the worker's environment; DEBUG logs are the most the SDK says.
        const worker = await startWorkerProcess({
          address: t.address,
          taskQueue,
          bundlePath,
          identity: `secret-${name}`,
          // A cache per run: the refused run must ask the endpoint, not find the good run's vectors.
          env: cliEnv({ OPENAI_API_KEY: workerKey, OPENAI_BASE_URL: endpoint.url, DQE_CACHE_DIR: join(cache, name) }),
          logLevel: 'DEBUG',
        });
        const workflowId = uniqueId(`dqe-secret-${name}`);
        const outputDir = join(dir, `run-${name}`);
        const cli = await dqe(['run', dataset, '--embedder', JSON.stringify({ name: 'openai', model: 'test-embed', maxRetries: 0 }), '--task-queue', taskQueue, '--workflow-id', workflowId, '--output-dir', outputDir, '--no-progress'], {
          TEMPORAL_ADDRESS: t.address,
        });
        await worker.stop();
        workerLogs.push(worker.stderr, JSON.stringify(worker.events));
        outputs.push(cli.stdout, cli.stderr);
        const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
        const historyText = allText(history).join('\n');
        if (name === 'good') {
          assert.equal(cli.exitCode, 0, cli.stderr);
          assert.ok(historyText.includes('embedShard'), 'the history was read');
          assert.ok((JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as { counts: { final: number } }).counts.final > 0);
        } else {
          assert.equal(cli.exitCode, 1, cli.stderr);
          assert.match(cli.stderr.trim().split('\n').at(-1)!, /^dqe: the run failed in activity embedShard: DqeRemoteUnauthorized: /u);
          assert.ok(historyText.includes('[redacted]'), 'the echoed key was scrubbed from the failure');
        }
        for (const secret of [key, wrongKey]) {
          assert.equal(historyText.includes(secret), false, `${name}: the key is in the workflow history`);
          assert.equal(historyText.includes(Buffer.from(secret).toString('base64')), false);
        }
      }
      // The endpoint saw the right key on every embeddings request of the good run, and the wrong one refused.
      const auths = endpoint.requests.filter((r) => r.path === '/v1/embeddings').map((r) => r.auth);
      assert.ok(auths.includes(`Bearer ${key}`) && auths.includes(`Bearer ${wrongKey}`), JSON.stringify(auths));
      assert.ok(auths.every((a) => a === `Bearer ${key}` || a === `Bearer ${wrongKey}`));
      // Logs and CLI output say plenty, but never the key.
      assert.ok(workerLogs.join('').length > 1000, 'the worker logged at DEBUG');
      for (const secret of [key, wrongKey]) {
        assert.equal(workerLogs.join('\n').includes(secret), false, 'the key is in the worker logs');
        assert.equal(outputs.join('\n').includes(secret), false, 'the key is in the CLI output');
        assert.deepEqual(filesContaining(dir, secret), [], 'the key is in a file');
      }
      // The dev server's own database, where histories rest (when the suite's server is in use).
      if (process.env.DQE_TEST_STATE) for (const secret of [key, wrongKey]) assert.deepEqual(filesContaining(process.env.DQE_TEST_STATE, secret), []);
    } finally {
      await endpoint.close();
    }
  });
});

describe('TLS and mTLS to Temporal', () => {
  test('TEMPORAL_TLS_* and TEMPORAL_API_KEY become connection options', async () => {
    const pem = join(scratch, 'x.pem');
    await writeFile(pem, 'PEM');
    const crt = Buffer.from('PEM');
    assert.equal(temporalTarget({}), undefined);
    assert.deepEqual(temporalTarget({ TEMPORAL_ADDRESS: 'h:7233' }), { address: 'h:7233', namespace: 'default' });
    assert.deepEqual(temporalTarget({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_TLS: 'true' }), { address: 'h:7233', namespace: 'default', tls: {} });
    assert.deepEqual(temporalTarget({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_NAMESPACE: 'ns', TEMPORAL_TLS_CA: pem, TEMPORAL_TLS_CERT: pem, TEMPORAL_TLS_KEY_DATA: 'PEM', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }), {
      address: 'h:7233',
      namespace: 'ns',
      tls: { serverNameOverride: 'temporal.internal', serverRootCACertificate: crt, clientCertPair: { crt, key: crt } },
    });
    const cloud = temporalTarget({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'tc-key' })!;
    assert.deepEqual(cloud, { address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', tls: {}, apiKey: 'tc-key' });
    assert.equal(describeTarget(cloud), 'ns.acct.tmprl.cloud:7233 (namespace ns.acct, TLS, API key)');
    assert.deepEqual(temporalTarget({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }), { address: 'h:7233', namespace: 'default', apiKey: 'k' });
    assert.throws(() => temporalTarget({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_TLS: 'maybe' }), { message: 'TEMPORAL_TLS must be true or false, got "maybe"' });
    assert.throws(() => temporalTarget({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_TLS_KEY: pem }), { message: 'TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not: mTLS needs both the client certificate and its key' });
    assert.throws(() => temporalTarget({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_TLS_CA: pem, TEMPORAL_TLS_CA_DATA: 'PEM' }), { message: 'set TEMPORAL_TLS_CA (a file) or TEMPORAL_TLS_CA_DATA (the PEM itself), not both' });
    assert.throws(() => temporalTarget({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: pem }), { message: 'TEMPORAL_TLS is false but TEMPORAL_TLS_CERT, TEMPORAL_TLS_CA or TEMPORAL_TLS_SERVER_NAME is set' });
  });

  describe('a run end to end through an mTLS-terminating proxy in front of the dev server', () => {
    let pki: string;
    let proxyPort: number;
    const handshakes: Array<{ authorized: boolean; cn: string | undefined }> = [];
    let proxy: ReturnType<typeof createTlsServer>;

    before(async () => {
      pki = join(scratch, 'pki');
      await mkdir(pki);
      const openssl = (args: string[]) => execa('openssl', args, { cwd: pki });
      await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=dqe test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
      for (const [name, ext] of [
        ['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
        ['client', 'extendedKeyUsage=clientAuth'],
      ] as const) {
        await writeFile(join(pki, `${name}.ext`), `${ext}\n`);
        await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=dqe test ${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
        await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
      }
      const [host, port] = t.address.split(':') as [string, string];
      proxy = createTlsServer(
        {
          key: await readFile(join(pki, 'server.key')),
          cert: await readFile(join(pki, 'server.pem')),
          ca: await readFile(join(pki, 'ca.pem')),
          requestCert: true,
          rejectUnauthorized: true,
          ALPNProtocols: ['h2'],
        },
        (socket: TLSSocket) => {
          const cn = (socket.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN;
          handshakes.push({ authorized: socket.authorized, cn });
          const upstream = tcpConnect({ host, port: Number(port) });
          socket.pipe(upstream).pipe(socket);
          socket.on('error', () => upstream.destroy());
          upstream.on('error', () => socket.destroy());
        },
      );
      proxy.on('tlsClientError', () => {});
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      proxyPort = (proxy.address() as AddressInfo).port;
    });
    after(async () => new Promise<void>((r) => proxy.close(() => r())));

    test('dqe run with the client certificate: client and worker connect over mTLS, the run completes', async () => {
      const dataset = join(scratch, 'tls.jsonl');
      await writeFile(dataset, spamAssassinJsonl({ limit: 40 }));
      const r = await dqe(['run', dataset, '--in-process-worker', '--no-progress', '--json', '--task-queue', uniqueId('dqe-tls'), '--output-dir', join(scratch, 'tls-run')], {
        TEMPORAL_ADDRESS: `127.0.0.1:${proxyPort}`,
        TEMPORAL_TLS_CA: join(pki, 'ca.pem'),
        TEMPORAL_TLS_CERT: join(pki, 'client.pem'),
        TEMPORAL_TLS_KEY: join(pki, 'client.key'),
        TEMPORAL_TLS_SERVER_NAME: 'localhost',
      });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok((JSON.parse(r.stdout) as { counts: { final: number } }).counts.final > 0);
      // The CLI's client and its in-process worker each came through the proxy with the client certificate.
      assert.ok(handshakes.length >= 2, JSON.stringify(handshakes));
      assert.ok(handshakes.every((h) => h.authorized && h.cn === 'dqe test client'));
    });

    test('without the client certificate, or without TLS, the CLI fails with one clear line', async () => {
      const noCert = await dqe(['status', 'any'], { TEMPORAL_ADDRESS: `127.0.0.1:${proxyPort}`, TEMPORAL_TLS_CA: join(pki, 'ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'localhost' });
      assert.equal(noCert.exitCode, 1);
      assert.match(noCert.stderr.trim(), new RegExp(`^dqe: cannot connect to Temporal at 127\\.0\\.0\\.1:${proxyPort} \\(namespace default, TLS\\): `, 'u'));
      const plain = await dqe(['status', 'any'], { TEMPORAL_ADDRESS: `127.0.0.1:${proxyPort}` });
      assert.equal(plain.exitCode, 1);
      assert.match(plain.stderr.trim(), new RegExp(`^dqe: cannot connect to Temporal at 127\\.0\\.0\\.1:${proxyPort} \\(namespace default, plain TCP\\): `, 'u'));
    });
  });
});
