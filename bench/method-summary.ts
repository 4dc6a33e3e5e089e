// Summarises the method ablation's slices (bench/results/method-*.json, written by bench/method.ts) per
// trainer, embedder, dataset and configuration, over seeds and the clean / noisy variants: the tables of
// the README's "Method quality" section. A case that several slices hold (same dataset, embedder, seed,
// noise, configuration and trainer) counts once. Writes bench/results/method-summary.json.
//
//   npx tsx bench/method-summary.ts [--markdown] [--only method-a.json,method-b.json]
//
// --only: those slices alone (a side-by-side of one session's runs), printed, method-summary.json left as it is.
import { readdirSync } from 'node:fs';
import { writeJsonAtomic } from '../adapters/files.js';
import { ALPHA, accuracySignificant, macroF1Significant, readSlice, SLICE, trainerLabel, type Case } from './method-slices.js';

/** The embedder of slices written before bench/method.ts took --embedders: 1024-wide hash vectors. */
const EARLY_EMBEDDER = 'hash-v1-d1024';

/** `graph`: the minilm ONNX graph's version in the embedder id (graph 5: the 7-bit int8 weights), when it names one. */
const cases = new Map<string, Case & { trainer: string; embedder: string; graph?: string | undefined }>();
const loads: Record<string, string> = {};
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1]?.split(',') : undefined;
if (onlyAt >= 0 && (!only || only.some((f) => !SLICE.test(f)))) throw new Error('--only: a comma-separated list of bench/results/method-*.json file names');
for (const f of only ?? readdirSync('bench/results').filter((f) => SLICE.test(f)).sort()) {
  const s = readSlice(f);
  loads[f] = s.machine.loadavg;
  const trainer = trainerLabel(s.trainer);
  for (const c of s.results) {
    const embedder = (c.embedder ?? EARLY_EMBEDDER).split(':')[0]!.replace(/-v1-d1024$/u, '');
    const key = [trainer, embedder, c.dataset, c.seed, c.noise, c.config].join('|');
    if (!cases.has(key)) cases.set(key, { ...c, trainer, embedder, graph: /:g(\d+):/u.exec(c.embedder ?? '')?.[1] });
  }
}

const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

const groups = new Map<string, Array<Case & { trainer: string; embedder: string; graph?: string | undefined }>>();
for (const c of cases.values()) {
  const key = [c.trainer, c.embedder, c.dataset, c.config].join('|');
  groups.set(key, [...(groups.get(key) ?? []), c]);
}
const rows = [...groups.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([key, cs]) => {
    const [trainer, embedder, dataset, config] = key.split('|') as [string, string, string, string];
    const clean = cs.filter((c) => c.noise === null);
    const noisy = cs.filter((c) => c.noise !== null);
    return {
      trainer,
      embedder,
      dataset,
      config,
      cases: cs.length,
      seeds: [...new Set(cs.map((c) => c.seed))].sort(),
      /** The minilm graph versions of the row's cases (empty for other embedders). */
      graphs: [...new Set(cs.flatMap((c) => (c.graph === undefined ? [] : [c.graph])))].sort(),
      cleanCases: clean.length,
      noisyCases: noisy.length,
      dqeShare: mean(cs.map((c) => c.arms.dqe.share)),
      accuracy: { full: mean(cs.map((c) => c.arms.full.accuracy)), dqe: mean(cs.map((c) => c.arms.dqe.accuracy)), random: mean(cs.map((c) => c.arms.random.accuracy)) },
      macroF1: { full: mean(cs.map((c) => c.arms.full.macroF1)), dqe: mean(cs.map((c) => c.arms.dqe.macroF1)), random: mean(cs.map((c) => c.arms.random.macroF1)) },
      vsRandom: {
        accuracyWins: cs.filter((c) => accuracySignificant(c.dqeVsRandom) && c.dqeVsRandom.accuracyDiff > 0).length,
        accuracyLosses: cs.filter((c) => accuracySignificant(c.dqeVsRandom) && c.dqeVsRandom.accuracyDiff < 0).length,
        macroF1Wins: cs.filter((c) => macroF1Significant(c.dqeVsRandom) && c.dqeVsRandom.macroF1Diff > 0).length,
        macroF1Losses: cs.filter((c) => macroF1Significant(c.dqeVsRandom) && c.dqeVsRandom.macroF1Diff < 0).length,
      },
      vsFull: {
        accuracyBelow: cs.filter((c) => accuracySignificant(c.dqeVsFull) && c.dqeVsFull.accuracyDiff < 0).length,
        accuracyAbove: cs.filter((c) => accuracySignificant(c.dqeVsFull) && c.dqeVsFull.accuracyDiff > 0).length,
        macroF1Below: cs.filter((c) => macroF1Significant(c.dqeVsFull) && c.dqeVsFull.macroF1Diff < 0).length,
      },
      judgeDropsClean: { mean: mean(clean.map((c) => c.judgedMislabeled.share)), max: clean.length === 0 ? NaN : Math.max(...clean.map((c) => c.judgedMislabeled.share)) },
      /** What cleanlab's find_label_issues flags on the same clean data: the yardstick for the judge's drops. */
      cleanlabFlagsClean: mean(clean.filter((c) => c.cleanlabFlags).map((c) => c.cleanlabFlags!.share)),
      noiseF1: { dqe: mean(noisy.map((c) => c.noiseF1!.dqe)), cleanlab: mean(noisy.map((c) => c.noiseF1!.cleanlab)) },
    };
  });

if (!only) await writeJsonAtomic('bench/results/method-summary.json', { benchmark: 'method-summary', command: 'npx tsx bench/method-summary.ts', alpha: ALPHA, significance: 'accuracy: McNemar and paired t-test both p < alpha; macro-F1: bootstrap over test rows p < alpha', slicesLoadavg: loads, rows });

if (process.argv.includes('--markdown')) {
  const pct = (x: number) => (Number.isNaN(x) ? '–' : (100 * x).toFixed(1));
  console.log('| trainer | vectors | dataset | config | cases (seeds) | DQE % of kept | acc full / DQE / random | macro-F1 full / DQE / random | vs random: acc win/loss, F1 win/loss | sig. below full: acc, F1 | judge drops, clean (mean / max) | cleanlab flags, clean | noise F1 DQE / cleanlab |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.trainer} | ${r.embedder} | ${r.dataset} | ${r.config} | ${r.cleanCases}+${r.noisyCases} (${r.seeds.join(',')})${r.graphs.length === 1 && r.graphs[0] === '5' ? ', graph 5' : ''} | ${pct(r.dqeShare)} | ${pct(r.accuracy.full)} / ${pct(r.accuracy.dqe)} / ${pct(r.accuracy.random)} | ${pct(r.macroF1.full)} / ${pct(r.macroF1.dqe)} / ${pct(r.macroF1.random)} | ${r.vsRandom.accuracyWins}/${r.vsRandom.accuracyLosses}, ${r.vsRandom.macroF1Wins}/${r.vsRandom.macroF1Losses} | ${r.vsFull.accuracyBelow}, ${r.vsFull.macroF1Below} | ${pct(r.judgeDropsClean.mean)} / ${pct(r.judgeDropsClean.max)} | ${pct(r.cleanlabFlagsClean)} | ${r.noisyCases > 0 ? `${r.noiseF1.dqe.toFixed(3)} / ${r.noiseF1.cleanlab.toFixed(3)}` : '–'} |`,
    );
  }
}
console.error(only ? `${rows.length} rows from ${cases.size} cases of ${only.join(', ')}` : `wrote bench/results/method-summary.json (${rows.length} rows from ${cases.size} cases)`);
