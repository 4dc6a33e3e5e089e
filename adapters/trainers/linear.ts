// The CPU trainer: multinomial logistic regression on the embeddings.
import { join } from 'node:path';
import { argmax, predictLinear, trainLinear, type LinearModel } from '../../core/linear-model.js';
import { exists, readFloat64, readJson, readMatrix, writeJsonAtomic, writeTypedAtomic } from '../files.js';
import type { Trainer } from './types.js';

export interface LinearTrainerOptions {
  epochs: number;
  learningRate: number;
  l2: number;
}

/** Epochs between heartbeats: often enough for a short heartbeat timeout, rare enough to cost nothing. */
const HEARTBEAT_EVERY_EPOCHS = 10;

async function loadModel(path: string): Promise<LinearModel> {
  const meta = await readJson<{ classes: number; dim: number }>(path);
  const weights = await readFloat64(`${path}.f64`, meta.classes * (meta.dim + 1));
  return { ...meta, weights };
}

export function createLinearTrainer(opts: LinearTrainerOptions): Trainer {
  return {
    name: 'linear',
    async train(req, ctx) {
      const modelPath = join(req.jobDir, 'model.json');
      if (await exists(modelPath)) return { modelPath, trainSeconds: 0, details: { reused: true } };
      const started = performance.now();
      const vectors = await readMatrix(req.matrix);
      const targets = Uint32Array.from(req.trainIds, (id) => req.labelIds[id]!);
      let lastLoss = NaN;
      const model = trainLinear(vectors, req.matrix.dim, req.trainIds, targets, req.labels.length, opts, (epoch, loss) => {
        lastLoss = loss;
        if (epoch % HEARTBEAT_EVERY_EPOCHS === 0) ctx.heartbeat({ step: epoch, maxSteps: opts.epochs, loss });
      });
      await writeTypedAtomic(`${modelPath}.f64`, model.weights);
      await writeJsonAtomic(modelPath, { classes: model.classes, dim: model.dim });
      return { modelPath, trainSeconds: (performance.now() - started) / 1000, details: { epochs: opts.epochs, finalLoss: lastLoss } };
    },
    async predict(req) {
      const model = await loadModel(req.modelPath);
      const vectors = await readMatrix(req.matrix);
      const probs = predictLinear(model, vectors, req.ids);
      const k = model.classes;
      return req.ids.map((id, i) => ({
        id,
        predicted: req.labels[argmax(probs, i * k, k)]!,
        probs: Array.from(probs.subarray(i * k, (i + 1) * k)),
      }));
    },
  };
}
