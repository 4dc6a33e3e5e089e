// `dqe eval`: does training on DQE's final set hold up against the full cleaned data and against a
// random subset of the same size, on rows none of them trained on; and, with injected label flips,
// how many flips DQE finds, next to cleanlab's find_label_issues on the same embeddings.
//
// How it runs: the input is split into a training part and a test split (a file, or a seeded,
// stratified held-out fraction); `--inject-noise` flips a seeded fraction of the training labels;
// the dqe workflow curates the training part (through Temporal, like `dqe run`); then this process
// embeds the test split with the run's embedder, trains the run's trainer three times (full / dqe /
// random) through the `Trainer` interface, and scores each on the test split. The result goes into
// the run's report.json (`evaluation`), report.html and `<output dir>/evaluation.json`.
import { rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import { execa } from 'execa';
import { jobContext } from '../activities/context.js';
import { renderReportHtml, type ReportWithEvaluation } from '../activities/report-html.js';
import type { CategoryRow, KeptRow } from '../activities/refs.js';
import { readCsvDataset, readJsonlDataset, formatOf, type RawRow } from '../adapters/dataset-reader.js';
import { createEmbedder } from '../adapters/embedders/index.js';
import { AtomicWriter, exists, readJson, readJsonl, readJsonlAll, readMatrix, readUint32, writeFileAtomic, writeJsonAtomic, writeTypedAtomic } from '../adapters/files.js';
import { CROSS_FIT_PROBE, CROSS_FIT_SEED_OFFSET } from '../adapters/judges/offline.js';
import { crossFittedProbs } from '../adapters/trainers/linear.js';
import { createTrainer, type Trainer } from '../adapters/trainers/index.js';
import { normaliseText } from '../core/clean.js';
import {
  ARMS,
  holdoutSplit,
  injectLabelNoise,
  randomSubset,
  type ArmComparison,
  type ArmName,
  type ArmResult,
  type Evaluation,
  type LabelFlip,
  type NoiseExperiment,
} from '../core/evaluation.js';
import { EMBEDDERS, formatProblems, JUDGES, parseDqeInput, SAMPLING_RULES, PRESET_NAMES, TRAINERS, VECTOR_STORES, type DqeConfig, type DqeInput, type TrainerConfig } from '../core/input.js';
import type { RowVerdict } from '../core/judging.js';
import { bootstrapMacroF1Test, classificationMetrics, detectionScores, mcnemarTest, pairedTTest, UNMAPPED } from '../core/metrics.js';
import { mergeVerdicts } from '../core/two-fold.js';
import { ensurePythonGroup, REPO_ROOT, VENV_BIN } from '../infra/python-env.js';
import { ensureLocalServer } from '../infra/temporal.js';
import { connectClient, connectWorker, temporalTarget } from '../workers/connection.js';
import { createCpuWorker, CPU_TASK_QUEUE } from '../workers/cpu-worker.js';
import type { DqeResult } from '../workflows/index.js';
import { startDqe, waitForDqe } from './api.js';

/** Share of the input held out as the test split when no test file is given. */
export const DEFAULT_HOLDOUT = 0.2;
/** Folds of the cross-validated probabilities handed to cleanlab (cleanlab's own default is 5). */
export const DEFAULT_CLEANLAB_FOLDS = 5;
/** Offsets of the seeds of the noise flips and the random arm from the run's seed, so they are independent draws (cleanlab's folds use the offline judge's offset). */
const NOISE_SEED_OFFSET = 1;
const RANDOM_ARM_SEED_OFFSET = 2;
const BOOTSTRAP_SEED_OFFSET = 4;
/** cleanlab's default rule for which rows are issues. */
const CLEANLAB_FILTER_BY = 'prune_by_noise_rate';
const CLEANLAB_SCRIPT = join(REPO_ROOT, 'tools', 'cleanlab_find_issues.py');

export interface EvalOptions {
  /** The dataset to split, curate and evaluate on. */
  dataset: string;
  /** @default from the extension */
  format?: 'jsonl' | 'csv' | undefined;
  /** @default 'text' */
  textField?: string | undefined;
  /** @default 'label' */
  labelField?: string | undefined;
  /** A test split in the dataset's format and fields; without it, `holdout` of the dataset is held out. */
  test?: string | undefined;
  /** Share of the dataset held out (stratified by label, seeded) when there is no `test`. @default 0.2 */
  holdout?: number | undefined;
  /** Seeds the split, the flips, the random arm and the run. @default 0 */
  seed?: number | undefined;
  /** Share of the training rows whose label is flipped before DQE runs (0 < r < 1). @default none */
  injectNoise?: number | undefined;
  /** With `injectNoise`, also score cleanlab's find_label_issues. @default true */
  cleanlab?: boolean | undefined;
  /** Cross-validation folds of cleanlab's probabilities. @default 5 */
  cleanlabFolds?: number | undefined;
  /** The rest of the dqe workflow input (ratio, embedder, trainer, judge, twoFold, ...). */
  dqe?: Partial<Omit<DqeInput, 'dataset' | 'format' | 'textField' | 'labelField' | 'seed' | 'outputDir'>> | undefined;
  /** The evaluation directory: train.jsonl, test.jsonl, flips.jsonl, evaluation.json, dqe/ (the run directory), work/. */
  outputDir: string;
}

export interface EvalDeps {
  /** Runs the dqe workflow on an input to completion. */
  runDqe(input: DqeInput): Promise<DqeResult>;
  /** Where embedder secrets and endpoints come from. */
  env: NodeJS.ProcessEnv;
  /**
   * Builds the trainer the three arms train with, in this process. @default adapters/trainers
   * `createTrainer`, with swift run by this process (so `--trainer swift` needs a GPU host)
   */
  createTrainer?: (config: TrainerConfig) => Trainer;
  log?: (line: string) => void;
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

async function readRows(path: string, format: 'jsonl' | 'csv' | undefined, textField: string, labelField: string): Promise<{ rows: InputRow[]; unreadable: number }> {
  const fmt = formatOf(path, format);
  if (!fmt) throw new Error(`${path}: unknown format; name it .jsonl or .csv, or pass --format`);
  if (!(await exists(path))) throw new Error(`${path}: no such file`);
  const rows: InputRow[] = [];
  let unreadable = 0;
  const source: AsyncIterable<RawRow> = fmt === 'csv' ? readCsvDataset(path) : readJsonlDataset(path, () => {});
  for await (const r of source) {
    if (!('record' in r)) {
      unreadable++;
      continue;
    }
    const t = r.record[textField];
    rows.push({ record: r.record, text: typeof t === 'string' && t.trim().length > 0 ? t : undefined, label: labelOf(r.record[labelField]) });
  }
  return { rows, unreadable };
}

async function writeJsonlFile(path: string, values: Iterable<unknown>): Promise<void> {
  const out = await AtomicWriter.create(path);
  for (const v of values) await out.writeLine(v);
  await out.commit();
}

/** The run directory's report.json as `dqe eval` reads it back. */
type RunReport = ReportWithEvaluation;

/** cleanlab's find_label_issues on labels and out-of-fold probabilities, through tools/cleanlab_find_issues.py. */
export async function runCleanlab(dir: string, labelIds: Uint32Array, probs: Float64Array, k: number, log: (l: string) => void) {
  await ensurePythonGroup('cleanlab', log);
  const labelsPath = join(dir, 'cleanlab.labels.u32');
  const probsPath = join(dir, 'cleanlab.pred-probs.f64');
  const outPath = join(dir, 'cleanlab.issues.json');
  await writeTypedAtomic(labelsPath, labelIds);
  await writeTypedAtomic(probsPath, probs);
  await execa(join(VENV_BIN, 'python'), [CLEANLAB_SCRIPT, '--labels', labelsPath, '--pred-probs', probsPath, '--rows', String(labelIds.length), '--classes', String(k), '--filter-by', CLEANLAB_FILTER_BY, '--out', outPath], { stdio: ['ignore', 'inherit', 'inherit'] });
  return readJson<{ cleanlab_version: string; filter_by: string; issues: number[]; seconds: number }>(outPath);
}

/** Splits, flips, runs DQE on the training part, trains the three arms and scores them; see the module comment. */
export async function runEvaluation(opts: EvalOptions, deps: EvalDeps): Promise<Evaluation> {
  const started = performance.now();
  const log = deps.log ?? (() => {});
  const textField = opts.textField ?? 'text';
  const labelField = opts.labelField ?? 'label';
  const seed = opts.seed ?? 0;
  const outDir = resolve(opts.outputDir);
  const runDir = join(outDir, 'dqe');
  const workDir = join(outDir, 'work');
  // The evaluation owns outDir: a second evaluation into it replaces the first's DQE run whole.
  const input = { ...(opts.dqe ?? {}), dataset: join(outDir, 'train.jsonl'), format: 'jsonl', textField, labelField, seed, outputDir: runDir, overwrite: true } as DqeInput;
  const parsed = parseDqeInput(input);
  if (!parsed.ok) throw new Error(formatProblems(parsed.problems));
  const config: DqeConfig = parsed.config;
  const rate = opts.injectNoise;
  if (rate !== undefined && !(rate > 0 && rate < 1)) throw new Error(`--inject-noise must be in (0, 1), got ${rate}`);
  const holdout = opts.holdout ?? DEFAULT_HOLDOUT;

  // 1. The training part and the test split.
  const data = await readRows(resolve(opts.dataset), opts.format, textField, labelField);
  let trainRows: InputRow[];
  let testRows: InputRow[];
  if (opts.test) {
    trainRows = data.rows;
    testRows = (await readRows(resolve(opts.test), opts.format, textField, labelField)).rows;
  } else {
    const split = holdoutSplit(data.rows.map((r) => (r.text === undefined ? undefined : r.label)), holdout, seed);
    trainRows = split.train.map((i) => data.rows[i]!);
    testRows = split.test.map((i) => data.rows[i]!);
  }
  // A test row whose text is also in training would be scored on what the model saw: leave it out.
  const trainTexts = new Set(trainRows.flatMap((r) => (r.text === undefined ? [] : [normaliseText(r.text)])));
  const usableTest = testRows.filter((r) => r.text !== undefined && r.label !== undefined && !trainTexts.has(normaliseText(r.text)));

  // 2. The noise experiment's flips.
  let flips: LabelFlip[] = [];
  if (rate !== undefined) {
    const labelSet = config.labels ?? [...new Set(trainRows.flatMap((r) => (r.label === undefined ? [] : [r.label])))].sort();
    flips = injectLabelNoise(trainRows.map((r) => r.label), labelSet, rate, seed + NOISE_SEED_OFFSET);
  }
  const flipped = new Map(flips.map((f) => [f.index, f]));
  await writeJsonlFile(join(outDir, 'train.jsonl'), trainRows.map((r, i) => (flipped.has(i) ? { ...r.record, [labelField]: flipped.get(i)!.to } : r.record)));
  await writeJsonlFile(join(outDir, 'test.jsonl'), usableTest.map((r) => r.record));
  await writeJsonlFile(join(outDir, 'flips.jsonl'), flips.map((f) => ({ row: f.index + 1, from: f.from, to: f.to })));
  log(`eval: ${trainRows.length} training rows (${flips.length} labels flipped), ${usableTest.length} test rows (${testRows.length - usableTest.length} left out)`);

  // 3. DQE on the training part.
  const result = await deps.runDqe(input);
  const reportPath = join(runDir, 'report.json');
  const report = await readJson<RunReport>(reportPath);
  const work = report.work;
  const labels = report.labels;
  const k = labels.length;
  const kept = await readJsonlAll<KeptRow>(join(runDir, work.kept));
  const n = kept.length;
  const dim = work.matrix.dim;
  const trainVectors = await readMatrix({ path: join(runDir, work.matrix.path), rows: work.matrix.rows, dim });
  const keptLabelIds = await readUint32(join(runDir, work.labelIds), n);
  log(`eval: dqe kept ${n} rows, final ${result.counts.final}`);

  // The final set, matched to kept rows by normalised text (unique among kept rows), with its labels.
  const idByText = new Map(kept.map((r) => [normaliseText(r.text), r.id]));
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const finalLabelIds = Uint32Array.from(keptLabelIds);
  const finalIds: number[] = [];
  for await (const rec of readJsonl<Record<string, unknown>>(join(runDir, 'final.jsonl'))) {
    const id = idByText.get(normaliseText(String(rec[textField])));
    const label = labelIndex.get(labelOf(rec[labelField]) ?? '');
    if (id === undefined || label === undefined) throw new Error(`${join(runDir, 'final.jsonl')}: a final row matches no kept row (text ${JSON.stringify(String(rec[textField]).slice(0, 60))})`);
    finalIds.push(id);
    finalLabelIds[id] = label;
  }
  finalIds.sort((a, b) => a - b);

  // 4. The test split embedded with the run's embedder, after the kept rows in one matrix.
  const test = usableTest.filter((r) => labelIndex.has(r.label!));
  const embedder = createEmbedder(config.embedder, deps.env);
  const testVectors: Float32Array[] = [];
  for (let i = 0; i < test.length; i += embedder.batchSize) testVectors.push(...(await embedder.embed(test.slice(i, i + embedder.batchSize).map((r) => r.text!))));
  await rm(workDir, { recursive: true, force: true });
  const matrix = new Float32Array((n + test.length) * dim);
  matrix.set(trainVectors);
  testVectors.forEach((vec, i) => {
    if (vec.length !== dim) throw new Error(`embedder ${embedder.id} gave a ${vec.length}-wide vector for test row ${i + 1}; the run's matrix is ${dim} wide`);
    matrix.set(vec, (n + i) * dim);
  });
  const matrixRef = { path: join(workDir, 'eval.f32'), rows: n + test.length, dim };
  await writeTypedAtomic(matrixRef.path, matrix);
  const keptPath = join(workDir, 'eval-kept.jsonl');
  await writeJsonlFile(keptPath, [...kept, ...test.map((r, i): KeptRow => ({ id: n + i, row: i + 1, line: i + 1, text: r.text!, label: r.label!, source: JSON.stringify(r.record) }))]);
  const testIds = test.map((_, i) => n + i);
  const truth = test.map((r) => labelIndex.get(r.label!)!);
  const withTest = (ids: Uint32Array) => {
    const all = new Uint32Array(n + test.length);
    all.set(ids);
    all.set(truth, n);
    return all;
  };

  // 5. The three arms.
  const trainer = (deps.createTrainer ?? ((c: TrainerConfig) => createTrainer(c, { swift: { env: deps.env } })))(config.trainer);
  const allIds = kept.map((r) => r.id);
  const armIds: Record<ArmName, number[]> = { full: allIds, dqe: finalIds, random: randomSubset(allIds, finalIds.length, seed + RANDOM_ARM_SEED_OFFSET) };
  const arms = {} as Record<ArmName, ArmResult>;
  const correct = {} as Record<ArmName, number[]>;
  const predictedBy = {} as Record<ArmName, number[]>;
  const ctx = jobContext();
  for (const arm of ARMS) {
    log(`eval: training ${trainer.name} on the ${arm} arm (${armIds[arm].length} rows)`);
    const labelIds = withTest(arm === 'dqe' ? finalLabelIds : keptLabelIds);
    const out = await trainer.train({ jobDir: join(workDir, `arm-${arm}`), keptPath, matrix: matrixRef, trainIds: armIds[arm], labelIds, labels, seed }, ctx);
    const preds = await trainer.predict({ jobDir: join(workDir, `arm-${arm}-predict`), keptPath, matrix: matrixRef, modelPath: out.modelPath, ids: testIds, labels }, ctx);
    const byId = new Map(preds.map((p) => [p.id, p.predicted]));
    const predicted = testIds.map((id) => {
      const p = byId.get(id);
      return p === null || p === undefined ? UNMAPPED : (labelIndex.get(p) ?? UNMAPPED);
    });
    correct[arm] = predicted.map((p, i) => (p === truth[i] ? 1 : 0));
    predictedBy[arm] = predicted;
    arms[arm] = { rows: armIds[arm].length, dataFraction: n > 0 ? armIds[arm].length / n : 0, trainSeconds: out.trainSeconds, metrics: classificationMetrics(truth, predicted, labels) };
  }
  const compare = (a: ArmName, b: ArmName): ArmComparison => ({
    a,
    b,
    tTest: pairedTTest(correct[a], correct[b]),
    mcnemar: mcnemarTest(correct[a], correct[b]),
    macroF1: bootstrapMacroF1Test(truth, predictedBy[a], predictedBy[b], k, seed + BOOTSTRAP_SEED_OFFSET),
  });
  const comparisons = [compare('dqe', 'full'), compare('dqe', 'random'), compare('full', 'random')];

  // 6. The rows the judge found mislabeled (either pass), then the noise experiment: DQE's and
  // cleanlab's detections against the flips that survived cleaning.
  const verdicts = mergeVerdicts(await readJsonlAll<RowVerdict>(join(runDir, work.verdicts)), work.secondPass ? await readJsonlAll<RowVerdict>(join(runDir, work.secondPass.verdicts)) : []);
  const judged = new Set([...verdicts.values()].filter((v) => v.verdict === 'mislabeled').map((v) => v.id));
  let noise: NoiseExperiment | null = null;
  if (rate !== undefined) {
    const flippedRows = new Set(flips.map((f) => f.index + 1));
    const actual = new Set(kept.filter((r) => flippedRows.has(r.row)).map((r) => r.id));
    const passes = [work, ...(work.secondPass ? [work.secondPass] : [])];
    const flagged = new Set<number>();
    for (const p of passes) {
      for await (const c of readJsonl<CategoryRow>(join(runDir, p.categories))) {
        if (c.category === 'noisy') flagged.add(c.id).add(c.neighbour.id);
      }
    }
    let cleanlab: NoiseExperiment['cleanlab'] = null;
    if (opts.cleanlab ?? true) {
      const folds = opts.cleanlabFolds ?? DEFAULT_CLEANLAB_FOLDS;
      const probe = config.trainer.name === 'linear' ? { epochs: config.trainer.epochs, learningRate: config.trainer.learningRate, l2: config.trainer.l2 } : CROSS_FIT_PROBE;
      const t0 = performance.now();
      log(`eval: ${folds}-fold cross-validated probabilities for cleanlab`);
      const probs = await crossFittedProbs(trainVectors, dim, keptLabelIds, k, folds, seed + CROSS_FIT_SEED_OFFSET, probe, ctx);
      const found = await runCleanlab(workDir, keptLabelIds, probs, k, log);
      cleanlab = { ...detectionScores(new Set(found.issues), actual), seconds: (performance.now() - t0) / 1000, version: found.cleanlab_version, folds, filterBy: found.filter_by };
    }
    noise = {
      rate,
      flipped: flips.length,
      flippedKept: actual.size,
      definitions: {
        dqe: `kept rows whose verdict is mislabeled${config.twoFold ? ' in either pass' : ''} (the rows DQE drops or relabels)`,
        dqeFlagged: 'kept rows that are either side of a noisy pair, whatever the verdict',
        cleanlab: `kept rows cleanlab.filter.find_label_issues flags (filter_by=${CLEANLAB_FILTER_BY}) from ${opts.cleanlabFolds ?? DEFAULT_CLEANLAB_FOLDS}-fold out-of-fold probabilities of the same linear model on the same embeddings`,
        actual: 'kept rows whose label was flipped',
      },
      dqe: detectionScores(judged, actual),
      dqeFlagged: detectionScores(flagged, actual),
      cleanlab,
    };
  }

  const evaluation: Evaluation = {
    evaluationVersion: 1,
    seed,
    trainer: trainer.name,
    twoFold: config.twoFold,
    test: { source: opts.test ? 'file' : 'holdout', fraction: opts.test ? null : holdout, path: opts.test ? resolve(opts.test) : null, rows: test.length, skipped: testRows.length - test.length },
    trainRows: n,
    judgedMislabeled: { rows: judged.size, share: n > 0 ? judged.size / n : 0 },
    arms,
    comparisons,
    noise,
    seconds: (performance.now() - started) / 1000,
  };
  const withEvaluation: RunReport = { ...report, evaluation };
  await writeJsonAtomic(reportPath, withEvaluation);
  await writeFileAtomic(join(runDir, 'report.html'), renderReportHtml(withEvaluation));
  await writeJsonAtomic(join(outDir, 'evaluation.json'), evaluation);
  return evaluation;
}

/** Runs the dqe workflow the way `dqe run` does: the local dev server and an in-process worker unless TEMPORAL_ADDRESS is set. */
async function runDqeWorkflow(input: DqeInput, o: { taskQueue: string; workflowId: string; inProcessWorker?: boolean; log: (l: string) => void }): Promise<DqeResult> {
  let target = temporalTarget();
  if (!target) {
    const local = await ensureLocalServer(o.log);
    target = { address: local.address, namespace: 'default' };
  }
  const connection = await connectClient(target);
  const client = new Client({ connection, namespace: target.namespace });
  let workerConnection: NativeConnection | undefined;
  try {
    await startDqe(client, input, { workflowId: o.workflowId, taskQueue: o.taskQueue });
    o.log(`eval: started workflow ${o.workflowId}`);
    if (!(o.inProcessWorker ?? !process.env.TEMPORAL_ADDRESS)) return await waitForDqe(client, o.workflowId);
    Runtime.install({ logger: new DefaultLogger('WARN') });
    workerConnection = await connectWorker(target);
    const worker = await createCpuWorker({ connection: workerConnection, namespace: target.namespace, taskQueue: o.taskQueue });
    return await worker.runUntil(waitForDqe(client, o.workflowId));
  } finally {
    await connection.close();
    await workerConnection?.close();
  }
}

function fraction(name: string) {
  return (v: string) => {
    const x = Number(v);
    if (!(x > 0 && x < 1)) throw new InvalidArgumentError(`${name} must be a number in (0, 1)`);
    return x;
  };
}

function integer(name: string, min: number) {
  return (v: string) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return x;
  };
}

function component(v: string): unknown {
  return v.trim().startsWith('{') ? JSON.parse(v) : v;
}

interface EvalCliOptions {
  test?: string;
  holdout: number;
  injectNoise?: number;
  cleanlab: boolean;
  cleanlabFolds: number;
  twoFold?: boolean;
  preset?: string;
  format?: 'jsonl' | 'csv';
  textField?: string;
  labelField?: string;
  labels?: string;
  ratio?: number;
  seed: number;
  sampling?: string;
  embedder?: unknown;
  trainer?: unknown;
  vectorStore?: unknown;
  judge?: unknown;
  noisy?: string;
  undecided?: string;
  outputDir?: string;
  workflowId?: string;
  taskQueue: string;
  inProcessWorker?: boolean;
  json?: boolean;
}

/** One line per arm and comparison, for people. */
export function formatEvaluation(e: Evaluation): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const p = (x: number) => (x !== 0 && x < 0.001 ? x.toExponential(2) : x.toFixed(3));
  const lines = [`test rows ${e.test.rows}; kept training rows ${e.trainRows}; trainer ${e.trainer}${e.twoFold ? '; two-fold DQE' : ''}; judged mislabeled ${e.judgedMislabeled.rows} (${pct(e.judgedMislabeled.share)})`, ''];
  lines.push(`  ${'arm'.padEnd(8)} ${'rows'.padStart(6)} ${'share'.padStart(7)} ${'accuracy'.padStart(9)} ${'macro-F1'.padStart(9)} ${'train s'.padStart(8)}`);
  for (const arm of ARMS) {
    const a = e.arms[arm];
    lines.push(`  ${arm.padEnd(8)} ${String(a.rows).padStart(6)} ${pct(a.dataFraction).padStart(7)} ${pct(a.metrics.accuracy).padStart(9)} ${a.metrics.macroF1.toFixed(3).padStart(9)} ${a.trainSeconds.toFixed(2).padStart(8)}`);
  }
  lines.push('');
  for (const c of e.comparisons) {
    lines.push(`  ${c.a} vs ${c.b}: accuracy diff ${(100 * c.tTest.meanDiff).toFixed(2)} pts, paired t p = ${p(c.tTest.pValue)}, McNemar ${c.mcnemar.aOnly}/${c.mcnemar.bOnly} p = ${p(c.mcnemar.pValue)}`);
    lines.push(`  ${''.padEnd(c.a.length + c.b.length + 4)}  macro-F1 diff ${c.macroF1.diff.toFixed(3)} (95% CI ${c.macroF1.ci95[0].toFixed(3)} to ${c.macroF1.ci95[1].toFixed(3)}), bootstrap p = ${p(c.macroF1.pValue)}`);
  }
  if (e.noise) {
    const nz = e.noise;
    lines.push('', `noise: ${nz.flipped} labels flipped (${pct(nz.rate)}), ${nz.flippedKept} kept`);
    const row = (name: string, s: { detected: number; precision: number; recall: number; f1: number }) => `  ${name.padEnd(14)} detected ${String(s.detected).padStart(5)}  P ${s.precision.toFixed(3)}  R ${s.recall.toFixed(3)}  F1 ${s.f1.toFixed(3)}`;
    lines.push(row('dqe', nz.dqe), row('dqe flagged', nz.dqeFlagged));
    if (nz.cleanlab) lines.push(row('cleanlab', nz.cleanlab));
  }
  return lines.join('\n');
}

