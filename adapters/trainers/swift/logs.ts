// Reading what swift writes while it runs: its `logging.jsonl` (steps, loss, the final summary), the
// `last-checkpoint` link, a growing file read incrementally, and the meaning of its error output.
import { open, readlink, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

/** One training step as logging.jsonl records it (`"global_step/max_steps": "N/M"`). */
export interface StepEntry {
  step: number;
  maxSteps: number;
  loss?: number;
}

/** The last line of a finished `swift sft`: its presence means training completed. */
export interface FinalSummary {
  lastModelCheckpoint: string;
  globalStep: number;
  /** Rows swift trained on (its `train_dataset` statistics), when it says. */
  trainRows?: number;
}

export type LoggingEntry = { kind: 'step'; entry: StepEntry } | { kind: 'final'; summary: FinalSummary } | { kind: 'other' };

/** Classifies one parsed logging.jsonl object. */
export function parseLoggingEntry(obj: Record<string, unknown>): LoggingEntry {
  if (typeof obj.last_model_checkpoint === 'string' && typeof obj.global_step === 'number') {
    const size = typeof obj.train_dataset === 'string' ? /size=(\d+)/u.exec(obj.train_dataset)?.[1] : undefined;
    return { kind: 'final', summary: { lastModelCheckpoint: obj.last_model_checkpoint, globalStep: obj.global_step, ...(size ? { trainRows: Number(size) } : {}) } };
  }
  const progress = obj['global_step/max_steps'];
  const m = typeof progress === 'string' ? /^(\d+)\/(\d+)$/u.exec(progress) : null;
  // The `train_runtime` line repeats the last step's counter; it is not a step of its own.
  if (m && typeof obj.loss === 'number') return { kind: 'step', entry: { step: Number(m[1]), maxSteps: Number(m[2]), loss: obj.loss } };
  return { kind: 'other' };
}

/** Reads the complete lines appended to a file since the last call; a missing file reads as empty. */
export class FileTail {
  private offset = 0;
  private partial = '';
  constructor(readonly path: string) {}

  async readLines(): Promise<string[]> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const { size } = await fh.stat();
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      const text = this.partial + buf.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      return lines.filter((l) => l.length > 0);
    } finally {
      await fh.close();
    }
  }
}

/** Follows logging.jsonl: the latest step (later lines win, as a resumed run repeats steps) and the final summary. */
export class LoggingTail {
  private readonly tail: FileTail;
  latest: StepEntry | undefined;
  final: FinalSummary | undefined;
  constructor(path: string) {
    this.tail = new FileTail(path);
  }

  /** Reads new lines; returns the step entries among them, in order. */
  async poll(): Promise<StepEntry[]> {
    const steps: StepEntry[] = [];
    for (const line of await this.tail.readLines()) {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        continue; // a torn last line of a killed run; the next attempt writes whole lines after it
      }
      if (typeof obj !== 'object' || obj === null) continue;
      const e = parseLoggingEntry(obj as Record<string, unknown>);
      if (e.kind === 'step') {
        steps.push(e.entry);
        this.latest = e.entry;
      } else if (e.kind === 'final') this.final = e.summary;
    }
    return steps;
  }
}

/** The final summary of a completed run in `outputDir`, if its logging.jsonl has one. */
export async function readFinalSummary(outputDir: string): Promise<FinalSummary | undefined> {
  const t = new LoggingTail(join(outputDir, 'logging.jsonl'));
  await t.poll();
  return t.final;
}

/** The step number of a `checkpoint-N` folder. */
export function checkpointStep(path: string): number | undefined {
  const m = /^checkpoint-(\d+)$/u.exec(basename(path));
  return m ? Number(m[1]) : undefined;
}

/** A checkpoint training can resume from: swift writes trainer_state.json as it completes one. */
async function isCompleteCheckpoint(path: string): Promise<boolean> {
  if (checkpointStep(path) === undefined) return false;
  try {
    return (await stat(join(path, 'trainer_state.json'))).isFile();
  } catch {
    return false;
  }
}

/**
 * The checkpoint `<outputDir>/last-checkpoint` points at. swift repoints the link only once a
 * checkpoint is completely written, so a folder half-written by a killed save is never chosen.
 */
export async function lastCheckpointLink(outputDir: string): Promise<string | undefined> {
  try {
    const target = resolve(outputDir, await readlink(join(outputDir, 'last-checkpoint')));
    return (await isCompleteCheckpoint(target)) ? target : undefined;
  } catch {
    return undefined;
  }
}

/** The latest complete checkpoint among the link and the one a previous attempt last heartbeat. */
export async function resumeCheckpoint(outputDir: string, heartbeatCheckpoint: unknown): Promise<string | undefined> {
  const candidates = [await lastCheckpointLink(outputDir)];
  if (typeof heartbeatCheckpoint === 'string' && resolve(heartbeatCheckpoint).startsWith(`${resolve(outputDir)}/`) && (await isCompleteCheckpoint(heartbeatCheckpoint))) {
    candidates.push(resolve(heartbeatCheckpoint));
  }
  let best: string | undefined;
  for (const c of candidates) if (c && (best === undefined || checkpointStep(c)! > checkpointStep(best)!)) best = c;
  return best;
}

/** What a failed swift run's output says went wrong. */
export type FailureKind = 'cuda_oom' | 'not_installed' | 'unsupported_dtype' | 'invalid_config' | 'other';

const CUDA_OOM = /torch\.(?:cuda\.)?OutOfMemoryError|CUDA out of memory|CUDA error: out of memory|CUBLAS_STATUS_ALLOC_FAILED/u;
const NOT_INSTALLED = /ModuleNotFoundError: No module named '(?:swift|torch|transformers)'/u;
/** transformers' check when a bfloat16 model meets a device without bf16 (a CPU worker, a pre-Ampere GPU). */
const UNSUPPORTED_DTYPE = /Your setup doesn't support bf16\/gpu|bf16.*(?:requires|only supported)|does not support bf16/iu;
/** Errors that the same arguments will hit again on any worker. */
const INVALID_CONFIG = [
  /Failed to automatically match '(?:model_type|template_type)'/u,
  /ValueError: path: '.*' not found/u,
  /The local path does not exist, dataset_id/u,
  /ValueError: remaining_argv: \[/u,
  /error: argument --\S+: invalid/u,
];

export function classifyFailure(lines: readonly string[]): FailureKind {
  const text = lines.join('\n');
  if (CUDA_OOM.test(text)) return 'cuda_oom';
  if (NOT_INSTALLED.test(text)) return 'not_installed';
  if (UNSUPPORTED_DTYPE.test(text)) return 'unsupported_dtype';
  if (INVALID_CONFIG.some((re) => re.test(text))) return 'invalid_config';
  return 'other';
}
