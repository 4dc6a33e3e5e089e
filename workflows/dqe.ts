// The dqe workflow: the DQE method's phases as activities, exchanging file references only.
// Deterministic: no I/O, clock, randomness or environment here; activities do all of that.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { DqeActivities } from '../activities/index.js';
import type { CleanResult, JudgeResult, ReviewedJudge, ReviewSummary } from '../activities/refs.js';
import type { Verdict } from '../core/judging.js';
import { isRetryableFailure, NON_RETRYABLE_FAILURE_TYPES, type DqeFailureType } from '../core/failures.js';
import { caseConflictWarnings, labelWarnings } from '../core/label-names.js';
import { shareCapWarnings } from '../core/assemble.js';
import { resolveOutputDir } from '../core/output-dir.js';
import { checkSubmission, formatReviewProblems, type ReviewSubmission } from '../core/review.js';
import {
  DQE_DATASET,
  DQE_FINAL_SIZE,
  DQE_PHASE,
  DQE_STATUS,
  TEMPORAL_SCHEDULED_BY_ID,
  TEMPORAL_SCHEDULED_START_TIME,
  type DqeMemo,
  type RunStatus,
} from './visibility.js';
import { formatProblems, parseDqeInput, type DqeConfig, type DqeInput } from '../core/input.js';
import { shardsOf } from '../core/shards.js';
import { RUN_FILES } from '../core/run-layout.js';

/** The phases in order, as `progress` reports them. */
export const PHASES = ['load', 'clean', 'embed', 'sample', 'train', 'predict', 'index', 'categorise', 'judge', 'assemble', 'report'] as const;
/** The second pass of two-fold DQE (input `twoFold`), in order: swap runs after `categorise`, judge2 after `judge`. */
export const SECOND_PASS_PHASES = ['swap', 'train2', 'predict2', 'categorise2', 'judge2'] as const;
export type Phase = (typeof PHASES)[number] | (typeof SECOND_PASS_PHASES)[number];

export interface DqeProgress {
  /** `awaiting_review`: waits for `submitReview` (input `review: true`). */
  status: RunStatus;
  /** The phase running now (the last one once finished). */
  phase: Phase;
  /** 0-based index of `phase` in this run's phases (`PHASES`, with `SECOND_PASS_PHASES` when two-fold). */
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
  /** Two-fold's second pass (halves swapped: trained on the unsampled half, predicting the sampled half). */
  secondPass?: { wrong: number; uncovered: number; difficult: number; noisy: number; mislabeled: number };
  /** What the method could not do well with these labels (as in report.json's `warnings`). */
  warnings: string[];
}

export const progressQuery = defineQuery<DqeProgress>('progress');

/** The review step (input `review: true`) as the `review` query shows it. */
export interface DqeReviewState {
  /**
   * `not_requested`: the run has no review step; `pending`: judging is not done yet; `waiting`: send
   * `submitReview`; `nothing_to_review`: the run found no noisy pairs and the judge flagged no other row, so it did not wait.
   */
  state: 'not_requested' | 'pending' | 'waiting' | 'applying' | 'submitted' | 'nothing_to_review';
  /** noisy-pairs.jsonl: the pairs to review, with both texts, labels and the judge's verdicts (rows are keyed by `row`). */
  pairsPath?: string;
  /** Two-fold: noisy-pairs.second-pass.jsonl, the second pass's pairs, which the review covers too. */
  secondPassPairsPath?: string;
  /** Pairs to review, both passes together. */
  pairs?: number;
  /** flagged.jsonl: the rows outside the pairs the judge called mislabeled (offline judge, scope 'wrong' or 'all'), which the review covers too. */
  flaggedPath?: string;
  /** Two-fold: flagged.second-pass.jsonl. */
  secondPassFlaggedPath?: string;
  /** Flagged rows to review, both passes together. */
  flagged?: number;
  /** The judge's verdict counts. */
  verdicts?: Record<Verdict, number>;
  labels?: string[];
  /** Once submitted: what the review changed. */
  result?: ReviewSummary;
}

export const reviewQuery = defineQuery<DqeReviewState>('review');
/** Accepts (no decisions) or overrides the judge's verdicts; returns the review's summary. */
export const submitReviewUpdate = defineUpdate<ReviewSummary, [ReviewSubmission]>('submitReview');

