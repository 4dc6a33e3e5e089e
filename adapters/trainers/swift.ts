// The `swift` trainer: fine-tunes an instruction LLM with ms-swift (`swift sft`) and answers with it
// (`swift infer`), durably: it resumes a crashed training from its last checkpoint, never trains a
// finished one again, and kills swift's whole process group when cancelled.
import { constants } from 'node:fs';
import { access, mkdir, rm } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { dqeFailure } from '../failure.js';
import { mapAnswerToLabel, swiftMessagesRow } from '../../core/labels.js';
import { VENV_BIN } from '../../infra/python-env.js';
import { AtomicWriter, exists, readJson, readJsonl, writeJsonAtomic } from '../files.js';
import { inferArgs, maxTextChars, sftArgs, type SwiftConfig } from './swift/args.js';
import { FileTail, LoggingTail, checkpointStep, classifyFailure, lastCheckpointLink, readFinalSummary, resumeCheckpoint } from './swift/logs.js';
import { runSwift, stopSurvivor, SwiftNotFoundError, type RunSwiftOptions, type SwiftRun } from './swift/process.js';
import type { JobContext, PredictRequest, Prediction, TrainOutput, TrainRequest, Trainer } from './types.js';

export type { SwiftConfig } from './swift/args.js';

/** ms between SIGTERM and SIGKILL of swift's process group: time for it to exit and free GPU memory. */
export const DEFAULT_KILL_GRACE_MS = 30_000;
/** ms between reads of swift's logs, each followed by a heartbeat (Temporal throttles what it sends). */
export const DEFAULT_POLL_MS = 2_000;

/** How the GPU worker runs swift; worker-side settings, never part of the workflow input. */
export interface SwiftRuntime {
  /** The `swift` executable. @default $DQE_SWIFT_BIN, else `.venv/bin/swift` of this checkout if present, else `swift` on PATH */
  bin?: string;
  /** Environment of the swift processes (hub tokens, HF_HOME, CUDA_VISIBLE_DEVICES...). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** ms between SIGTERM and SIGKILL of swift's process group. @default 30000 */
  killGraceMs?: number;
  /** ms between reads of swift's logs and heartbeats. @default 2000 */
  pollMs?: number;
  /**
   * Aborted when the worker is asked to shut down: a training then runs on until its next checkpoint
   * (at most `checkpointWaitMs`), stops, and fails retryably so another worker resumes it from there.
   */
  drainSignal?: AbortSignal;
  /** How long a draining training may run on to reach its next checkpoint, in ms. @default 0 (stop at once) */
  checkpointWaitMs?: number;
}

const INSTALL_HINT =
  'install ms-swift 4.6.0 on the GPU worker: `python3 -m venv .venv && .venv/bin/pip install -r infra/requirements/swift.txt` ' +
  '(see docs/gpu.md), or point DQE_SWIFT_BIN (`dqe gpu-worker --swift-bin`) at an installed swift';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The swift executable this worker runs; a non-retryable failure when there is none. */
export async function resolveSwiftBin(runtime: SwiftRuntime = {}): Promise<string> {
  const env = runtime.env ?? process.env;
  const venvSwift = join(VENV_BIN, 'swift');
  const wanted = runtime.bin ?? env.DQE_SWIFT_BIN ?? ((await isExecutable(venvSwift)) ? venvSwift : 'swift');
  if (wanted.includes('/')) {
    if (await isExecutable(wanted)) return resolve(wanted);
  } else {
    for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
      if (await isExecutable(join(dir, wanted))) return join(dir, wanted);
    }
  }
  throw dqeFailure('DqeSwiftNotInstalled', `ms-swift not found on GPU worker ${hostname()}: no executable ${wanted}; ${INSTALL_HINT}`);
}

/** An absolute local model folder, or the hub id unchanged; swift would take a missing relative path for a hub id. */
async function resolveModel(model: string): Promise<string> {
  const looksLocal = isAbsolute(model) || /^\.{1,2}\//u.test(model) || model.startsWith('~/');
  const local = model.startsWith('~/') ? join(homedir(), model.slice(2)) : resolve(model);
  if (await exists(local)) return local;
  if (looksLocal) {
    throw dqeFailure('DqeSwiftModelNotFound', `trainer.model: ${model} does not exist on GPU worker ${hostname()}; give a folder the GPU worker can read, or a hub id such as Qwen/Qwen2.5-7B-Instruct`);
  }
  return model;
}

function swiftEnv(cfg: SwiftConfig, runtime: SwiftRuntime): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(runtime.env ?? process.env), PYTHONUNBUFFERED: '1' };
  // swift re-launches itself under torchrun whenever NPROC_PER_NODE is set, even to 1.
  if (cfg.gpus > 1) env.NPROC_PER_NODE = String(cfg.gpus);
  else delete env.NPROC_PER_NODE;
  return env;
}

