// Verdicts on noisy pairs, and the offline judge's rules from out-of-sample class probabilities.
import { sampleRows } from './index-calibration.js';

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

export interface OfflineJudgeThresholds {
  mislabeledBelow: number;
  okAtLeast: number;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function ownIndex(label: string, labels: readonly string[]): number {
  const own = labels.indexOf(label);
  if (own < 0) throw new Error(`offline judge: label ${JSON.stringify(label)} is not in the label set`);
  return own;
}

/**
 * The `fixed` rule: judges one row from the out-of-sample probability of its own label: below
 * `mislabeledBelow` it is mislabeled (the suggestion is the most probable label), at or above
 * `okAtLeast` its label is kept, in between undecided.
 */
export function offlineVerdict(
  id: number,
  label: string,
  probs: ArrayLike<number>,
  labels: readonly string[],
  t: OfflineJudgeThresholds,
): RowVerdict {
  const own = ownIndex(label, labels);
  let best = 0;
  for (let c = 1; c < labels.length; c++) if (probs[c]! > probs[best]!) best = c;
  const p = probs[own]!;
  if (p < t.mislabeledBelow && best !== own) {
    return { id, verdict: 'mislabeled', suggested: labels[best]!, reason: `out-of-sample P(${label}) = ${pct(p)}; most likely ${labels[best]} at ${pct(probs[best]!)}` };
  }
  if (p >= t.okAtLeast) return { id, verdict: 'label_ok', reason: `out-of-sample P(${label}) = ${pct(p)}` };
  return { id, verdict: 'undecided', reason: `out-of-sample P(${label}) = ${pct(p)} is between the thresholds` };
}

/**
 * Confident learning's per-class thresholds (Northcutt et al. 2021, cleanlab's confident joint):
 * t_j = mean of p_j over the rows labelled j. `probs` is N × K row-major, `labelIds` the N class
 * indices. A class no row carries gets +Infinity (no row is ever confidently of it).
 */
export function classThresholds(probs: ArrayLike<number>, labelIds: ArrayLike<number>, classes: number): number[] {
  const n = labelIds.length;
  if (probs.length !== n * classes) throw new Error(`classThresholds: expected ${n}×${classes} probabilities, got ${probs.length}`);
  const sum = new Array<number>(classes).fill(0);
  const count = new Array<number>(classes).fill(0);
  for (let i = 0; i < n; i++) {
    const j = labelIds[i]!;
    sum[j] = sum[j]! + probs[i * classes + j]!;
    count[j]!++;
  }
  return sum.map((s, j) => (count[j]! > 0 ? s / count[j]! : Infinity));
}

/**
 * Slack on the threshold comparison, as cleanlab's confident joint has (1e-6), so a row whose
 * probability equals its class's mean up to rounding still counts as confident.
 */
export const CONFIDENT_EPSILON = 1e-6;

/** How a verdict's reason names the numbers it was decided on: first mention, and the symbol after it. */
export interface EvidenceName {
  first: string;
  symbol: string;
}
export const PROBE_EVIDENCE: EvidenceName = { first: 'out-of-sample P', symbol: 'P' };
/** The evidence with neighbours: E = (out-of-sample P + the class's share among the row's `k` nearest other rows) / 2. */
export const neighbourEvidenceName = (k: number): EvidenceName => ({ first: `E = (out-of-sample P + share of ${k} nearest rows) / 2, E`, symbol: 'E' });

/**
 * Each row's label shares among its nearest other rows: `nearest` holds `k` row ids per row (row-major,
 * −1 where a row has fewer neighbours), and a row's share of class c is (neighbours labelled c) / k.
 * `rows`: how many rows `nearest` holds (default every row of `labelIds`, which labels the neighbours).
 */
export function neighbourLabelShares(nearest: ArrayLike<number>, k: number, labelIds: ArrayLike<number>, classes: number, rows = labelIds.length): Float64Array {
  const n = rows;
  if (nearest.length !== n * k) throw new Error(`neighbourLabelShares: expected ${n}×${k} neighbour ids, got ${nearest.length}`);
  const out = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = nearest[i * k + t]!;
      if (j >= 0) out[i * classes + labelIds[j]!]! += 1 / k;
    }
  }
  return out;
}

