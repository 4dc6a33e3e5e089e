// The activities of the dqe workflow, built by a factory that receives their dependencies: the worker
// wires the real environment in, tests wire their own.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { allowedRoots } from '../infra/allowed-roots.js';
import { assembleRun } from './assemble.js';
import { cleanDataset } from './clean.js';
import { compareCleanlab, finishEvaluation, layOutArms, splitEvaluation, trainArm, type TrainArmArgs } from './evaluate.js';
import type { EvalInput } from '../core/evaluation.js';
import { confineActivities } from './confine.js';
import { embedShard, mergeEmbeddings } from './embed.js';
import type { EmbedShardArgs } from './embed-rows.js';
import { judgeNoisy, type JudgeArgs } from './judge.js';
import { loadDataset } from './load.js';
import { claimRunDir, releaseRunDir } from './run-dir.js';
import { checkEndpoints, type PreflightArgs } from './preflight.js';
import { writeReport } from './report.js';
import { sampleRows } from './sample.js';
import { swapHalves } from './two-fold.js';
import { applyReview } from './review.js';
import { mergePredictions, predictShard, trainModel, type PredictShardArgs } from './train.js';
import { categoriseWrong, dropVectors, indexVectors, type CategoriseArgs, type DropArgs, type IndexArgs } from './vector-search.js';

export interface ActivityDeps {
  /** Folder of caches shared by runs (embeddings, verdicts). */
  cacheDir: string;
  /** Where secrets and endpoints come from; never from workflow input. */
  env: NodeJS.ProcessEnv;
  /** Names this worker in fan-out results. @default pid@hostname */
  workerId?: string;
}

export function defaultActivityDeps(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  return { cacheDir: env.DQE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dqe'), env };
}

/**
 * CPU activities: everything but swift training and prediction. With DQE_ALLOWED_ROOTS in `deps.env`,
 * each one first checks that the dataset and run directory it is given lie inside those roots.
 */
export function createActivities(deps: ActivityDeps) {
  return confineActivities({
    checkEndpoints: (args: PreflightArgs) => checkEndpoints(deps, args),
    claimRunDir,
    loadDataset,
    cleanDataset,
    embedShard: (args: EmbedShardArgs) => embedShard(deps, args),
    mergeEmbeddings,
    sampleRows,
    swapHalves,
    trainModel,
    predictShard: (args: PredictShardArgs) => predictShard(deps, args),
    mergePredictions,
    indexVectors: (args: IndexArgs) => indexVectors(deps, args),
    categoriseWrong: (args: CategoriseArgs) => categoriseWrong(deps, args),
    dropVectors: (args: DropArgs) => dropVectors(deps, args),
    judgeNoisy: (args: JudgeArgs) => judgeNoisy(deps, args),
    applyReview,
    assembleRun,
    writeReport,
    releaseRunDir,
    // `dqe eval` (workflows/eval.ts)
    splitEvaluation,
    layOutArms: (input: EvalInput) => layOutArms(deps, input),
    trainArm: (args: TrainArmArgs) => trainArm(args),
    compareCleanlab,
    finishEvaluation,
  }, allowedRoots(deps.env));
}

export type DqeActivities = ReturnType<typeof createActivities>;
