// The ablation of DQE's parts (issue 19): which sampling rule and ratio, which categories return,
// which judge rule and scope, one- or two-fold, against the full data and a random subset of the same
// size, on SpamAssassin 2-class (ham / spam) and 3-class (easy ham / hard ham / spam) and the drug
// reviews (3-class sentiment), on hash or minilm vectors, clean and with 10% of the training labels
// flipped, over seeds. Each dataset's vectors are computed once per embedder and cached under
// bench/results/tmp/vectors (keyed by the embedder id and a hash of the texts).
//
// It runs the method's pure parts in this process (core/ sampling, categorising, the offline judge's
// cross-fitted probabilities and rules, assembly, metrics) and trains through the `Trainer` interface,
// so `linear` and `encoder` run exactly as in a dqe run; it skips Temporal and the run directory,
// which change no result, to afford many configurations on a 2-core machine.
//
// Usage: npx tsx bench/method.ts [--seeds 0] [--datasets 2-class,3-class,drug-reviews] [--embedders hash,minilm]
//          [--variants clean,noisy] [--noise 0.1] [--limit N] [--trainer linear|encoder|JSON]
//          [--configs paper,paper+confident,...] [--out bench/results/method.json]
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { CROSS_FIT_PROBE, CROSS_FIT_SEED_OFFSET } from '../adapters/judges/offline.js';
import { createEmbedder } from '../adapters/embedders/index.js';
import { readMatrix, writeTypedAtomic } from '../adapters/files.js';
import { createTrainer } from '../adapters/trainers/index.js';
import { crossFittedProbs } from '../adapters/trainers/linear.js';
import type { JobContext } from '../adapters/trainers/types.js';
import { assembleFinal } from '../core/assemble.js';
import { categorise, exactNearest, type Category, type Split } from '../core/categorise.js';
import { normaliseText } from '../core/clean.js';
import { holdoutSplit, injectLabelNoise, randomSubset } from '../core/evaluation.js';
import { parseDqeInput, type TrainerConfig } from '../core/input.js';
import { confidentVerdict, flagOutsidePairs, judgeEvidence, offlineVerdict, type JudgeEvidence, type JudgeScope, type RowVerdict } from '../core/judging.js';
import { bootstrapMacroF1Test, classificationMetrics, detectionScores, mcnemarTest, pairedTTest } from '../core/metrics.js';
import { greedySample, sampleCount, type SamplingRule } from '../core/sampling/index.js';
import { mergeVerdicts } from '../core/two-fold.js';
import { drugReviewsJsonl } from '../examples/drug-reviews.js';
import { labelOf, loadMails, spread } from '../examples/spam-assassin.js';
import { runCleanlab } from '../adapters/cleanlab.js';
import { nearestOtherRows } from '../adapters/vector-stores/exact-knn.js';
import { REPO_ROOT } from '../infra/python-env.js';

/** One way of running DQE: every part the ablation varies. */
export interface MethodConfig {
  sampling: SamplingRule;
  ratio: number;
  /** Categories of wrongly predicted unsampled rows that return to the final set. */
  categories: readonly Category[];
  judge: 'confident' | 'fixed';
  /** With judge 'confident': the suggested class's probability a mislabeled verdict needs. @default 0 */
  minSuggested?: number;
  /** Which rows the judge may flag: the noisy pairs' rows, or every kept row (from the same cross-fitted probabilities). */
  scope: JudgeScope;
  twoFold: boolean;
  undecided: 'keep' | 'drop';
  /** With judge 'confident': nearest other rows whose labels vote beside the cross-fitted probabilities (the offline judge's `neighbours`). @default 0 */
  neighbours?: number;
  /** With judge 'confident': the class thresholds are this × the class means (the offline judge's `thresholdScale`). @default 1 */
  thresholdScale?: number;
  /** The final set's largest share of the training rows (a run's `maxShare`; returned rows over it are thinned). @default 1 */
  maxShare?: number;
}

