// `npm run example` ends by printing a Web UI input and a `temporal workflow start` line
// (examples/start-command.ts): run that line as a shell would, with a worker on dqe-cpu, and the run completes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { shellQuote, startCommand } from '../../client/start-command.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { REPO_ROOT } from '../../infra/python-env.js';
import { createCpuWorker, CPU_TASK_QUEUE } from '../../workers/cpu-worker.js';
import type { DqeResult } from '../../workflows/index.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

describe('the start command `npm run example` prints', () => {
  let t: TestTemporal;
  let dir: string;

  before(async () => {
    t = await testTemporal();
    dir = await mkdtemp(join(tmpdir(), 'dqe-example-start-'));
  });
  after(async () => t.close());

  test('pasted into a shell, it starts a dqe run that completes; the Web UI JSON is the same input', async () => {
    const dataset = join(dir, "mails of o'brien.jsonl"); // a quote and spaces: the printed line must quote them
    await writeFile(dataset, spamAssassinJsonl({ limit: 120 }));
    const workflowId = uniqueId('spam-assassin-from-ui');
    const printed = await execa('npx', ['tsx', 'examples/start-command.ts', dataset, '--workflow-id', workflowId, '--output-dir', join(dir, 'runs/{workflowId}')], {
      cwd: REPO_ROOT,
      env: { TEMPORAL_ADDRESS: t.address },
    });
    const lines = printed.stdout.split('\n');
    const line = lines.find((l) => / workflow start /u.test(l));
    assert.ok(line, printed.stdout);
    assert.match(line, /^\/\S*temporal workflow start /u, 'an absolute path to the temporal CLI');
    assert.ok(printed.stdout.includes(`TEMPORAL_ADDRESS=${t.address} npx dqe worker`), printed.stdout);
    const jsonStart = lines.indexOf('{');
    const uiInput = JSON.parse(lines.slice(jsonStart, lines.indexOf('}', jsonStart) + 1).join('\n')) as Record<string, unknown>;
    assert.deepEqual(uiInput, { dataset, outputDir: join(dir, 'runs/{workflowId}') });

    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue: CPU_TASK_QUEUE, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const result = await worker.runUntil(async () => {
      const started = await execa('bash', ['-c', line], { reject: false, all: true });
      assert.equal(started.exitCode, 0, started.all);
      return (await t.client.workflow.getHandle(workflowId).result()) as DqeResult;
    });
    assert.equal(result.runDir, join(dir, 'runs', workflowId));
    const report = JSON.parse(await readFile(join(result.runDir, 'report.json'), 'utf8')) as { counts: { rowsIn: number } };
    assert.equal(report.counts.rowsIn, 120);
  });

  test('relative paths are refused, quoting survives a shell round trip', async () => {
    assert.throws(() => startCommand({ temporalCli: '/t', address: 'a:1', workflowId: 'w', input: { dataset: 'data.jsonl' } }), /dataset must be an absolute path/u);
    const word = `it's "x" $HOME \\`;
    const echoed = await execa('bash', ['-c', `printf %s ${shellQuote(word)}`]);
    assert.equal(echoed.stdout, word);
  });
});
