// The activities of `dqe eval` (workflows/eval.ts): split and flip the dataset, lay out the three
// arms after the DQE run, train and score each arm, run the cleanlab baseline, and write the result.
// Each exchanges file references only; the pure parts are core/evaluation.ts and core/arm-scores.ts.
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CLEANLAB_FILTER_BY, runCleanlab } from '../adapters/cleanlab.js';
import { datasetFileProblem, readCsvDataset, readJsonlDataset, formatOf, type RawRow } from '../adapters/dataset-reader.js';
import { createEmbedder } from '../adapters/embedders/index.js';
import { dqeFailure } from '../adapters/failure.js';
import { AtomicWriter, exists, hashKey, readFloat64, readJson, readJsonl, readJsonlAll, readMatrix, readUint32, runPhaseOnce, writeFileAtomic, writeJsonAtomic, writeTypedAtomic } from '../adapters/files.js';
import { CROSS_FIT_PROBE, CROSS_FIT_SEED_OFFSET, crossFitProbsPath } from '../adapters/judges/offline.js';
import { crossFittedProbs } from '../adapters/trainers/linear.js';
import { createTrainer, type TrainerRuntime } from '../adapters/trainers/index.js';
import { readFinalRowIds, runFile, workDirOf } from '../adapters/run-files.js';
import { scoreArms } from '../core/arm-scores.js';
import { RUN_FILES } from '../core/run-layout.js';
import { normaliseText } from '../core/clean.js';
import {
  ARMS,
  DEFAULT_CLEANLAB_FOLDS,
  DEFAULT_HOLDOUT,
  holdoutSplit,
  injectLabelNoise,
  NOISE_SEED_OFFSET,
  RANDOM_ARM_SEED_OFFSET,
  randomSubset,
  type ArmName,
  type EvalInput,
  type Evaluation,
  type LabelFlip,
  type NoiseExperiment,
} from '../core/evaluation.js';
import { formatProblems, parseDqeInput, type DqeConfig, type DqeInput } from '../core/input.js';
import type { RowVerdict } from '../core/judging.js';
import { detectionScores, UNMAPPED } from '../core/metrics.js';
import { mergeVerdicts } from '../core/two-fold.js';
import type { MatrixRef } from '../adapters/files.js';
import { jobContext } from './context.js';
import { renderReportHtml, type ReportWithEvaluation } from './report-html.js';
import type { CategoryRow, KeptRow } from './refs.js';

/** How often `compareCleanlab` heartbeats while cleanlab's Python process runs, in ms: under the shortest heartbeat timeout a test sets (2 s); the worker throttles what it sends. */
const CLEANLAB_HEARTBEAT_MS = 500;

/** The evaluation directory's layout, from its input. */
function layout(input: EvalInput) {
  const outDir = resolve(input.outputDir);
  return { outDir, runDir: join(outDir, 'dqe'), workDir: workDirOf(outDir), textField: input.textField ?? 'text', labelField: input.labelField ?? 'label', seed: input.seed ?? 0 };
}

/** The dqe run's input for an evaluation: its training part, into `<output dir>/dqe`, which the evaluation owns. */
export function evalDqeInput(input: EvalInput): DqeInput {
  const { outDir, runDir, textField, labelField, seed } = layout(input);
  // The evaluation owns outDir: a second evaluation into it replaces the first's DQE run whole.
  return { ...(input.dqe ?? {}), dataset: join(outDir, 'train.jsonl'), format: 'jsonl', textField, labelField, seed, outputDir: runDir, overwrite: true };
}

/** The dqe run's configuration, or a non-retryable failure naming every bad field. */
function evalConfig(input: EvalInput): DqeConfig {
  const parsed = parseDqeInput(evalDqeInput(input));
  if (!parsed.ok) throw dqeFailure('DqeInvalidInput', formatProblems(parsed.problems));
  return parsed.config;
}

interface InputRow {
  record: Record<string, unknown>;
  /** The text when it is a non-blank string. */
  text: string | undefined;
  /** The label as dqe reads it (trimmed string, or an integer as a string), when there is one. */
  label: string | undefined;
}

function labelOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim().length > 0 ? v.trim() : undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  return undefined;
}

async function readRows(path: string, format: 'jsonl' | 'csv' | undefined, textField: string, labelField: string): Promise<InputRow[]> {
  const problem = await datasetFileProblem(path, format);
  if (problem) throw dqeFailure(problem.type, problem.message);
  const rows: InputRow[] = [];
  const source: AsyncIterable<RawRow> = formatOf(path, format) === 'csv' ? readCsvDataset(path) : readJsonlDataset(path, () => {});
  for await (const r of source) {
    // An unreadable line is the dqe run's to reject with its reason; here it is neither train nor test.
    if (!('record' in r)) continue;
    const t = r.record[textField];
    rows.push({ record: r.record, text: typeof t === 'string' && t.trim().length > 0 ? t : undefined, label: labelOf(r.record[labelField]) });
  }
  return rows;
}

async function writeJsonlFile(path: string, values: Iterable<unknown>): Promise<void> {
  const out = await AtomicWriter.create(path);
  for (const v of values) await out.writeLine(v);
  await out.commit();
}

export interface EvalSplit {
  /** The dqe run's input (its dataset is train.jsonl). */
  dqeInput: DqeInput;
  trainRows: number;
  flipped: number;
  /** Test rows before those whose text is also in training were left out. */
  testRowsIn: number;
  /** test.jsonl's rows. */
  testRows: number;
}

/** Step 1: the training part (train.jsonl, with the flips) and the test split (test.jsonl), seeded. */
export async function splitEvaluation(input: EvalInput): Promise<EvalSplit> {
  const { outDir, textField, labelField, seed } = layout(input);
  const config = evalConfig(input);
  const rate = input.injectNoise;
  if (rate !== undefined && !(rate > 0 && rate < 1)) throw dqeFailure('DqeInvalidInput', `injectNoise must be in (0, 1), got ${rate}`);
  const rows = await readRows(resolve(input.dataset), input.format, textField, labelField);
  let trainRows: InputRow[];
  let testRows: InputRow[];
  if (input.test) {
    trainRows = rows;
    testRows = await readRows(resolve(input.test), input.format, textField, labelField);
  } else {
    const split = holdoutSplit(rows.map((r) => (r.text === undefined ? undefined : r.label)), input.holdout ?? DEFAULT_HOLDOUT, seed);
    trainRows = split.train.map((i) => rows[i]!);
    testRows = split.test.map((i) => rows[i]!);
  }
  // A test row whose text is also in training would be scored on what the model saw: leave it out.
  const trainTexts = new Set(trainRows.flatMap((r) => (r.text === undefined ? [] : [normaliseText(r.text)])));
  const usableTest = testRows.filter((r) => r.text !== undefined && r.label !== undefined && !trainTexts.has(normaliseText(r.text)));
  let flips: LabelFlip[] = [];
  if (rate !== undefined) {
    const labelSet = config.labels ?? [...new Set(trainRows.flatMap((r) => (r.label === undefined ? [] : [r.label])))].sort();
    flips = injectLabelNoise(trainRows.map((r) => r.label), labelSet, rate, seed + NOISE_SEED_OFFSET);
  }
  const flipped = new Map(flips.map((f) => [f.index, f]));
  await writeJsonlFile(join(outDir, 'train.jsonl'), trainRows.map((r, i) => (flipped.has(i) ? { ...r.record, [labelField]: flipped.get(i)!.to } : r.record)));
  await writeJsonlFile(join(outDir, 'test.jsonl'), usableTest.map((r) => r.record));
  await writeJsonlFile(join(outDir, 'flips.jsonl'), flips.map((f) => ({ row: f.index + 1, from: f.from, to: f.to })));
  return { dqeInput: evalDqeInput(input), trainRows: trainRows.length, flipped: flips.length, testRowsIn: testRows.length, testRows: usableTest.length };
}

