// The swift trainer for real: ms-swift fine-tunes and answers with a tiny Qwen2 model built offline,
// on the CPU, driven by the dqe workflow through a GPU worker on the dev server; a SIGKILLed worker's
// training resumes from its last checkpoint, a finished one is never trained again, a SIGTERMed worker
// stops at the next checkpoint, and cancelling a run leaves no swift process behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { readJsonlAll } from '../../adapters/files.js';
import { parseLoggingEntry, type StepEntry } from '../../adapters/trainers/swift/logs.js';
import { signalGroup, waitGroupGone } from '../../adapters/trainers/swift/process.js';
import type { Prediction } from '../../adapters/trainers/types.js';
import type { TrainArgs } from '../../activities/train.js';
import { workDirOf } from '../../adapters/run-files.js';
import { workFilePattern, type Report } from '../../core/run-layout.js';
import type { KeptRow, TrainResult } from '../../activities/refs.js';
import { mapAnswerToLabel } from '../../core/labels.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { REPO_ROOT, VENV_BIN } from '../../infra/python-env.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { createGpuActivities, createGpuWorker } from '../../workers/gpu-worker.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

/** No hub, no network: the model is a local folder and every hub client stays offline. */
const SWIFT_ENV = { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', USE_HF: '1' };
/** Mails in the test set: 20 sampled rows train in about half a minute here, saving every step. */
const MAILS = 40;
/** Characters per mail: short enough that every row fits the tiny model's 512-token window. */
const MAIL_CHARS = 300;
/** Quick reactions for a test; the defaults (30 s, 2 s) suit real GPUs. */
const RUNTIME = { env: SWIFT_ENV, killGraceMs: 5_000, pollMs: 500 };

let t: TestTemporal;
let dir: string;
/** Loss per step of the first test's uninterrupted training (same data, seed and settings as the crash test's). */
const uninterrupted = new Map<number, number>();
let model: string;
let dataset: string;

function swiftTrainer(epochs: number) {
  return {
    name: 'swift' as const,
    model,
    modelType: 'qwen2',
    template: 'qwen2_5',
    tunerType: 'full' as const,
    epochs,
    learningRate: 1e-3,
    batchSize: 1,
    gradientAccumulation: 1,
    maxLength: 512,
    saveSteps: 1,
    inferBackend: 'transformers' as const,
    inferBatchSize: 8,
    maxNewTokens: 4,
    extraArgs: ['--dataloader_num_workers', '0'],
  };
}

async function only(folder: string, re: RegExp): Promise<string> {
  const names = (await readdir(folder)).filter((n) => re.test(n));
  assert.equal(names.length, 1, `one ${re} in ${folder}: ${names.join(', ')}`);
  return join(folder, names[0]!);
}

async function trainOutputDir(runDir: string): Promise<string> {
  return join(await only(workDirOf(runDir), workFilePattern('train', 'job')), 'output');
}

/** The step entries of logging.jsonl, in file order, and how many lines it has. */
async function loggedSteps(outputDir: string): Promise<{ steps: StepEntry[]; lines: string[] }> {
  const lines = (await readFile(join(outputDir, 'logging.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const steps = lines.flatMap((l) => {
    const e = parseLoggingEntry(JSON.parse(l) as Record<string, unknown>);
    return e.kind === 'step' ? [e.entry] : [];
  });
  return { steps, lines };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The checkpoint step `last-checkpoint` points at, once it is at least `min`. */
async function checkpointAtLeast(runDir: string, min: number): Promise<number | undefined> {
  const link = await readlink(join(await trainOutputDir(runDir), 'last-checkpoint'));
  const n = Number(/checkpoint-(\d+)$/u.exec(link)?.[1]);
  return n >= min ? n : undefined;
}

async function swiftPgid(runDir: string): Promise<number> {
  const pid = JSON.parse(await readFile(join(await trainOutputDir(runDir), '..', 'swift.pid.json'), 'utf8')) as { pgid: number };
  return pid.pgid;
}

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** `dqe gpu-worker` as a child process (so it can be SIGKILLed), once it polls. */
async function startGpuWorkerProcess(taskQueue: string, ...extra: string[]): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'dqe.js'), 'gpu-worker', '--task-queue', taskQueue, '--kill-grace', '5', ...extra], {
    cwd: REPO_ROOT,
    env: { ...SWIFT_ENV, TEMPORAL_ADDRESS: t.address, TEMPORAL_NAMESPACE: 'default' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = once(child, 'exit');
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('dqe gpu-worker: polling')) resolve();
    });
    void exited.then(([code]) => reject(new Error(`dqe gpu-worker exited with ${String(code)} before polling:\n${err}`)));
  });
  return { child, exited };
}

