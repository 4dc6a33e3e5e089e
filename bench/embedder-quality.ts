// How well an embedder's vectors serve the method, per dataset: the linear trainer's train and test
// accuracy (its default options, a seeded 80/20 split) and how often a row's nearest neighbour (cosine,
// itself excluded) shares its label, against the chance rate Σ p(label)² of the label mix.
//
//   npx tsx bench/embedder-quality.ts [--datasets spam-2,spam-3,drug-reviews] [--embedders hash,minilm] [--limit 0] [--seed 0]
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { createEmbedder } from '../adapters/embedders/index.js';
import { writeJsonAtomic } from '../adapters/files.js';
import { parseDqeInput } from '../core/input.js';
import { argmax, predictLinear, trainLinear } from '../core/linear-model.js';
import { Rng } from '../core/random.js';
import { drugReviewsJsonl } from '../examples/drug-reviews.js';
import { spamAssassinJsonl } from '../examples/spam-assassin.js';
import { REPO_ROOT } from '../infra/python-env.js';
import { machine } from './machine.js';

const o = new Command('bench-embedder-quality')
  .option('--datasets <list>', 'spam-2, spam-3, drug-reviews', 'spam-2,spam-3,drug-reviews')
  .option('--embedders <list>', 'embedder names (their defaults)', 'hash,minilm')
  .option('--limit <n>', 'SpamAssassin mails (spread over the corpus; 0 = all)', Number, 0)
  .option('--seed <n>', 'seed of the split', Number, 0)
  .option('--out <file>', 'results file', 'bench/results/embedder-quality.json')
  .parse()
  .opts<{ datasets: string; embedders: string; limit: number; seed: number; out: string }>();

/** Held-out share of the linear model's split. */
const TEST_SHARE = 0.2;

async function rowsOf(name: string): Promise<Array<{ text: string; label: string }>> {
  const limit = o.limit > 0 ? { limit: o.limit } : {};
  const jsonl = name === 'drug-reviews' ? await drugReviewsJsonl() : spamAssassinJsonl({ threeClass: name === 'spam-3', ...limit });
  // As dqe's cleaning would keep them: non-empty text, first of each exact duplicate.
  const seen = new Set<string>();
  return jsonl.trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string }).filter((r) => r.text.trim() !== '' && !seen.has(r.text) && (seen.add(r.text), true));
}

const results: unknown[] = [];
for (const dataset of o.datasets.split(',')) {
  const rows = await rowsOf(dataset);
  const labels = [...new Set(rows.map((r) => r.label))].sort();
  const y = rows.map((r) => labels.indexOf(r.label));
  const share = labels.map((_, k) => y.filter((c) => c === k).length / y.length);
  const chance = share.reduce((a, p) => a + p * p, 0);
  const rng = new Rng(o.seed);
  const isTest = rows.map(() => rng.nextFloat() < TEST_SHARE);
  const train = y.flatMap((_, i) => (isTest[i] ? [] : [i]));
  const test = y.flatMap((_, i) => (isTest[i] ? [i] : []));
  for (const name of o.embedders.split(',')) {
    const parsed = parseDqeInput({ dataset: 'x', embedder: name });
    if (!parsed.ok) throw new Error(`unknown embedder ${name}`);
    const embedder = createEmbedder(parsed.config.embedder, process.env);
    const started = performance.now();
    const vecs: Float32Array[] = [];
    for (let i = 0; i < rows.length; i += embedder.batchSize) vecs.push(...(await embedder.embed(rows.slice(i, i + embedder.batchSize).map((r) => r.text))));
    const embedSeconds = (performance.now() - started) / 1000;
    const dim = vecs[0]!.length;
    const m = new Float32Array(rows.length * dim);
    vecs.forEach((v, i) => m.set(v, i * dim));
    const model = trainLinear(m, dim, train, train.map((i) => y[i]!), labels.length, { epochs: 300, learningRate: 0.1, l2: 1e-4 });
    const accuracy = (ids: number[]) => {
      const p = predictLinear(model, m, ids);
      return ids.filter((row, j) => argmax(p, j * labels.length, labels.length) === y[row]).length / ids.length;
    };
    let agree = 0;
    for (let i = 0; i < rows.length; i++) {
      let best = -Infinity;
      let at = -1;
      for (let j = 0; j < rows.length; j++) {
        if (j === i) continue;
        let d = 0;
        for (let k = 0; k < dim; k++) d += m[i * dim + k]! * m[j * dim + k]!;
        if (d > best) [best, at] = [d, j];
      }
      if (y[at] === y[i]) agree++;
    }
    const r = {
      dataset,
      embedder: embedder.id,
      rows: rows.length,
      labels: Object.fromEntries(labels.map((l, k) => [l, +share[k]!.toFixed(3)])),
      trainAccuracy: +accuracy(train).toFixed(4),
      testAccuracy: +accuracy(test).toFixed(4),
      neighbourSharesLabel: +(agree / rows.length).toFixed(4),
      chanceRate: +chance.toFixed(4),
      embedSeconds: +embedSeconds.toFixed(1),
      loadAverage1m: loadavg()[0],
    };
    console.log(JSON.stringify(r));
    results.push(r);
  }
}
await mkdir(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
await writeJsonAtomic(o.out, { benchmark: 'embedder-quality', command: `npx tsx bench/embedder-quality.ts ${process.argv.slice(2).join(' ')}`.trim(), machine: machine(), seed: o.seed, testShare: TEST_SHARE, results });
