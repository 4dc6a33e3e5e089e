// Phase 10, report: report.json with every count, and report.md for people.
import { labelWarnings } from '../core/label-names.js';
import { resolve } from 'node:path';
import { readJson, readJsonlAll, writeFileAtomic, writeJsonAtomic } from '../adapters/files.js';
import type { ConflictGroup } from '../core/clean.js';
import type { DqeConfig } from '../core/input.js';
import type { JudgeUsage } from '../adapters/judges/types.js';
import { confusionOf, secondPassPairs, secondPassSummary, workFiles, type SecondPassRefs } from './report-data.js';
import { renderReportHtml } from './report-html.js';
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

function buildReport(a: ReportArgs, conflicts: ConflictGroup[], pairs: ReportPair[], derived: Derived): Report {
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
    warnings: labelWarnings(a.clean.perLabel),
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
    judge: { name: a.judge.judge, usage: a.judge.usage ?? null, review: a.judge.review ?? null },
    conflicts,
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
    },
  };
}

/** A remote judge's spend, for people: tokens, estimated cost and what the cache saved. */
function judgeUsageLines(u: JudgeUsage | null): string[] {
  if (!u) return [];
  const cost = u.costUsd === null ? `no cost estimate (no price known for model ${u.model ?? '?'}; set judge.price)` : `estimated cost $${u.costUsd.toFixed(4)}`;
  return [
    '',
    `Model \`${u.model ?? '?'}\`: ${u.requests} requests, ${u.promptTokens} prompt + ${u.completionTokens} completion tokens, ${cost}; ` +
      `${u.cachedPairs} pairs answered from the verdict cache, ${u.invalidAnswers ?? 0} invalid answers, ${u.retries ?? 0} retries.`,
  ];
}

function pct(n: number, d: number): string {
  return d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '–';
}

