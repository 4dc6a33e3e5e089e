// Benchmark of the offline judge's neighbour search (`judge.neighbours`, default 10): every kept row's k nearest other
// rows, as a run asks them of the embedded vector store, on vectors of real text (SpamAssassin scaled by a word chain,
// bench/real-text.ts). Side by side in one run: the exact search (what the judge did before, and what the store does
// below its ANN threshold) and the store's IVF index (what it does above): wall and CPU seconds, recall@k against the
// exact answer, and how often the neighbours' majority label agrees.
//
// Usage: npx tsx bench/neighbours.ts [--key=value ...]
//   --sizes=20000,50000,100000   rows (the first n of the scaled corpus)
//   --dim=384 --k=10 --seed=1 --embedder=hash
//   --exact-all=50000            the exact search runs on every row up to this size; above it, on --sample rows, and its
//                                time for all rows is that sample's scaled by n / sample (the product is the same per row)
//   --sample=2000                rows compared against the exact answer (recall@k, majority label)
//   --out=bench/results/neighbours.json
// Every figure is saved with the 1-minute load average before and after it (load1).
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createEmbedder } from '../adapters/embedders/index.js';
import { createEmbeddedStore } from '../adapters/vector-stores/embedded.js';
import { nearestOtherRows } from '../adapters/vector-stores/exact-k.js';
import { nearestKInBatches } from '../adapters/vector-stores/index.js';
import type { StorePoint } from '../adapters/vector-stores/types.js';
import type { EmbedderConfig } from '../core/input.js';
import { sampleRows } from '../core/index-calibration.js';
import { keyValueArgs } from './args.js';
import { machine } from './machine.js';
import { timed } from './proc.js';
import { realTextRows, realTextSource, realTextVectors } from './real-text.js';

const { opt } = keyValueArgs();
const sizes = opt('sizes', '20000,50000,100000').split(',').map(Number);
const dim = Number(opt('dim', '384'));
const k = Number(opt('k', '10'));
const seed = Number(opt('seed', '1'));
const embedderName = opt('embedder', 'hash');
const exactAll = Number(opt('exact-all', '50000'));
const sampleSize = Number(opt('sample', '2000'));
const out = opt('out', 'bench/results/neighbours.json');

/** Mean share of the exact top k that `got` found, over the sample rows (row i of both is sample row i). */
function recallAtK(got: Int32Array, exact: Int32Array, rows: number): number {
  let hit = 0;
  for (let i = 0; i < rows; i++) {
    const want = new Set(exact.subarray(i * k, (i + 1) * k));
    for (const id of got.subarray(i * k, (i + 1) * k)) if (want.has(id)) hit++;
  }
  return hit / (rows * k);
}

/** Share of the sample rows whose neighbours' majority label (ties: the lower label) is the same in both answers. */
function majorityAgreement(got: Int32Array, exact: Int32Array, rows: number, labelOf: (id: number) => number, labels: number): number {
  const majority = (ids: Int32Array) => {
    const votes = new Array<number>(labels).fill(0);
    for (const id of ids) if (id >= 0) votes[labelOf(id)]!++;
    return votes.indexOf(Math.max(...votes));
  };
  let same = 0;
  for (let i = 0; i < rows; i++) if (majority(got.subarray(i * k, (i + 1) * k)) === majority(exact.subarray(i * k, (i + 1) * k))) same++;
  return same / rows;
}

const results: unknown[] = [];
const embedder = createEmbedder({ name: embedderName, dim } as EmbedderConfig, process.env);
for (const n of sizes) {
  const vectors = await realTextVectors(n, dim, seed, embedder);
  const labelNames = realTextRows(0, n, seed, realTextSource()).map((r) => r.label);
  const labels = [...new Set(labelNames)].sort();
  const labelIds = labelNames.map((l) => labels.indexOf(l));
  const points: StorePoint[] = labelNames.map((label, id) => ({ id, label, split: 'sampled' }));
  const sample = [...sampleRows(n, Math.min(sampleSize, n), seed)];
  const all = Array.from({ length: n }, (_, i) => i);

  // Exact: every row up to --exact-all, else the sample (scaled to every row).
  const exactEvery = n <= exactAll;
  const exact = await timed(() => nearestOtherRows(vectors, n, dim, k, undefined, exactEvery ? undefined : sample));
  const exactOfSample = exactEvery ? Int32Array.from(sample.flatMap((q) => [...exact.value.subarray(q * k, (q + 1) * k)])) : exact.value;
  const scale = exactEvery ? 1 : n / sample.length;

  // The store's IVF index, as a run above the ANN threshold builds it (index phase), then every row's k nearest.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dqe-bench-neighbours-'));
  try {
    const store = createEmbeddedStore({ name: 'embedded', search: 'ivf' });
    const req = { runId: 'bench', vectors, dim, points, workDir: dir };
    const built = await timed(() => store.index(req));
    const ivf = await timed(() => nearestKInBatches(store, req, all, k));
    const ivfOfSample = Int32Array.from(sample.flatMap((q) => [...ivf.value.subarray(q * k, (q + 1) * k)]));
    const row = {
      n,
      dim,
      k,
      embedder: embedder.id,
      exact: { rows: exactEvery ? n : sample.length, wallS: exact.wallS, cpuS: exact.cpuS, wallAllRowsS: exact.wallS * scale, cpuAllRowsS: exact.cpuS * scale, scaledFromSample: !exactEvery, load1: exact.load1 },
      ivf: {
        index: { wallS: built.wallS, cpuS: built.cpuS, probes: built.value.ivf?.probes, lists: built.value.ivf?.lists, recallAt1: built.value.ivf?.recall, load1: built.load1 },
        nearestK: { wallS: ivf.wallS, cpuS: ivf.cpuS, load1: ivf.load1 },
        recallAtK: recallAtK(ivfOfSample, exactOfSample, sample.length),
        majorityLabelAgreement: majorityAgreement(ivfOfSample, exactOfSample, sample.length, (id) => labelIds[id]!, labels.length),
      },
      speedupAllRows: (exact.wallS * scale) / ivf.wallS,
    };
    results.push(row);
    console.log(
      `${n} × ${dim}, k ${k}: exact ${(exact.wallS * scale).toFixed(1)} s wall${exactEvery ? '' : ` (scaled from ${sample.length} rows)`}; ` +
        `IVF index ${built.wallS.toFixed(1)} s (probes ${row.ivf.index.probes} of ${row.ivf.index.lists} lists), all rows' ${k} nearest ${ivf.wallS.toFixed(1)} s wall ` +
        `(${ivf.cpuS.toFixed(1)} s CPU): ${row.speedupAllRows.toFixed(1)}× faster; recall@${k} ${row.ivf.recallAtK.toFixed(3)}, majority label agrees ${(100 * row.ivf.majorityLabelAgreement).toFixed(1)}%`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
writeFileSync(out, `${JSON.stringify({ machine: machine(), when: new Date().toISOString(), args: process.argv.slice(2), results }, null, 2)}\n`);
console.log(`saved ${out}`);