/**
 * The DQE final set as kept-row ids, with the labels it carries (a relabelled row carries its new label):
 * line i of final.jsonl is the kept row final.rows.jsonl names on its line i.
 */
async function finalRows(runDir: string, keptLabelIds: Uint32Array, labels: readonly string[], labelField: string): Promise<{ ids: number[]; labelIds: Uint32Array }> {
  const rowIds = await readFinalRowIds(runDir);
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const labelIds = Uint32Array.from(keptLabelIds);
  const ids: number[] = [];
  const path = runFile(runDir, RUN_FILES.final);
  for await (const rec of readJsonl<Record<string, unknown>>(path)) {
    const line = ids.length;
    const id = rowIds[line]?.id;
    const label = labelIndex.get(labelOf(rec[labelField]) ?? '');
    if (id === undefined || id >= keptLabelIds.length) throw new Error(`${runFile(runDir, RUN_FILES.finalRows)}: no kept row for line ${line + 1} of ${path}`);
    if (label === undefined) throw new Error(`${path}: line ${line + 1}: ${labelField} is not one of the run's labels`);
    ids.push(id);
    labelIds[id] = label;
  }
  if (ids.length !== rowIds.length) throw new Error(`${runFile(runDir, RUN_FILES.finalRows)} has ${rowIds.length} lines, ${path} ${ids.length}`);
  return { ids: ids.sort((a, b) => a - b), labelIds };
}

/** One arm's training set: kept-row ids and the labels (kept rows, then test rows) it trains with. */
export interface ArmSet {
  rows: number;
  idsPath: string;
  labelIdsPath: string;
}

export interface EvalArms {
  /** The evaluation's work/ folder, where the arms write. */
  workDir: string;
  /** The kept rows, then the test rows, in one matrix and one kept-rows file. */
  matrix: MatrixRef;
  keptPath: string;
  labels: string[];
  /** Kept training rows; test row i has id trainRows + i. */
  trainRows: number;
  testRows: number;
  /** The test rows' true label ids. */
  truthPath: string;
  arms: Record<ArmName, ArmSet>;
  trainer: DqeConfig['trainer'];
}

