// The parts of report.json derived from the run's files rather than from phase counts: the trainer's
// confusion matrix on the rows it predicted, the second pass of two-fold DQE, and where the run's
// intermediate files are (what `dqe eval` reads back).
import { relative, resolve } from 'node:path';
import { readJsonl, readJsonlAll } from '../adapters/files.js';
import { confusionMatrix, UNMAPPED } from '../core/metrics.js';
import { NO_LABEL_COLUMN, type Confusion, type NoisyPairLine, type Prediction, type ReportPair, type TwoFoldSummary, type WorkFiles } from '../core/run-layout.js';
import { secondPassPair } from '../core/two-fold.js';
import { readLabelIds } from './read.js';
import type { CategoriseResult, CleanResult, EmbedResult, JudgeResult, PredictResult, SampleResult, TrainResult } from './refs.js';

/** The second pass of two-fold DQE, as the workflow hands it to the report. */
export interface SecondPassRefs {
  sample: SampleResult;
  train: TrainResult;
  predict: PredictResult;
  categorise: CategoriseResult;
  judge: JudgeResult;
}

export async function confusionOf(predict: PredictResult, clean: CleanResult, of: Confusion['of']): Promise<Confusion> {
  const labelIds = await readLabelIds(clean);
  const index = new Map(clean.labels.map((l, i) => [l, i]));
  const truth: number[] = [];
  const predicted: number[] = [];
  for await (const p of readJsonl<Prediction>(predict.predictionsPath)) {
    truth.push(labelIds[p.id]!);
    predicted.push(p.predicted === null ? UNMAPPED : (index.get(p.predicted) ?? UNMAPPED));
  }
  return { of, rows: [...clean.labels], columns: [...clean.labels, NO_LABEL_COLUMN], matrix: confusionMatrix(truth, predicted, clean.labels.length) };
}

/** The second pass's counts; its wrong predictions are rows of the first pass's sampled half. */
export async function secondPassSummary(second: SecondPassRefs, clean: CleanResult): Promise<TwoFoldSummary> {
  return {
    trainedOn: 'unsampled' as const,
    predicted: second.predict.predicted,
    correct: second.predict.correct,
    wrong: second.predict.wrong,
    unmapped: second.predict.unmapped,
    accuracyOnSampled: second.predict.predicted > 0 ? second.predict.correct / second.predict.predicted : null,
    uncovered: second.categorise.counts.uncovered,
    difficult: second.categorise.counts.difficult,
    noisy: second.categorise.counts.noisy,
    noisyPairs: second.judge.pairs,
    flagged: second.judge.flagged ?? 0,
    verdicts: second.judge.counts,
    perLabel: second.categorise.perLabel,
    confusion: await confusionOf(second.predict, clean, 'sampled'),
    usage: second.judge.usage ?? null,
  };
}

/**
 * The second pass's pairs with their splits named as in the run (its "unsampled" rows are the run's
 * sampled half), marked `pass: 2`.
 */
export async function secondPassPairs(second: SecondPassRefs, shorten: (p: NoisyPairLine) => NoisyPairLine): Promise<ReportPair[]> {
  return (await readJsonlAll<NoisyPairLine>(second.judge.pairsPath)).map((p) => secondPassPair(shorten(p)));
}

/** Paths relative to the run directory, so a copied run directory stays readable. */
export function workFiles(runDir: string, a: { clean: CleanResult; embed: EmbedResult; sample: SampleResult; predict: PredictResult; categorise: CategoriseResult; judge: JudgeResult; train: TrainResult }, second?: SecondPassRefs): WorkFiles {
  const rel = (p: string) => relative(resolve(runDir), resolve(p));
  const pass = (s: { sample: SampleResult; predict: PredictResult; categorise: CategoriseResult; judge: JudgeResult; train: TrainResult }) => ({
    split: rel(s.sample.splitPath),
    model: rel(s.train.modelPath),
    predictions: rel(s.predict.predictionsPath),
    categories: rel(s.categorise.categoriesPath),
    verdicts: rel(s.judge.verdictsPath),
  });
  return {
    kept: rel(a.clean.keptPath),
    labelIds: rel(a.clean.labelIdsPath),
    matrix: { path: rel(a.embed.matrix.path), rows: a.embed.matrix.rows, dim: a.embed.matrix.dim },
    ...pass(a),
    secondPass: second ? pass(second) : null,
  };
}
