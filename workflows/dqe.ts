// The dqe workflow: the DQE method's phases as activities, exchanging file references only.
// Deterministic: no I/O, clock, randomness or environment here; activities do all of that.
import { ApplicationFailure, defineQuery, log, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { DqeActivities } from '../activities/index.js';
import { formatProblems, parseDqeInput, type DqeInput } from '../core/input.js';

/** The phases in order, as `progress` reports them. */
export const PHASES = ['load', 'clean', 'embed', 'sample', 'train', 'predict', 'index', 'categorise', 'judge', 'assemble', 'report'] as const;
export type Phase = (typeof PHASES)[number];

export interface DqeProgress {
  status: 'running' | 'completed' | 'failed';
  /** The phase running now (the last one once finished). */
  phase: Phase;
  /** 0-based index of `phase` in `PHASES`. */
  phaseIndex: number;
  phaseCount: number;
  /** Phases finished, with their wall seconds as the workflow saw them. */
  done: Array<{ phase: Phase; seconds: number }>;
  /** Set once the run directory is known. */
  runDir?: string;
}

export interface DqeResult {
  runDir: string;
  reportPath: string;
  finalPath: string;
  counts: {
    rowsIn: number;
    kept: number;
    rejected: number;
    sampled: number;
    unsampled: number;
    wrong: number;
    uncovered: number;
    difficult: number;
    noisy: number;
    mislabeled: number;
    final: number;
  };
}

export const progressQuery = defineQuery<DqeProgress>('progress');

/** Failure types that no retry can fix: bad input and misconfiguration. */
const NON_RETRYABLE = [
  'DqeInvalidInput',
  'DqeDatasetNotFound',
  'DqeDatasetNotAFile',
  'DqeDatasetUnreadable',
  'DqeUnknownFormat',
  'DqeTooFewRows',
  'DqeTooFewLabels',
  'DqeOutputNotWritable',
  'DqeNotImplemented',
  'DqeWrongWorker',
];

// File-bound phases finish in minutes; a stuck disk should surface, not hang the run.
const files = proxyActivities<DqeActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

// CPU-heavy phases (embedding, sampling, the linear trainer, search) can run for hours at a million
// rows; they heartbeat, so a dead worker is noticed within the heartbeat timeout.
const compute = proxyActivities<DqeActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

// Calls to remote HTTP services (OpenAI-compatible embedders and judges, Qdrant): rate limits and
// outages are expected, so retry patiently with long backoff rather than failing the run.
const remote = proxyActivities<DqeActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 30, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Swift fine-tunes run for hours to days on the GPU queue and resume from checkpoints on retry. */
function gpuActivities(taskQueue: string): DqeActivities {
  const options: ActivityOptions = {
    taskQueue,
    startToCloseTimeout: '7 days',
    heartbeatTimeout: '15 minutes',
    retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE },
  };
  return proxyActivities<DqeActivities>(options);
}

/** Workflow type `dqe`: curates one dataset. The input contract is `DqeInput` (core/input.ts). */
export async function dqe(input: DqeInput): Promise<DqeResult> {
  const parsed = parseDqeInput(input);
  if (!parsed.ok) {
    throw ApplicationFailure.create({ type: 'DqeInvalidInput', message: formatProblems(parsed.problems), nonRetryable: true, details: [parsed.problems] });
  }
  const config = parsed.config;
  const { workflowId } = workflowInfo();
  const runDir = config.outputDir ?? `runs/${workflowId}`;

  const progress: DqeProgress = { status: 'running', phase: 'load', phaseIndex: 0, phaseCount: PHASES.length, done: [], runDir };
  setHandler(progressQuery, () => progress);
  const timings: Record<string, number> = {};

  async function phase<T>(name: Phase, run: () => Promise<T>): Promise<T> {
    progress.phase = name;
    progress.phaseIndex = PHASES.indexOf(name);
    const started = Date.now();
    const result = await run();
    const seconds = (Date.now() - started) / 1000;
    timings[name] = seconds;
    progress.done.push({ phase: name, seconds });
    return result;
  }

  try {
    const trainerActs = config.trainer.name === 'swift' ? gpuActivities(config.gpuTaskQueue) : compute;
    const embedActs = config.embedder.name === 'openai' ? remote : compute;
    const searchActs = config.vectorStore.name === 'qdrant' ? remote : compute;
    const judgeActs = config.judge.name === 'openai' ? remote : compute;

    const load = await phase('load', () =>
      files.loadDataset({ runDir, dataset: config.dataset, format: config.format, textField: config.textField, labelField: config.labelField, labels: config.labels }),
    );
    const clean = await phase('clean', () => files.cleanDataset({ runDir, load, labels: config.labels }));
    const embed = await phase('embed', () => embedActs.embedRows({ runDir, clean, embedder: config.embedder }));
    const sample = await phase('sample', () => compute.sampleRows({ runDir, embed, ratio: config.ratio, seed: config.seed, rule: config.sampling }));
    const trainArgs = { runDir, clean, embed, sample, trainer: config.trainer, seed: config.seed };
    const train = await phase('train', () => trainerActs.trainModel(trainArgs));
    const predict = await phase('predict', () => trainerActs.predictRows({ ...trainArgs, train }));
    const indexArgs = { runDir, runId: workflowId, clean, embed, sample, vectorStore: config.vectorStore };
    const index = await phase('index', () => searchActs.indexVectors(indexArgs));
    const categorise = await phase('categorise', () => searchActs.categoriseWrong({ ...indexArgs, predict }));
    const judge = await phase('judge', () => judgeActs.judgeNoisy({ runDir, clean, embed, sample, predict, categorise, judge: config.judge, seed: config.seed }));
    const assemble = await phase('assemble', () =>
      files.assembleRun({ runDir, labelField: config.labelField, clean, sample, categorise, judge, noisy: config.noisy, undecided: config.undecided }),
    );
    const report = await phase('report', () =>
      files.writeReport({ runDir, runId: workflowId, config, load, clean, embed, sample, train, predict, index, categorise, judge, assemble, timings }),
    );
    progress.status = 'completed';
    log.info('dqe run completed', { runDir, final: assemble.final, kept: clean.kept });
    const rejected = Object.values(clean.rejected).reduce((s, n) => s + (n ?? 0), 0);
    return {
      runDir,
      reportPath: report.reportJsonPath,
      finalPath: assemble.finalPath,
      counts: {
        rowsIn: load.rowsIn,
        kept: clean.kept,
        rejected,
        sampled: sample.sampled,
        unsampled: sample.unsampled,
        wrong: predict.wrong,
        uncovered: categorise.counts.uncovered,
        difficult: categorise.counts.difficult,
        noisy: categorise.counts.noisy,
        mislabeled: judge.counts.mislabeled,
        final: assemble.final,
      },
    };
  } catch (err) {
    progress.status = 'failed';
    throw err;
  }
}
