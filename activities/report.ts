// Phase 10, report: report.json with every count, report.md for people (core/report-markdown.ts) and
// report.html with charts (core/report-html.ts).
import { caseConflictWarnings, labelWarnings } from '../core/label-names.js';
import { shareCapWarnings } from '../core/assemble.js';
import { resolve } from 'node:path';
import { readJson, readJsonlAll, writeFileAtomic, writeJsonAtomic } from '../adapters/files.js';
import type { ConflictGroup } from '../core/clean.js';
import type { DqeConfig } from '../core/input.js';
import { confusionOf, secondPassPairs, secondPassSummary, workFiles, type SecondPassRefs } from './report-data.js';
import { renderReportHtml } from './report-html.js';
import { renderReportMarkdown } from '../core/report-markdown.js';
import type {
  AssembleResult,
  CategoriseResult,
  CleanResult,
  EmbedResult,
  IndexResult,
  JudgeResult,
  LoadResult,
  PredictResult,
  ReportResult,
  SampleResult,
  TrainResult,
} from './refs.js';
import { RUN_FILES, type Confusion, type LabelCounts, type NoisyPairLine, type Report, type ReportPair, type TwoFoldSummary, type WorkFiles } from '../core/run-layout.js';
import { runFile } from '../adapters/run-files.js';

export interface ReportArgs {
  runDir: string;
  runId: string;
  config: DqeConfig;
  load: LoadResult;
  clean: CleanResult;
  embed: EmbedResult;
  sample: SampleResult;
  train: TrainResult;
  predict: PredictResult;
  index: IndexResult;
  categorise: CategoriseResult;
  judge: JudgeResult;
  assemble: AssembleResult;
  /** Wall seconds per phase as the workflow saw them (scheduling included). */
  timings: Record<string, number>;
  /** Two-fold DQE's second pass, when the run had one. */
  secondPass?: SecondPassRefs | undefined;
}

/** What the report derives from the run's files (report-data.ts). */
interface Derived {
  confusion: Confusion;
  twoFold: TwoFoldSummary | null;
  work: WorkFiles;
}

/** Characters of each text shown in the report's noisy-pair table. */
const TEXT_PREVIEW = 300;