/** The `dqe eval` subcommand. */
export function evalCommand(): Command {
  return new Command('eval')
    .description('Evaluate DQE: train on the full cleaned data, on the DQE final set and on a random subset of the same size; score each on a test split. With --inject-noise, also score label-noise detection against cleanlab.')
    .argument('<dataset>', 'the dataset (.jsonl or .csv)')
    .option('--test <file>', 'a test split in the same format and fields (default: hold out --holdout of the dataset)')
    .option('--holdout <fraction>', 'share of the dataset held out as the test split, stratified by label', fraction('--holdout'), DEFAULT_HOLDOUT)
    .option('--inject-noise <rate>', 'flip this share of the training labels (seeded) before DQE runs, and score noise detection', fraction('--inject-noise'))
    .option('--no-cleanlab', 'with --inject-noise, skip the cleanlab baseline')
    .option('--cleanlab-folds <k>', 'cross-validation folds of the probabilities given to cleanlab', integer('--cleanlab-folds', 2), DEFAULT_CLEANLAB_FOLDS)
    .option('--two-fold', 'run two-fold DQE (a second pass with the halves swapped)')
    .addOption(new Option('--preset <name>', "a named composition of DQE ('paper'); other flags override its fields").choices(PRESET_NAMES))
    .addOption(new Option('--format <format>', 'dataset format (default: from the extension)').choices(['jsonl', 'csv']))
    .option('--text-field <name>', 'field holding the text (default: text)')
    .option('--label-field <name>', 'field holding the label (default: label)')
    .option('--labels <a,b,...>', 'declared label set')
    .option('--ratio <r>', 'DQE sampling ratio (default: 0.5)', Number)
    .option('--seed <n>', 'seeds the split, the flips, the random arm and the run', integer('--seed', 0), 0)
    .addOption(new Option('--sampling <rule>', 'greedy diversity rule (default: centroid)').choices([...SAMPLING_RULES]))
    .option('--embedder <name|json>', `embedder: ${EMBEDDERS.join(', ')} or a JSON object (default: hash)`, component)
    .option('--trainer <name|json>', `trainer: ${TRAINERS.join(', ')} or a JSON object (default: linear)`, component)
    .option('--vector-store <name|json>', `vector store: ${VECTOR_STORES.join(', ')} or a JSON object (default: embedded)`, component)
    .option('--judge <name|json>', `judge: ${JUDGES.join(', ')} or a JSON object (default: offline)`, component)
    .addOption(new Option('--noisy <mode>', 'rows judged mislabeled (default: drop)').choices(['drop', 'relabel']))
    .addOption(new Option('--undecided <mode>', 'rows the judge could not decide (default: keep)').choices(['keep', 'drop']))
    .option('--output-dir <dir>', 'evaluation directory (default: runs/eval-<dataset>)')
    .option('--workflow-id <id>', 'workflow id of the DQE run (default: dqe-eval-<dataset>-<time>)')
    .option('--task-queue <name>', 'task queue of the workflow and CPU activities', CPU_TASK_QUEUE)
    .option('--in-process-worker', 'also run a worker in this process (the default when TEMPORAL_ADDRESS is unset)')
    .option('--json', 'print the evaluation as JSON on stdout')
    .action(async (dataset: string, o: EvalCliOptions) => {
      const name = basename(dataset).replace(/\.[^.]+$/u, '').replace(/[^A-Za-z0-9_-]/gu, '-');
      const log = (l: string) => console.error(l);
      const dqe: Record<string, unknown> = {};
      const set = (k: string, v: unknown) => v !== undefined && (dqe[k] = v);
      set('labels', o.labels?.split(',').map((s) => s.trim()));
      set('ratio', o.ratio);
      set('sampling', o.sampling);
      set('embedder', o.embedder);
      set('trainer', o.trainer);
      set('vectorStore', o.vectorStore);
      set('judge', o.judge);
      set('noisy', o.noisy);
      set('undecided', o.undecided);
      set('twoFold', o.twoFold);
      set('preset', o.preset);
      const workflowId = o.workflowId ?? `dqe-eval-${name}-${new Date().toISOString().replace(/[:.]/gu, '-')}`;
      const evaluation = await runEvaluation(
        {
          dataset,
          format: o.format,
          textField: o.textField,
          labelField: o.labelField,
          test: o.test,
          holdout: o.holdout,
          seed: o.seed,
          injectNoise: o.injectNoise,
          cleanlab: o.cleanlab,
          cleanlabFolds: o.cleanlabFolds,
          dqe,
          outputDir: o.outputDir ?? `runs/eval-${name}`,
        },
        {
          env: process.env,
          log,
          runDqe: (input) => runDqeWorkflow(input, { taskQueue: o.taskQueue, workflowId, ...(o.inProcessWorker ? { inProcessWorker: true } : {}), log }),
        },
      );
      if (o.json) console.log(JSON.stringify(evaluation, null, 2));
      else {
        console.log(formatEvaluation(evaluation));
        console.log(`\nreport: ${resolve(o.outputDir ?? `runs/eval-${name}`, 'dqe', 'report.html')}`);
      }
    });
}
