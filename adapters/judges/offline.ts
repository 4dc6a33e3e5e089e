// The offline judge: out-of-sample probabilities from two linear probes on the embeddings.
//
// Each row of a noisy pair is scored by a model that never trained on it: an unsampled row by the
// model trained on the sampled half (the trainer's own probabilities when it gives them, else a
// linear probe), a sampled row by a linear probe trained on the unsampled half. The row is then
// judged by `offlineVerdict`: mislabeled when the probability of its own label is below
// `mislabeledBelow`, label_ok at or above `okAtLeast`, undecided in between.
import { predictLinear } from '../../core/linear-model.js';
import { offlineVerdict, type OfflineJudgeThresholds, type RowVerdict } from '../../core/judging.js';
import { readMatrix } from '../files.js';
import { trainLinearYielding } from '../trainers/linear.js';
import type { Judge } from './types.js';

/** The probes' optimiser settings: the linear trainer's defaults. */
const PROBE = { epochs: 300, learningRate: 0.1, l2: 1e-4 };

export function createOfflineJudge(t: OfflineJudgeThresholds): Judge {
  return {
    name: 'offline',
    async judge(req, ctx) {
      const rows = new Map<number, { label: string; split: 'sampled' | 'unsampled' }>();
      for (const p of req.pairs) {
        rows.set(p.x.id, { label: p.x.label, split: p.x.split });
        rows.set(p.neighbour.id, { label: p.neighbour.label, split: p.neighbour.split });
      }
      const ids = [...rows.keys()].sort((a, b) => a - b);
      if (ids.length === 0) return { verdicts: [] };
      const vectors = await readMatrix(req.matrix);
      const dim = req.matrix.dim;
      const k = req.labels.length;
      const probs = new Map<number, readonly number[]>();

      const probe = async (trainSplit: 'sampled' | 'unsampled', score: number[]) => {
        if (score.length === 0) return;
        const trainIds: number[] = [];
        req.splits.forEach((s, id) => s === trainSplit && trainIds.push(id));
        const targets = Uint32Array.from(trainIds, (id) => req.labelIds[id]!);
        ctx.heartbeat({ probe: trainSplit, rows: trainIds.length });
        const { model } = await trainLinearYielding(vectors, dim, trainIds, targets, k, PROBE, ctx, { probe: trainSplit });
        const p = predictLinear(model, vectors, score);
        score.forEach((id, i) => probs.set(id, Array.from(p.subarray(i * k, (i + 1) * k))));
      };

      const unsampledNeeding = ids.filter((id) => rows.get(id)!.split === 'unsampled' && !req.unsampledProbs.has(id));
      for (const id of ids) {
        const given = req.unsampledProbs.get(id);
        if (given && rows.get(id)!.split === 'unsampled') probs.set(id, given);
      }
      await probe('sampled', unsampledNeeding);
      await probe('unsampled', ids.filter((id) => rows.get(id)!.split === 'sampled'));

      const verdicts: RowVerdict[] = ids.map((id) => offlineVerdict(id, rows.get(id)!.label, probs.get(id)!, req.labels, t));
      return { verdicts };
    },
  };
}