/** Rows whose evidence sets the class thresholds when neighbours vote: every row up to this many, else a seeded sample of this many. */
export const NEIGHBOUR_THRESHOLD_ROWS = 20_000;
const THRESHOLD_SAMPLE_SEED = 0x5eed;

/**
 * The rows the class thresholds are taken over when neighbours vote (ascending): every row of n up to
 * NEIGHBOUR_THRESHOLD_ROWS, else that many drawn with a fixed seed — so the neighbour search need not cover every
 * row of a large run, only these and the rows the judge decides. The same rows in the search and the judge.
 */
export function neighbourThresholdRows(n: number): Int32Array {
  return n <= NEIGHBOUR_THRESHOLD_ROWS ? Int32Array.from({ length: n }, (_, i) => i) : sampleRows(n, NEIGHBOUR_THRESHOLD_ROWS, THRESHOLD_SAMPLE_SEED);
}

/** The neighbour-mixed evidence: the mean of the cross-fitted probabilities and the neighbour label shares, element-wise. */
export function mixEvidence(probs: ArrayLike<number>, shares: ArrayLike<number>): Float64Array {
  if (probs.length !== shares.length) throw new Error(`mixEvidence: ${probs.length} probabilities but ${shares.length} shares`);
  return Float64Array.from(probs, (p, i) => (p + shares[i]!) / 2);
}

/** Each row's evidence for the offline judge, and the class thresholds the `confident` rule compares it with. */
export interface JudgeEvidence {
  /** Row `id`'s evidence, one value per class. */
  of(id: number): ArrayLike<number>;
  thresholds: number[];
}

/**
 * The offline judge's evidence over `labelIds.length` kept rows: the cross-fitted `probs` (rows × `classes`), or
 * with `neighbours` their mean with the label shares of each row's `count` nearest other rows (`nearest`, rows ×
 * count; for the ascending rows `searched`, every row when absent). The class thresholds are `thresholdScale` ×
 * the class means over the threshold rows (`neighbourThresholdRows`: every row up to 20,000), each of which must
 * have been searched; asking for a row that was not throws, naming `where`.
 */
export function judgeEvidence(
  probs: Float64Array,
  labelIds: ArrayLike<number>,
  classes: number,
  neighbours?: { count: number; nearest: ArrayLike<number>; searched?: ArrayLike<number>; where?: string },
  thresholdScale = 1,
): JudgeEvidence {
  const rows = labelIds.length;
  const probsOf = (id: number) => probs.subarray(id * classes, (id + 1) * classes);
  const scaled = (t: number[]) => (thresholdScale === 1 ? t : t.map((x) => x * thresholdScale));
  if (!neighbours) return { of: probsOf, thresholds: scaled(classThresholds(probs, labelIds, classes)) };
  const { count, nearest, searched } = neighbours;
  const shares = neighbourLabelShares(nearest, count, labelIds, classes, searched ? searched.length : rows);
  const at = new Int32Array(rows).fill(-1);
  for (let i = 0; i < (searched ? searched.length : rows); i++) at[searched ? searched[i]! : i] = i;
  const of = (id: number): Float64Array => {
    const i = at[id]!;
    if (i < 0) throw new Error(`offline judge: no neighbours were searched for kept row ${id}${neighbours.where ? ` (${neighbours.where})` : ''}`);
    return mixEvidence(probsOf(id), shares.subarray(i * classes, (i + 1) * classes));
  };
  const thresholdRows = neighbourThresholdRows(rows);
  const sampled = new Float64Array(thresholdRows.length * classes);
  thresholdRows.forEach((id, i) => sampled.set(of(id), i * classes));
  return { of, thresholds: scaled(classThresholds(sampled, Uint32Array.from(thresholdRows, (id) => labelIds[id]!), classes)) };
}