/** Step 3, after the DQE run: the test split embedded with the run's embedder beside the kept rows, and the three arms' training sets. */
export async function layOutArms(deps: { env: NodeJS.ProcessEnv }, input: EvalInput): Promise<EvalArms> {
  const { outDir, runDir, workDir, textField, labelField, seed } = layout(input);
  const config = evalConfig(input);
  const ctx = jobContext();
  const report = await readJson<ReportWithEvaluation>(runFile(runDir, RUN_FILES.reportJson));
  const { work, labels } = report;
  const kept = await readJsonlAll<KeptRow>(join(runDir, work.kept));
  const n = kept.length;
  const dim = work.matrix.dim;
  const trainVectors = await readMatrix({ path: join(runDir, work.matrix.path), rows: work.matrix.rows, dim });
  const keptLabelIds = await readUint32(join(runDir, work.labelIds), n);
  const final = await finalRows(runDir, keptLabelIds, labels, labelField);

  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const testIn = await readJsonlAll<Record<string, unknown>>(join(outDir, 'test.jsonl'));
  const test = testIn.flatMap((record) => {
    const label = labelOf(record[labelField]);
    return label !== undefined && labelIndex.has(label) ? [{ record, text: String(record[textField]), label }] : [];
  });
  const embedder = createEmbedder(config.embedder, deps.env);
  const testVectors: Float32Array[] = [];
  for (let i = 0; i < test.length; i += embedder.batchSize) {
    testVectors.push(...(await embedder.embed(test.slice(i, i + embedder.batchSize).map((r) => r.text))));
    ctx.heartbeat({ done: Math.min(i + embedder.batchSize, test.length), total: test.length });
  }
  // A retry starts the arms afresh: nothing of a killed attempt's layout or arms is reused.
  await rm(workDir, { recursive: true, force: true });
  const matrix = new Float32Array((n + test.length) * dim);
  matrix.set(trainVectors);
  testVectors.forEach((vec, i) => {
    if (vec.length !== dim) throw dqeFailure('DqeEmbedderDimensionMismatch', `embedder ${embedder.id} gave a ${vec.length}-wide vector for test row ${i + 1}; the run's matrix is ${dim} wide`);
    matrix.set(vec, (n + i) * dim);
  });
  const matrixRef = { path: join(workDir, 'eval.f32'), rows: n + test.length, dim };
  await writeTypedAtomic(matrixRef.path, matrix);
  const keptPath = join(workDir, 'eval-kept.jsonl');
  await writeJsonlFile(keptPath, [...kept, ...test.map((r, i): KeptRow => ({ id: n + i, row: i + 1, line: i + 1, text: r.text, label: r.label, source: JSON.stringify(r.record) }))]);
  const truth = Uint32Array.from(test, (r) => labelIndex.get(r.label)!);
  const truthPath = join(workDir, 'eval-truth.u32');
  await writeTypedAtomic(truthPath, truth);

  const allIds = kept.map((r) => r.id);
  const armIds: Record<ArmName, number[]> = { full: allIds, dqe: final.ids, random: randomSubset(allIds, final.ids.length, seed + RANDOM_ARM_SEED_OFFSET) };
  const arms = {} as Record<ArmName, ArmSet>;
  for (const arm of ARMS) {
    const all = new Uint32Array(n + test.length);
    all.set(arm === 'dqe' ? final.labelIds : keptLabelIds);
    all.set(truth, n);
    arms[arm] = { rows: armIds[arm].length, idsPath: join(workDir, `arm-${arm}.ids.u32`), labelIdsPath: join(workDir, `arm-${arm}.label-ids.u32`) };
    await writeTypedAtomic(arms[arm].idsPath, Uint32Array.from(armIds[arm]));
    await writeTypedAtomic(arms[arm].labelIdsPath, all);
  }
  return { workDir, matrix: matrixRef, keptPath, labels, trainRows: n, testRows: test.length, truthPath, arms, trainer: config.trainer };
}

export interface TrainArmArgs {
  layout: EvalArms;
  arm: ArmName;
  seed: number;
}

export interface ArmRun {
  arm: ArmName;
  rows: number;
  trainSeconds: number;
  /** The predicted label id of each test row (UNMAPPED for an answer that maps to no label), u32. */
  predictedPath: string;
}

/**
 * Step 4, once per arm: trains the run's trainer on the arm's rows and predicts the test rows. Runs
 * where the trainer does (swift on the GPU queue), heartbeats through the trainer, and on a retry after
 * a finished attempt returns that attempt's result. `runtime`: the worker's trainer settings.
 */
export async function trainArm(args: TrainArmArgs, runtime: TrainerRuntime = {}): Promise<ArmRun> {
  const { layout: l, arm } = args;
  const key = hashKey({ matrix: l.matrix, ids: l.arms[arm].idsPath, trainer: l.trainer, seed: args.seed });
  return runPhaseOnce(l.workDir, `arm-${arm}`, key, async (prefix) => {
    const ctx = jobContext();
    const trainer = createTrainer(l.trainer, runtime);
    const trainIds = Array.from(await readUint32(l.arms[arm].idsPath, l.arms[arm].rows));
    const labelIds = await readUint32(l.arms[arm].labelIdsPath, l.trainRows + l.testRows);
    const out = await trainer.train({ jobDir: `${prefix}.train`, keptPath: l.keptPath, matrix: l.matrix, trainIds, labelIds, labels: l.labels, seed: args.seed }, ctx);
    const testIds = Array.from({ length: l.testRows }, (_, i) => l.trainRows + i);
    const preds = await trainer.predict({ jobDir: `${prefix}.predict`, keptPath: l.keptPath, matrix: l.matrix, modelPath: out.modelPath, ids: testIds, labels: l.labels }, ctx);
    const labelIndex = new Map(l.labels.map((x, i) => [x, i]));
    const byId = new Map(preds.map((p) => [p.id, p.predicted]));
    const predicted = Uint32Array.from(testIds, (id) => {
      const p = byId.get(id);
      return p === null || p === undefined ? UNMAPPED : (labelIndex.get(p) ?? UNMAPPED);
    });
    const predictedPath = `${prefix}.predicted.u32`;
    await writeTypedAtomic(predictedPath, predicted);
    return { arm, rows: trainIds.length, trainSeconds: out.trainSeconds, predictedPath } satisfies ArmRun;
  });
}

