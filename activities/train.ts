// Phases 5 and 6: train on the sampled rows, predict the unsampled rows.
import { AtomicWriter, hashKey, readJsonl, runPhaseOnce } from '../adapters/files.js';
import type { Prediction } from '../adapters/trainers/types.js';
import { createTrainer, type TrainerRuntime } from '../adapters/trainers/index.js';
import type { TrainerConfig } from '../core/input.js';
import { jobContext } from './context.js';
import { workerIdentity } from './embed.js';
import { idsOf, readLabelIds, readSplits } from './read.js';
import type { CleanResult, EmbedResult, PredictResult, PredictShardResult, SampleResult, Shard, TrainResult } from './refs.js';
import { workFile } from '../core/run-layout.js';
import { workDirOf } from '../adapters/run-files.js';

export interface TrainArgs {
  runDir: string;
  clean: CleanResult;
  embed: EmbedResult;
  sample: SampleResult;
  trainer: TrainerConfig;
  seed: number;
}

export interface PredictShardArgs extends TrainArgs {
  train: TrainResult;
  /** Range of kept-row ids; only its unsampled rows are predicted. */
  shard: Shard;
}

export interface MergePredictionsArgs {
  runDir: string;
  shards: PredictShardResult[];
}

function trainKey(args: TrainArgs): string {
  return hashKey({ kept: args.clean.keptPath, matrix: args.embed.matrix.path, split: args.sample.splitPath, trainer: args.trainer, seed: args.seed });
}

/** `runtime`: the worker's trainer settings (the GPU worker passes how it runs swift). */
export async function trainModel(args: TrainArgs, runtime: TrainerRuntime = {}): Promise<TrainResult> {
  const started = performance.now();
  const key = trainKey(args);
  const workDir = workDirOf(args.runDir);
  return runPhaseOnce(workDir, 'train', key, async (prefix) => {
    const trainer = createTrainer(args.trainer, runtime);
    const splits = await readSplits(args.sample, args.clean.kept);
    const out = await trainer.train(
      {
        jobDir: workFile(prefix, 'job'),
        keptPath: args.clean.keptPath,
        matrix: args.embed.matrix,
        trainIds: idsOf(splits, 'sampled'),
        labelIds: await readLabelIds(args.clean),
        labels: args.clean.labels,
        seed: args.seed,
      },
      jobContext(),
    );
    return { trainer: trainer.name, ...out, seconds: (performance.now() - started) / 1000 } satisfies TrainResult;
  });
}

/** Predicts the unsampled rows whose ids fall in the shard's range. */
export async function predictShard(deps: { workerId?: string; trainers?: TrainerRuntime }, args: PredictShardArgs): Promise<PredictShardResult> {
  const started = performance.now();
  const { shard } = args;
  const key = hashKey({ train: trainKey(args), model: args.train.modelPath, start: shard.start, end: shard.end });
  const workDir = workDirOf(args.runDir);
  return runPhaseOnce(workDir, `predict-shard-${shard.index}`, key, async (prefix) => {
    const trainer = createTrainer(args.trainer, deps.trainers);
    const splits = await readSplits(args.sample, args.clean.kept);
    const labelIds = await readLabelIds(args.clean);
    const ids = idsOf(splits, 'unsampled').filter((id) => id >= shard.start && id < shard.end);
    const predictions = ids.length === 0 ? [] : await trainer.predict(
      { jobDir: workFile(prefix, 'job'), keptPath: args.clean.keptPath, matrix: args.embed.matrix, modelPath: args.train.modelPath, ids, labels: args.clean.labels },
      jobContext(),
    );
    const byId = new Map(predictions.map((p) => [p.id, p]));
    const out = await AtomicWriter.create(workFile(prefix, 'jsonl'));
    let correct = 0;
    let unmapped = 0;
    for (const id of ids) {
      const p = byId.get(id);
      if (!p) throw new Error(`trainer ${trainer.name} returned no prediction for kept row ${id}`);
      if (p.predicted === null) unmapped++;
      else if (p.predicted === args.clean.labels[labelIds[id]!]) correct++;
      await out.writeLine(p);
    }
    await out.commit();
    return { shard, path: out.path, predicted: ids.length, correct, unmapped, seconds: (performance.now() - started) / 1000, worker: workerIdentity(deps) } satisfies PredictShardResult;
  });
}

/** Concatenates the shards' predictions, in shard (and so id) order, into predictions.jsonl. */
export async function mergePredictions(args: MergePredictionsArgs): Promise<PredictResult> {
  const started = performance.now();
  const shards = [...args.shards].sort((a, b) => a.shard.index - b.shard.index);
  const key = hashKey(shards.map((s) => s.path));
  return runPhaseOnce(workDirOf(args.runDir), 'predict', key, async (prefix) => {
    const out = await AtomicWriter.create(workFile(prefix, 'predictions.jsonl'));
    for (const s of shards) for await (const p of readJsonl<Prediction>(s.path)) await out.writeLine(p);
    await out.commit();
    const predicted = shards.reduce((n, s) => n + s.predicted, 0);
    const correct = shards.reduce((n, s) => n + s.correct, 0);
    return {
      predictionsPath: out.path,
      predicted,
      correct,
      wrong: predicted - correct,
      unmapped: shards.reduce((n, s) => n + s.unmapped, 0),
      seconds: (performance.now() - started) / 1000 + shards.reduce((n, s) => n + s.seconds, 0),
      shards: shards.map((s) => ({ index: s.shard.index, rows: s.predicted, worker: s.worker })),
    } satisfies PredictResult;
  });
}
