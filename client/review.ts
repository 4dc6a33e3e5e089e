// The human review step from the caller's side: what a run waiting for review asks about, and
// sending the reviewer's decisions (the `submitReview` update).
import type { Client } from '@temporalio/client';
import { readJsonlAll } from '../adapters/files.js';
import type { FlaggedRowLine, NoisyPairLine, NoisyPairLineSide, ReportPair } from '../core/run-layout.js';
import { secondPassPair } from '../core/two-fold.js';
import type { ReviewSubmission } from '../core/review.js';
import type { ReviewSummary } from '../activities/refs.js';
import { reviewQuery, submitReviewUpdate, type DqeReviewState } from '../workflows/index.js';

export type { ReviewSubmission, ReviewDecision } from '../core/review.js';

/** One side of a noisy pair as noisy-pairs.jsonl holds it (`row`, the input row number, is what decisions name). */
export type ReviewPairSide = NoisyPairLineSide;

/**
 * One noisy pair to review: the wrongly predicted row `x` and its nearest neighbour, which carries
 * another label, and the pass that found it (two-fold: 2 for noisy-pairs.second-pass.jsonl, whose
 * splits are named as in the run).
 */
export type ReviewPair = ReportPair;

/** The `review` query: whether the run waits for review, and where its pairs are. */
export async function getDqeReview(client: Client, workflowId: string): Promise<DqeReviewState> {
  return client.workflow.getHandle(workflowId).query(reviewQuery);
}

/**
 * The noisy pairs to review, read from the run directory (`state.pairsPath`, and two-fold
 * `state.secondPassPairsPath`): the reviewer's machine must see the run directory, as it sees the outputs.
 */
export async function readReviewPairs(state: DqeReviewState): Promise<ReviewPair[]> {
  if (!state.pairsPath) throw new Error(`no pairs to review yet (review state: ${state.state})`);
  const first = (await readJsonlAll<NoisyPairLine>(state.pairsPath)).map((p): ReviewPair => ({ pass: 1, ...p }));
  const second = state.secondPassPairsPath ? (await readJsonlAll<NoisyPairLine>(state.secondPassPairsPath)).map(secondPassPair) : [];
  return [...first, ...second];
}

/** A row outside the noisy pairs that the judge flagged, with the pass that flagged it (two-fold: 2 for flagged.second-pass.jsonl). */
export type ReviewFlaggedRow = FlaggedRowLine & { pass: 1 | 2 };

/**
 * The rows the judge flagged outside the noisy pairs (offline judge, scope 'wrong' or 'all'), read from the
 * run directory (`state.flaggedPath`, and two-fold `state.secondPassFlaggedPath`); none for a run whose judge
 * only judges pairs.
 */
export async function readReviewFlagged(state: DqeReviewState): Promise<ReviewFlaggedRow[]> {
  const read = async (path: string | undefined, pass: 1 | 2) => (path ? (await readJsonlAll<FlaggedRowLine>(path)).map((f): ReviewFlaggedRow => ({ ...f, pass })) : []);
  return [...(await read(state.flaggedPath, 1)), ...(await read(state.secondPassFlaggedPath, 2))];
}

/**
 * Sends the review: no decisions accepts every verdict; each decision overrides one row's verdict.
 * Rejected at once (the run keeps waiting) when the run is not waiting for review or a decision is
 * invalid: a `WorkflowUpdateFailedError` whose cause is an ApplicationFailure of type
 * `DqeNotAwaitingReview` or `DqeInvalidReview`, naming the bad decision.
 */
export async function submitDqeReview(client: Client, workflowId: string, submission: ReviewSubmission): Promise<ReviewSummary> {
  return client.workflow.getHandle(workflowId).executeUpdate(submitReviewUpdate, { args: [submission] });
}
