// `dqe`: run curation, run workers, and follow runs from the command line.
import { basename, resolve } from 'node:path';
import { Command } from 'commander';
import { Client } from '@temporalio/client';
import cliProgress from 'cli-progress';
import { formatProblems, parseDqeInput, type DqeInput } from '../core/input.js';
import { ensureLocalServer, localServerAddress, stopLocalServer } from '../infra/temporal.js';
import { datasetProblem } from './dataset-check.js';
import { CPU_TASK_QUEUE } from '../workers/cpu-worker.js';
import { runCpuWorker } from '../workers/main.js';
import { GPU_TASK_QUEUE, runGpuWorker } from '../workers/gpu-worker.js';
import { connectClient, temporalTarget } from '../workers/connection.js';
import type { DqeResult } from '../workflows/index.js';
import { failureMessage } from './failure-message.js';
import { cancelDqe, getDqeProgress, startDqe, type DqeStatus } from './api.js';
import { addRunCommands } from './cli-runs.js';
import { assertDqeSearchAttributes } from './runs.js';
import { evalCommand } from './eval.js';
import { addDqeInputOptions, CURATION_FLAGS, dqeInputFromFlags, number, readInputOption, type DqeInputFlags } from './input-flags.js';
import { inProcessByDefault, runAndWait } from './run-and-wait.js';

/** How often the progress bar asks the workflow for its progress, in ms. */
const PROGRESS_POLL_MS = 500;

interface RunOptions extends DqeInputFlags {
  outputDir?: string;
  input?: string;
  workflowId?: string;
  taskQueue: string;
  inProcessWorker?: boolean;
  progress: boolean;
  json?: boolean;
}

function buildInput(dataset: string | undefined, o: RunOptions, workflowId: string): DqeInput {
  const input: Record<string, unknown> = dqeInputFromFlags(dataset, o, readInputOption(o.input));
  // resolve('') is the working directory: a blank --output-dir must fail, not write beside everything there.
  if (o.outputDir !== undefined && o.outputDir.trim().length === 0) throw new Error('--output-dir is empty; give the run directory');
  input.outputDir = resolve(o.outputDir ?? (typeof input.outputDir === 'string' ? input.outputDir : `runs/${workflowId}`));
  return input as DqeInput;
}

function describePhase(s: DqeStatus): string {
  if (s.status === 'awaiting_review') return `awaiting review: dqe review ${s.workflowId}`;
  const d = s.activity?.details as { done?: number; total?: number; step?: number; maxSteps?: number } | undefined;
  if (d?.done !== undefined && d.total) return `${s.phase} ${d.done}/${d.total}`;
  if (d?.step !== undefined && d.maxSteps) return `${s.phase} step ${d.step}/${d.maxSteps}`;
  return s.phase;
}

