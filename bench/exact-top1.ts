// Benchmark of the embedded store's exact top-1 (the categorise phase's search below 50,000 kept rows, and where an
// index misses its target) on `hash` vectors of real text (SpamAssassin scaled by a word chain, 384-d): usearch's
// exact search (`usearchExactTop1` in bench/usearch-exact.ts, the store's path before 2026-12-06 evening) against the
// certified scan on onnxruntime (`nearestOtherRowsWithTop1` with k = 1, the store's path: float32 products from
// 2026-12-06 evening, int8 or float32 by the CPU from 2026-12-07, adapters/vector-stores/exact-knn.ts),
// side by side on the same seeded queries (a tenth of the rows, a run's wrong share), twice each; both re-rank in
// float64 and must give identical answers (ids and score bits), else the bench throws.
//
// Usage: npx tsx bench/exact-top1.ts [--sizes=5000,20000,49000] [--repeats=2] [--out=bench/results/exact-top1.json]
import { writeFileSync } from 'node:fs';
import { createEmbedder } from '../adapters/embedders/index.js';
import { nearestOtherRowsWithTop1 } from '../adapters/vector-stores/exact-knn.js';
import { usearchExactTop1 } from './usearch-exact.js';
import { maxRowNorm } from '../core/float64-rerank.js';
import { sampleRows } from '../core/index-calibration.js';
import { keyValueArgs } from './args.js';
import { machine } from './machine.js';
import { timed } from './proc.js';
import { realTextVectors } from './real-text.js';

const { opt } = keyValueArgs();
const sizes = opt('sizes', '5000,20000,49000').split(',').map(Number);
const repeats = Number(opt('repeats', '2'));
const out = opt('out', 'bench/results/exact-top1.json');
const dim = 384;
const threads = 2;

const embedder = createEmbedder({ name: 'hash', dim }, process.env);
const results: unknown[] = [];
for (const n of sizes) {
  const vectors = await realTextVectors(n, dim, 1, embedder);
  const queries = [...sampleRows(n, Math.round(n / 10), 2)];
  const maxNorm = maxRowNorm(vectors, n, dim);
  for (let repeat = 0; repeat < repeats; repeat++) {
    const usearch = await timed(() => Promise.resolve(usearchExactTop1(vectors, n, dim, queries, { maxNorm, threads })));
    const gemm = await timed(() => nearestOtherRowsWithTop1(vectors, n, dim, 1, queries, threads));
    if (JSON.stringify(usearch.value) !== JSON.stringify(gemm.value.nearest)) throw new Error(`${n} rows: the two exact top-1 searches disagree`);
    const row = {
      n,
      dim,
      queries: queries.length,
      repeat,
      usearch: { wallS: usearch.wallS, cpuS: usearch.cpuS, load1: usearch.load1 },
      onnxruntime: { wallS: gemm.wallS, cpuS: gemm.cpuS, load1: gemm.load1 },
      identical: true,
    };
    results.push(row);
    console.log(`${n} × ${dim}, ${queries.length} queries: usearch exact ${usearch.wallS.toFixed(2)} s wall, onnxruntime certified scan ${gemm.wallS.toFixed(2)} s (${(usearch.wallS / gemm.wallS).toFixed(1)}×), identical answers`);
  }
}
writeFileSync(out, `${JSON.stringify({ machine: machine(), when: new Date().toISOString(), args: process.argv.slice(2), results }, null, 2)}\n`);
console.log(`saved ${out}`);
