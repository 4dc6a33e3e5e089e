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
  trainer: { name: string; epochs?: number; learningRate?: number };
  machine: { loadavg: string };
  results: Case[];
}

/** A slice of bench/results; its cases' `dataset` names the subset of a run on one (`--limit`): another dataset. */
export function readSlice(file: string): Slice {
  const s = JSON.parse(readFileSync(`bench/results/${file}`, 'utf8')) as Slice;
  const limit = /--limit[ =](\d+)/u.exec(s.command)?.[1];
  return limit ? { ...s, results: s.results.map((c) => ({ ...c, dataset: `${c.dataset} (${limit} rows)` })) } : s;
}

/** The trainer settings every slice used until 2026-12-07 (bench/method.ts's `linear` defaults, the `encoder` runs' `--trainer`). */
const FIRST_SETTINGS: Record<string, { epochs: number; learningRate: number }> = { linear: { epochs: 300, learningRate: 0.1 }, encoder: { epochs: 1, learningRate: 5e-5 } };

/**
 * The trainer as the tables name and group it: its name, with its epochs and step size where they differ from the
 * first runs' (`encoder (4 epochs, lr 0.0001)`), so a case trained longer is never counted as the same case.
 */
export function trainerLabel(t: Slice['trainer']): string {
  const first = FIRST_SETTINGS[t.name];
  if (first === undefined || (t.epochs === first.epochs && t.learningRate === first.learningRate)) return t.name;
  return `${t.name} (${t.epochs} epochs, lr ${t.learningRate})`;
}

/** Accuracy significant the way the README has always counted it: McNemar and the paired t-test both below ALPHA. */
export const accuracySignificant = (c: Compare) => c.mcnemarP < ALPHA && c.tTestP < ALPHA;
/** Macro-F1 significant: the bootstrap over test rows below ALPHA. */
export const macroF1Significant = (c: Compare) => c.macroF1P < ALPHA;