/** The paper's composition (sampled + uncovered + difficult + noisy judged right, one pass), with dqe's former fixed-threshold judge. */
const PAPER: MethodConfig = { sampling: 'centroid', ratio: 0.5, categories: ['uncovered', 'difficult', 'noisy'], judge: 'fixed', scope: 'pairs', twoFold: false, undecided: 'keep' };
const CONFIGS: Record<string, MethodConfig> = {
  paper: PAPER,
  'paper+confident': { ...PAPER, judge: 'confident' },
  'two-fold': { ...PAPER, judge: 'confident', twoFold: true },
  'scope-all': { ...PAPER, judge: 'confident', scope: 'all' },
  'two-fold+all': { ...PAPER, judge: 'confident', twoFold: true, scope: 'all' },
  kcenter: { ...PAPER, judge: 'confident', sampling: 'kcenter' },
  'ratio-0.4': { ...PAPER, judge: 'confident', ratio: 0.4 },
  'no-noisy': { ...PAPER, judge: 'confident', categories: ['uncovered', 'difficult'] },
  'sampled-only': { ...PAPER, judge: 'confident', categories: [] },
  'undecided-drop': { ...PAPER, judge: 'confident', undecided: 'drop' },
  'confident-p50': { ...PAPER, judge: 'confident', minSuggested: 0.5 },
  'two-fold-p50': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5 },
  'all-p50': { ...PAPER, judge: 'confident', scope: 'all', minSuggested: 0.5 },
  'two-fold-wrong': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, scope: 'wrong' },
  'wrong-p50': { ...PAPER, judge: 'confident', minSuggested: 0.5, scope: 'wrong' },
  'two-fold-knn': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, neighbours: 10 },
  'two-fold-wrong-knn': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, scope: 'wrong', neighbours: 10 },
  'two-fold-all-knn': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, scope: 'all', neighbours: 10 },
  'all-knn': { ...PAPER, judge: 'confident', minSuggested: 0.5, scope: 'all', neighbours: 10 },
  'wrong-knn': { ...PAPER, judge: 'confident', minSuggested: 0.5, scope: 'wrong', neighbours: 10 },
  'all-knn5': { ...PAPER, judge: 'confident', minSuggested: 0.5, scope: 'all', neighbours: 5 },
  'all-knn20': { ...PAPER, judge: 'confident', minSuggested: 0.5, scope: 'all', neighbours: 20 },
  'two-fold-wrong-knn20': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, scope: 'wrong', neighbours: 20 },
  'two-fold-wrong-knn-cap60': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, scope: 'wrong', neighbours: 10, maxShare: 0.6 },
  /** dqe's defaults since 2026-12-07 (maxShare stays 1: the -cap60 variant below cost the encoder accuracy). */
  'two-fold-wrong-knn-s95': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.6, scope: 'wrong', neighbours: 10, thresholdScale: 0.95 },
  'two-fold-wrong-knn-s95-cap60': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.6, scope: 'wrong', neighbours: 10, thresholdScale: 0.95, maxShare: 0.6 },
  // The sweep around it (README "Method quality", 2026-12-07): thresholdScale × minSuggested, and stricter rules.
  'two-fold-wrong-knn-p60': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.6, scope: 'wrong', neighbours: 10 },
  'two-fold-wrong-knn-s97-p60': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.6, scope: 'wrong', neighbours: 10, thresholdScale: 0.97 },
  'two-fold-wrong-knn-s95-p50': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, scope: 'wrong', neighbours: 10, thresholdScale: 0.95 },
  'two-fold-wrong-knn-s90-p60': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.6, scope: 'wrong', neighbours: 10, thresholdScale: 0.9 },
  'two-fold-wrong-knn-s90-p50': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.5, scope: 'wrong', neighbours: 10, thresholdScale: 0.9 },
  'two-fold-wrong-knn-p70': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.7, scope: 'wrong', neighbours: 10 },
  'two-fold-wrong-knn-p80': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.8, scope: 'wrong', neighbours: 10 },
  'two-fold-wrong-knn-p90': { ...PAPER, judge: 'confident', twoFold: true, minSuggested: 0.9, scope: 'wrong', neighbours: 10 },
  'all-knn-s95': { ...PAPER, judge: 'confident', minSuggested: 0.6, scope: 'all', neighbours: 10, thresholdScale: 0.95 },
  'wrong-knn-s95': { ...PAPER, judge: 'confident', minSuggested: 0.6, scope: 'wrong', neighbours: 10, thresholdScale: 0.95 },
};