function buildReport(a: ReportArgs, conflicts: ConflictGroup[], caseConflicts: ConflictGroup[], pairs: ReportPair[], derived: Derived): Report {
  const rejectedTotal = Object.values(a.clean.rejected).reduce((s, n) => s + (n ?? 0), 0);
  const perLabel: Record<string, LabelCounts> = {};
  for (const l of a.clean.labels) {
    perLabel[l] = {
      kept: a.clean.perLabel[l] ?? 0,
      ...(a.categorise.perLabel[l] ?? { uncovered: 0, difficult: 0, noisy: 0 }),
      final: a.assemble.perLabel[l] ?? 0,
    };
  }
  return {
    dqe: { reportVersion: 1 },
    run: { id: a.runId, dataset: a.load.datasetPath, datasetSha256: a.load.datasetSha256, format: a.load.format, config: a.config },
    labels: a.clean.labels,
    /** Labels that look like one class typed twice, classes too small to learn (core/label-names.ts). */
    warnings: [...labelWarnings(a.clean.perLabel), ...caseConflictWarnings(a.clean.caseConflicts), ...shareCapWarnings(a.assemble.excluded, a.assemble.final, a.clean.kept, a.config.maxShare)],
    counts: {
      rowsIn: a.load.rowsIn,
      blankLines: a.load.blankLines,
      kept: a.clean.kept,
      rejected: rejectedTotal,
      rejectedByReason: a.clean.rejected,
      sampled: a.sample.sampled,
      unsampled: a.sample.unsampled,
      predicted: a.predict.predicted,
      correct: a.predict.correct,
      wrong: a.predict.wrong,
      unmapped: a.predict.unmapped,
      uncovered: a.categorise.counts.uncovered,
      difficult: a.categorise.counts.difficult,
      noisy: a.categorise.counts.noisy,
      noisyPairs: a.judge.pairs,
      flagged: a.judge.flagged ?? 0,
      verdicts: a.judge.counts,
      final: a.assemble.final,
      finalBySource: a.assemble.bySource,
      excludedFromFinal: a.assemble.excluded,
      relabelled: a.assemble.relabelled,
    },
    perLabel,
    trainer: {
      name: a.train.trainer,
      accuracyOnUnsampled: a.predict.predicted > 0 ? a.predict.correct / a.predict.predicted : null,
      instructionFollowingFailureRate: a.predict.predicted > 0 ? a.predict.unmapped / a.predict.predicted : null,
      details: a.train.details,
    },
    confusion: derived.confusion,
    twoFold: derived.twoFold,
    embedding: { embedder: a.embed.embedderId, dim: a.embed.matrix.dim, reused: a.embed.reused, embedded: a.embed.embedded },
    // The ANN index's settings and its recall@1 measured against exact search, when the store built one.
    vectorStore: { name: a.index.store, indexed: a.index.indexed, ...(a.index.hnsw ? { hnsw: a.index.hnsw } : {}), ...(a.index.ivf ? { ivf: a.index.ivf } : {}) },
    judge: { name: a.judge.judge, evidence: a.judge.evidence ?? null, usage: a.judge.usage ?? null, review: a.judge.review ?? null },
    conflicts,
    caseConflicts,
    noisyPairs: pairs,
    timings: { fanOut: { embed: a.embed.shards, predict: a.predict.shards }, phases: a.timings, activitySeconds: {
      load: a.load.seconds, clean: a.clean.seconds, embed: a.embed.seconds, sample: a.sample.seconds, train: a.train.seconds,
      predict: a.predict.seconds, index: a.index.seconds, categorise: a.categorise.seconds, judge: a.judge.seconds, assemble: a.assemble.seconds,
      ...(a.secondPass ? { swap: a.secondPass.sample.seconds, train2: a.secondPass.train.seconds, predict2: a.secondPass.predict.seconds, categorise2: a.secondPass.categorise.seconds, judge2: a.secondPass.judge.seconds } : {}),
    } },
    work: derived.work,
    outputs: {
      final: RUN_FILES.final,
      finalRows: RUN_FILES.finalRows,
      finalSwift: RUN_FILES.finalSwift,
      rejects: RUN_FILES.rejects,
      categories: RUN_FILES.categories,
      noisyPairs: RUN_FILES.noisyPairs,
      flagged: RUN_FILES.flagged,
    },
  };
}

export async function writeReport(args: ReportArgs): Promise<ReportResult> {
  const runDir = resolve(args.runDir);
  const conflicts = await readJson<ConflictGroup[]>(args.clean.conflicts.path);
  const caseConflicts = await readJson<ConflictGroup[]>(args.clean.caseConflicts.path);
  const shorten = (p: NoisyPairLine): NoisyPairLine => ({
    ...p,
    x: { ...p.x, text: p.x.text.slice(0, TEXT_PREVIEW) },
    neighbour: { ...p.neighbour, text: p.neighbour.text.slice(0, TEXT_PREVIEW) },
  });
  const pairs: ReportPair[] = [
    ...(await readJsonlAll<NoisyPairLine>(args.judge.pairsPath)).map((p) => ({ pass: 1 as const, ...shorten(p) })),
    ...(args.secondPass ? await secondPassPairs(args.secondPass, shorten) : []),
  ];
  const report = buildReport(args, conflicts, caseConflicts, pairs, {
    confusion: await confusionOf(args.predict, args.clean, 'unsampled'),
    twoFold: args.secondPass ? await secondPassSummary(args.secondPass, args.clean) : null,
    work: workFiles(runDir, args, args.secondPass),
  });
  const reportJsonPath = runFile(runDir, RUN_FILES.reportJson);
  const reportMdPath = runFile(runDir, RUN_FILES.reportMd);
  await writeJsonAtomic(reportJsonPath, report);
  await writeFileAtomic(reportMdPath, renderReportMarkdown(report));
  const reportHtmlPath = runFile(runDir, RUN_FILES.reportHtml);
  await writeFileAtomic(reportHtmlPath, renderReportHtml(report));
  return { reportJsonPath, reportMdPath, reportHtmlPath };
}