async function stopWorkerProcess(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await w.exited;
}

before(async () => {
  t = await testTemporal();
  dir = await mkdtemp(join(tmpdir(), 'dqe-swift-'));
  model = join(dir, 'tiny-qwen2');
  await execa(join(VENV_BIN, 'python'), [join(REPO_ROOT, 'tests', 'fixtures', 'swift', 'make_tiny_model.py'), model], { env: SWIFT_ENV });
  dataset = join(dir, 'spam.jsonl');
  await writeFile(dataset, spamAssassinJsonl({ limit: MAILS, maxChars: MAIL_CHARS }));
});
after(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

describe('swift trainer on the dev server (real ms-swift, CPU)', () => {
  test('a run fine-tunes with swift sft on the GPU queue and maps swift infer answers back to rows', async () => {
    const cpuQueue = uniqueId('dqe-swift-cpu');
    const gpuQueue = uniqueId('dqe-swift-gpu');
    const runDir = join(dir, 'run-e2e');
    const workflowId = uniqueId('dqe-swift-e2e');
    const cpu = await createCpuWorker({ connection: t.workerConnection, taskQueue: cpuQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const gpu = await createGpuWorker({ connection: t.workerConnection, taskQueue: gpuQueue, swift: RUNTIME });
    const execution = t.client.workflow.execute('dqe', {
      taskQueue: cpuQueue,
      workflowId,
      // One pass (twoFold false) here and below: two-fold would fine-tune twice on CPU; the swift mechanics are the same.
      args: [{ dataset, outputDir: runDir, seed: 1, twoFold: false, gpuTaskQueue: gpuQueue, trainer: swiftTrainer(2) }],
    });
    await cpu.runUntil(gpu.runUntil(execution));

    const report = JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as Report;
    const c = report.counts;
    assert.equal(c.sampled, Math.ceil(c.kept / 2));

    // Training and prediction ran on the GPU queue, everything else on the CPU queue.
    const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
    const queues = (history.events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a ? [[a.activityType?.name, a.taskQueue?.name] as const] : [];
    });
    for (const [type, queue] of queues) assert.equal(queue, type === 'trainModel' || type === 'predictShard' ? gpuQueue : cpuQueue, String(type));
    assert.ok(queues.some(([type]) => type === 'trainModel'));

    // swift's own log: every step once, batch 1 × 2 epochs over the sampled rows, checkpoints at the end.
    const outputDir = await trainOutputDir(runDir);
    const { steps, lines } = await loggedSteps(outputDir);
    const maxSteps = 2 * c.sampled;
    assert.deepEqual(steps.map((s) => s.step), range(1, maxSteps));
    assert.ok(steps.every((s) => s.maxSteps === maxSteps));
    for (const s of steps) uninterrupted.set(s.step, s.loss!);
    const final = JSON.parse(lines.at(-1)!) as { last_model_checkpoint: string; train_dataset: string };
    assert.equal(final.last_model_checkpoint, join(outputDir, `checkpoint-${maxSteps}`));
    assert.match(final.train_dataset, new RegExp(`size=${c.sampled}$`, 'u'));
    // saveTotalLimit 2 keeps the last two of the per-step checkpoints.
    assert.deepEqual((await readdir(outputDir)).filter((n) => n.startsWith('checkpoint-')).sort(), [`checkpoint-${maxSteps - 1}`, `checkpoint-${maxSteps}`]);
    const train = JSON.parse(await readFile(await only(workDirOf(runDir), workFilePattern('train', 'json')), 'utf8')) as TrainResult;
    assert.equal(train.trainer, 'swift');
    assert.equal(train.modelPath, final.last_model_checkpoint);

    // One prediction per unsampled row; swift's result line i is the answer to the row written on line i.
    const kept = new Map((await readJsonlAll<KeptRow>(await only(workDirOf(runDir), workFilePattern('clean', 'kept.jsonl')))).map((r) => [r.id, r]));
    const predictions = await readJsonlAll<Prediction>(await only(workDirOf(runDir), workFilePattern('predict', 'predictions.jsonl')));
    assert.equal(predictions.length, c.unsampled);
    const jobDir = await only(workDirOf(runDir), workFilePattern('predict-shard-0', 'job'));
    const results = await readJsonlAll<{ response: string; messages: Array<{ role: string; content: string }> }>(join(jobDir, 'result.jsonl'));
    assert.equal(results.length, predictions.length);
    predictions.forEach((p, i) => {
      assert.equal(results[i]!.messages[1]!.content, kept.get(p.id)!.text, `row ${p.id}`);
      assert.equal(p.answer, results[i]!.response);
      assert.equal(p.predicted, mapAnswerToLabel(p.answer, ['ham', 'spam']) ?? null);
    });
    assert.deepEqual(predictions.map((p) => p.id), [...predictions.map((p) => p.id)].sort((a, b) => a - b));
    // Unmapped answers are counted, and a fine-tuned model answers with labels.
    const unmapped = predictions.filter((p) => p.predicted === null).length;
    assert.equal(c.unmapped, unmapped);
    assert.ok(unmapped < predictions.length, 'the fine-tuned model answers with a label');
    assert.equal(c.correct, predictions.filter((p) => p.predicted === kept.get(p.id)!.label).length);
  });

  test('after SIGKILL of the GPU worker and of swift, a new worker resumes from the last checkpoint; a finished training is not run again', async () => {
    const cpuQueue = uniqueId('dqe-swift-cpu');
    const gpuQueue = uniqueId('dqe-swift-gpu');
    const runDir = join(dir, 'run-crash');
    const workflowId = uniqueId('dqe-swift-crash');
    const cpu = await createCpuWorker({ connection: t.workerConnection, taskQueue: cpuQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const workers = [await startGpuWorkerProcess(gpuQueue)];
    let killedAt = 0;
    let before: Awaited<ReturnType<typeof loggedSteps>> | undefined;
    try {
      await cpu.runUntil(async () => {
        const handle = await t.client.workflow.start('dqe', {
          taskQueue: cpuQueue,
          workflowId,
          // A short heartbeat timeout, so the dead worker's attempt is retried within seconds.
          args: [{ dataset, outputDir: runDir, seed: 1, twoFold: false, gpuTaskQueue: gpuQueue, gpuHeartbeatTimeoutSeconds: 5, trainer: swiftTrainer(2) }],
        });
        await waitFor('checkpoint-4', 300_000, () => checkpointAtLeast(runDir, 4));
        const pgid = await swiftPgid(runDir);
        workers[0]!.child.kill('SIGKILL');
        assert.equal(signalGroup(pgid, 'SIGKILL'), true);
        await workers[0]!.exited;
        assert.equal(await waitGroupGone(pgid, 10_000), true);
        const outputDir = await trainOutputDir(runDir);
        killedAt = (await checkpointAtLeast(runDir, 0))!;
        before = await loggedSteps(outputDir);
        workers.push(await startGpuWorkerProcess(gpuQueue));
        // Prediction is the first test's subject: stop the run once the training is recorded.
        await waitFor('the train phase', 300_000, async () => ((await readdir(workDirOf(runDir))).some((n) => workFilePattern('train', 'json').test(n)) ? true : undefined));
        await handle.cancel();
        await assert.rejects(handle.result(), WorkflowFailedError);
      });
    } finally {
      for (const w of workers) await stopWorkerProcess(w);
    }
    const outputDir = await trainOutputDir(runDir);
    const maxSteps = before!.steps[0]!.maxSteps;
    assert.ok(killedAt >= 4 && killedAt < maxSteps, `killed mid-training at checkpoint-${killedAt} of ${maxSteps}`);

    // swift's own log: the killed run's lines stay, then the resumed run starts at the step after the checkpoint.
    const after = await loggedSteps(outputDir);
    assert.deepEqual(after.lines.slice(0, before!.lines.length), before!.lines);
    assert.deepEqual(before!.steps.slice(0, killedAt).map((s) => s.step), range(1, killedAt));
    const resumed = after.steps.slice(before!.steps.length);
    assert.equal(resumed[0]!.step, killedAt + 1);
    assert.deepEqual(resumed.map((s) => s.step), range(killedAt + 1, maxSteps));
    // Weights, optimizer, scheduler, RNG and data order all came back: the losses are the uninterrupted run's.
    if (uninterrupted.size > 0) for (const s of resumed) assert.ok(Math.abs(s.loss! - uninterrupted.get(s.step)!) < 1e-4, `step ${s.step}: ${s.loss} vs ${uninterrupted.get(s.step)}`);
    console.error(`[swift resume] killed after checkpoint-${killedAt}; first logging.jsonl line of the resumed run: ${after.lines[before!.lines.length]}`);
    const sftLog = join(outputDir, '..', 'swift-sft.log');
    const checkpoint = join(outputDir, `checkpoint-${killedAt}`);
    assert.ok((await readFile(sftLog, 'utf8')).includes(`--resume_from_checkpoint ${checkpoint}`));
    // ...and swift's own dump of its arguments says so too.
    assert.ok((await readFile(sftLog, 'utf8')).includes(`resume_from_checkpoint=${checkpoint},`));

    // The history: trainModel's second attempt completed, resumed from that checkpoint.
    const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel')!;
    const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId))!;
    assert.equal(started.activityTaskStartedEventAttributes!.attempt, 2);
    const manifest = await only(workDirOf(runDir), workFilePattern('train', 'json'));
    const trained = JSON.parse(await readFile(manifest, 'utf8')) as TrainResult;
    assert.equal(trained.details.resumedFrom, checkpoint);
    assert.equal(trained.modelPath, join(outputDir, `checkpoint-${maxSteps}`));

    // A retry after training finished (the worker died before the phase was recorded) does not train again.
    const args = defaultPayloadConverter.fromPayload<TrainArgs>(scheduled.activityTaskScheduledEventAttributes!.input!.payloads![0]!);
    const gpuActivities = createGpuActivities(RUNTIME);
    const logBefore = await readFile(sftLog, 'utf8');
    for (const lost of [[manifest], [manifest, join(outputDir, '..', 'done.json')]]) {
      for (const f of lost) await rm(f);
      const again: TrainResult = await new MockActivityEnvironment().run(gpuActivities.trainModel, args);
      assert.equal(again.modelPath, trained.modelPath);
      assert.equal(again.trainSeconds, 0);
      assert.equal(again.details.reused, true);
      assert.equal(await readFile(sftLog, 'utf8'), logBefore, 'no swift sft was started');
      assert.deepEqual((await loggedSteps(outputDir)).lines, after.lines);
    }
  });

  test('SIGTERM lets training reach its next checkpoint before the worker stops; cancelling the run kills swift\'s whole process group', async () => {
    const cpuQueue = uniqueId('dqe-swift-cpu');
    const gpuQueue = uniqueId('dqe-swift-gpu');
    const runDir = join(dir, 'run-cancel');
    const cpu = await createCpuWorker({ connection: t.workerConnection, taskQueue: cpuQueue, deps: { cacheDir: join(dir, 'cache'), env: {} } });
    const draining = await startGpuWorkerProcess(gpuQueue, '--checkpoint-wait', '120');
    let stoppedAt = 0;
    let termAt = 0;
    let drainedLines = 0;
    try {
      await cpu.runUntil(async () => {
        const handle = await t.client.workflow.start('dqe', {
          taskQueue: cpuQueue,
          workflowId: uniqueId('dqe-swift-cancel'),
          // LoRA here (full fine-tuning above): its adapter checkpoints resume the same way. 20 epochs (400
          // steps) so that training cannot finish between the checkpoint the test waits for and the cancel
          // reaching swift (one heartbeat): with 5 epochs (100 steps) it sometimes did (a fresh-clone run,
          // resumed at checkpoint-16, cancelled after 18). The test's length does not grow: the cancel ends it.
          args: [{ dataset, outputDir: runDir, seed: 1, twoFold: false, gpuTaskQueue: gpuQueue, gpuHeartbeatTimeoutSeconds: 5, trainer: { ...swiftTrainer(20), tunerType: 'lora' as const } }],
        });
        termAt = await waitFor('checkpoint-2', 300_000, () => checkpointAtLeast(runDir, 2));
        const first = await swiftPgid(runDir);
        draining.child.kill('SIGTERM');
        const [code] = (await draining.exited) as [number | null];
        assert.equal(code, 0, 'the worker exits by itself once its job has stopped');
        assert.equal(signalGroup(first, 0), false, 'the worker stopped swift before exiting');
        stoppedAt = (await checkpointAtLeast(runDir, 0))!;
        drainedLines = (await loggedSteps(await trainOutputDir(runDir))).steps.length;
        const pending = (await handle.describe()).raw.pendingActivities?.[0];
        assert.equal(pending?.activityType?.name, 'trainModel');
        assert.equal(pending?.lastFailure?.applicationFailureInfo?.type, 'DqeWorkerShutdown');

        // A new worker resumes it; cancelling the run then stops swift at once.
        const gpu = await createGpuWorker({ connection: t.workerConnection, taskQueue: gpuQueue, swift: RUNTIME });
        await gpu.runUntil(async () => {
          await waitFor(`checkpoint-${stoppedAt + 2}`, 300_000, () => checkpointAtLeast(runDir, stoppedAt + 2));
          const pgid = await swiftPgid(runDir);
          assert.equal(signalGroup(pgid, 0), true);
          await handle.cancel();
          const err: unknown = await handle.result().then(() => assert.fail('the run should be cancelled'), (e: unknown) => e);
          assert.ok(err instanceof WorkflowFailedError);
          assert.ok(err.cause instanceof CancelledFailure);
          assert.equal(await waitGroupGone(pgid, 60_000), true, 'no swift process is left');
          // The activity has seen the group go: it removes its pid file last.
          await waitFor('the activity to finish', 30_000, async () => ((await readdir(join(await trainOutputDir(runDir), '..'))).includes('swift.pid.json') ? undefined : true));
        });
      });
    } finally {
      await stopWorkerProcess(draining);
    }
    // The draining worker ran on past the checkpoint it had at SIGTERM, and stopped at the next one.
    assert.ok(stoppedAt > termAt, `stopped at checkpoint-${stoppedAt}, SIGTERM at checkpoint-${termAt}`);
    const { steps, lines } = await loggedSteps(await trainOutputDir(runDir));
    assert.equal(steps[drainedLines]!.step, stoppedAt + 1, 'the second attempt resumed from the drained checkpoint');
    assert.ok(steps.at(-1)!.step < steps.at(-1)!.maxSteps, 'training stopped before its end');
    assert.ok(!lines.some((l) => l.includes('last_model_checkpoint')));
  });
});