const o = new Command('bench-method')
  .option('--seeds <list>', 'seeds of the split, flips, sampling and random arm', '0')
  .option('--datasets <list>', 'of 2-class, 3-class, drug-reviews', '2-class,3-class')
  .option('--embedders <list>', 'vectors of the method and the linear trainer: names or JSON objects, separated by ;', 'hash')
  .option('--noise <rate>', 'flip rate of the noisy variant', Number, 0.1)
  .option('--variants <list>', 'of clean, noisy', 'clean,noisy')
  .option('--limit <n>', 'mails per dataset (default: all)', Number)
  .option('--holdout <f>', 'held-out test share', Number, 0.2)
  .option('--trainer <json>', 'trainer of DQE and the arms (a name or JSON)', 'linear')
  .option('--configs <list>', `which of ${Object.keys(CONFIGS).join(', ')}`, Object.keys(CONFIGS).join(','))
  .option('--out <file>', 'results file', 'bench/results/method.json')
  .parse()
  .opts<{ seeds: string; datasets: string; noise: number; variants: string; limit?: number; holdout: number; embedders: string; trainer: string; configs: string; out: string }>();

const parsed = parseDqeInput({ dataset: 'x.jsonl', trainer: (o.trainer.trim().startsWith('{') ? JSON.parse(o.trainer) : o.trainer) as string });
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const trainerConfig: TrainerConfig = parsed.config.trainer;
const trainer = createTrainer(trainerConfig);
const tmp = join(REPO_ROOT, 'bench', 'results', 'tmp', basename(o.out, '.json'));
await rm(tmp, { recursive: true, force: true });
await mkdir(tmp, { recursive: true });
/** A fresh context per job: the process runner adds an abort listener to its signal per run. */
const ctx = (): JobContext => ({ heartbeat: () => {}, resumeDetails: undefined, signal: new AbortController().signal, log: () => {} });
const log = (l: string) => console.error(l);

/** A dataset's rows in source order; `source` names the text list its vectors are cached for. */
async function sourceRows(name: string): Promise<{ source: string; rows: Array<{ text: string; label: string }> }> {
  if (name === 'drug-reviews') {
    const jsonl = await drugReviewsJsonl(log);
    return { source: name, rows: jsonl.trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string }) };
  }
  if (name !== '2-class' && name !== '3-class') throw new Error(`--datasets: unknown ${name}; valid: 2-class, 3-class, drug-reviews`);
  return { source: `spam-${o.limit ?? 'all'}`, rows: spread(loadMails(), o.limit).map((m) => ({ text: m.text, label: labelOf(m.group, name === '3-class') })) };
}

/** Distinct texts with one label; a text with two labels leaves (as dqe's cleaning does). `src` indexes the source rows. */
function dataset(source: Array<{ text: string; label: string }>) {
  const byText = new Map<string, { text: string; label: string; src: number } | null>();
  source.forEach((m, src) => {
    const key = normaliseText(m.text);
    if (key.length === 0) return;
    const had = byText.get(key);
    if (had === undefined) byText.set(key, { text: m.text, label: m.label, src });
    else if (had !== null && had.label !== m.label) byText.set(key, null);
  });
  return [...byText.values()].filter((r): r is { text: string; label: string; src: number } => r !== null);
}

