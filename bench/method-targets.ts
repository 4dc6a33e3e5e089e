// Issue 19's targets for one configuration (dqe's default) over the slices that ran it (bench/method.ts): per
// trainer and dataset, the DQE set's share, its significant losses and wins against the random subset and the
// full data (each case named with its p-values), the clean rows the judge dropped and the noise F1 against
// cleanlab's, and which target each meets. Writes bench/results/method-targets.json (bench/run.ts puts it under
// `method` in bench/results.json).
//
//   npx tsx bench/method-targets.ts --config two-fold-wrong-knn-s95 --only method-linear-s95.json,method-encoder-spam800-s95-2class.json,...
import { writeJsonAtomic } from '../adapters/files.js';
import { ALPHA, accuracySignificant, macroF1Significant, readSlice, trainerLabel, type Case } from './method-slices.js';

const arg = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  const v = at >= 0 ? process.argv[at + 1] : undefined;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
};
const config = arg('config');
const slices = arg('only').split(',');

const cases: Array<Case & { trainer: string }> = [];
for (const f of slices) {
  const s = readSlice(f);
  for (const c of s.results) if (c.config === config) cases.push({ ...c, trainer: trainerLabel(s.trainer) });
}
if (cases.length === 0) throw new Error(`no case of ${config} in ${slices.join(', ')}`);

const name = (c: Case) => `seed ${c.seed} ${c.noise === null ? 'clean' : `${c.noise * 100}% flipped`}`;
/** Accuracy: McNemar and the paired t-test both below ALPHA (as the README counts it); macro-F1: the bootstrap. */
const events = (c: Case, vs: 'random' | 'full') => {
  const t = vs === 'random' ? c.dqeVsRandom : c.dqeVsFull;
  const out: Array<{ case: string; metric: string; diff: number; p: number; direction: 'above' | 'below'; testRows: number }> = [];
  if (accuracySignificant(t) && t.accuracyDiff !== 0) out.push({ case: name(c), metric: 'accuracy', diff: t.accuracyDiff, p: Math.max(t.mcnemarP, t.tTestP), direction: t.accuracyDiff > 0 ? 'above' : 'below', testRows: c.testRows });
  if (macroF1Significant(t) && t.macroF1Diff !== 0) out.push({ case: name(c), metric: 'macroF1', diff: t.macroF1Diff, p: t.macroF1P, direction: t.macroF1Diff > 0 ? 'above' : 'below', testRows: c.testRows });
  return out;
};
const groups = new Map<string, typeof cases>();
for (const c of cases) groups.set(`${c.trainer}|${c.dataset}`, [...(groups.get(`${c.trainer}|${c.dataset}`) ?? []), c]);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const rows = [...groups.entries()].map(([key, cs]) => {
  const [trainer, dataset] = key.split('|');
  const clean = cs.filter((c) => c.noise === null);
  const noisy = cs.filter((c) => c.noise !== null);
  const vsRandom = cs.flatMap((c) => events(c, 'random'));
  const vsFull = cs.flatMap((c) => events(c, 'full'));
  const share = { mean: mean(cs.map((c) => c.arms.dqe.share)), max: Math.max(...cs.map((c) => c.arms.dqe.share)) };
  const cleanDrops = clean.length > 0 ? { mean: mean(clean.map((c) => c.judgedMislabeled.share)), max: Math.max(...clean.map((c) => c.judgedMislabeled.share)) } : null;
  const noiseF1 = noisy.length > 0 ? { dqe: mean(noisy.map((c) => c.noiseF1!.dqe)), cleanlab: mean(noisy.map((c) => c.noiseF1!.cleanlab)), casesBelowCleanlab: noisy.filter((c) => c.noiseF1!.dqe < c.noiseF1!.cleanlab).map(name) } : null;
  return {
    trainer,
    dataset,
    cases: cs.length,
    seeds: [...new Set(cs.map((c) => c.seed))].sort(),
    share,
    belowRandom: vsRandom.filter((e) => e.direction === 'below'),
    aboveRandom: vsRandom.filter((e) => e.direction === 'above'),
    belowFull: vsFull.filter((e) => e.direction === 'below'),
    cleanDrops,
    noiseF1,
    targets: {
      shareAtMost60: share.max <= 0.6,
      neverBelowRandom: vsRandom.every((e) => e.direction !== 'below'),
      neverBelowFull: vsFull.every((e) => e.direction !== 'below'),
      aboveRandomHere: vsRandom.some((e) => e.direction === 'above'),
      cleanDropsUnder1Percent: cleanDrops === null ? null : cleanDrops.max < 0.01,
      noiseF1AtLeastCleanlab: noiseF1 === null ? null : noiseF1.dqe >= noiseF1.cleanlab,
    },
  };
});
/** The comparisons behind "never significantly below": 4 per case; what ALPHA / 2 per direction gives by chance when nothing differs. */
const tests = cases.length * 4;
await writeJsonAtomic('bench/results/method-targets.json', {
  benchmark: 'method-targets',
  command: `npx tsx bench/method-targets.ts ${process.argv.slice(2).join(' ')}`,
  config,
  alpha: ALPHA,
  comparisons: { tests, belowByChance: (tests * ALPHA) / 2, below: rows.reduce((a, r) => a + r.belowRandom.length + r.belowFull.length, 0) },
  rows,
});
for (const r of rows) console.log(`${r.trainer} ${r.dataset}: ${JSON.stringify(r.targets)}`);
