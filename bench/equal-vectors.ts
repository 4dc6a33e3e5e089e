// Benchmark of the certified top-1 when many rows share one vector. Distinct texts can embed equally — with `hash`,
// texts that differ only in case and punctuation — and clean keeps them (they are different texts). D equal rows tie
// at the top of each other's search; a certified top-1 that widens its candidates until the tie settles costs about
// D² there. Here: n `hash` vectors (384-d) of real text (SpamAssassin scaled by a word chain), of which D are
// distinct case-and-punctuation variants of one short real sentence (their vectors equal: checked), spread over the
// ids; the D rows plus a tenth of the others as queries. Side by side on the same queries: usearch's exact search
// (`usearchExactTop1`, widening: the store's exact path before 2026-12-06 evening), the onnxruntime
// certified scan widening on every tie (`exactTop1Gemm` with group 'never': the path before equal rows were
// grouped), the same with equal rows grouped (a split's pool and the index calibrations' truth now), and the one
// scan for the 10 nearest and the top-1 (`nearestOtherRowsWithTop1`: the store's exact `nearest` and the categorise
// pass with the default judge; int8 products since 2026-12-07 where the CPU has VNNI). Identical answers or it throws.
//
// Usage: npx tsx bench/equal-vectors.ts [--n=20000] [--groups=50,500,2000] [--out=bench/results/equal-vectors.json]
import { writeFileSync } from 'node:fs';
import { createEmbedder } from '../adapters/embedders/index.js';
import { exactTop1Gemm } from '../adapters/vector-stores/exact-k.js';
import { nearestOtherRowsWithTop1 } from '../adapters/vector-stores/exact-knn.js';
import { usearchExactTop1 } from './usearch-exact.js';
import { maxRowNorm } from '../core/float64-rerank.js';
import { equalRows } from '../core/equal-rows.js';
import { Rng } from '../core/random.js';
import { keyValueArgs } from './args.js';
import { machine } from './machine.js';
import { timed } from './proc.js';
import { realTextVectors } from './real-text.js';

const { opt } = keyValueArgs();
const n = Number(opt('n', '20000'));
const groups = opt('groups', '50,500,2000').split(',').map(Number);
const out = opt('out', 'bench/results/equal-vectors.json');
const dim = 384;
const threads = 2;
const SENTENCE = 'Thanks for the update, I will look at the new release tomorrow morning';

/** D distinct variants of SENTENCE differing only in letter case and punctuation (seeded). */
function variants(d: number, seed: number): string[] {
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const marks = ['', '', '', ',', '.', '!', '?', ';', ':'];
  while (seen.size < d) {
    const text = SENTENCE.split(' ')
      .map((w) => [...w.replace(/[,.]/gu, '')].map((c) => (rng.nextFloat() < 0.3 ? c.toUpperCase() : c.toLowerCase())).join('') + marks[rng.nextInt(marks.length)]!)
      .join(' ');
    seen.add(text);
  }
  return [...seen];
}

const embedder = createEmbedder({ name: 'hash', dim }, process.env);
const base = await realTextVectors(n, dim, 1, embedder);
const results: unknown[] = [];
for (const d of groups) {
  const vectors = new Float32Array(base);
  const texts = variants(d, d);
  const got = await embedder.embed(texts);
  // Rows spread evenly over the ids take the variants.
  const rows = Array.from({ length: d }, (_, i) => Math.floor((i * n) / d));
  rows.forEach((r, i) => vectors.set(got[i]!, r * dim));
  const eq = equalRows(vectors, n, dim);
  const group = eq.first[rows[0]!]!;
  if (rows.some((r) => eq.first[r] !== group)) throw new Error('precondition: the variants do not embed equally');
  const rng = new Rng(7);
  const others = Array.from({ length: Math.round(n / 10) }, () => rng.nextInt(n)).filter((r) => eq.first[r] === r && eq.next[r] === -1);
  const queries = [...new Set([...rows, ...others])].sort((a, b) => a - b);
  const maxNorm = maxRowNorm(vectors, n, dim);
  const usearch = await timed(() => Promise.resolve(usearchExactTop1(vectors, n, dim, queries, { maxNorm, threads })));
  const widening = await timed(() => exactTop1Gemm(vectors, n, dim, queries, maxNorm, threads, { group: 'never' }));
  const grouped = await timed(() => exactTop1Gemm(vectors, n, dim, queries, maxNorm, threads));
  const oneScan = await timed(() => nearestOtherRowsWithTop1(vectors, n, dim, 10, queries, threads));
  const want = JSON.stringify(usearch.value);
  for (const [name, v] of [['widening', widening.value], ['grouped', grouped.value], ['one scan', oneScan.value.nearest]] as const) {
    if (JSON.stringify(v) !== want) throw new Error(`D ${d}: ${name} disagrees with usearch's exact search`);
  }
  const fig = (t: { wallS: number; cpuS: number; load1: [number, number] }) => ({ wallS: +t.wallS.toFixed(3), cpuS: +t.cpuS.toFixed(3), load1: t.load1 });
  const row = {
    n,
    dim,
    equalRows: d,
    repeatedRowsInMatrix: eq.repeated,
    queries: queries.length,
    usearchWidening: fig(usearch),
    onnxruntimeWidening: fig(widening),
    onnxruntimeGrouped: fig(grouped),
    oneScanK10: fig(oneScan),
    identical: true,
  };
  results.push(row);
  console.log(
    `${n} × ${dim}, ${d} equal rows, ${queries.length} queries: usearch widening ${usearch.wallS.toFixed(2)} s, onnxruntime widening ${widening.wallS.toFixed(2)} s, ` +
      `grouped ${grouped.wallS.toFixed(2)} s, one scan (10 nearest + top-1) ${oneScan.wallS.toFixed(2)} s; identical answers`,
  );
}
writeFileSync(out, `${JSON.stringify({ machine: machine(), when: new Date().toISOString(), args: process.argv.slice(2), results }, null, 2)}\n`);
console.log(`saved ${out}`);
