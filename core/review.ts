// Human review of the judge's verdicts: the decisions a person sends, their validation, and how they
// override the verdicts that assembly uses. Pure, so the workflow can check a submission at once.
import { z } from 'zod';
import type { RowVerdict, Verdict } from './judging.js';

/**
 * Decisions sent inline in the `submitReview` update, at most: about 100 bytes each, so an update stays
 * far below Temporal's 2 MB payload limit. Longer reviews go in a file (`decisionsFile`).
 */
export const MAX_INLINE_DECISIONS = 1000;

const VERDICTS = ['label_ok', 'mislabeled', 'undecided'] as const satisfies readonly Verdict[];

export const reviewDecisionSchema = z.strictObject({
  /** Input row number (1-based) of a row of a noisy pair or a flagged row, as noisy-pairs.jsonl and flagged.jsonl give it. */
  row: z.number().int().positive(),
  verdict: z.enum(VERDICTS),
  /** With `mislabeled`: the right label (`noisy: relabel` trains on it). @default the label of the row's pair partner; for a flagged row, the judge's suggestion */
  label: z.string().min(1).optional(),
  /** Why, in a few words; kept in review.jsonl. */
  reason: z.string().max(2000).optional(),
});

export const reviewSubmissionSchema = z
  .strictObject({
    /** Overrides, one per row; rows not listed keep the judge's verdict. Empty or absent = accept every verdict. */
    decisions: z.array(reviewDecisionSchema).max(MAX_INLINE_DECISIONS, `at most ${MAX_INLINE_DECISIONS} decisions inline; put more in decisionsFile`).optional(),
    /** A JSONL file of decisions (one object per line, as in `decisions`), at a path the workers can read. */
    decisionsFile: z.string().min(1).optional(),
    /** Who reviewed, for review.jsonl and the report. */
    reviewer: z.string().min(1).max(200).optional(),
  })
  .refine((s) => !(s.decisions && s.decisionsFile), { path: ['decisionsFile'], message: 'give decisions or decisionsFile, not both' });

export type ReviewDecision = z.output<typeof reviewDecisionSchema>;
export type ReviewSubmission = z.input<typeof reviewSubmissionSchema>;

/** One problem with a submission: where (`decisions.3.label`, `file.jsonl:4`) and what. */
export interface ReviewProblem {
  at: string;
  message: string;
}

export function formatReviewProblems(problems: readonly ReviewProblem[]): string {
  return `invalid review: ${problems.map((p) => `${p.at}: ${p.message}`).join('; ')}`;
}

