// Benchmark of DQE's method quality and label-noise detection on the SpamAssassin example (2-class and
// 3-class): `dqe eval` one-fold and two-fold, clean and with 10% injected label flips against cleanlab.
//
// Usage: npx tsx bench/eval.ts [--seeds 0] [--holdout 0.2] [--noise 0.1] [--limit N] [--datasets 2-class,3-class]
//          [--folds one,two] [--embedder hash|minilm|JSON] [--out bench/results/eval.json]
// Datasets: SpamAssassin 2-class (ham/spam) and 3-class (hard_ham apart), and drug-reviews (the UCI Drug
// Review sample, 3-class sentiment, examples/drug-reviews.ts).
// Runs a private Temporal dev server and an in-process worker (each case is a `dqeEval` workflow); every run directory is kept under
// bench/results/tmp/ (git-ignored).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { formatEvaluation, runEvaluation } from '../client/eval.js';
import type { Evaluation } from '../core/evaluation.js';
import type { DqeInput } from '../core/input.js';
import { drugReviewsJsonl } from '../examples/drug-reviews.js';
import { spamAssassinJsonl } from '../examples/spam-assassin.js';
import { REPO_ROOT } from '../infra/python-env.js';
import { startDevServer } from '../infra/temporal.js';
import { createCpuWorker } from '../workers/cpu-worker.js';

const DATASETS = ['2-class', '3-class', 'drug-reviews'] as const;
type DatasetName = (typeof DATASETS)[number];

interface Case {
  dataset: DatasetName;
  seed: number;
  noise: number | null;
  twoFold: boolean;
}

const o = new Command('bench-eval')
  .option('--seeds <list>', 'seeds of the split, flips, random arm and run', '0')
  .option('--holdout <f>', 'held-out share', Number, 0.2)
  .option('--noise <rate>', 'injected flip rate', Number, 0.1)
  .option('--limit <n>', 'mails per dataset (default: all)', Number)
  .option('--datasets <list>', `comma-separated: ${DATASETS.join(', ')}`, '2-class,3-class')
  .option('--folds <list>', 'which of one, two (one-fold / two-fold DQE)', 'one,two')
  .option('--embedder <name|json>', 'the runs\' embedder (default: the workflow default)')
  .option('--out <file>', 'results file', 'bench/results/eval.json')
  .parse()
  .opts<{ seeds: string; holdout: number; noise: number; limit?: number; datasets: string; folds: string; embedder?: string; out: string }>();
const chosen = o.datasets.split(',') as DatasetName[];
for (const d of chosen) if (!DATASETS.includes(d)) throw new Error(`--datasets: unknown dataset ${d}; valid: ${DATASETS.join(', ')}`);
const embedder: Pick<DqeInput, 'embedder'> = o.embedder === undefined ? {} : { embedder: (o.embedder.startsWith('{') ? JSON.parse(o.embedder) : o.embedder) as NonNullable<DqeInput['embedder']> };

const tmp = join(REPO_ROOT, 'bench', 'results', 'tmp', basename(o.out, '.json'));
await rm(tmp, { recursive: true, force: true });
await mkdir(tmp, { recursive: true });
const datasets: Record<DatasetName, string> = {
  '2-class': join(tmp, 'spam-2.jsonl'),
  '3-class': join(tmp, 'spam-3.jsonl'),
  'drug-reviews': join(tmp, 'drug-reviews.jsonl'),
};
if (chosen.includes('2-class')) await writeFile(datasets['2-class'], spamAssassinJsonl({ ...(o.limit ? { limit: o.limit } : {}) }));
if (chosen.includes('3-class')) await writeFile(datasets['3-class'], spamAssassinJsonl({ threeClass: true, ...(o.limit ? { limit: o.limit } : {}) }));
if (chosen.includes('drug-reviews')) await writeFile(datasets['drug-reviews'], await drugReviewsJsonl());

Runtime.install({ logger: new DefaultLogger('WARN') });
const server = await startDevServer({ dbFile: join(tmp, 'temporal.db') });
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const workerConnection = await NativeConnection.connect({ address: server.address });
const taskQueue = `bench-eval-${process.pid}`;
const worker = await createCpuWorker({ connection: workerConnection, taskQueue, deps: { cacheDir: join(tmp, 'cache'), env: {} } });

