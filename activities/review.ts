// The human review step: applies a reviewer's decisions to the judge's verdicts, writes review.jsonl,
// and hands assembly a verdicts file with the decisions in it.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { dqeFailure } from '../adapters/failure.js';
import { AtomicWriter, hashKey, readJsonl, readJsonlAll, runPhaseOnce } from '../adapters/files.js';
import { mergeVerdicts } from '../core/two-fold.js';
import type { RowVerdict, Verdict } from '../core/judging.js';
import {
  applyDecisions,
  checkDecisions,
  checkSubmission,
  formatReviewProblems,
  parseDecisionsFile,
  reviewedPasses,
  type ReviewDecision,
  type ReviewProblem,
  type ReviewRow,
  type ReviewSubmission,
} from '../core/review.js';
import type { CleanResult, JudgeResult, ReviewedJudge } from './refs.js';
import { RUN_FILES, workFile, type FlaggedRowLine, type NoisyPairLine, type NoisyPairLineSide, type WorkFileSuffix } from '../core/run-layout.js';
import { runFile, workDirOf } from '../adapters/run-files.js';

export interface ReviewArgs {
  runDir: string;
  clean: CleanResult;
  /** The judge's result, before review. */
  judge: JudgeResult;
  /** Two-fold: the second pass's judge result, before review; the review covers its pairs too. */
  judge2?: JudgeResult | undefined;
  submission: ReviewSubmission;
}

function invalid(problems: ReviewProblem[]): ApplicationFailure {
  // The update fails with it and the run keeps waiting.
  return dqeFailure('DqeInvalidReview', formatReviewProblems(problems), { details: problems });
}

/** Decisions from a JSONL file, each line checked; problems name `file:line`. */
async function readDecisionsFile(path: string): Promise<{ decisions: ReviewDecision[]; lines: number[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid([{ at: 'decisionsFile', message: `${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}` }]);
  }
  const { problems, ...parsed } = parseDecisionsFile(text, path);
  if (problems.length > 0) throw invalid(problems);
  return parsed;
}

export async function applyReview(args: ReviewArgs): Promise<ReviewedJudge> {
  const checked = checkSubmission(args.submission, args.clean.labels);
  if (!checked.ok) throw invalid(checked.problems);
  const { submission } = checked;
  let decisions = submission.decisions ?? [];
  let at = (i: number) => `decisions.${i}`;
  if (submission.decisionsFile !== undefined) {
    const file = await readDecisionsFile(submission.decisionsFile);
    decisions = file.decisions;
    at = (i) => `${submission.decisionsFile}:${file.lines[i]}`;
    const problems = checkDecisions(decisions, args.clean.labels, at);
    if (problems.length > 0) throw invalid(problems);
  }

  // Rows by input row number, from both passes' pairs (two-fold), then the rows flagged outside them; the
  // first pass's line names a row first. A flagged row's default correction is the judge's suggestion.
  const passes = args.judge2 ? [args.judge, args.judge2] : [args.judge];
  const rows = new Map<number, ReviewRow>();
  for (const pass of passes) {
    for await (const p of readJsonl<NoisyPairLine>(pass.pairsPath)) {
      if (!rows.has(p.x.row)) rows.set(p.x.row, { ...pick(p.x), partnerLabel: p.neighbour.label });
      if (!rows.has(p.neighbour.row)) rows.set(p.neighbour.row, { ...pick(p.neighbour), partnerLabel: p.x.label });
    }
  }
  for (const pass of passes) {
    if (pass.flaggedPath === undefined) continue;
    for await (const f of readJsonl<FlaggedRowLine>(pass.flaggedPath)) {
      if (!rows.has(f.row)) rows.set(f.row, { id: f.id, row: f.row, label: f.label, partnerLabel: f.verdict.suggested ?? f.label });
    }
  }
  const first = await readJsonlAll<RowVerdict>(args.judge.verdictsPath);
  const second = args.judge2 ? await readJsonlAll<RowVerdict>(args.judge2.verdictsPath) : [];
  // Each decision is recorded against the verdict the run would have used: both passes merged.
  const judged = [...mergeVerdicts(first, second).values()];
  const pairsFiles = (args.judge2 ? [RUN_FILES.noisyPairs, RUN_FILES.noisyPairsSecondPass, RUN_FILES.flagged, RUN_FILES.flaggedSecondPass] : [RUN_FILES.noisyPairs, RUN_FILES.flagged]).join(', ');
  const applied = applyDecisions(judged, rows, decisions, at, submission.reviewer, pairsFiles);
  if (!applied.ok) throw invalid(applied.problems);
  const [reviewed1, reviewed2] = reviewedPasses(first, second, applied.decided);

  const runDir = resolve(args.runDir);
  const key = hashKey({ verdicts: args.judge.verdictsPath, ...(args.judge2 ? { verdicts2: args.judge2.verdictsPath } : {}), decisions, reviewer: submission.reviewer ?? null });
  return runPhaseOnce(workDirOf(runDir), 'review', key, async (prefix) => {
    const write = async (name: WorkFileSuffix, verdicts: readonly RowVerdict[]) => {
      const counts: Record<Verdict, number> = { label_ok: 0, mislabeled: 0, undecided: 0 };
      const out = await AtomicWriter.create(workFile(prefix, name));
      for (const v of verdicts) {
        counts[v.verdict]++;
        await out.writeLine(v);
      }
      await out.commit();
      return { verdictsPath: out.path, counts };
    };
    const firstPass = await write('verdicts.jsonl', reviewed1);
    const secondPass = args.judge2 ? { ...args.judge2, ...(await write('verdicts.second-pass.jsonl', reviewed2)) } : undefined;
    const review = await AtomicWriter.create(runFile(runDir, RUN_FILES.review));
    for (const c of applied.changes) await review.writeLine(c);
    await review.commit();
    return {
      ...args.judge,
      ...firstPass,
      ...(secondPass ? { secondPass } : {}),
      review: {
        ...(submission.reviewer !== undefined ? { reviewer: submission.reviewer } : {}),
        decisions: applied.changes.length,
        changed: applied.changes.filter((c) => c.changed).length,
        judgeCounts: args.judge.counts,
        reviewPath: review.path,
      },
    } satisfies ReviewedJudge;
  });
}

function pick(side: NoisyPairLineSide): Omit<ReviewRow, 'partnerLabel'> {
  return { id: side.id, row: side.row, label: side.label };
}
