// `dqe`: run curation, run workers, and follow runs from the command line.
import { basename, dirname, join, resolve } from 'node:path';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection } from '@temporalio/worker';
import cliProgress from 'cli-progress';
import { formatProblems, parseDqeInput, type DqeInput, EMBEDDERS, JUDGES, TRAINERS, VECTOR_STORES, SAMPLING_RULES, PRESET_NAMES } from '../core/input.js';
import { ensureLocalServer, localServerAddress, STATE_DIR, stopLocalServer } from '../infra/temporal.js';
import { datasetProblem } from './dataset-check.js';
import { createCpuWorker, CPU_TASK_QUEUE } from '../workers/cpu-worker.js';
import { runCpuWorker } from '../workers/main.js';
import { GPU_TASK_QUEUE, runGpuWorker } from '../workers/gpu-worker.js';
import { connectClient, connectWorker, temporalTarget } from '../workers/connection.js';
import type { DqeResult } from '../workflows/index.js';
import { failureMessage } from './failure-message.js';
import { cancelDqe, getDqeProgress, startDqe, type DqeStatus } from './api.js';
import { addRunCommands } from './cli-runs.js';
import { assertDqeSearchAttributes } from './runs.js';
import { evalCommand } from './eval.js';

/** How often the progress bar asks the workflow for its progress, in ms. */
const PROGRESS_POLL_MS = 500;

function number(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}

/** A component option: a name (`hash`) or a JSON object (`{"name":"openai","model":"..."}`). */
function component(v: string): unknown {
  return v.trim().startsWith('{') ? JSON.parse(v) : v;
}

interface RunOptions {
  format?: 'jsonl' | 'csv';
  textField?: string;
  labelField?: string;
  labels?: string;
  ratio?: number;
  seed?: number;
  sampling?: string;
  embedder?: unknown;
  trainer?: unknown;
  vectorStore?: unknown;
  judge?: unknown;
  noisy?: string;
  undecided?: string;
  twoFold?: boolean;
  preset?: string;
  outputDir?: string;
  overwrite?: boolean;
  input?: string;
  workflowId?: string;
  taskQueue: string;
  gpuTaskQueue?: string;
  inProcessWorker?: boolean;
  review?: boolean;
  progress: boolean;
  json?: boolean;
}

function buildInput(dataset: string | undefined, o: RunOptions, workflowId: string): DqeInput {
  const base: Record<string, unknown> = o.input ? (JSON.parse(o.input.trim().startsWith('{') ? o.input : readFileSync(o.input, 'utf8')) as Record<string, unknown>) : {};
  const set = (k: string, v: unknown) => v !== undefined && (base[k] = v);
  set('dataset', dataset ? resolve(dataset) : base.dataset);
  set('format', o.format);
  set('textField', o.textField);
  set('labelField', o.labelField);
  set('labels', o.labels?.split(',').map((s) => s.trim()));
  set('ratio', o.ratio);
  set('seed', o.seed);
  set('sampling', o.sampling);
  set('embedder', o.embedder);
  set('trainer', o.trainer);
  set('vectorStore', o.vectorStore);
  set('judge', o.judge);
  set('noisy', o.noisy);
  set('undecided', o.undecided);
  set('twoFold', o.twoFold);
  set('preset', o.preset);
  set('gpuTaskQueue', o.gpuTaskQueue);
  set('review', o.review);
  set('overwrite', o.overwrite);
  // resolve('') is the working directory: a blank --output-dir must fail, not write beside everything there.
  if (o.outputDir !== undefined && o.outputDir.trim().length === 0) throw new Error('--output-dir is empty; give the run directory');
  set('outputDir', resolve(o.outputDir ?? (typeof base.outputDir === 'string' ? base.outputDir : `runs/${workflowId}`)));
  return base as DqeInput;
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
    ['final', c.final, pct(c.final)],
  ];
  for (const [k, v, p] of rows) console.log(`  ${k.padEnd(20)} ${String(v).padStart(8)} ${p.padStart(7)}`);
  for (const w of r.warnings ?? []) console.log(`warning: ${w}`);
  console.log(`\noutput directory: ${resolve(r.runDir)}`);
  console.log(`  final.jsonl, final.swift.jsonl, rejects.jsonl, categories.jsonl, noisy-pairs.jsonl, report.json, report.md, report.html`);
  if (uiUrl) console.log(`Temporal Web UI:  ${uiUrl}/namespaces/${namespace}/workflows/${workflowId}`);
}