export interface CleanlabRun {
  issuesPath: string;
  version: string;
  filterBy: string;
  folds: number;
  /** `judge`: read from the run's offline judge (work/cross-fit-probs-*.f64); `computed`: trained here. */
  probabilities: 'judge' | 'computed';
  seconds: number;
}

/** Step 5 (noise experiment): cleanlab's find_label_issues on out-of-fold probabilities of the run's kept rows. */
export async function compareCleanlab(input: EvalInput): Promise<CleanlabRun> {
  const { runDir, workDir, seed } = layout(input);
  const config = evalConfig(input);
  const report = await readJson<ReportWithEvaluation>(runFile(runDir, RUN_FILES.reportJson));
  const { work, labels } = report;
  const n = work.matrix.rows;
  const vectors = await readMatrix({ path: join(runDir, work.matrix.path), rows: n, dim: work.matrix.dim });
  const labelIds = await readUint32(join(runDir, work.labelIds), n);
  const folds = input.cleanlabFolds ?? DEFAULT_CLEANLAB_FOLDS;
  const probe = config.trainer.name === 'linear' ? { epochs: config.trainer.epochs, learningRate: config.trainer.learningRate, l2: config.trainer.l2 } : CROSS_FIT_PROBE;
  const t0 = performance.now();
  const ctx = jobContext();
  // The run's offline judge saved the same probabilities (same matrix, labels, folds, seed offset) when
  // cleanlab's probe is the judge's: read them instead of training the folds again.
  const saved = isDeepStrictEqual(probe, CROSS_FIT_PROBE) ? crossFitProbsPath(workDirOf(runDir), folds, seed) : undefined;
  const reuse = saved !== undefined && (await exists(saved));
  const probs = reuse ? await readFloat64(saved, n * labels.length) : await crossFittedProbs(vectors, work.matrix.dim, labelIds, labels.length, folds, seed + CROSS_FIT_SEED_OFFSET, probe, ctx);
  // cleanlab's process reports no progress: beat while it runs, so a live worker is not taken for a dead one.
  const beat = setInterval(() => ctx.heartbeat({ step: 'cleanlab' }), CLEANLAB_HEARTBEAT_MS);
  let found;
  try {
    found = await runCleanlab(workDir, labelIds, probs, labels.length, (line) => ctx.log(line));
  } finally {
    clearInterval(beat);
  }
  return {
    issuesPath: join(workDir, 'cleanlab.issues.json'),
    version: found.cleanlab_version,
    filterBy: found.filter_by,
    folds,
    probabilities: reuse ? 'judge' : 'computed',
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface FinishEvaluationArgs {
  input: EvalInput;
  split: EvalSplit;
  layout: EvalArms;
  arms: ArmRun[];
  cleanlab: CleanlabRun | null;
  /** Wall seconds of the whole evaluation so far, as the workflow measured them. */
  seconds: number;
}

/** Step 6: scores the arms and the noise detection, and writes evaluation.json and the run's report.json and report.html. */
export async function finishEvaluation(args: FinishEvaluationArgs): Promise<Evaluation> {
  const { input, layout: l } = args;
  const { outDir, runDir, seed } = layout(input);
  const config = evalConfig(input);
  const reportPath = join(runDir, 'report.json');
  const report = await readJson<ReportWithEvaluation>(reportPath);
  const work = report.work;
  const truth = Array.from(await readUint32(l.truthPath, l.testRows));
  const byArm = new Map(args.arms.map((a) => [a.arm, a]));
  const predictions = {} as Record<ArmName, { predicted: number[]; rows: number; trainSeconds: number }>;
  for (const arm of ARMS) {
    const run = byArm.get(arm)!;
    predictions[arm] = { predicted: Array.from(await readUint32(run.predictedPath, l.testRows)), rows: run.rows, trainSeconds: run.trainSeconds };
  }
  const scored = scoreArms(truth, predictions, l.trainRows, l.labels, seed);

  // The rows the judge found mislabeled (either pass), then the noise experiment: DQE's and
  // cleanlab's detections against the flips that survived cleaning.
  const verdicts = mergeVerdicts(await readJsonlAll<RowVerdict>(join(runDir, work.verdicts)), work.secondPass ? await readJsonlAll<RowVerdict>(join(runDir, work.secondPass.verdicts)) : []);
  const judged = new Set([...verdicts.values()].filter((v) => v.verdict === 'mislabeled').map((v) => v.id));
  let noise: NoiseExperiment | null = null;
  if (input.injectNoise !== undefined) {
    const kept = await readJsonlAll<KeptRow>(join(runDir, work.kept));
    const flips = await readJsonlAll<{ row: number }>(join(outDir, 'flips.jsonl'));
    const flippedRows = new Set(flips.map((f) => f.row));
    const actual = new Set(kept.filter((r) => flippedRows.has(r.row)).map((r) => r.id));
    const flagged = new Set<number>();
    for (const p of [work, ...(work.secondPass ? [work.secondPass] : [])]) {
      for await (const c of readJsonl<CategoryRow>(join(runDir, p.categories))) {
        if (c.category === 'noisy') flagged.add(c.id).add(c.neighbour.id);
      }
    }
    const cl = args.cleanlab;
    const issues = cl ? (await readJson<{ issues: number[] }>(cl.issuesPath)).issues : [];
    noise = {
      rate: input.injectNoise,
      flipped: args.split.flipped,
      flippedKept: actual.size,
      definitions: {
        dqe: `kept rows whose verdict is mislabeled${config.twoFold ? ' in either pass' : ''} (the rows DQE drops or relabels)`,
        dqeFlagged: 'kept rows that are either side of a noisy pair, whatever the verdict',
        cleanlab: `kept rows cleanlab.filter.find_label_issues flags (filter_by=${CLEANLAB_FILTER_BY}) from ${input.cleanlabFolds ?? DEFAULT_CLEANLAB_FOLDS}-fold out-of-fold probabilities of the same linear model on the same embeddings`,
        actual: 'kept rows whose label was flipped',
      },
      dqe: detectionScores(judged, actual),
      dqeFlagged: detectionScores(flagged, actual),
      cleanlab: cl ? { ...detectionScores(new Set(issues), actual), seconds: cl.seconds, version: cl.version, folds: cl.folds, filterBy: cl.filterBy, probabilities: cl.probabilities } : null,
    };
  }

  const n = l.trainRows;
  const evaluation: Evaluation = {
    evaluationVersion: 1,
    seed,
    trainer: l.trainer.name,
    twoFold: config.twoFold,
    test: { source: input.test ? 'file' : 'holdout', fraction: input.test ? null : (input.holdout ?? DEFAULT_HOLDOUT), path: input.test ? resolve(input.test) : null, rows: l.testRows, skipped: args.split.testRowsIn - l.testRows },
    trainRows: n,
    judgedMislabeled: { rows: judged.size, share: n > 0 ? judged.size / n : 0 },
    arms: scored.arms,
    comparisons: scored.comparisons,
    noise,
    seconds: args.seconds,
  };
  const withEvaluation: ReportWithEvaluation = { ...report, evaluation };
  await writeJsonAtomic(reportPath, withEvaluation);
  await writeFileAtomic(join(runDir, 'report.html'), renderReportHtml(withEvaluation));
  await writeJsonAtomic(join(outDir, 'evaluation.json'), evaluation);
  return evaluation;
}
