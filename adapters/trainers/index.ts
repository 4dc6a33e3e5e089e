// Builds the configured trainer; the only place that maps trainer names to implementations.
import { ApplicationFailure } from '@temporalio/common';
import type { TrainerConfig } from '../../core/input.js';
import { createLinearTrainer } from './linear.js';
import type { Trainer } from './types.js';

export type { Trainer, JobContext, Prediction } from './types.js';

export function createTrainer(config: TrainerConfig): Trainer {
  switch (config.name) {
    case 'linear':
      return createLinearTrainer(config);
    case 'swift':
      throw ApplicationFailure.nonRetryable('trainer "swift" runs only on a GPU worker (task queue dqe-gpu)', 'DqeWrongWorker');
  }
}