/** Failure types that no retry can fix (bad input and misconfiguration), from the one catalogue. */
const NON_RETRYABLE = [...NON_RETRYABLE_FAILURE_TYPES];

// File-bound phases finish in minutes; a stuck disk should surface, not hang the run.
export const FILES: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
};

// CPU-heavy phases (embedding, sampling, the linear trainer, search) can run for hours at a million
// rows; they heartbeat, so a dead worker is noticed within the heartbeat timeout.
export const COMPUTE: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
};

// Calls to remote HTTP services (OpenAI-compatible embedders and judges, Qdrant): rate limits and
// outages are expected, so retry patiently with long backoff rather than failing the run.
const REMOTE: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 30, nonRetryableErrorTypes: NON_RETRYABLE },
};

/**
 * The activities of one profile. The input's `heartbeatTimeoutSeconds`, when set, replaces the
 * profile's heartbeat timeout: crash drills shorten it so a killed worker's activity moves on in seconds.
 */
export function profile(options: ActivityOptions, heartbeatTimeoutSeconds: number | undefined): DqeActivities {
  return proxyActivities<DqeActivities>(heartbeatTimeoutSeconds === undefined ? options : { ...options, heartbeatTimeout: heartbeatTimeoutSeconds * 1000 });
}

// Before any work, when the run uses remote services: a wrong URL should fail the run in seconds,
// so a few quick tries, then the run fails with the endpoint's name and URL.
const preflight = proxyActivities<DqeActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

// Cleanup after a failure or cancellation: worth a few tries, but it must not hold the run open for
// hours when the service it cleans up in is the one that is down.
const cleanupActs = proxyActivities<DqeActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 3 },
});

/**
 * Swift fine-tunes run for hours to days on the GPU queue and resume from checkpoints on retry. The
 * GPU worker heartbeats every few seconds whatever swift is doing, so a short heartbeat timeout only
 * decides how soon a crashed worker's job moves on.
 */
export function gpuActivities(taskQueue: string, heartbeatTimeoutSeconds: number): DqeActivities {
  const options: ActivityOptions = {
    taskQueue,
    startToCloseTimeout: '7 days',
    heartbeatTimeout: heartbeatTimeoutSeconds * 1000,
    // A retried job resumes from its checkpoint, so waiting long before it buys nothing.
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE },
  };
  return proxyActivities<DqeActivities>(options);
}

/** Where the run's trainer runs: swift (and the encoder trainer when asked) on the GPU queue, the rest with `cpu`. */
export function trainerActivities(config: DqeConfig, cpu: DqeActivities): DqeActivities {
  const onGpu = config.trainer.name === 'swift' || (config.trainer.name === 'encoder' && config.trainer.queue === 'gpu');
  return onGpu ? gpuActivities(config.gpuTaskQueue, config.gpuHeartbeatTimeoutSeconds) : cpu;
}

/** A catalogued failure the workflow itself throws (all of them non-retryable: bad input or a review it cannot take). */
export function failure(type: DqeFailureType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !isRetryableFailure(type), details: details === undefined ? [] : [details] });
}