/**
 * The `confident` rule (confident learning): the row's confident class is the most probable class
 * among those whose probability reaches their own threshold (p_j ≥ t_j). It is `label_ok` when
 * that class is its label (even when another class is more probable but below its threshold: a
 * wrongly predicted row can be cleared), `mislabeled` when it is another class (suggested), and
 * `undecided` when no class reaches its threshold.
 */
export function confidentVerdict(
  id: number,
  label: string,
  probs: ArrayLike<number>,
  labels: readonly string[],
  thresholds: readonly number[],
  /** The suggested class's probability a `mislabeled` verdict needs; below it the row is `undecided`. */
  minSuggested = 0,
  /** What `probs` are, for the reason: the cross-fitted probabilities (P) or the neighbour-mixed evidence (E). */
  evidence: EvidenceName = PROBE_EVIDENCE,
): RowVerdict {
  const { first, symbol: P } = evidence;
  const own = ownIndex(label, labels);
  let confident = -1;
  for (let c = 0; c < labels.length; c++) {
    if (probs[c]! >= thresholds[c]! - CONFIDENT_EPSILON && (confident < 0 || probs[c]! > probs[confident]!)) confident = c;
  }
  const p = probs[own]!;
  const tOwn = pct(thresholds[own]!);
  if (confident === own) return { id, verdict: 'label_ok', reason: `${first}(${label}) = ${pct(p)} reaches its class threshold ${tOwn}` };
  if (confident < 0) return { id, verdict: 'undecided', reason: `no class reaches its threshold; ${P}(${label}) = ${pct(p)} < ${tOwn}` };
  const other = labels[confident]!;
  if (probs[confident]! < minSuggested) {
    return { id, verdict: 'undecided', reason: `${first}(${other}) = ${pct(probs[confident]!)} reaches its class threshold but not ${pct(minSuggested)}; ${P}(${label}) = ${pct(p)}` };
  }
  return {
    id,
    verdict: 'mislabeled',
    suggested: other,
    reason: `${first}(${other}) = ${pct(probs[confident]!)} reaches its class threshold ${pct(thresholds[confident]!)}${p >= thresholds[own]! - CONFIDENT_EPSILON ? ' and exceeds' : ';'} ${P}(${label}) = ${pct(p)}${p >= thresholds[own]! - CONFIDENT_EPSILON ? '' : ` < ${tOwn}`}`,
  };
}

/**
 * Which rows the offline judge may flag: the rows of the noisy pairs only; also every other wrongly
 * predicted row (the uncovered and difficult rows DQE returns to the set); or every kept row.
 */
export const JUDGE_SCOPES = ['pairs', 'wrong', 'all'] as const;
export type JudgeScope = (typeof JUDGE_SCOPES)[number];

/**
 * Scopes 'wrong' and 'all': the verdicts of the pair rows as given, plus a `mislabeled` verdict for every
 * other row that `decide` flags among `candidates` (ids; a number n: every id in [0, n)). Label_ok and
 * undecided rows outside the pairs get no verdict: nobody asked about them, so `undecided: 'drop'` never
 * removes them. Sorted by id.
 */
export function flagOutsidePairs(pairVerdicts: readonly RowVerdict[], candidates: number | Iterable<number>, decide: (id: number) => RowVerdict): RowVerdict[] {
  const inPairs = new Set(pairVerdicts.map((v) => v.id));
  const out = [...pairVerdicts];
  const ids = typeof candidates === 'number' ? Array.from({ length: candidates }, (_, i) => i) : new Set(candidates);
  for (const id of ids) {
    if (inPairs.has(id)) continue;
    const v = decide(id);
    if (v.verdict === 'mislabeled') out.push(v);
  }
  return out.sort((a, b) => a.id - b.id);
}
