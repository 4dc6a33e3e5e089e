// Builds the configured judge; the only place that maps judge names to implementations.
import { ApplicationFailure } from '@temporalio/common';
import type { JudgeConfig } from '../../core/input.js';
import { createOfflineJudge } from './offline.js';
import type { Judge } from './types.js';

export type { Judge, NoisyPair, PairRow } from './types.js';

export function createJudge(config: JudgeConfig, _env: NodeJS.ProcessEnv, _cacheDir: string): Judge {
  switch (config.name) {
    case 'offline':
      return createOfflineJudge(config);
    case 'openai':
      throw ApplicationFailure.nonRetryable('judge "openai" is not available in this build yet', 'DqeNotImplemented');
  }
}