function markdown(r: Report): string {
  const c = r.counts;
  const lines = [
    `# dqe report — ${r.run.id}`,
    '',
    `Dataset \`${r.run.dataset}\` (${r.run.format}, sha256 ${r.run.datasetSha256.slice(0, 12)}…), labels: ${r.labels.join(', ')}.`,
    ...(r.warnings.length > 0 ? ['', '## Warnings', '', ...r.warnings.map((w) => `- ${w}`)] : []),
    '',
    '## Funnel',
    '',
    '| step | rows | share of kept |',
    '| --- | ---: | ---: |',
    `| rows in | ${c.rowsIn} | |`,
    `| rejected | ${c.rejected} | |`,
    `| kept | ${c.kept} | 100% |`,
    `| sampled | ${c.sampled} | ${pct(c.sampled, c.kept)} |`,
    `| unsampled | ${c.unsampled} | ${pct(c.unsampled, c.kept)} |`,
    `| wrong predictions on unsampled | ${c.wrong} | ${pct(c.wrong, c.kept)} |`,
    `| uncovered | ${c.uncovered} | ${pct(c.uncovered, c.kept)} |`,
    `| difficult | ${c.difficult} | ${pct(c.difficult, c.kept)} |`,
    `| noisy | ${c.noisy} | ${pct(c.noisy, c.kept)} |`,
    `| judged mislabeled | ${c.verdicts.mislabeled} | ${pct(c.verdicts.mislabeled, c.kept)} |`,
    `| **final** | **${c.final}** | **${pct(c.final, c.kept)}** |`,
    '',
    `Embeddings: ${r.embedding.reused} of ${r.embedding.reused + r.embedding.embedded} rows reused from the cache, ${r.embedding.embedded} embedded (\`${r.embedding.embedder}\`).`,
    '',
    `Trainer \`${r.trainer.name}\`: accuracy on unsampled ${r.trainer.accuracyOnUnsampled === null ? '–' : pct(c.correct, c.predicted)}, ` +
      `answers mapping to no label ${pct(c.unmapped, c.predicted)}.`,
    '',
    '## Rejected rows by reason',
    '',
    '| reason | rows |',
    '| --- | ---: |',
    ...Object.entries(c.rejectedByReason).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '## Per label',
    '',
    '| label | kept | uncovered | difficult | noisy | final |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(r.perLabel).map(([l, v]) => `| ${l} | ${v.kept} | ${v.uncovered} | ${v.difficult} | ${v.noisy} | ${v.final} |`),
    '',
    '## Judge',
    '',
    `Judge \`${r.judge.name}\` on ${c.noisyPairs} noisy pairs: ${c.verdicts.label_ok} rows label_ok, ${c.verdicts.mislabeled} mislabeled, ` +
      `${c.verdicts.undecided} undecided; ${c.relabelled} relabelled. Details in \`noisy-pairs.jsonl\`.`,
    ...judgeUsageLines(r.judge.usage),
    ...(r.judge.review
      ? [
          '',
          `Reviewed${r.judge.review.reviewer ? ` by ${r.judge.review.reviewer}` : ''}: ${r.judge.review.decisions} rows decided, ${r.judge.review.changed} changed from the judge's verdict ` +
            `(the judge: ${r.judge.review.judgeCounts.label_ok} label_ok, ${r.judge.review.judgeCounts.mislabeled} mislabeled, ${r.judge.review.judgeCounts.undecided} undecided). Details in \`review.jsonl\`.`,
        ]
      : []),
    ...(r.twoFold
      ? [
          '',
          '## Two-fold: second pass',
          '',
          `A model trained on the unsampled half predicted the ${r.twoFold.predicted} sampled rows (accuracy ${r.twoFold.accuracyOnSampled === null ? '–' : pct(r.twoFold.correct, r.twoFold.predicted)}): ` +
            `${r.twoFold.uncovered} uncovered, ${r.twoFold.difficult} difficult, ${r.twoFold.noisy} noisy; the judge found ${r.twoFold.verdicts.mislabeled} mislabeled, ` +
            `${r.twoFold.verdicts.label_ok} label_ok, ${r.twoFold.verdicts.undecided} undecided. Details in \`noisy-pairs.second-pass.jsonl\`.`,
        ]
      : []),
    '',
    `Charts, the confusion matrix and a searchable table of the noisy pairs: \`report.html\`.`,
    '',
    `## Conflicting labels (${r.conflicts.length} groups)`,
    '',
    ...(r.conflicts.length === 0 ? ['None: no text carries two labels.'] : []),
    ...r.conflicts.slice(0, 20).map((g) => `- rows ${g.rows.join(', ')} — ${Object.entries(g.labels).map(([l, n]) => `${l} ×${n}`).join(', ')}: “${g.text.slice(0, 80)}”`),
    '',
    '## Timings (seconds)',
    '',
    '| phase | workflow wall | in activity |',
    '| --- | ---: | ---: |',
    ...Object.entries(r.timings.phases).map(([p, s]) => `| ${p} | ${s.toFixed(2)} | ${r.timings.activitySeconds[p]?.toFixed(2) ?? ''} |`),
    '',
  ];
  return lines.join('\n');
}

export async function writeReport(args: ReportArgs): Promise<ReportResult> {
  const runDir = resolve(args.runDir);
  const conflicts = await readJson<ConflictGroup[]>(args.clean.conflicts.path);
  const shorten = (p: NoisyPairLine): NoisyPairLine => ({
    ...p,
    x: { ...p.x, text: p.x.text.slice(0, TEXT_PREVIEW) },
    neighbour: { ...p.neighbour, text: p.neighbour.text.slice(0, TEXT_PREVIEW) },
  });
  const pairs: ReportPair[] = [
    ...(await readJsonlAll<NoisyPairLine>(args.judge.pairsPath)).map((p) => ({ pass: 1 as const, ...shorten(p) })),
    ...(args.secondPass ? await secondPassPairs(args.secondPass, shorten) : []),
  ];
  const report = buildReport(args, conflicts, pairs, {
    confusion: await confusionOf(args.predict, args.clean, 'unsampled'),
    twoFold: args.secondPass ? await secondPassSummary(args.secondPass, args.clean) : null,
    work: workFiles(runDir, args, args.secondPass),
  });
  const reportJsonPath = runFile(runDir, RUN_FILES.reportJson);
  const reportMdPath = runFile(runDir, RUN_FILES.reportMd);
  await writeJsonAtomic(reportJsonPath, report);
  await writeFileAtomic(reportMdPath, markdown(report));
  const reportHtmlPath = runFile(runDir, RUN_FILES.reportHtml);
  await writeFileAtomic(reportHtmlPath, renderReportHtml(report));
  return { reportJsonPath, reportMdPath, reportHtmlPath };
}
