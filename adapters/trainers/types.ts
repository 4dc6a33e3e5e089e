// The interface every trainer implements: fine-tune on the sampled rows, predict the unsampled ones.
import type { MatrixRef } from '../files.js';
import type { Prediction } from '../../core/run-layout.js';

// One line of predictions.jsonl, declared with the run directory's line types.
export type { Prediction };

/** How a long activity reports progress and learns it was cancelled. */
export interface JobContext {
  heartbeat(details?: unknown): void;
  /** Details of the last heartbeat of a previous attempt, for resuming. */
  readonly resumeDetails: unknown;
  readonly signal: AbortSignal;
  log(message: string, attrs?: Record<string, unknown>): void;
}

export interface TrainRequest {
  /** Folder of this run's training job; deterministic, so a retry finds its checkpoints. */
  jobDir: string;
  /** kept.jsonl: one `KeptRow` per kept row, in id order. */
  keptPath: string;
  matrix: MatrixRef;
  /** Kept-row ids to train on. */
  trainIds: readonly number[];
  /** Class index (into `labels`) of every kept row, in id order. */
  labelIds: Uint32Array;
  labels: readonly string[];
  seed: number;
}

export interface TrainOutput {
  /** Path the matching `predict` loads (a model file or a checkpoint folder). */
  modelPath: string;
  /** Seconds spent training in this attempt (0 when a finished model was found). */
  trainSeconds: number;
  details: Record<string, unknown>;
}

export interface PredictRequest {
  jobDir: string;
  keptPath: string;
  matrix: MatrixRef;
  modelPath: string;
  ids: readonly number[];
  labels: readonly string[];
}


export interface Trainer {
  readonly name: string;
  train(req: TrainRequest, ctx: JobContext): Promise<TrainOutput>;
  predict(req: PredictRequest, ctx: JobContext): Promise<Prediction[]>;
}