/** Checks a submission's shape and its labels against the run's label set (rows are checked against the pairs later). */
export function checkSubmission(raw: unknown, labels: readonly string[]): { ok: true; submission: z.output<typeof reviewSubmissionSchema> } | { ok: false; problems: ReviewProblem[] } {
  const parsed = reviewSubmissionSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => ({
        at: i.path.length > 0 ? i.path.map(String).join('.') : '(submission)',
        message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
      })),
    };
  }
  const problems = checkDecisions(parsed.data.decisions ?? [], labels, (i) => `decisions.${i}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, submission: parsed.data };
}

/** Labels outside the label set and rows decided twice; `at(i)` names decision i in messages. */
export function checkDecisions(decisions: readonly ReviewDecision[], labels: readonly string[], at: (i: number) => string): ReviewProblem[] {
  const problems: ReviewProblem[] = [];
  const seen = new Map<number, number>();
  decisions.forEach((d, i) => {
    if (d.label !== undefined && !labels.includes(d.label)) problems.push({ at: `${at(i)}.label`, message: `${JSON.stringify(d.label)} is not a label of this run; labels: ${labels.join(', ')}` });
    if (d.label !== undefined && d.verdict !== 'mislabeled') problems.push({ at: `${at(i)}.label`, message: 'a label goes only with verdict mislabeled' });
    const first = seen.get(d.row);
    if (first !== undefined) problems.push({ at: `${at(i)}.row`, message: `row ${d.row} is already decided by ${at(first)}` });
    else seen.set(d.row, i);
  });
  return problems;
}

/** A row of a noisy pair, or one the judge flagged outside the pairs, as review needs it. */
export interface ReviewRow {
  id: number;
  row: number;
  label: string;
  /** The default correction: the label of its partner in the (first) noisy pair it is in, or for a flagged row the judge's suggestion. */
  partnerLabel: string;
}

/**
 * A decisions file's text: one decision per non-blank line, each checked; problems name `path:line`
 * (and the field). `lines[i]` is the line of `decisions[i]`.
 */
export function parseDecisionsFile(text: string, path: string): { decisions: ReviewDecision[]; lines: number[]; problems: ReviewProblem[] } {
  const decisions: ReviewDecision[] = [];
  const lines: number[] = [];
  const problems: ReviewProblem[] = [];
  text.split(/\r?\n/u).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push({ at: `${path}:${i + 1}`, message: 'not valid JSON' });
      return;
    }
    const parsed = reviewDecisionSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.path.length > 0 ? ` ${issue.path.map(String).join('.')}` : '';
        problems.push({ at: `${path}:${i + 1}${field}`, message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message });
      }
      return;
    }
    decisions.push(parsed.data);
    lines.push(i + 1);
  });
  return { decisions, lines, problems };
}

/** What report.json and the `submitReview` update say about a review. */
export interface ReviewSummary {
  reviewer?: string;
  /** Rows the reviewer decided (the rest kept the judge's verdict). */
  decisions: number;
  /** Decisions that differ from the judge's verdict. */
  changed: number;
  /** The judge's counts before review. */
  judgeCounts: Record<Verdict, number>;
  /** review.jsonl in the run directory: each decided row with the judge's verdict and the reviewer's. */
  reviewPath: string;
}

/** One line of review.jsonl: a row whose verdict the reviewer changed or confirmed. */
export interface ReviewChange {
  id: number;
  row: number;
  label: string;
  judge: RowVerdict;
  review: RowVerdict;
  changed: boolean;
}

/**
 * The judge's verdicts with the decisions applied. Rows not decided keep the judge's verdict; a
 * decision on a row that is in no noisy pair and was not flagged is a problem. Verdicts come back in the judge's order.
 */
export function applyDecisions(
  judged: readonly RowVerdict[],
  rows: ReadonlyMap<number, ReviewRow>,
  decisions: readonly ReviewDecision[],
  at: (i: number) => string,
  reviewer: string | undefined,
  pairsFiles = 'noisy-pairs.jsonl, flagged.jsonl',
): { ok: true; verdicts: RowVerdict[]; decided: Map<number, RowVerdict>; changes: ReviewChange[] } | { ok: false; problems: ReviewProblem[] } {
  const problems: ReviewProblem[] = [];
  const judgedById = new Map(judged.map((v) => [v.id, v]));
  const byId = new Map<number, RowVerdict>();
  const changes: ReviewChange[] = [];
  decisions.forEach((d, i) => {
    const r = rows.get(d.row);
    if (!r) {
      problems.push({ at: `${at(i)}.row`, message: `row ${d.row} is in no noisy pair of this run and the judge flagged no such row (see ${pairsFiles})` });
      return;
    }
    const judge = judgedById.get(r.id);
    const who = reviewer ? `reviewed by ${reviewer}` : 'reviewed';
    const reason = d.reason ? `${who}: ${d.reason}` : who;
    const review: RowVerdict =
      d.verdict === 'mislabeled' ? { id: r.id, verdict: 'mislabeled', suggested: d.label ?? r.partnerLabel, reason } : { id: r.id, verdict: d.verdict, reason };
    byId.set(r.id, review);
    const before = judge ?? { id: r.id, verdict: 'undecided' as const, reason: 'no verdict from the judge' };
    changes.push({ id: r.id, row: r.row, label: r.label, judge: before, review, changed: before.verdict !== review.verdict || before.suggested !== review.suggested });
  });
  if (problems.length > 0) return { ok: false, problems };
  const verdicts = judged.map((v) => byId.get(v.id) ?? v);
  // A decided row the judge gave no verdict (none should exist) still counts.
  for (const [id, v] of byId) if (!judgedById.has(id)) verdicts.push(v);
  return { ok: true, verdicts, decided: byId, changes };
}

/**
 * Two-fold: each pass's verdicts with the reviewer's decisions in them, so that merging the two passes
 * (core/two-fold.ts: any `mislabeled` wins) gives the reviewer's verdict for every decided row. A
 * decided row goes into each pass that judged it; one that neither pass judged goes into the first.
 */
export function reviewedPasses(
  first: readonly RowVerdict[],
  second: readonly RowVerdict[],
  decided: ReadonlyMap<number, RowVerdict>,
): [RowVerdict[], RowVerdict[]] {
  const apply = (pass: readonly RowVerdict[]) => pass.map((v) => decided.get(v.id) ?? v);
  const judged = new Set([...first, ...second].map((v) => v.id));
  return [[...apply(first), ...[...decided.values()].filter((v) => !judged.has(v.id))], apply(second)];
}
