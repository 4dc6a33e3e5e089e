// Merges a pair judge's answers into one verdict per row: a row that sits in several noisy pairs (a
// sampled row can be the nearest neighbour of many unsampled ones) gets the majority of what the judge
// said about it across those pairs.
import type { RowVerdict } from './judging.js';

/** What the judge said about one row in one pair. */
export interface RowJudgement {
  /** Kept-row id. */
  id: number;
  /** The row's label in the training set. */
  given: string;
  /** The label the judge found correct; absent when the pair got no valid answer. */
  judged?: string | undefined;
  /** The judge's one-sentence reason, or why there is no answer. */
  reason: string;
}

/**
 * One verdict per distinct row, in id order. Pairs without a valid answer carry no vote. Among the
 * votes, a label named by more than half of them wins: the given label → `label_ok`, another label →
 * `mislabeled` with that label suggested. No votes, or no strict majority (e.g. one pair says ham and
 * another spam) → `undecided`, since dropping or relabelling a row needs the judge to agree with itself.
 * The reason is the first reason given for the winning label, with the tally when the row was in
 * several pairs.
 */
export function mergeRowJudgements(judgements: readonly RowJudgement[]): RowVerdict[] {
  const byRow = new Map<number, RowJudgement[]>();
  for (const j of judgements) {
    const list = byRow.get(j.id);
    if (list) {
      if (list[0]!.given !== j.given) throw new Error(`mergeRowJudgements: row ${j.id} has two given labels, ${JSON.stringify(list[0]!.given)} and ${JSON.stringify(j.given)}`);
      list.push(j);
    } else byRow.set(j.id, [j]);
  }
  return [...byRow.keys()].sort((a, b) => a - b).map((id) => mergeRow(id, byRow.get(id)!));
}

function mergeRow(id: number, list: readonly RowJudgement[]): RowVerdict {
  const given = list[0]!.given;
  const votes = list.filter((j) => j.judged !== undefined);
  if (votes.length === 0) {
    const tally = list.length > 1 ? ` (${list.length} pairs, none answered)` : '';
    return { id, verdict: 'undecided', reason: `${list[0]!.reason}${tally}` };
  }
  const counts = new Map<string, number>();
  for (const v of votes) counts.set(v.judged!, (counts.get(v.judged!) ?? 0) + 1);
  let winner: string | undefined;
  for (const [label, n] of counts) if (2 * n > votes.length) winner = label;
  const tallyOf = () => [...counts].map(([l, n]) => `${l} ×${n}`).join(', ');
  if (winner === undefined) {
    return { id, verdict: 'undecided', reason: `the judge disagrees with itself across ${votes.length} pairs: ${tallyOf()}` };
  }
  const first = votes.find((v) => v.judged === winner)!;
  const tally = list.length > 1 ? ` (${counts.get(winner)} of ${list.length} pairs)` : '';
  const reason = `${first.reason}${tally}`;
  return winner === given ? { id, verdict: 'label_ok', reason } : { id, verdict: 'mislabeled', suggested: winner, reason };
}