async function run(dataset: string | undefined, o: RunOptions): Promise<void> {
  const name = basename(dataset ?? 'input').replace(/\.[^.]+$/u, '').replace(/[^A-Za-z0-9_-]/gu, '-');
  const workflowId = o.workflowId ?? `dqe-${name}-${new Date().toISOString().replace(/[:.]/gu, '-')}`;
  const input = buildInput(dataset, o, workflowId);
  const parsed = parseDqeInput(input);
  if (!parsed.ok) throw new Error(formatProblems(parsed.problems));
  const inProcess = o.inProcessWorker ?? !process.env.TEMPORAL_ADDRESS;
  // Before any workflow starts: a typo in a path or field name should not leave a run behind.
  const problem = await datasetProblem(parsed.config, inProcess);
  if (problem) throw new Error(problem);

  let target = temporalTarget();
  let uiUrl: string | undefined;
  const log = (line: string) => !o.json && console.error(line);
  if (!target) {
    const local = await ensureLocalServer(log);
    if (local.started) log(`started a local Temporal dev server at ${local.address} (Web UI ${local.uiUrl}); it keeps running — stop it with \`dqe server stop\``);
    target = { address: local.address, namespace: 'default' };
    uiUrl = local.uiUrl;
  }
  const connection = await connectClient(target);
  const client = new Client({ connection, namespace: target.namespace });
  let workerConnection: NativeConnection | undefined;
  try {
    await assertDqeSearchAttributes(client);
    await startDqe(client, input, { workflowId, taskQueue: o.taskQueue });
    log(`started workflow ${workflowId} (type dqe, task queue ${o.taskQueue})`);
    let result: DqeResult;
    if (inProcess) {
      // The in-process worker's warnings (retries, their stack traces) go to a log file, not above the
      // progress bar or the one-line cause of a failure; the file is named when the run fails.
      const logPath = join(STATE_DIR, 'logs', `${workflowId}.log`);
      mkdirSync(dirname(logPath), { recursive: true });
      Runtime.install({ logger: new DefaultLogger('WARN', (e) => appendFileSync(logPath, `${new Date(Number(e.timestampNanos / 1_000_000n)).toISOString()} [${e.level}] ${e.message} ${JSON.stringify(e.meta ?? {})}\n`)) });
      workerConnection = await connectWorker(target);
      const worker = await createCpuWorker({ connection: workerConnection, namespace: target.namespace, taskQueue: o.taskQueue });
      try {
        result = await worker.runUntil(follow(client, workflowId, o.progress && !o.json));
      } catch (err) {
        if (existsSync(logPath)) console.error(`dqe: the worker's warnings and stack traces are in ${logPath}`);
        throw err;
      }
    } else {
      result = await follow(client, workflowId, o.progress && !o.json);
    }
    if (o.json) console.log(JSON.stringify({ workflowId, ...result }, null, 2));
    else printSummary(result, uiUrl, workflowId, target.namespace);
  } finally {
    await connection.close();
    await workerConnection?.close();
  }
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

  program
    .command('run')
    .description('Run DQE on a dataset (JSONL or CSV). With TEMPORAL_ADDRESS unset, starts a local Temporal dev server and an in-process worker.')
    .argument('[dataset]', 'path of the dataset (.jsonl or .csv); may come from --input instead')
    .addOption(new Option('--format <format>', 'dataset format (default: from the extension)').choices(['jsonl', 'csv']))
    .option('--text-field <name>', 'field holding the text (default: text)')
    .option('--label-field <name>', 'field holding the label (default: label)')
    .option('--labels <a,b,...>', 'declared label set; rows with other labels are rejected')
    .option('--ratio <r>', 'fraction of kept rows to sample, 0 < r < 1 (default: 0.5)', number('--ratio'))
    .option('--seed <n>', 'random seed (default: 0)', number('--seed'))
    .addOption(new Option('--sampling <rule>', 'greedy diversity rule (default: centroid)').choices([...SAMPLING_RULES]))
    .option('--embedder <name|json>', `embedder: ${EMBEDDERS.join(', ')} or a JSON object (default: hash)`, component)
    .option('--trainer <name|json>', `trainer: ${TRAINERS.join(', ')} or a JSON object (default: linear)`, component)
    .option('--vector-store <name|json>', `vector store: ${VECTOR_STORES.join(', ')} or a JSON object (default: embedded)`, component)
    .option('--judge <name|json>', `judge: ${JUDGES.join(', ')} or a JSON object (default: offline)`, component)
    .addOption(new Option('--noisy <mode>', 'rows judged mislabeled (default: drop)').choices(['drop', 'relabel']))
    .addOption(new Option('--undecided <mode>', 'rows the judge could not decide (default: keep)').choices(['keep', 'drop']))
    .option('--two-fold', 'two-fold DQE: a second pass with the halves swapped, so noisy detection covers every row')
    .addOption(new Option('--preset <name>', "a named composition of the method: 'paper' = the paper's DQE with the fixed-threshold judge; other flags override its fields").choices(PRESET_NAMES))
    .option('--output-dir <dir>', 'run directory (default: runs/<workflow id>)')
    .option('--overwrite', 'replace the outputs of a finished run in --output-dir (the whole directory; never a mix of two runs)')
    .option('--input <file|json>', 'the whole workflow input as JSON (a file or inline); flags override its fields')
    .option('--workflow-id <id>', 'workflow id (default: dqe-<dataset>-<time>); starting twice with one id returns the existing run')
    .option('--task-queue <name>', 'task queue of the workflow and CPU activities', CPU_TASK_QUEUE)
    .option('--gpu-task-queue <name>', 'task queue of the GPU worker (swift trainer)')
    .option('--review', 'after judging, wait for a person to accept or override the verdicts (`dqe review <workflow-id>`)')
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
