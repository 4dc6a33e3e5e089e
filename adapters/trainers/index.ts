// Builds the configured trainer; the only place that maps trainer names to implementations.
import { dqeFailure } from '../failure.js';
import type { TrainerConfig } from '../../core/input.js';
import { createEncoderTrainer, type EncoderRuntime } from './encoder.js';
import { createLinearTrainer } from './linear.js';
import { createSwiftTrainer, type SwiftRuntime } from './swift.js';
import type { Trainer } from './types.js';

export type { Trainer, JobContext, Prediction } from './types.js';
export type { SwiftRuntime } from './swift.js';

/** Worker-side settings of the trainers (never part of the workflow input). */
export interface TrainerRuntime {
  /** How this worker runs swift; only the GPU worker sets it, so a CPU worker never runs swift. */
  swift?: SwiftRuntime;
  /** How this worker runs the encoder fine-tune. @default its process environment */
  encoder?: EncoderRuntime;
}

export function createTrainer(config: TrainerConfig, runtime: TrainerRuntime = {}): Trainer {
  switch (config.name) {
    case 'linear':
      return createLinearTrainer(config);
    case 'encoder':
      return createEncoderTrainer(config, runtime.encoder);
    case 'swift':
      if (!runtime.swift) throw dqeFailure('DqeWrongWorker', 'trainer "swift" runs only on a GPU worker (`dqe gpu-worker`, task queue dqe-gpu)');
      return createSwiftTrainer(config, runtime.swift);
  }
}
