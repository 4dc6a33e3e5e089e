// DQE phase 9: the final training set from the splits, the categories and the verdicts.
import type { Category, Split } from './categorise.js';
import { randomSubset } from './evaluation.js';
import type { RowVerdict } from './judging.js';

export interface AssembleOptions {
  /** Rows judged mislabeled are dropped, or kept with the suggested label. */
  noisy: 'drop' | 'relabel';
  /** Rows the judge could not decide are kept or dropped. */
  undecided: 'keep' | 'drop';
  /**
   * At most this share of the rows in the final set (1: no cap). Where the sampled rows and the returned
   * categories together exceed it, the returned rows are thinned (`capReturned`); sampled rows always stay.
   * @default 1
   */
  maxShare?: number;
  /** Seed of the thinning draw. @default 0 */
  seed?: number;
}

export interface FinalRow {
  id: number;
  /** The label to train on: the given label, or the judge's suggestion when relabelled. */
  label: string;
  /** Why the row is in the final set. */
  source: 'sampled' | Category;
  relabelled: boolean;
}

export type Exclusion = 'unsampled_correct' | 'mislabeled' | 'undecided' | 'over_share';

export interface AssembleResult {
  rows: FinalRow[];
  /** Per-reason count of kept rows that are not in the final set. */
  excluded: Record<Exclusion, number>;
  relabelled: number;
}

/**
 * The returned rows (wrongly predicted unsampled rows in the final set) to keep when `slots` is fewer than
 * there are: each stratum (category × final label) keeps its share of the slots, largest remainder first (ties
 * to the earlier stratum: categories in the order uncovered, difficult, noisy, then labels in their order of
 * first appearance), drawn within the stratum uniformly with `seed` + the stratum's index. The ids to keep.
 */
export function capReturned(returned: readonly FinalRow[], slots: number, seed: number): Set<number> {
  if (slots >= returned.length) return new Set(returned.map((r) => r.id));
  const order: Array<FinalRow['source']> = ['uncovered', 'difficult', 'noisy'];
  const strata = new Map<string, number[]>();
  const sorted = [...returned].sort((a, b) => order.indexOf(a.source) - order.indexOf(b.source) || a.id - b.id);
  for (const r of sorted) {
    const key = `${r.source}\0${r.label}`;
    const ids = strata.get(key);
    if (ids) ids.push(r.id);
    else strata.set(key, [r.id]);
  }
  const groups = [...strata.values()];
  const exact = groups.map((ids) => (slots * ids.length) / returned.length);
  const take = exact.map(Math.floor);
  let left = slots - take.reduce((a, b) => a + b, 0);
  for (const s of groups.map((_, s) => s).sort((a, b) => exact[b]! - take[b]! - (exact[a]! - take[a]!) || a - b)) {
    if (left === 0) break;
    take[s]!++;
    left--;
  }
  const keep = new Set<number>();
  groups.forEach((ids, s) => {
    for (const id of randomSubset(ids, take[s]!, seed + s)) keep.add(id);
  });
  return keep;
}

/**
 * Final set = sampled + uncovered + difficult + noisy rows, minus rows judged mislabeled (or
 * relabelled with `noisy: 'relabel'`) and undecided rows with `undecided: 'drop'`. A noisy row whose
 * own label is judged right stays: its neighbour's label was the wrong one. With `maxShare` below 1 the
 * final set holds at most floor(maxShare × rows) rows where the sampled rows leave room: the returned rows
 * over it leave as `over_share` (`capReturned`). Rows come out in id order.
 */
export function assembleFinal(
  labels: readonly string[],
  splits: readonly Split[],
  categories: ReadonlyMap<number, Category>,
  verdicts: ReadonlyMap<number, RowVerdict>,
  opts: AssembleOptions,
): AssembleResult {
  const rows: FinalRow[] = [];
  const excluded: Record<Exclusion, number> = { unsampled_correct: 0, mislabeled: 0, undecided: 0, over_share: 0 };
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
  const maxShare = opts.maxShare ?? 1;
  if (!(maxShare > 0 && maxShare <= 1)) throw new RangeError(`maxShare must be in (0, 1], got ${maxShare}`);
  const returned = rows.filter((r) => r.source !== 'sampled');
  const slots = Math.max(0, Math.floor(maxShare * labels.length) - (rows.length - returned.length));
  if (returned.length <= slots) return { rows, excluded, relabelled };
  const keep = capReturned(returned, slots, opts.seed ?? 0);
  const capped = rows.filter((r) => r.source === 'sampled' || keep.has(r.id));
  excluded.over_share = rows.length - capped.length;
  relabelled -= rows.filter((r) => r.relabelled && !(r.source === 'sampled' || keep.has(r.id))).length;
  return { rows: capped, excluded, relabelled };
}

/** The run warning where the share cap left returned rows out (report.json `warnings`, the CLI's output). */
export function shareCapWarnings(excluded: Partial<Record<Exclusion, number>> | undefined, final: number, kept: number, maxShare: number | undefined): string[] {
  const over = excluded?.over_share ?? 0;
  if (over === 0) return [];
  return [
    `${over} wrongly predicted rows that DQE returns were left out by the share cap (maxShare ${maxShare}): the final set holds ${final} of ${kept} kept rows. ` +
      'The model erred on more unsampled rows than the cap leaves room for; a seeded draw kept each category and label their share. Raise maxShare (1: no cap) to keep them all.',
  ];
}