const cases: Case[] = [];
for (const seed of o.seeds.split(',').map(Number)) {
  for (const dataset of chosen) {
    for (const noise of [null, o.noise]) {
      for (const twoFold of [false, true]) if (o.folds.split(',').includes(twoFold ? 'two' : 'one')) cases.push({ dataset, seed, noise, twoFold });
    }
  }
}

const results: Array<Case & { evaluation: Evaluation; wallSeconds: number }> = [];

// The summary: per dataset and seed, the arms' accuracies and the detection F1 of the noisy cases.
function summarise() {
  return results.map((r) => ({
    case: `${r.dataset} seed ${r.seed} ${r.noise === null ? 'clean' : `noise ${r.noise}`} ${r.twoFold ? 'two-fold' : 'one-fold'}`,
    testRows: r.evaluation.test.rows,
    kept: r.evaluation.trainRows,
    accuracy: Object.fromEntries(Object.entries(r.evaluation.arms).map(([k, a]) => [k, a.metrics.accuracy])),
    macroF1: Object.fromEntries(Object.entries(r.evaluation.arms).map(([k, a]) => [k, a.metrics.macroF1])),
    dataFraction: r.evaluation.arms.dqe.dataFraction,
    judgedMislabeledShare: r.evaluation.judgedMislabeled.share,
    macroF1PValues: Object.fromEntries(r.evaluation.comparisons.map((c) => [`${c.a} vs ${c.b}`, c.macroF1.pValue])),
    trainSeconds: Object.fromEntries(Object.entries(r.evaluation.arms).map(([k, a]) => [k, a.trainSeconds])),
    pValues: Object.fromEntries(r.evaluation.comparisons.map((c) => [`${c.a} vs ${c.b}`, { tTest: c.tTest.pValue, mcnemar: c.mcnemar.pValue }])),
    noiseF1: r.evaluation.noise ? { dqe: r.evaluation.noise.dqe.f1, dqeFlagged: r.evaluation.noise.dqeFlagged.f1, cleanlab: r.evaluation.noise.cleanlab?.f1 ?? null } : null,
  }));
}

/** Saves what has run so far, so an interrupted run keeps its finished cases (`complete: false`). */
async function save(complete: boolean): Promise<void> {
  const out = {
    benchmark: 'eval',
    complete,
    command: `npx tsx bench/eval.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: cpus().length, node: process.version, loadavg: await readFile('/proc/loadavg', 'utf8').catch(() => 'n/a') },
    options: o,
    summary: summarise(),
    results,
  };
  await mkdir(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(REPO_ROOT, o.out), `${JSON.stringify(out, null, 2)}\n`);
}

let runs = 0;
await worker.runUntil(async () => {
  for (const c of cases) {
    const name = `${c.dataset}-seed${c.seed}-${c.noise === null ? 'clean' : `noise${c.noise}`}-${c.twoFold ? 'two-fold' : 'one-fold'}`;
    console.error(`\n== ${name}`);
    const started = performance.now();
    const evaluation = await runEvaluation(
      client,
      {
        dataset: datasets[c.dataset],
        holdout: o.holdout,
        seed: c.seed,
        ...(c.noise === null ? {} : { injectNoise: c.noise }),
        // cleanlab sees the same data whatever DQE does, so it runs with the one-fold case only.
        cleanlab: !c.twoFold,
        dqe: { twoFold: c.twoFold, ...embedder },
        outputDir: join(tmp, name),
      },
      { taskQueue, workflowId: `bench-eval-${process.pid}-${runs++}` },
    );
    const wallSeconds = (performance.now() - started) / 1000;
    console.log(`\n${name} (${wallSeconds.toFixed(1)} s)\n${formatEvaluation(evaluation)}`);
    results.push({ ...c, evaluation, wallSeconds });
    await save(false);
  }
});
await connection.close();
await workerConnection.close();
await server.stop();
await save(true);
const summary = summarise();

console.log(`\nsaved ${o.out}`);
console.table(summary.map((s) => ({ case: s.case, full: s.accuracy.full, dqe: s.accuracy.dqe, random: s.accuracy.random, share: s.dataFraction, 'judge drops': s.judgedMislabeledShare, 'dqe F1': s.noiseF1?.dqe, 'cleanlab F1': s.noiseF1?.cleanlab })));