/** Runs swift; an executable that vanished since it was found is still "not installed". */
async function runOrExplain(o: RunSwiftOptions): Promise<SwiftRun> {
  try {
    return await runSwift(o);
  } catch (err) {
    if (err instanceof SwiftNotFoundError) throw dqeFailure('DqeSwiftNotInstalled', `${err.message}; ${INSTALL_HINT}`, { cause: err });
    throw err;
  }
}

/** The failure a swift run that did not succeed becomes, with its last lines of output. */
export function swiftFailure(command: 'sft' | 'infer', run: SwiftRun, logPath: string): ApplicationFailure {
  const how = run.exitCode !== undefined ? `exited with code ${run.exitCode}` : `was killed by ${run.signal ?? 'a signal'}`;
  const output = `full log: ${logPath}\nlast ${run.tail.length} lines of its output:\n${run.tail.join('\n')}`;
  const details = { command, exitCode: run.exitCode ?? null, signal: run.signal ?? null, logPath, outputTail: run.tail };
  switch (classifyFailure(run.tail)) {
    case 'cuda_oom':
      return dqeFailure('DqeCudaOutOfMemory', `swift ${command} ran out of GPU memory (CUDA out of memory) on ${hostname()}: lower trainer.batchSize or trainer.maxLength, ` +
          `use trainer.tunerType "lora", trainer.deepspeed "zero3", or more GPUs (trainer.gpus); for infer lower trainer.inferBatchSize. ${output}`, { details });
    case 'not_installed':
      return dqeFailure('DqeSwiftNotInstalled', `swift ${command} ${how}: its Python environment is incomplete; ${INSTALL_HINT}. ${output}`, { details });
    case 'unsupported_dtype':
      return dqeFailure(
        'DqeSwiftInvalidConfig',
        `swift ${command} ${how}: the model runs in bfloat16, which ${hostname()} cannot (no GPU, or one older than Ampere); ` +
          `run it on a GPU worker with bf16, or pass another dtype in trainer.extraArgs/inferExtraArgs, e.g. ["--torch_dtype", "float16"] (float32 on a CPU). ${output}`,
        { details },
      );
    case 'invalid_config':
      return dqeFailure('DqeSwiftInvalidConfig', `swift ${command} rejected its arguments (${how}); check the trainer fields. ${output}`, { details });
    case 'other':
      return dqeFailure('DqeSwiftFailed', `swift ${command} ${how}. ${output}`, { details });
  }
}

/** A kept row as far as swift needs it. */
interface TextRow {
  id: number;
  text: string;
}

/** What a training job leaves in its folder when it has finished. */
interface DoneMarker {
  output: Omit<TrainOutput, 'trainSeconds'>;
  finishedAt: string;
}

/** Heartbeat details of a training, also what a retried attempt resumes from. */
export interface TrainProgress {
  phase: 'train';
  step: number;
  maxSteps: number | null;
  loss: number | null;
  lastCheckpoint: string | null;
  resumedFrom: string | null;
}