/** Vectors of every source row, embedded once per (embedder, texts) and cached. */
async function sourceVectors(source: string, texts: string[], embedderSpec: string): Promise<{ vectors: Float32Array; dim: number; embedder: string }> {
  const p = parseDqeInput({ dataset: 'x.jsonl', embedder: (embedderSpec.startsWith('{') ? JSON.parse(embedderSpec) : embedderSpec) as string });
  if (!p.ok) throw new Error(`--embedders: ${JSON.stringify(p.problems)}`);
  const embedder = createEmbedder(p.config.embedder, process.env);
  const key = createHash('sha256').update(embedder.id).update('\0').update(texts.join('\0')).digest('hex').slice(0, 16);
  const dir = join(REPO_ROOT, 'bench', 'results', 'tmp', 'vectors');
  const path = join(dir, `${source}-${p.config.embedder.name}-${key}.f32`);
  const dimPath = `${path}.dim`;
  try {
    await access(dimPath);
    const dim = Number(await readFile(dimPath, 'utf8'));
    return { vectors: await readMatrix({ path, rows: texts.length, dim }), dim, embedder: embedder.id };
  } catch {
    // not cached yet
  }
  const started = performance.now();
  const chunks: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += embedder.batchSize) chunks.push(...(await embedder.embed(texts.slice(i, i + embedder.batchSize))));
  const dim = chunks[0]!.length;
  const vectors = new Float32Array(texts.length * dim);
  chunks.forEach((v, i) => vectors.set(v, i * dim));
  await mkdir(dir, { recursive: true });
  await writeTypedAtomic(path, vectors);
  await writeFile(dimPath, String(dim));
  log(`embedded ${texts.length} ${source} texts with ${embedder.id} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return { vectors, dim, embedder: embedder.id };
}

interface ArmScore {
  rows: number;
  share: number;
  accuracy: number;
  macroF1: number;
}

const precisionRecall = (d: { precision: number; recall: number }) => ({ precision: d.precision, recall: d.recall });

let jobs = 0;
/** Each training's answer by its inputs: configurations that share a pass (or a final set) train it once. */
const trained = new Map<string, Promise<{ predicted: number[]; probs: number[][] }>>();
/** Trains on `ids` with `labelIds`, returns predicted class indices for `predictIds`. */
function trainPredict(ref: { keptPath: string; matrix: { path: string; rows: number; dim: number } }, labels: string[], labelIds: Uint32Array, ids: number[], predictIds: number[], seed: number): Promise<{ predicted: number[]; probs: number[][] }> {
  const key = createHash('sha256').update(JSON.stringify([ref.keptPath, Array.from(labelIds), ids, predictIds, seed])).digest('hex');
  if (!trained.has(key)) trained.set(key, trainPredictOnce(ref, labels, labelIds, ids, predictIds, seed));
  return trained.get(key)!;
}
async function trainPredictOnce(ref: { keptPath: string; matrix: { path: string; rows: number; dim: number } }, labels: string[], labelIds: Uint32Array, ids: number[], predictIds: number[], seed: number): Promise<{ predicted: number[]; probs: number[][] }> {
  const jobDir = join(tmp, `job-${jobs++}`);
  const out = await trainer.train({ jobDir, ...ref, trainIds: ids, labelIds, labels, seed }, ctx());
  const preds = await trainer.predict({ jobDir: `${jobDir}-predict`, ...ref, modelPath: out.modelPath, ids: predictIds, labels }, ctx());
  if (trainerConfig.name === 'encoder') await rm(jobDir, { recursive: true, force: true });
  return { predicted: preds.map((p) => labels.indexOf(p.predicted ?? '')), probs: preds.map((p) => p.probs ?? []) };
}

const results: unknown[] = [];
async function save(complete: boolean) {
  await writeFile(
    join(REPO_ROOT, o.out),
    `${JSON.stringify({ benchmark: 'method', complete, command: `npx tsx bench/method.ts ${process.argv.slice(2).join(' ')}`.trim(), machine: { cpus: cpus().length, node: process.version, loadavg: (await readFile('/proc/loadavg', 'utf8')).trim() }, trainer: trainerConfig, configs: CONFIGS, results }, null, 2)}\n`,
  );
}

for (const seed of o.seeds.split(',').map(Number)) {
  for (const name of o.datasets.split(',')) {
    const { source, rows: sourceList } = await sourceRows(name);
    const rows = dataset(sourceList);
    const labels = [...new Set(rows.map((r) => r.label))].sort();
    const split = holdoutSplit(rows.map((r) => r.label), o.holdout, seed);
    for (const embedderSpec of o.embedders.split(';')) {
    const cached = await sourceVectors(source, sourceList.map((r) => r.text), embedderSpec);
    for (const noise of o.variants.split(',').map((v) => (v === 'clean' ? null : o.noise))) {
      const started = performance.now();
      const train = split.train.map((i) => rows[i]!);
      const test = split.test.map((i) => rows[i]!);
      const flips = noise === null ? [] : injectLabelNoise(train.map((r) => r.label), labels, noise, seed + 1);
      const trainLabels = train.map((r) => r.label);
      for (const f of flips) trainLabels[f.index] = f.to;
      const n = train.length;
      const all = [...train, ...test];
      const dim = cached.dim;
      const vectors = new Float32Array(all.length * dim);
      all.forEach((r, i) => vectors.set(cached.vectors.subarray(r.src * dim, (r.src + 1) * dim), i * dim));
      const embedderName = cached.embedder;
      const caseDir = join(tmp, `${name}-${seed}-${noise ?? 'clean'}-${embedderName.replace(/[^\w.-]/gu, '_')}`);
      await mkdir(caseDir, { recursive: true });
      const matrix = { path: join(caseDir, 'matrix.f32'), rows: all.length, dim };
      await writeTypedAtomic(matrix.path, vectors);
      const keptPath = join(caseDir, 'kept.jsonl');
      await writeFile(keptPath, all.map((r, id) => JSON.stringify({ id, row: id + 1, text: r.text, label: r.label })).join('\n') + '\n');
      const ref = { keptPath, matrix };
      const labelIds = new Uint32Array(all.length);
      trainLabels.forEach((l, i) => (labelIds[i] = labels.indexOf(l)));
      test.forEach((r, i) => (labelIds[n + i] = labels.indexOf(r.label)));
      const truth = test.map((r) => labels.indexOf(r.label));
      const testIds = test.map((_, i) => n + i);
      const k = labels.length;
      const keptIds = Array.from({ length: n }, (_, i) => i);
      const actual = new Set(flips.map((f) => f.index));

      // The judge's evidence, shared by every configuration: cross-fitted linear probabilities.
      const trainVectors = vectors.subarray(0, n * dim);
      const trainLabelIds = labelIds.slice(0, n);
      const probs = await crossFittedProbs(trainVectors, dim, trainLabelIds, k, 5, seed + CROSS_FIT_SEED_OFFSET, CROSS_FIT_PROBE, ctx());
      // The offline judge's evidence (core/judging.ts judgeEvidence, as a run's judge), per neighbour count (0: the
      // probabilities alone), each computed once per case; every row searched, as a run does up to 20,000 rows.
      const evidenceBy = new Map<number, JudgeEvidence>();
      for (const c of new Set(o.configs.split(',').map((name) => CONFIGS[name]?.neighbours ?? 0))) {
        evidenceBy.set(c, judgeEvidence(probs, trainLabelIds, k, c === 0 ? undefined : { count: c, nearest: await nearestOtherRows(trainVectors, n, dim, c) }));
      }
      const cleanlabIssues = new Set((await runCleanlab(caseDir, trainLabelIds, probs, k, log)).issues);
      const cleanlab = noise === null ? null : detectionScores(cleanlabIssues, actual);

      const score = (predicted: number[], rowsIn: number): ArmScore => {
        const m = classificationMetrics(truth, predicted, labels);
        return { rows: rowsIn, share: rowsIn / n, accuracy: m.accuracy, macroF1: m.macroF1 };
      };
      const compare = (a: number[], b: number[]) => {
        const ca = a.map((p, i) => (p === truth[i] ? 1 : 0));
        const cb = b.map((p, i) => (p === truth[i] ? 1 : 0));
        const f1 = bootstrapMacroF1Test(truth, a, b, k, seed + 4);
        return { accuracyDiff: pairedTTest(ca, cb).meanDiff, tTestP: pairedTTest(ca, cb).pValue, mcnemarP: mcnemarTest(ca, cb).pValue, macroF1Diff: f1.diff, macroF1P: f1.pValue };
      };
      const full = (await trainPredict(ref, labels, labelIds, keptIds, testIds, seed)).predicted;
      const randomBySize = new Map<number, number[]>();

      const judgeRow = (cfg: MethodConfig, id: number) => {
        const evidence = evidenceBy.get(cfg.neighbours ?? 0)!;
        const p = evidence.of(id);
        return cfg.judge === 'confident' ? confidentVerdict(id, labels[labelIds[id]!]!, p, labels, evidence.thresholds.map((t) => t * (cfg.thresholdScale ?? 1)), cfg.minSuggested) : offlineVerdict(id, labels[labelIds[id]!]!, p, labels, { mislabeledBelow: 0.25, okAtLeast: 0.5 });
      };

      /** One DQE pass over a split: categories of the wrong predictions and verdicts on the noisy pairs. */
      async function pass(splits: Split[], cfg: MethodConfig) {
        const sampled = keptIds.filter((id) => splits[id] === 'sampled');
        const unsampled = keptIds.filter((id) => splits[id] === 'unsampled');
        const { predicted } = await trainPredict(ref, labels, labelIds, sampled, unsampled, seed);
        const wrong = unsampled.filter((id, i) => predicted[i] !== labelIds[id]);
        const nn = exactNearest(trainVectors, n, dim, wrong);
        const categories = new Map<number, Category>();
        const verdicts: RowVerdict[] = [];
        const judge = (id: number) => judgeRow(cfg, id);
        wrong.forEach((id, i) => {
          const nb = nn[i]!.id;
          const c = categorise(labels[labelIds[id]!]!, labels[labelIds[nb]!]!, splits[nb]!);
          categories.set(id, c);
          if (c === 'noisy') verdicts.push(judge(id), judge(nb));
        });
        return { categories, verdicts, wrong: wrong.length, wrongIds: wrong };
      }

      for (const configName of o.configs.split(',')) {
        const cfg = CONFIGS[configName];
        if (!cfg) throw new Error(`--configs: unknown ${configName}; valid: ${Object.keys(CONFIGS).join(', ')}`);
        const t0 = performance.now();
        const chosen = await greedySample(trainVectors, n, dim, { count: sampleCount(n, cfg.ratio), seed, rule: cfg.sampling });
        const splits: Split[] = new Array<Split>(n).fill('unsampled');
        for (const id of chosen) splits[id] = 'sampled';
        const first = await pass(splits, cfg);
        let verdicts = mergeVerdicts(first.verdicts, []);
        const second = cfg.twoFold ? await pass(splits.map((s) => (s === 'sampled' ? 'unsampled' : 'sampled')), cfg) : undefined;
        if (second) verdicts = mergeVerdicts(first.verdicts, second.verdicts);
        if (cfg.scope === 'all') verdicts = mergeVerdicts(flagOutsidePairs([...verdicts.values()], n, (id) => judgeRow(cfg, id)), []);
        if (cfg.scope === 'wrong') verdicts = mergeVerdicts(flagOutsidePairs([...verdicts.values()], [...first.wrongIds, ...(second?.wrongIds ?? [])], (id) => judgeRow(cfg, id)), []);
        const returned = new Map([...first.categories].filter(([, c]) => cfg.categories.includes(c)));
        const final = assembleFinal(trainLabels, splits, returned, verdicts, { noisy: 'drop', undecided: cfg.undecided, maxShare: cfg.maxShare ?? 1, seed });
        const finalIds = final.rows.map((r) => r.id);
        const judged = new Set([...verdicts.values()].filter((v) => v.verdict === 'mislabeled').map((v) => v.id));
        const dqe = (await trainPredict(ref, labels, labelIds, finalIds, testIds, seed)).predicted;
        if (!randomBySize.has(finalIds.length)) randomBySize.set(finalIds.length, (await trainPredict(ref, labels, labelIds, randomSubset(keptIds, finalIds.length, seed + 2), testIds, seed)).predicted);
        const random = randomBySize.get(finalIds.length)!;
        const r = {
          dataset: name, embedder: embedderName, seed, noise, config: configName, trainRows: n, testRows: test.length,
          wrong: first.wrong,
          categories: { uncovered: [...first.categories.values()].filter((c) => c === 'uncovered').length, difficult: [...first.categories.values()].filter((c) => c === 'difficult').length, noisy: [...first.categories.values()].filter((c) => c === 'noisy').length },
          judgedMislabeled: { rows: judged.size, share: judged.size / n },
          overShare: final.excluded.over_share,
          arms: { full: score(full, n), dqe: score(dqe, finalIds.length), random: score(random, finalIds.length) },
          dqeVsRandom: compare(dqe, random),
          dqeVsFull: compare(dqe, full),
          noiseF1: noise === null ? null : { dqe: detectionScores(judged, actual).f1, cleanlab: cleanlab!.f1 },
          /** With flipped labels: the judge's and cleanlab's precision and recall, and the flipped rows left in each arm. */
          noiseDetail: noise === null ? null : {
            dqe: precisionRecall(detectionScores(judged, actual)),
            cleanlab: precisionRecall(cleanlab!),
            flipsIn: { full: actual.size, dqe: finalIds.filter((id) => actual.has(id)).length },
          },
          /** Share of the training rows cleanlab's find_label_issues flags (on clean data: what it would drop). */
          cleanlabFlags: { rows: cleanlabIssues.size, share: cleanlabIssues.size / n },
          seconds: (performance.now() - t0) / 1000,
        };
        results.push(r);
        const pct = (x: number) => (100 * x).toFixed(2);
        log(`${name} ${embedderName.split('-')[0]} seed ${seed} ${noise === null ? 'clean' : `noise ${noise}`} ${configName}: share ${pct(r.arms.dqe.share)}% acc full ${pct(r.arms.full.accuracy)} dqe ${pct(r.arms.dqe.accuracy)} random ${pct(r.arms.random.accuracy)} (p ${r.dqeVsRandom.mcnemarP.toExponential(1)}) judge drops ${pct(r.judgedMislabeled.share)}%${r.noiseDetail ? ` F1 dqe ${r.noiseF1!.dqe.toFixed(3)} (P ${r.noiseDetail.dqe.precision.toFixed(3)} R ${r.noiseDetail.dqe.recall.toFixed(3)}) cleanlab ${r.noiseF1!.cleanlab.toFixed(3)} (P ${r.noiseDetail.cleanlab.precision.toFixed(3)} R ${r.noiseDetail.cleanlab.recall.toFixed(3)}), flips in full ${r.noiseDetail.flipsIn.full} dqe ${r.noiseDetail.flipsIn.dqe}` : ''} (${r.seconds.toFixed(1)} s)`);
        await save(false);
      }
      log(`${name} seed ${seed} ${noise ?? 'clean'}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    }
  }
}
await save(true);
console.error(`saved ${o.out}`);
