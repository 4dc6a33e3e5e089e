// The interface every judge implements: decide, for each noisy pair, which of the two labels are wrong.
import type { Split } from '../../core/categorise.js';
import type { RowVerdict } from '../../core/judging.js';
import type { MatrixRef } from '../files.js';
import type { JobContext } from '../trainers/types.js';

export interface PairRow {
  id: number;
  /** Input row number. */
  row: number;
  text: string;
  label: string;
  split: Split;
}

export interface NoisyPair {
  /** The wrongly predicted unsampled row. */
  x: PairRow;
  /** Its nearest neighbour, which carries another label. */
  neighbour: PairRow;
  similarity: number;
}

export interface JudgeRequest {
  pairs: readonly NoisyPair[];
  labels: readonly string[];
  matrix: MatrixRef;
  /** Class index of every kept row, in id order. */
  labelIds: Uint32Array;
  splits: readonly Split[];
  /** Out-of-sample class probabilities of unsampled rows from the trainer, when it gives them. */
  unsampledProbs: ReadonlyMap<number, readonly number[]>;
  seed: number;
}

export interface JudgeUsage {
  requests: number;
  cachedPairs: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface JudgeOutput {
  /** One verdict per distinct row of the pairs, in id order. */
  verdicts: RowVerdict[];
  usage?: JudgeUsage;
}

export interface Judge {
  readonly name: string;
  judge(req: JudgeRequest, ctx: JobContext): Promise<JudgeOutput>;
}