/** Heartbeat details of a prediction. */
export interface PredictProgress {
  phase: 'predict';
  done: number;
  total: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createSwiftTrainer(cfg: SwiftConfig, runtime: SwiftRuntime = {}): Trainer {
  const killGraceMs = runtime.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const pollMs = runtime.pollMs ?? DEFAULT_POLL_MS;
  const cut = (text: string) => text.slice(0, maxTextChars(cfg));

  /** Stops a swift an earlier attempt left running here, so two never write one folder. */
  async function stopEarlierAttempt(jobDir: string, ctx: JobContext): Promise<void> {
    const pgid = await stopSurvivor(join(jobDir, 'swift.pid.json'), killGraceMs);
    if (pgid !== undefined) ctx.log('stopped the swift process group of an earlier attempt', { pgid, jobDir });
  }

  async function finishTraining(jobDir: string, output: DoneMarker['output']): Promise<void> {
    await writeJsonAtomic(join(jobDir, 'done.json'), { output, finishedAt: new Date().toISOString() } satisfies DoneMarker);
  }

  async function train(req: TrainRequest, ctx: JobContext): Promise<TrainOutput> {
    const started = performance.now();
    const jobDir = resolve(req.jobDir);
    const outputDir = join(jobDir, 'output');
    const donePath = join(jobDir, 'done.json');
    if (await exists(donePath)) {
      const done = await readJson<DoneMarker>(donePath);
      ctx.log('swift training already finished; not training again', { modelPath: done.output.modelPath });
      return { ...done.output, trainSeconds: 0, details: { ...done.output.details, reused: true } };
    }
    await mkdir(jobDir, { recursive: true });
    const bin = await resolveSwiftBin(runtime);
    const model = await resolveModel(cfg.model);
    await stopEarlierAttempt(jobDir, ctx);

    // Finished, but the worker died before it could write the marker: take the result as it is.
    const finished = await readFinalSummary(outputDir);
    if (finished && (await exists(finished.lastModelCheckpoint))) {
      const output = { modelPath: finished.lastModelCheckpoint, details: { tunerType: cfg.tunerType, steps: finished.globalStep, trainRows: finished.trainRows ?? null } };
      await finishTraining(jobDir, output);
      ctx.log('swift training had finished before the worker stopped; not training again', { modelPath: output.modelPath });
      return { ...output, trainSeconds: 0, details: { ...output.details, reused: true } };
    }

    const details = (ctx.resumeDetails ?? {}) as Partial<TrainProgress>;
    const resumeFrom = await resumeCheckpoint(outputDir, details.lastCheckpoint);
    // A fresh run into an old folder would keep stale checkpoints and append to the old logging.jsonl.
    if (!resumeFrom) await rm(outputDir, { recursive: true, force: true });
    await mkdir(outputDir, { recursive: true });

    const dataset = join(jobDir, 'train.jsonl');
    if (!(await exists(dataset))) await writeTrainRows(req, dataset);
    const args = sftArgs(cfg, req.seed, { model, dataset, outputDir, resumeFrom });
    ctx.log(resumeFrom ? 'resuming swift sft from its last checkpoint' : 'starting swift sft', { resumeFrom, outputDir });

    const logging = new LoggingTail(join(outputDir, 'logging.jsonl'));
    const progress: TrainProgress = { phase: 'train', step: checkpointStep(resumeFrom ?? '') ?? 0, maxSteps: null, loss: null, lastCheckpoint: resumeFrom ?? null, resumedFrom: resumeFrom ?? null };
    const logPath = join(jobDir, 'swift-sft.log');
    let drainedAt: string | null | undefined;
    const run = await runOrExplain({
      bin, args, cwd: jobDir, env: swiftEnv(cfg, runtime), logPath, pidPath: join(jobDir, 'swift.pid.json'), marker: outputDir,
      signal: anySignal(ctx.signal, runtime.drainSignal), killGraceMs, pollMs,
      onPoll: async () => {
        await logging.poll();
        if (logging.latest) Object.assign(progress, { step: logging.latest.step, maxSteps: logging.latest.maxSteps, loss: logging.latest.loss ?? null });
        progress.lastCheckpoint = (await lastCheckpointLink(outputDir)) ?? progress.lastCheckpoint;
        ctx.heartbeat({ ...progress });
      },
      beforeKill: async (exited) => {
        if (ctx.signal.aborted || !runtime.drainSignal?.aborted || !runtime.checkpointWaitMs) return;
        // Worker shutdown: run on to the next checkpoint so the retry loses nothing, heartbeating meanwhile.
        const from = progress.lastCheckpoint;
        const deadline = Date.now() + runtime.checkpointWaitMs;
        ctx.log('worker shutting down: letting swift reach its next checkpoint', { from, waitMs: runtime.checkpointWaitMs });
        let gone = false;
        void exited.then(() => (gone = true));
        while (!gone && !ctx.signal.aborted && Date.now() < deadline) {
          await sleep(Math.min(pollMs, 500));
          const now = await lastCheckpointLink(outputDir);
          ctx.heartbeat({ ...progress, lastCheckpoint: now ?? from });
          if (now && now !== from) break;
        }
        drainedAt = await lastCheckpointLink(outputDir);
      },
    });
    if (run.cancelled) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const at = drainedAt ?? (await lastCheckpointLink(outputDir)) ?? null;
      throw dqeFailure('DqeWorkerShutdown', `GPU worker ${hostname()} shut down; swift sft stopped at ${at ?? 'no checkpoint yet'} and resumes from there on retry`, { details: { lastCheckpoint: at } });
    }
    if (run.exitCode !== 0) throw swiftFailure('sft', run, logPath);
    const summary = (await readFinalSummary(outputDir)) ?? logging.final;
    if (!summary) throw dqeFailure('DqeSwiftFailed', `swift sft exited 0 but ${join(outputDir, 'logging.jsonl')} has no final summary; last lines:\n${run.tail.join('\n')}`);
    const output = {
      modelPath: summary.lastModelCheckpoint,
      details: { tunerType: cfg.tunerType, steps: summary.globalStep, trainRows: summary.trainRows ?? null, finalLoss: progress.loss, resumedFrom: resumeFrom ?? null },
    };
    await finishTraining(jobDir, output);
    if (summary.trainRows !== undefined && summary.trainRows < req.trainIds.length) {
      ctx.log('swift dropped training rows longer than maxLength tokens', { written: req.trainIds.length, trained: summary.trainRows });
    }
    return { ...output, trainSeconds: (performance.now() - started) / 1000 };
  }

