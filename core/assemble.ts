// DQE phase 9: the final training set from the splits, the categories and the verdicts.
import type { Category, Split } from './categorise.js';
import type { RowVerdict } from './judging.js';

export interface AssembleOptions {
  /** Rows judged mislabeled are dropped, or kept with the suggested label. */
  noisy: 'drop' | 'relabel';
  /** Rows the judge could not decide are kept or dropped. */
  undecided: 'keep' | 'drop';
}

export interface FinalRow {
  id: number;
  /** The label to train on: the given label, or the judge's suggestion when relabelled. */
  label: string;
  /** Why the row is in the final set. */
  source: 'sampled' | Category;
  relabelled: boolean;
}

export type Exclusion = 'unsampled_correct' | 'mislabeled' | 'undecided';

export interface AssembleResult {
  rows: FinalRow[];
  /** Per-reason count of kept rows that are not in the final set. */
  excluded: Record<Exclusion, number>;
  relabelled: number;
}

/**
 * Final set = sampled + uncovered + difficult + noisy rows, minus rows judged mislabeled (or
 * relabelled with `noisy: 'relabel'`) and undecided rows with `undecided: 'drop'`. A noisy row whose
 * own label is judged right stays: its neighbour's label was the wrong one. Rows come out in id order.
 */
export function assembleFinal(
  labels: readonly string[],
  splits: readonly Split[],
  categories: ReadonlyMap<number, Category>,
  verdicts: ReadonlyMap<number, RowVerdict>,
  opts: AssembleOptions,
): AssembleResult {
  const rows: FinalRow[] = [];
  const excluded: Record<Exclusion, number> = { unsampled_correct: 0, mislabeled: 0, undecided: 0 };
  let relabelled = 0;
  for (let id = 0; id < labels.length; id++) {
    const source = splits[id] === 'sampled' ? 'sampled' : categories.get(id);
    if (source === undefined) {
      excluded.unsampled_correct++;
      continue;
    }
    const v = verdicts.get(id);
    if (v?.verdict === 'mislabeled') {
      if (opts.noisy === 'relabel' && v.suggested !== undefined) {
        rows.push({ id, label: v.suggested, source, relabelled: true });
        relabelled++;
      } else excluded.mislabeled++;
      continue;
    }
    if (v?.verdict === 'undecided' && opts.undecided === 'drop') {
      excluded.undecided++;
      continue;
    }
    rows.push({ id, label: labels[id]!, source, relabelled: false });
  }
  return { rows, excluded, relabelled };
}
