// Two-fold DQE (beyond the paper): the swapped split of the second pass, and how its verdicts
// combine with the first pass's.
//
// One-fold DQE predicts only the unsampled half, so only rows near a wrongly predicted unsampled row
// are ever judged. The second pass trains on the unsampled half and predicts the sampled half, so
// every row gets an out-of-sample prediction and noisy detection covers the whole set. The final
// set keeps the first pass's composition (sampled + uncovered + difficult + noisy rows judged right);
// the second pass only adds verdicts.
import type { Split } from './categorise.js';
import type { RowVerdict, Verdict } from './judging.js';
import type { NoisyPairLine, ReportPair } from './run-layout.js';

/** The split bytes with the halves swapped (1 = sampled becomes 0 and the reverse). */
export function swapSplit(split: Uint8Array): Uint8Array {
  return split.map((b) => (b === 1 ? 0 : 1));
}

/**
 * A second-pass pair (noisy-pairs.second-pass.jsonl) with its splits named as in the run (the second
 * pass's "unsampled" rows are the run's sampled half), marked `pass: 2`.
 */
export function secondPassPair(p: NoisyPairLine): ReportPair {
  const swap = (s: Split): Split => (s === 'sampled' ? 'unsampled' : 'sampled');
  return { pass: 2, ...p, x: { ...p.x, split: swap(p.x.split) }, neighbour: { ...p.neighbour, split: swap(p.neighbour.split) } };
}

/** Which verdict wins when both passes judged a row: any `mislabeled`, then `undecided`, then `label_ok`. */
const PRECEDENCE: Record<Verdict, number> = { mislabeled: 2, undecided: 1, label_ok: 0 };

/**
 * One verdict per row from both passes. A row judged mislabeled by either pass is mislabeled (the
 * point of the second pass is to find more of them); the first pass's verdict wins a tie.
 */
export function mergeVerdicts(first: Iterable<RowVerdict>, second: Iterable<RowVerdict>): Map<number, RowVerdict> {
  const out = new Map<number, RowVerdict>();
  for (const v of first) out.set(v.id, v);
  for (const v of second) {
    const had = out.get(v.id);
    if (!had || PRECEDENCE[v.verdict] > PRECEDENCE[had.verdict]) out.set(v.id, { ...v, reason: `second pass: ${v.reason}` });
  }
  return out;
}
