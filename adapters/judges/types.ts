// The interface every judge implements: decide, for each noisy pair, which of the two labels are wrong.
import type { Split } from '../../core/categorise.js';
import type { JudgeUsage, RowVerdict } from '../../core/judging.js';
import type { NoisyPair, NoisyPairSide } from '../../core/run-layout.js';
import type { MatrixRef } from '../files.js';
import type { JobContext } from '../trainers/types.js';

// The judge's input rows are declared with the run directory's line types.
export type { JudgeUsage, NoisyPair, NoisyPairSide as PairRow };

export interface JudgeRequest {
  pairs: readonly NoisyPair[];
  labels: readonly string[];
  matrix: MatrixRef;
  /** Class index of every kept row, in id order. */
  labelIds: Uint32Array;
  splits: readonly Split[];
  /** Ids of every wrongly predicted row of this pass (all three categories): what scope 'wrong' may flag. */
  wrongIds?: readonly number[];
  seed: number;
  /**
   * A folder of the run the judge may keep evidence in for its other calls (two-fold's second pass
   * judges from the same cross-fitted probabilities as the first).
   */
  workDir?: string;
  /**
   * The nearest other rows, from the run's vector store, of the rows this judge needs (the categorise activity's
   * `neighbours` phase: `idsPath` the `rows` kept-row ids ascending, `path` rows × k int32): the offline judge's
   * neighbour evidence. Without it (or with another k) the judge searches every row exactly itself.
   */
  nearest?: { path: string; idsPath: string; rows: number; k: number };
}


export interface JudgeOutput {
  /** One verdict per distinct row of the pairs (the offline judge with scope 'wrong' or 'all' adds rows outside them it flags), in id order. */
  verdicts: RowVerdict[];
  usage?: JudgeUsage;
  /** What the verdicts were decided from, in words (the offline judge: its probabilities and neighbours). */
  evidence?: string;
}

export interface Judge {
  readonly name: string;
  judge(req: JudgeRequest, ctx: JobContext): Promise<JudgeOutput>;
}
