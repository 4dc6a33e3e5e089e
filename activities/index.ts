// The activities of the dqe workflow, built by a factory that receives their dependencies: the worker
// wires the real environment in, tests wire their own.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { assembleRun } from './assemble.js';
import { cleanDataset } from './clean.js';
import { embedRows, type EmbedArgs } from './embed.js';
import { judgeNoisy, type JudgeArgs } from './judge.js';
import { loadDataset } from './load.js';
import { writeReport } from './report.js';
import { sampleRows } from './sample.js';
import { predictRows, trainModel } from './train.js';
import { categoriseWrong, indexVectors, type CategoriseArgs, type IndexArgs } from './vector-search.js';

export interface ActivityDeps {
  /** Folder of caches shared by runs (embeddings, verdicts). */
  cacheDir: string;
  /** Where secrets and endpoints come from; never from workflow input. */
  env: NodeJS.ProcessEnv;
}

export function defaultActivityDeps(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  return { cacheDir: env.DQE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dqe'), env };
}

/** CPU activities: everything but swift training and prediction. */
export function createActivities(deps: ActivityDeps) {
  return {
    loadDataset,
    cleanDataset,
    embedRows: (args: EmbedArgs) => embedRows(deps, args),
    sampleRows,
    trainModel,
    predictRows,
    indexVectors: (args: IndexArgs) => indexVectors(deps, args),
    categoriseWrong: (args: CategoriseArgs) => categoriseWrong(deps, args),
    judgeNoisy: (args: JudgeArgs) => judgeNoisy(deps, args),
    assembleRun,
    writeReport,
  };
}

export type DqeActivities = ReturnType<typeof createActivities>;