async function follow(client: Client, workflowId: string, showBar: boolean): Promise<DqeResult> {
  const handle = client.workflow.getHandle(workflowId);
  const result = handle.result() as Promise<DqeResult>;
  if (!showBar) return result;
  const bar = new cliProgress.SingleBar({ format: 'dqe [{bar}] {value}/{total} phases | {phase}', hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
  let started = false;
  let finished = false;
  void result.finally(() => (finished = true)).catch(() => {});
  while (!finished) {
    try {
      const s = await getDqeProgress(client, workflowId);
      if (!started) {
        bar.start(s.phaseCount, 0, { phase: s.phase });
        started = true;
      }
      bar.update(s.done.length, { phase: describePhase(s) });
    } catch {
      // The workflow may not have run its first task yet; ask again next tick.
    }
    await new Promise((r) => setTimeout(r, PROGRESS_POLL_MS));
  }
  if (started) {
    try {
      const s = await getDqeProgress(client, workflowId);
      bar.update(s.done.length, { phase: s.status });
    } catch {
      /* the final state is in the result */
    }
    bar.stop();
  }
  return result;
}

function printSummary(r: DqeResult, uiUrl: string | undefined, workflowId: string, namespace: string): void {
  const c = r.counts;
  const pct = (n: number) => (c.kept > 0 ? `${((100 * n) / c.kept).toFixed(1)}%` : '');
  const rows: Array<[string, number, string]> = [
    ['rows in', c.rowsIn, ''],
    ['rejected', c.rejected, ''],
    ['kept', c.kept, '100%'],
    ['sampled', c.sampled, pct(c.sampled)],
    ['unsampled', c.unsampled, pct(c.unsampled)],
    ['wrong predictions', c.wrong, pct(c.wrong)],
    ['uncovered', c.uncovered, pct(c.uncovered)],
    ['difficult', c.difficult, pct(c.difficult)],
    ['noisy', c.noisy, pct(c.noisy)],
    ['judged mislabeled', c.mislabeled, pct(c.mislabeled)],
    ...(r.secondPass
      ? ([
          ['second pass', NaN, ''],
          ['  wrong predictions', r.secondPass.wrong, pct(r.secondPass.wrong)],
          ['  noisy', r.secondPass.noisy, pct(r.secondPass.noisy)],
          ['  judged mislabeled', r.secondPass.mislabeled, pct(r.secondPass.mislabeled)],
        ] satisfies Array<[string, number, string]>)
      : []),
    ['final', c.final, pct(c.final)],
  ];
  for (const [k, v, p] of rows) console.log(Number.isNaN(v) ? `  ${k} (halves swapped)` : `  ${k.padEnd(20)} ${String(v).padStart(8)} ${p.padStart(7)}`);
  for (const w of r.warnings ?? []) console.log(`warning: ${w}`);
  console.log(`\noutput directory: ${resolve(r.runDir)}`);
  console.log(`  final.jsonl, final.rows.jsonl, final.swift.jsonl, rejects.jsonl, categories.jsonl, noisy-pairs.jsonl, flagged.jsonl, report.json, report.md, report.html`);
  if (uiUrl) console.log(`Temporal Web UI:  ${uiUrl}/namespaces/${namespace}/workflows/${workflowId}`);
}

async function run(dataset: string | undefined, o: RunOptions): Promise<void> {
  const name = basename(dataset ?? 'input').replace(/\.[^.]+$/u, '').replace(/[^A-Za-z0-9_-]/gu, '-');
  const workflowId = o.workflowId ?? `dqe-${name}-${new Date().toISOString().replace(/[:.]/gu, '-')}`;
  const input = buildInput(dataset, o, workflowId);
  const parsed = parseDqeInput(input);
  if (!parsed.ok) throw new Error(formatProblems(parsed.problems));
  const inProcess = inProcessByDefault(o.inProcessWorker);
  // Before any workflow starts: a typo in a path or field name should not leave a run behind.
  const problem = await datasetProblem(parsed.config, inProcess);
  if (problem) throw new Error(problem);

  const log = (line: string) => !o.json && console.error(line);
  const { result, uiUrl, namespace } = await runAndWait({
    workflowId,
    taskQueue: o.taskQueue,
    inProcessWorker: inProcess,
    log,
    start: async (client) => {
      await startDqe(client, input, { workflowId, taskQueue: o.taskQueue });
      log(`started workflow ${workflowId} (type dqe, task queue ${o.taskQueue})`);
    },
    wait: (client) => follow(client, workflowId, o.progress && !o.json),
  });
  if (o.json) console.log(JSON.stringify({ workflowId, ...result }, null, 2));
  else printSummary(result, uiUrl, workflowId, namespace);
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const target = temporalTarget() ?? { address: await localServerAddress(), namespace: 'default' };
  const connection = await connectClient(target);
  try {
    return await fn(new Client({ connection, namespace: target.namespace }));
  } finally {
    await connection.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('dqe')
    .description('Curate LLM text-classifier training sets with Data Quality Enhancement (DQE), as durable Temporal workflows')
    .showHelpAfterError('(add --help for usage)');

  const runCommand = program
    .command('run')
    .description('Run DQE on a dataset (JSONL or CSV). With TEMPORAL_ADDRESS unset, starts a local Temporal dev server and an in-process worker.')
    .argument('[dataset]', 'path of the dataset (.jsonl or .csv); may come from --input instead');
  addDqeInputOptions(runCommand, [...CURATION_FLAGS, 'gpuTaskQueue', 'review', 'overwrite'])
    .option('--output-dir <dir>', 'run directory (default: runs/<workflow id>)')
    .option('--input <file|json>', 'the whole workflow input as JSON (a file or inline); flags override its fields')
    .option('--workflow-id <id>', 'workflow id (default: dqe-<dataset>-<time>); starting twice with one id returns the existing run')
    .option('--task-queue <name>', 'task queue of the workflow and CPU activities', CPU_TASK_QUEUE)
    .option('--in-process-worker', 'also run a worker in this process (the default when TEMPORAL_ADDRESS is unset)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON on stdout')
    .action(run);

  program
    .command('worker')
    .description('Run a CPU worker (workflow + CPU activities) against TEMPORAL_ADDRESS until interrupted')
    .option('--task-queue <name>', 'task queue to poll', CPU_TASK_QUEUE)
    .option('--concurrency <n>', 'activities at once (default: number of cores)', number('--concurrency'))
    .action(async (o: { taskQueue: string; concurrency?: number }) => {
      // Fail fast: on a namespace without dqe's search attributes every run would stall at its first task.
      if (temporalTarget()) await withClient(assertDqeSearchAttributes);
      await runCpuWorker({ taskQueue: o.taskQueue, ...(o.concurrency ? { maxConcurrentActivities: o.concurrency } : {}) });
    });

  program
    .command('gpu-worker')
    .description('Run a GPU worker (swift training and prediction only, one job at a time) against TEMPORAL_ADDRESS until interrupted')
    .option('--task-queue <name>', 'task queue to poll (the run input\'s gpuTaskQueue)', GPU_TASK_QUEUE)
    .option('--swift-bin <path>', 'the swift executable (default: $DQE_SWIFT_BIN, else .venv/bin/swift, else swift on PATH)')
    .option('--kill-grace <seconds>', 'seconds between SIGTERM and SIGKILL of swift on cancellation', number('--kill-grace'), 30)
    .option('--checkpoint-wait <seconds>', 'on SIGTERM/SIGINT, seconds a training may run on to reach its next checkpoint', number('--checkpoint-wait'), 0)
    .action((o: { taskQueue: string; swiftBin?: string; killGrace: number; checkpointWait: number }) =>
      runGpuWorker({ taskQueue: o.taskQueue, killGraceSeconds: o.killGrace, checkpointWaitSeconds: o.checkpointWait, ...(o.swiftBin ? { swiftBin: o.swiftBin } : {}) }),
    );

  program
    .command('status')
    .description('Print the progress of a run as JSON')
    .argument('<workflow-id>')
    .action((id: string) => withClient(async (c) => console.log(JSON.stringify(await getDqeProgress(c, id), null, 2))));

  program
    .command('cancel')
    .description('Cancel a run: its running activity stops, its vector index in Qdrant is dropped; the run directory stays')
    .argument('<workflow-id>')
    .option('--no-wait', 'return once cancellation is requested, without waiting for the run to close')
    .action((id: string, o: { wait: boolean }) => withClient(async (c) => {
      const outcome = await cancelDqe(c, id, { wait: o.wait });
      if (!o.wait) return console.log(`cancellation requested for ${id}`);
      if (outcome.execution === 'RUNNING') return console.log(`cancellation requested for ${id}; it has not closed yet: it closes once a worker takes the request`);
      console.log(`${id}: ${outcome.execution ?? 'unknown'}${outcome.cleanup?.length ? `; ${outcome.cleanup.join('; ')}` : '; nothing to clean up'}`);
    }));

  addRunCommands(program, withClient);

  program.addCommand(evalCommand());

  const server = program.command('server').description('The local Temporal dev server dqe starts when TEMPORAL_ADDRESS is unset');
  server
    .command('start')
    .description('Start it (or report the running one)')
    .action(async () => {
      const s = await ensureLocalServer((l) => console.error(l));
      console.log(`Temporal dev server at ${s.address}, Web UI ${s.uiUrl}${s.started ? ' (started)' : ' (already running)'}`);
    });
  server
    .command('stop')
    .description('Stop it')
    .action(async () => console.log((await stopLocalServer()) ? 'stopped' : 'no local dev server was running'));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    console.error(`dqe: ${failureMessage(err)}`);
    process.exitCode = 1;
  }
}
