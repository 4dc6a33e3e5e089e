// Phases 5 and 6: train on the sampled rows, predict the unsampled rows.
import { join, resolve } from 'node:path';
import { AtomicWriter, hashKey, runPhaseOnce } from '../adapters/files.js';
import { createTrainer } from '../adapters/trainers/index.js';
import type { TrainerConfig } from '../core/input.js';
import { jobContext } from './context.js';
import { idsOf, readLabelIds, readSplits } from './read.js';
import type { CleanResult, EmbedResult, PredictResult, SampleResult, TrainResult } from './refs.js';

export interface TrainArgs {
  runDir: string;
  clean: CleanResult;
  embed: EmbedResult;
  sample: SampleResult;
  trainer: TrainerConfig;
  seed: number;
}

export interface PredictArgs extends TrainArgs {
  train: TrainResult;
}

function trainKey(args: TrainArgs): string {
  return hashKey({ kept: args.clean.keptPath, matrix: args.embed.matrix.path, split: args.sample.splitPath, trainer: args.trainer, seed: args.seed });
}

export async function trainModel(args: TrainArgs): Promise<TrainResult> {
  const started = performance.now();
  const key = trainKey(args);
  const workDir = join(resolve(args.runDir), 'work');
  return runPhaseOnce(workDir, 'train', key, async () => {
    const trainer = createTrainer(args.trainer);
    const splits = await readSplits(args.sample, args.clean.kept);
    const out = await trainer.train(
      {
        jobDir: join(workDir, `train.${key}.job`),
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

export async function predictRows(args: PredictArgs): Promise<PredictResult> {
  const started = performance.now();
  const key = hashKey({ train: trainKey(args), model: args.train.modelPath });
  const workDir = join(resolve(args.runDir), 'work');
  return runPhaseOnce(workDir, 'predict', key, async (prefix) => {
    const trainer = createTrainer(args.trainer);
    const splits = await readSplits(args.sample, args.clean.kept);
    const labelIds = await readLabelIds(args.clean);
    const ids = idsOf(splits, 'unsampled');
    const predictions = await trainer.predict(
      { jobDir: `${prefix}.job`, keptPath: args.clean.keptPath, matrix: args.embed.matrix, modelPath: args.train.modelPath, ids, labels: args.clean.labels },
      jobContext(),
    );
    const byId = new Map(predictions.map((p) => [p.id, p]));
    const out = await AtomicWriter.create(`${prefix}.predictions.jsonl`);
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
    return {
      predictionsPath: out.path,
      predicted: ids.length,
      correct,
      wrong: ids.length - correct,
      unmapped,
      seconds: (performance.now() - started) / 1000,
    } satisfies PredictResult;
  });
}
