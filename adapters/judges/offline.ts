// The offline judge: cross-fitted probabilities of a linear model on the embeddings, judged by
// confident learning's per-class thresholds (or, with rule 'fixed', by two fixed thresholds).
//
// Every kept row is scored by a model that never trained on it (K seeded folds over all kept rows),
// so both rows of a noisy pair are judged from out-of-sample evidence of the same model, and the
// per-class thresholds t_j (the mean probability of class j over the rows labelled j) come from the
// whole data. With scope 'all' every other kept row the rule calls mislabeled is flagged too. With `neighbours`
// the labels of each row's nearest other kept rows (found by the run's vector store) vote beside the
// probabilities. See core/judging.ts for the rules and README "The offline judge".
import { confidentVerdict, flagOutsidePairs, judgeEvidence, neighbourEvidenceName, offlineVerdict, PROBE_EVIDENCE, type RowVerdict } from '../../core/judging.js';
import type { JudgeConfig } from '../../core/input.js';
import { join } from 'node:path';
import { exists, readFloat64, readInt32, readUint32, writeTypedAtomic } from '../files.js';
import { withSharedMatrix } from '../shared-matrix.js';
import { nearestOtherRows } from '../vector-stores/exact-knn.js';
import { crossFittedProbs } from '../trainers/linear.js';
import type { Judge } from './types.js';

/** The cross-fitted models' optimiser settings: the linear trainer's defaults. */
export const CROSS_FIT_PROBE = { epochs: 300, learningRate: 0.1, l2: 1e-4 };
/**
 * Offset of the folds' seed from the run's seed. `dqe eval` deals cleanlab's folds with the same
 * offset, so with the default linear settings the judge and cleanlab see the same probabilities and
 * differ only in their rule and in which rows they are asked about.
 */
export const CROSS_FIT_SEED_OFFSET = 3;

/**
 * Where a run's offline judge keeps its cross-fitted probabilities (rows × labels, float64): `folds`
 * folds dealt with the run's `seed` + CROSS_FIT_SEED_OFFSET, each fold's model trained with CROSS_FIT_PROBE.
 */
export function crossFitProbsPath(workDir: string, folds: number, seed: number): string {
  return join(workDir, `cross-fit-probs-k${folds}-s${seed}.f64`);
}

/**
 * The run's cross-fitted probabilities, computed once: a second call in the same run (two-fold's second
 * pass, a retry) reads them from the work folder. Same matrix, labels, folds and seed in a run, so the
 * same numbers either way.
 */
async function sharedProbs(workDir: string | undefined, folds: number, seed: number, length: number, compute: () => Promise<Float64Array>): Promise<Float64Array> {
  return shared(workDir === undefined ? undefined : crossFitProbsPath(workDir, folds, seed), length, compute);
}

/** `compute()`'s numbers, kept at `path` (when given) and read back from there by later calls. */
async function shared(path: string | undefined, length: number, compute: () => Promise<Float64Array>): Promise<Float64Array> {
  if (path === undefined) return compute();
  if (await exists(path)) return readFloat64(path, length);
  const values = await compute();
  await writeTypedAtomic(path, values);
  return values;
}

export function createOfflineJudge(config: Extract<JudgeConfig, { name: 'offline' }>): Judge {
  return {
    name: 'offline',
    async judge(req, ctx) {
      const labelOf = new Map<number, string>();
      for (const p of req.pairs) {
        labelOf.set(p.x.id, p.x.label);
        labelOf.set(p.neighbour.id, p.neighbour.label);
      }
      const ids = [...labelOf.keys()].sort((a, b) => a - b);
      // The rows outside the pairs that the scope may flag: none, the pass's wrongly predicted rows, or every kept row.
      const outside = config.scope === 'pairs' ? [] : config.scope === 'wrong' ? (req.wrongIds ?? []) : req.labelIds.length;
      if (ids.length === 0 && (typeof outside === 'number' ? outside : outside.length) === 0) return { verdicts: [], evidence: 'none: no row to judge' };
      const k = req.labels.length;
      const probs = await sharedProbs(req.workDir, config.folds, req.seed, req.labelIds.length * k, () =>
        withSharedMatrix(req.matrix, (vectors) => crossFittedProbs(vectors, req.matrix.dim, req.labelIds, k, config.folds, req.seed + CROSS_FIT_SEED_OFFSET, CROSS_FIT_PROBE, ctx)),
      );
      // With neighbours (rule 'confident'): the evidence is the mean of the probabilities and the label shares of
      // each row's nearest other kept rows, and the class thresholds are taken over it on the threshold rows (every
      // row up to 20,000). The run's vector store found the neighbours of the rows this judge needs (`req.nearest`);
      // without them (bench/method.ts) the exact search here finds every row's.
      const rows = req.labelIds.length;
      const withNeighbours = config.rule === 'confident' && config.neighbours > 0;
      // Rule 'fixed' reads no class thresholds.
      const scale = config.rule === 'confident' ? config.thresholdScale : 1;
      const fromStore = req.nearest !== undefined && req.nearest.k === config.neighbours ? req.nearest : undefined;
      const evidence = !withNeighbours
        ? judgeEvidence(probs, req.labelIds, k, undefined, scale)
        : fromStore
          ? judgeEvidence(probs, req.labelIds, k, { count: config.neighbours, nearest: await readInt32(fromStore.path, fromStore.rows * fromStore.k), searched: await readUint32(fromStore.idsPath, fromStore.rows), where: fromStore.idsPath }, scale)
          : judgeEvidence(
              probs,
              req.labelIds,
              k,
              {
                count: config.neighbours,
                nearest: await withSharedMatrix(req.matrix, (vectors) => nearestOtherRows(vectors, rows, req.matrix.dim, config.neighbours, (done, total) => ctx.heartbeat({ neighbours: done, rows: total }))),
              },
              scale,
            );
      const evidenceUsed = `cross-fitted probabilities (${config.folds} folds)${withNeighbours ? ` + label shares of the ${config.neighbours} nearest rows (${fromStore ? 'from the vector store' : 'exact search'})` : ''}`;
      const name = withNeighbours ? neighbourEvidenceName(config.neighbours) : PROBE_EVIDENCE;
      const decide = (id: number, label: string): RowVerdict =>
        config.rule === 'fixed' ? offlineVerdict(id, label, evidence.of(id), req.labels, config) : confidentVerdict(id, label, evidence.of(id), req.labels, evidence.thresholds, config.minSuggested, name);
      const verdicts = ids.map((id) => decide(id, labelOf.get(id)!));
      if (config.scope === 'pairs') return { verdicts, evidence: evidenceUsed };
      return { verdicts: flagOutsidePairs(verdicts, outside, (id) => decide(id, req.labels[req.labelIds[id]!]!)), evidence: evidenceUsed };
    },
  };
}
