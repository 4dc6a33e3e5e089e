// What bench/method.ts writes (a slice: bench/results/method-*.json) and how its readers count significance:
// bench/method-summary.ts (the README's tables) and bench/method-targets.ts (issue 19's targets).
import { readFileSync } from 'node:fs';

/** Significance level of every test in the tables. */
export const ALPHA = 0.05;
/** The slices' file names (not the summary, the smoke run or the target table). */
export const SLICE = /^method-(?!summary|smoke|targets).+\.json$/u;

export interface Arm {
  rows: number;
  share: number;
  accuracy: number;
  macroF1: number;
}
export interface Compare {
  accuracyDiff: number;
  tTestP: number;
  mcnemarP: number;
  macroF1Diff: number;
  macroF1P: number;
}
export interface Case {
  dataset: string;
  embedder?: string;
  seed: number;
  noise: number | null;
  config: string;
  testRows: number;
  judgedMislabeled: { rows: number; share: number };
  arms: { full: Arm; dqe: Arm; random: Arm };
  dqeVsRandom: Compare;
  dqeVsFull: Compare;
  noiseF1: { dqe: number; cleanlab: number } | null;
  /** Share of the training rows cleanlab flags (slices from before it was recorded lack it). */
  cleanlabFlags?: { rows: number; share: number };
}
export interface Slice {
  command: string;
  trainer: { name: string };
  machine: { loadavg: string };
  results: Case[];
}

/** A slice of bench/results; its cases' `dataset` names the subset of a run on one (`--limit`): another dataset. */
export function readSlice(file: string): Slice {
  const s = JSON.parse(readFileSync(`bench/results/${file}`, 'utf8')) as Slice;
  const limit = /--limit[ =](\d+)/u.exec(s.command)?.[1];
  return limit ? { ...s, results: s.results.map((c) => ({ ...c, dataset: `${c.dataset} (${limit} rows)` })) } : s;
}

/** Accuracy significant the way the README has always counted it: McNemar and the paired t-test both below ALPHA. */
export const accuracySignificant = (c: Compare) => c.mcnemarP < ALPHA && c.tTestP < ALPHA;
/** Macro-F1 significant: the bootstrap over test rows below ALPHA. */
export const macroF1Significant = (c: Compare) => c.macroF1P < ALPHA;
