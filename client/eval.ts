// `dqe eval`: does training on DQE's final set hold up against the full cleaned data and against a
// random subset of the same size, on rows none of them trained on; and, with injected label flips,
// how many flips DQE finds, next to cleanlab's find_label_issues on the same embeddings.
//
// The evaluation is the `dqeEval` workflow (workflows/eval.ts): it splits the input into a training
// part and a test split, runs the dqe workflow on the training part as a child, trains the three arms
// (full / dqe / random) as activities where the run's trainer runs, and scores them. This module
// starts it, waits and prints. The result goes into the run's report.json (`evaluation`),
// report.html and `<output dir>/evaluation.json`.
import { basename, resolve } from 'node:path';
import { Command } from 'commander';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { datasetFileProblem } from '../adapters/dataset-reader.js';
import { ARMS, DEFAULT_CLEANLAB_FOLDS, DEFAULT_HOLDOUT, type EvalInput, type Evaluation } from '../core/evaluation.js';
import { EVAL_DQE_SUFFIX } from '../workflows/index.js';
import { DEFAULT_TASK_QUEUE, startOnce, type StartDqeOptions } from './api.js';
import { addDqeInputOptions, CURATION_FLAGS, dqeInputFromFlags, fraction, integer, type DqeInputFlags } from './input-flags.js';
import { runAndWait } from './run-and-wait.js';

export { DEFAULT_CLEANLAB_FOLDS, DEFAULT_HOLDOUT, type EvalInput } from '../core/evaluation.js';

/** The evaluation's workflow type name: a public contract, like `dqe`'s. */
export const EVAL_WORKFLOW_TYPE = 'dqeEval';

export type StartEvaluationOptions = StartDqeOptions;

/**
 * Starts an evaluation; its dqe run is the child workflow `<workflowId>-dqe`. Idempotent like
 * `startDqe`: a second start with the same id returns the first's handle.
 */
export async function startEvaluation(client: Client, input: EvalInput, opts: StartEvaluationOptions): Promise<WorkflowHandle> {
  return startOnce(client, EVAL_WORKFLOW_TYPE, { ...input, outputDir: resolve(input.outputDir) }, opts);
}

/** Starts an evaluation and waits for it (a worker must poll `taskQueue`). */
export async function runEvaluation(client: Client, input: EvalInput, opts: StartEvaluationOptions): Promise<Evaluation> {
  return (await startEvaluation(client, input, opts)).result() as Promise<Evaluation>;
}

interface EvalCliOptions extends DqeInputFlags {
  test?: string;
  holdout: number;
  injectNoise?: number;
  cleanlab: boolean;
  cleanlabFolds: number;
  seed: number;
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
  const command = new Command('eval')
    .description('Evaluate DQE: train on the full cleaned data, on the DQE final set and on a random subset of the same size; score each on a test split. With --inject-noise, also score label-noise detection against cleanlab.')
    .argument('<dataset>', 'the dataset (.jsonl or .csv)')
    .option('--test <file>', 'a test split in the same format and fields (default: hold out --holdout of the dataset)')
    .option('--holdout <fraction>', 'share of the dataset held out as the test split, stratified by label', fraction('--holdout'), DEFAULT_HOLDOUT)
    .option('--inject-noise <rate>', 'flip this share of the training labels (seeded) before DQE runs, and score noise detection', fraction('--inject-noise'))
    .option('--no-cleanlab', 'with --inject-noise, skip the cleanlab baseline')
    .option('--cleanlab-folds <k>', 'cross-validation folds of the probabilities given to cleanlab', integer('--cleanlab-folds', 2), DEFAULT_CLEANLAB_FOLDS);
  return addDqeInputOptions(command, [...CURATION_FLAGS, 'gpuTaskQueue'], { seed: { description: 'seeds the split, the flips, the random arm and the run', default: 0 } })
    .option('--output-dir <dir>', 'evaluation directory (default: runs/eval-<dataset>)')
    .option('--workflow-id <id>', 'workflow id of the DQE run (default: dqe-eval-<dataset>-<time>)')
    .option('--task-queue <name>', 'task queue of the workflow and CPU activities', DEFAULT_TASK_QUEUE)
    .option('--in-process-worker', 'also run a worker in this process (the default when TEMPORAL_ADDRESS is unset)')
    .option('--json', 'print the evaluation as JSON on stdout')
    .action(async (dataset: string, o: EvalCliOptions) => {
      const name = basename(dataset).replace(/\.[^.]+$/u, '').replace(/[^A-Za-z0-9_-]/gu, '-');
      const log = (l: string) => console.error(l);
      // Before a workflow starts: a typo in a path should not leave an evaluation behind.
      for (const file of [dataset, ...(o.test ? [o.test] : [])]) {
        const problem = await datasetFileProblem(resolve(file), o.format);
        if (problem) throw new Error(problem.message);
      }
      // The dataset, its fields and the seed are the evaluation's own; it sets them on the run's input.
      const { dataset: _dataset, format: _format, textField: _text, labelField: _label, seed: _seed, ...dqe } = dqeInputFromFlags(undefined, o);
      const outputDir = resolve(o.outputDir ?? `runs/eval-${name}`);
      const input: EvalInput = {
        dataset: resolve(dataset),
        format: o.format,
        textField: o.textField,
        labelField: o.labelField,
        test: o.test === undefined ? undefined : resolve(o.test),
        holdout: o.holdout,
        seed: o.seed,
        injectNoise: o.injectNoise,
        cleanlab: o.cleanlab,
        cleanlabFolds: o.cleanlabFolds,
        dqe,
        outputDir,
      };
      const workflowId = o.workflowId ?? `dqe-eval-${name}-${new Date().toISOString().replace(/[:.]/gu, '-')}`;
      const { result: evaluation, uiUrl, namespace } = await runAndWait({
        workflowId,
        taskQueue: o.taskQueue,
        inProcessWorker: o.inProcessWorker,
        log,
        start: async (client) => {
          await startEvaluation(client, input, { workflowId, taskQueue: o.taskQueue });
          log(`eval: started workflow ${workflowId} (type ${EVAL_WORKFLOW_TYPE}, task queue ${o.taskQueue}); its dqe run is ${workflowId}${EVAL_DQE_SUFFIX}`);
        },
        wait: (client) => client.workflow.getHandle(workflowId).result() as Promise<Evaluation>,
      });
      if (o.json) console.log(JSON.stringify(evaluation, null, 2));
      else {
        console.log(formatEvaluation(evaluation));
        console.log(`\nreport: ${resolve(outputDir, 'dqe', 'report.html')}`);
        if (uiUrl) console.log(`Temporal Web UI: ${uiUrl}/namespaces/${namespace}/workflows/${workflowId}`);
      }
    });
}