/** Workflow type `dqe`: curates one dataset. The input contract is `DqeInput` (core/input.ts). */
export async function dqe(input: DqeInput): Promise<DqeResult> {
  const parsed = parseDqeInput(input);
  if (!parsed.ok) {
    upsertSearchAttributes([{ key: DQE_STATUS, value: 'failed' }]);
    throw failure('DqeInvalidInput', formatProblems(parsed.problems), parsed.problems);
  }
  const config = parsed.config;
  const files = profile(FILES, config.heartbeatTimeoutSeconds);
  const compute = profile(COMPUTE, config.heartbeatTimeoutSeconds);
  const remote = profile(REMOTE, config.heartbeatTimeoutSeconds);
  const info = workflowInfo();
  const { workflowId } = info;
  // A Schedule's runs carry its id and their scheduled time: each gets its own run directory.
  const outputDir = resolveOutputDir(config.outputDir ?? 'runs/{workflowId}', {
    workflowId,
    scheduleId: info.typedSearchAttributes.get(TEMPORAL_SCHEDULED_BY_ID),
    scheduledTime: info.typedSearchAttributes.get(TEMPORAL_SCHEDULED_START_TIME) ?? info.startTime,
  });
  if (!outputDir.ok) {
    const problems = [{ field: 'outputDir', message: outputDir.message }];
    upsertSearchAttributes([{ key: DQE_STATUS, value: 'failed' }]);
    throw failure('DqeInvalidInput', formatProblems(problems), problems);
  }
  const runDir = outputDir.dir;

  const progress: DqeProgress = { status: 'running', phase: 'load', phaseIndex: 0, phaseCount: PHASES.length + (config.twoFold ? SECOND_PASS_PHASES.length : 0), done: [], runDir };
  setHandler(progressQuery, () => progress);
  const timings: Record<string, number> = {};
  upsertSearchAttributes([
    { key: DQE_DATASET, value: config.dataset },
    { key: DQE_STATUS, value: 'running' },
    { key: DQE_PHASE, value: progress.phase },
  ]);
  upsertMemo({ dataset: config.dataset, runDir } satisfies DqeMemo);
  function setStatus(status: RunStatus): void {
    progress.status = status;
    upsertSearchAttributes([{ key: DQE_STATUS, value: status }]);
  }

  // The review step: the update is checked at once (validator) and applied by an activity; a review
  // the activity rejects fails the update, not the run, which keeps waiting.
  let review: DqeReviewState = { state: config.review ? 'pending' : 'not_requested' };
  let awaiting: { clean: CleanResult; judged: JudgeResult; judged2: JudgeResult | undefined } | undefined;
  let reviewed: ReviewedJudge | undefined;
  setHandler(reviewQuery, () => review);
  setHandler(
    submitReviewUpdate,
    async (submission) => {
      const { clean, judged, judged2 } = awaiting!;
      review = { ...review, state: 'applying' };
      try {
        const result = await files.applyReview({ runDir, clean, judge: judged, judge2: judged2, submission });
        review = { ...review, state: 'submitted', ...(result.review ? { result: result.review } : {}) };
        reviewed = result;
        return result.review!;
      } catch (err) {
        review = { ...review, state: 'waiting' };
        throw err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
      }
    },
    {
      validator: (submission) => {
        if (review.state !== 'waiting') {
          const why = {
            not_requested: 'this run was started without review: true',
            pending: `the run is not waiting for review yet (phase ${progress.phase})`,
            applying: 'a review was submitted and is being applied',
            submitted: 'the review was already submitted',
            nothing_to_review: 'the run found no noisy pairs and no flagged rows to review',
          }[review.state];
          throw failure('DqeNotAwaitingReview', why);
        }
        const checked = checkSubmission(submission, review.labels ?? []);
        if (!checked.ok) throw failure('DqeInvalidReview', formatReviewProblems(checked.problems), checked.problems);
      },
    },
  );

  /**
   * Waits, durably, for a person to accept or override the verdicts of both passes; returns what
   * assembly uses (`secondPass`: the second pass's verdicts with the decisions in them).
   */
  async function awaitReview(clean: CleanResult, judged: JudgeResult, judged2: JudgeResult | undefined): Promise<ReviewedJudge> {
    awaiting = { clean, judged, judged2 };
    const pairs = judged.pairs + (judged2?.pairs ?? 0);
    const flagged = (judged.flagged ?? 0) + (judged2?.flagged ?? 0);
    review = {
      state: 'waiting',
      pairsPath: judged.pairsPath,
      ...(judged2 ? { secondPassPairsPath: judged2.pairsPath } : {}),
      pairs,
      ...(judged.flaggedPath !== undefined ? { flaggedPath: judged.flaggedPath } : {}),
      ...(judged2?.flaggedPath !== undefined ? { secondPassFlaggedPath: judged2.flaggedPath } : {}),
      ...(judged.flaggedPath !== undefined ? { flagged } : {}),
      verdicts: judged.counts,
      labels: clean.labels,
    };
    setStatus('awaiting_review');
    log.info('dqe run awaits review', { pairs, flagged, pairsPath: judged.pairsPath });
    const started = Date.now();
    await condition(() => reviewed !== undefined);
    timings.review = (Date.now() - started) / 1000;
    setStatus('running');
    return reviewed!;
  }

  // Whether this run holds the run directory's lock, so a failed or cancelled run releases it.
  let claimed = false;
  // Whether the run's vector index may exist in the store, so a failed or cancelled run drops it.
  let vectorsLive = false;
  async function cleanUp(): Promise<string[]> {
    const keep = config.vectorStore.name === 'qdrant' && config.vectorStore.keep;
    if (!vectorsLive || keep) return [];
    try {
      await cleanupActs.dropVectors({ runId: workflowId, vectorStore: config.vectorStore, runDir });
      return [`dropped the run's ${config.vectorStore.name} vector index`];
    } catch (err) {
      log.warn('dqe cleanup could not drop the vector index', { error: String(err) });
      return [`could not drop the run's ${config.vectorStore.name} vector index: ${(err as Error).message}`];
    }
  }

  async function phase<T>(name: Phase, run: () => Promise<T>): Promise<T> {
    progress.phase = name;
    upsertSearchAttributes([{ key: DQE_PHASE, value: name }]);
    progress.phaseIndex = progress.done.length;
    const started = Date.now();
    const result = await run();
    const seconds = (Date.now() - started) / 1000;
    timings[name] = seconds;
    progress.done.push({ phase: name, seconds });
    return result;
  }

  try {
    const trainerActs = trainerActivities(config, compute);
    const embedActs = config.embedder.name === 'openai' ? remote : compute;
    const searchActs = config.vectorStore.name === 'qdrant' ? remote : compute;
    const judgeActs = config.judge.name === 'openai' ? remote : compute;

    // Before anything writes: the directory must not hold the dataset, another live run or old outputs.
    await files.claimRunDir({ runDir, dataset: config.dataset, workflowId, runId: info.runId, overwrite: config.overwrite });
    claimed = true;
    if (config.embedder.name === 'openai' || config.judge.name === 'openai' || config.vectorStore.name === 'qdrant') {
      await preflight.checkEndpoints({ embedder: config.embedder, vectorStore: config.vectorStore, judge: config.judge });
    }
    const load = await phase('load', () =>
      files.loadDataset({ runDir, dataset: config.dataset, format: config.format, textField: config.textField, labelField: config.labelField, labels: config.labels }),
    );
    const cleaned = await phase('clean', () => files.cleanDataset({ runDir, load, labels: config.labels }));
    const embed = await phase('embed', async () => {
      // Fan-out: each shard is its own activity on whichever worker takes it; merged in shard order.
      const shards = await Promise.all(shardsOf(cleaned.kept, config.shardSize).map((shard) => embedActs.embedShard({ runDir, clean: cleaned, embedder: config.embedder, shard })));
      return files.mergeEmbeddings({ runDir, clean: cleaned, shards });
    });
    // Rows with nothing to embed left at the embed phase; every later phase works on the rest.
    const clean = embed.clean ?? cleaned;

    const sample = await phase('sample', () => compute.sampleRows({ runDir, embed, ratio: config.ratio, seed: config.seed, rule: config.sampling }));
    const trainArgs = { runDir, clean, embed, sample, trainer: config.trainer, seed: config.seed };
    const train = await phase('train', () => trainerActs.trainModel(trainArgs));
    const predict = await phase('predict', async () => {
      const shards = await Promise.all(shardsOf(clean.kept, config.shardSize).map((shard) => trainerActs.predictShard({ ...trainArgs, train, shard })));
      return files.mergePredictions({ runDir, shards });
    });
    const indexArgs = { runDir, runId: workflowId, clean, embed, sample, vectorStore: config.vectorStore };
    // The offline judge's neighbours are asked of the store while its index is up (the judge runs after it is dropped).
    const neighbours = config.judge.name === 'offline' && config.judge.rule === 'confident' && config.judge.neighbours > 0 ? { neighbours: { k: config.judge.neighbours, scope: config.judge.scope } } : {};
    vectorsLive = true;
    const index = await phase('index', () => searchActs.indexVectors(indexArgs));
    const categorise = await phase('categorise', () => searchActs.categoriseWrong({ ...indexArgs, predict, ...neighbours }));
    // Two-fold DQE: the same method with the halves swapped, before the index is dropped (it searches it too).
    const second = !config.twoFold ? undefined : await (async () => {
      const sample2 = await phase('swap', () => files.swapHalves({ runDir, sample }));
      const trainArgs2 = { ...trainArgs, sample: sample2 };
      const train2 = await phase('train2', () => trainerActs.trainModel(trainArgs2));
      const predict2 = await phase('predict2', async () => {
        const shards = await Promise.all(shardsOf(clean.kept, config.shardSize).map((shard) => trainerActs.predictShard({ ...trainArgs2, train: train2, shard })));
        return files.mergePredictions({ runDir, shards });
      });
      const categorise2 = await phase('categorise2', () => searchActs.categoriseWrong({ ...indexArgs, sample: sample2, predict: predict2, ...neighbours, ...(categorise.nearest ? { knownNearest: categorise.nearest } : {}) }));
      return { sample: sample2, train: train2, predict: predict2, categorise: categorise2 };
    })();
    if (!(config.vectorStore.name === 'qdrant' && config.vectorStore.keep)) {
      // The index is only needed for categorising; free the store's resources now, not at the end.
      await searchActs.dropVectors({ runId: workflowId, vectorStore: config.vectorStore, runDir });
      vectorsLive = false;
    }
    const judged = await phase('judge', () => judgeActs.judgeNoisy({ runDir, clean, embed, sample, predict, categorise, judge: config.judge, seed: config.seed }));
    const judged2 =
      second &&
      (await phase('judge2', () =>
        judgeActs.judgeNoisy({ runDir, clean, embed, sample: second.sample, predict: second.predict, categorise: second.categorise, judge: config.judge, seed: config.seed, pairsFile: RUN_FILES.noisyPairsSecondPass }),
      ));
    // The review covers both passes' pairs and flagged rows; it waits only if either pass found some.
    const toReview = judged.pairs + (judged2?.pairs ?? 0) + (judged.flagged ?? 0) + (judged2?.flagged ?? 0);
    if (config.review && toReview === 0) review = { state: 'nothing_to_review', pairs: 0 };
    const decided = config.review && toReview > 0 ? await awaitReview(clean, judged, judged2) : undefined;
    const judge = decided ?? judged;
    // A review before two-fold review existed returned no `secondPass`: the second pass's verdicts stand.
    const secondPass = second && judged2 && { ...second, judge: decided?.secondPass ?? judged2 };
    const assemble = await phase('assemble', () =>
      files.assembleRun({ runDir, labelField: config.labelField, clean, sample, categorise, judge, noisy: config.noisy, undecided: config.undecided, maxShare: config.maxShare, seed: config.seed, judge2: secondPass?.judge }),
    );
    const report = await phase('report', () =>
      files.writeReport({ runDir, runId: workflowId, config, load, clean, embed, sample, train, predict, index, categorise, judge, assemble, timings, secondPass }),
    );
    await files.releaseRunDir({ runDir, workflowId, runId: info.runId, state: 'completed' });
    // An update handler may still be returning its result; let it finish before the run closes.
    await condition(allHandlersFinished);
    setStatus('completed');
    upsertSearchAttributes([{ key: DQE_FINAL_SIZE, value: assemble.final }]);
    upsertMemo({ finalSize: assemble.final, kept: clean.kept } satisfies DqeMemo);
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
      ...(secondPass
        ? {
            secondPass: {
              wrong: secondPass.predict.wrong,
              uncovered: secondPass.categorise.counts.uncovered,
              difficult: secondPass.categorise.counts.difficult,
              noisy: secondPass.categorise.counts.noisy,
              mislabeled: secondPass.judge.counts.mislabeled,
            },
          }
        : {}),
      warnings: [...labelWarnings(clean.perLabel), ...caseConflictWarnings(clean.caseConflicts), ...shareCapWarnings(assemble.excluded, assemble.final, clean.kept, config.maxShare)],
    };
  } catch (err) {
    setStatus(isCancellation(err) ? 'cancelled' : 'failed');
    // A cancelled scope cannot schedule activities: clean up in one that ignores the cancellation.
    const cleanup = await CancellationScope.nonCancellable(cleanUp);
    if (claimed) {
      await CancellationScope.nonCancellable(() => cleanupActs.releaseRunDir({ runDir, workflowId, runId: info.runId, state: 'failed' })).catch((e: unknown) => {
        log.warn('dqe cleanup could not release the run directory', { error: String(e) });
      });
    }
    upsertMemo({ cleanup } satisfies DqeMemo);
    throw err;
  }
}
