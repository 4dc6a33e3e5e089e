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
  seed: number;
}

/** What a remote judge spent in the attempt that finished the phase. */
export interface JudgeUsage {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Noisy pairs whose answer came from the verdict cache (no request). */
  cachedPairs: number;
  promptTokens: number;
  completionTokens: number;
  /** Estimated cost in US dollars; null when no price is known for the model. */
  costUsd: number | null;
  model?: string;
  /** Distinct pair prompts sent (mirror-image pairs and duplicates share one). */
  pairsAsked?: number;
  /** Answers that failed validation (each was retried, or its pair left undecided). */
  invalidAnswers?: number;
  /** Pair prompts that got no valid answer after every retry. */
  unansweredPairs?: number;
  /** Retries after transient faults (429, 5xx, network, malformed bodies). */
  retries?: number;
  /** How answers were constrained: structured outputs, or plain JSON mode after the endpoint refused schemas. */
  responseFormat?: 'json_schema' | 'json_object';
  /** USD per million tokens used for `costUsd`. */
  pricePerMTok?: { input: number; output: number } | null;
}

export interface JudgeOutput {
  /** One verdict per distinct row of the pairs (the offline judge with scope 'all' adds rows outside them it flags), in id order. */
  verdicts: RowVerdict[];
  usage?: JudgeUsage;
}

export interface Judge {
  readonly name: string;
  judge(req: JudgeRequest, ctx: JobContext): Promise<JudgeOutput>;
}
