// Verdicts on noisy pairs, and the offline judge's rule from out-of-sample class probabilities.

export type Verdict = 'label_ok' | 'mislabeled' | 'undecided';

export interface RowVerdict {
  /** Kept-row id. */
  id: number;
  verdict: Verdict;
  /** The label the judge thinks is right, when `verdict` is `mislabeled`. */
  suggested?: string;
  /** One sentence on why. */
  reason: string;
}

export interface OfflineJudgeThresholds {
  mislabeledBelow: number;
  okAtLeast: number;
}

/**
 * Judges one row from the out-of-sample probability of its own label: below `mislabeledBelow`
 * it is mislabeled (the suggestion is the most probable label), at or above `okAtLeast` its label
 * is kept, in between undecided.
 */
export function offlineVerdict(
  id: number,
  label: string,
  probs: ArrayLike<number>,
  labels: readonly string[],
  t: OfflineJudgeThresholds,
): RowVerdict {
  const own = labels.indexOf(label);
  if (own < 0) throw new Error(`offlineVerdict: label ${JSON.stringify(label)} is not in the label set`);
  let best = 0;
  for (let c = 1; c < labels.length; c++) if (probs[c]! > probs[best]!) best = c;
  const p = probs[own]!;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  if (p < t.mislabeledBelow && best !== own) {
    return { id, verdict: 'mislabeled', suggested: labels[best]!, reason: `out-of-sample P(${label}) = ${pct(p)}; most likely ${labels[best]} at ${pct(probs[best]!)}` };
  }
  if (p >= t.okAtLeast) return { id, verdict: 'label_ok', reason: `out-of-sample P(${label}) = ${pct(p)}` };
  return { id, verdict: 'undecided', reason: `out-of-sample P(${label}) = ${pct(p)} is between the thresholds` };
}
