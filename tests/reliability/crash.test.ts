// Crash survival: a dqe run whose CPU worker is SIGKILLed mid-phase (and, in another run, whose
// Temporal dev server is SIGKILLed and restarted on its SQLite file) completes with data outputs
// byte-identical to an uninterrupted run. CI runs a reduced drill; bench/kill-harness.ts the full one.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';
import { compareRuns, DATA_OUTPUTS, runKillHarness, type DrillRun } from './kill-harness.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

/** The CI drill: kills spread over the run's activity types by the seeded plan. */
const CI_WORKER_KILLS = 6;
const CI_SERVER_KILLS = 2;

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dqe-crash-'));
});
after(async () => rm(scratch, { recursive: true, force: true }));

function assertSurvived(d: DrillRun, kills: number): void {
  assert.deepEqual(d.notReached, []);
  assert.equal(d.kills.length, kills);
  assert.deepEqual(d.comparison.identical, [...DATA_OUTPUTS]);
  assert.deepEqual(d.comparison.differing, []);
  assert.deepEqual(d.comparison.reportDifferences, []);
  assert.equal(d.comparison.embeddedTotal.drilled, d.comparison.embeddedTotal.reference);
  // Killed attempts' half-written temporary files are gone once their phases succeeded.
  assert.equal(d.comparison.leftoverTempFiles, 0);
}

describe('crash survival', () => {
  test(`${CI_WORKER_KILLS} worker SIGKILLs and ${CI_SERVER_KILLS} dev-server SIGKILLs: the run completes with identical outputs`, async () => {
    const r = await runKillHarness({
      workerKills: CI_WORKER_KILLS,
      serverKills: CI_SERVER_KILLS,
      seed: 7,
      rows: 300,
      heartbeatTimeoutSeconds: 2,
      workDir: join(scratch, 'drill'),
      log: (line) => console.error(`[drill] ${line}`),
    });
    assertSurvived(r.workerKills, CI_WORKER_KILLS);
    assert.equal(r.workerKills.workerProcesses, CI_WORKER_KILLS + 1);
    // Each activity killed in flight ran again in a later attempt, on a new worker.
    const killedInFlight = new Map<string, number>();
    for (const k of r.workerKills.kills) if (k.inFlight) killedInFlight.set(k.inFlight, (killedInFlight.get(k.inFlight) ?? 0) + 1);
    assert.ok(killedInFlight.size >= 1, 'at least one kill landed inside an activity');
    for (const [type, n] of killedInFlight) assert.ok(r.workerKills.attempts[type]! >= n + 1, `${type}: ${r.workerKills.attempts[type]} attempts for ${n} kills`);
    assertSurvived(r.serverKills!, CI_SERVER_KILLS);
    assert.equal(r.serverKills!.workerProcesses, 1, 'the worker rode out the server restarts');
  });

  test('the comparison catches a changed byte and a changed count', async () => {
    const a = join(scratch, 'cmp-a');
    const b = join(scratch, 'cmp-b');
    const report = { counts: { final: 10 }, embedding: { reused: 0, embedded: 10 }, timings: { phases: { load: 1 } } };
    for (const [dir, final, rep] of [
      [a, 'x\n', report],
      [b, 'y\n', { ...report, counts: { final: 11 }, embedding: { reused: 4, embedded: 6 }, timings: { phases: { load: 2 } } }],
    ] as const) {
      await mkdir(dir, { recursive: true });
      for (const name of DATA_OUTPUTS) await writeFile(join(dir, name), name === 'final.jsonl' ? final : 'same\n');
      await writeFile(join(dir, 'report.json'), JSON.stringify(rep));
    }
    const c = await compareRuns(a, b);
    assert.deepEqual(c.differing, ['final.jsonl']);
    assert.deepEqual(c.identical, DATA_OUTPUTS.filter((n) => n !== 'final.jsonl'));
    assert.deepEqual(c.reportDifferences, ['counts.final']);
    assert.deepEqual(c.embeddedTotal, { reference: 10, drilled: 10 });
    assert.deepEqual(c.embedding, { reference: { reused: 0, embedded: 10 }, drilled: { reused: 4, embedded: 6 } });
    assert.equal(c.leftoverTempFiles, 0);
  });
});

describe('heartbeatTimeoutSeconds', () => {
  let t: TestTemporal;
  before(async () => {
    t = await testTemporal();
  });
  after(async () => t.close());

  /** The heartbeat timeout (seconds) of every activity the run scheduled, by activity type. */
  async function heartbeatTimeouts(input: Record<string, unknown>): Promise<Record<string, number>> {
    const taskQueue = uniqueId('dqe-hb');
    const workflowId = uniqueId('dqe-hb');
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(scratch, 'cache'), env: {} } });
    await worker.runUntil(t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [input] }));
    const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
    const out: Record<string, number> = {};
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) out[s.activityType!.name!] = Number(s.heartbeatTimeout?.seconds ?? 0);
    }
    return out;
  }

  test('replaces every CPU activity profile heartbeat timeout when set, and leaves the defaults otherwise', async () => {
    const dataset = join(scratch, 'hb.jsonl');
    await writeFile(dataset, spamAssassinJsonl({ limit: 40 }));
    const defaults = await heartbeatTimeouts({ dataset, outputDir: join(scratch, 'hb-default') });
    // The file phases' profile gives 2 minutes, the compute profile 5 (workflows/dqe.ts).
    const expected: Record<string, number> = {
      loadDataset: 120, cleanDataset: 120, embedShard: 300, mergeEmbeddings: 120, sampleRows: 300, trainModel: 300, predictShard: 300, mergePredictions: 120,
      indexVectors: 300, categoriseWrong: 300, judgeNoisy: 300, assembleRun: 120, writeReport: 120,
    };
    for (const [type, seconds] of Object.entries(expected)) assert.equal(defaults[type], seconds, type);
    for (const [type, seconds] of Object.entries(defaults)) assert.ok(seconds === 120 || seconds === 300, `${type}: ${seconds}`);
    const shortened = await heartbeatTimeouts({ dataset, outputDir: join(scratch, 'hb-short'), heartbeatTimeoutSeconds: 7 });
    assert.deepEqual(Object.keys(shortened), Object.keys(defaults));
    assert.ok(Object.values(shortened).every((s) => s === 7), JSON.stringify(shortened));
    // The same data, the same outputs: the timeout changes when a dead worker is noticed, nothing else.
    assert.equal(await readFile(join(scratch, 'hb-short', 'final.jsonl'), 'utf8'), await readFile(join(scratch, 'hb-default', 'final.jsonl'), 'utf8'));
  });
});
