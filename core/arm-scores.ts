// Scoring `dqe eval`'s arms: each arm's metrics on the shared test rows and the paired tests between
// arms (pure; the arms' predictions come from the trainer activities).
import { ARMS, BOOTSTRAP_SEED_OFFSET, type ArmComparison, type ArmName, type ArmResult } from './evaluation.js';
import { bootstrapMacroF1Test, classificationMetrics, mcnemarTest, pairedTTest } from './metrics.js';

/** The arm results and their pairwise comparisons, from per-arm predictions of the same test rows. */
export function scoreArms(
  truth: readonly number[],
  arms: Record<ArmName, { predicted: readonly number[]; rows: number; trainSeconds: number }>,
  trainRows: number,
  labels: readonly string[],
  seed: number,
): { arms: Record<ArmName, ArmResult>; comparisons: ArmComparison[] } {
  const results = {} as Record<ArmName, ArmResult>;
  const correct = {} as Record<ArmName, number[]>;
  for (const arm of ARMS) {
    const a = arms[arm];
    correct[arm] = a.predicted.map((p, i) => (p === truth[i] ? 1 : 0));
    results[arm] = { rows: a.rows, dataFraction: trainRows > 0 ? a.rows / trainRows : 0, trainSeconds: a.trainSeconds, metrics: classificationMetrics(truth, a.predicted, labels) };
  }
  const compare = (a: ArmName, b: ArmName): ArmComparison => ({
    a,
    b,
    tTest: pairedTTest(correct[a], correct[b]),
    mcnemar: mcnemarTest(correct[a], correct[b]),
    macroF1: bootstrapMacroF1Test(truth, arms[a].predicted, arms[b].predicted, labels.length, seed + BOOTSTRAP_SEED_OFFSET),
  });
  return { arms: results, comparisons: [compare('dqe', 'full'), compare('dqe', 'random'), compare('full', 'random')] };
}