  async function writeTrainRows(req: TrainRequest, path: string): Promise<void> {
    const wanted = new Set(req.trainIds);
    const out = await AtomicWriter.create(path);
    let written = 0;
    for await (const r of readJsonl<TextRow>(req.keptPath)) {
      if (!wanted.has(r.id)) continue;
      await out.writeLine(swiftMessagesRow(cut(r.text), req.labels[req.labelIds[r.id]!], req.labels));
      written++;
    }
    if (written !== wanted.size) {
      await out.abort();
      throw new Error(`${req.keptPath}: found ${written} of the ${wanted.size} rows to train on`);
    }
    await out.commit();
  }

  async function predict(req: PredictRequest, ctx: JobContext): Promise<Prediction[]> {
    const jobDir = resolve(req.jobDir);
    await mkdir(jobDir, { recursive: true });
    const bin = await resolveSwiftBin(runtime);
    const baseModel = await resolveModel(cfg.model);
    await stopEarlierAttempt(jobDir, ctx);

    // The rows in id order; result line i answers input line i (swift drops any id field).
    const dataset = join(jobDir, 'infer.jsonl');
    const wanted = new Set(req.ids);
    const order: number[] = [];
    const out = await AtomicWriter.create(dataset);
    for await (const r of readJsonl<TextRow>(req.keptPath)) {
      if (!wanted.has(r.id)) continue;
      await out.writeLine(swiftMessagesRow(cut(r.text), undefined, req.labels));
      order.push(r.id);
    }
    if (order.length !== wanted.size) {
      await out.abort();
      throw new Error(`${req.keptPath}: found ${order.length} of the ${wanted.size} rows to predict`);
    }
    await out.commit();

    const resultPath = join(jobDir, 'result.jsonl');
    await rm(resultPath, { force: true }); // swift appends to an existing result file
    const args = inferArgs(cfg, { modelPath: req.modelPath, baseModel, dataset, resultPath });
    const results = new FileTail(resultPath);
    const progress: PredictProgress = { phase: 'predict', done: 0, total: order.length };
    const logPath = join(jobDir, 'swift-infer.log');
    const run = await runOrExplain({
      bin, args, cwd: jobDir, env: swiftEnv(cfg, runtime), logPath, pidPath: join(jobDir, 'swift.pid.json'), marker: resultPath,
      signal: anySignal(ctx.signal, runtime.drainSignal), killGraceMs, pollMs,
      onPoll: async () => {
        progress.done += (await results.readLines()).length;
        ctx.heartbeat({ ...progress });
      },
    });
    if (run.cancelled) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw dqeFailure('DqeWorkerShutdown', `GPU worker ${hostname()} shut down during swift infer; the prediction runs again on retry`);
    }
    if (run.exitCode !== 0) throw swiftFailure('infer', run, logPath);
    return mapResults(dataset, resultPath, order, req.labels);
  }

  return { name: 'swift', train, predict };
}

/** One line of swift infer's result file. */
interface ResultLine {
  response: string | null;
  messages: Array<{ role: string; content: string }>;
}

/**
 * Maps result line i to input row i, after checking there is one result per row and that each
 * echoes its row's prompt (a dropped or reordered row would otherwise shift answers onto wrong rows).
 */
export async function mapResults(inputPath: string, resultPath: string, ids: readonly number[], labels: readonly string[]): Promise<Prediction[]> {
  const inputs = readJsonl<{ messages: Array<{ role: string; content: string }> }>(inputPath)[Symbol.asyncIterator]();
  const out: Prediction[] = [];
  const mismatch = (message: string) =>
    dqeFailure('DqeSwiftResultMismatch', `${resultPath}: ${message}; the answers cannot be matched to rows`);
  for await (const res of readJsonl<ResultLine>(resultPath)) {
    const i = out.length;
    const input = await inputs.next();
    if (input.done || i >= ids.length) throw mismatch(`more result lines than the ${ids.length} rows of ${inputPath}`);
    const want = input.value.messages;
    const got = res.messages ?? [];
    for (let m = 0; m < want.length; m++) {
      if (got[m]?.role !== want[m]!.role || got[m]?.content !== want[m]!.content) throw mismatch(`line ${i + 1} does not echo line ${i + 1} of ${inputPath} (message ${m}, role ${want[m]!.role})`);
    }
    const answer = res.response ?? '';
    out.push({ id: ids[i]!, predicted: mapAnswerToLabel(answer, labels) ?? null, answer });
  }
  if (out.length !== ids.length) throw mismatch(`${out.length} result lines for ${ids.length} rows`);
  return out;
}

/** Aborted when the activity is cancelled or, if there is one, when the worker drains. */
function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b ? AbortSignal.any([a, b]) : a;
}
