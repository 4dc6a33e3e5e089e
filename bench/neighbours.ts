// Benchmark of the offline judge's neighbour search (`judge.neighbours`, default 10) on vectors of real text
// (SpamAssassin scaled by a word chain, bench/real-text.ts). Side by side in one run, at each size:
//   - every row's k nearest by the exact scan (what the judge did before it asked the store, and what a user
//     would otherwise run: brute-force kNN over all rows);
//   - what a run asks of the embedded store: the k nearest of the rows the judge needs (core/judging.ts
//     neighbourThresholdRows + the pass's wrong and pair rows, here a seeded `--wrong` share of the rows), with
//     the store's own choice of search ('auto': exact below 50,000 rows, the IVF index above it, exact again
//     where the index probes every list);
//   - two-fold's second pass (a seeded `--wrong2` share of all rows as its wrong rows; in a run they are the first
//     pass's sampled rows, disjoint from its wrong rows, so here ~`--wrong` of them overlap and are not asked —
//     slightly fewer than a run asks): the rows it needs asked again (before 2026-12-06) against what it asks now
//     that the first pass's answers are handed to it (withKnownNearest: only the rows the first pass did not
//     answer); both answers must be identical;
//   - each pass as a run's categorise phase does it with the default judge since 2026-12-06 (evening): one scan for the
//     wrong rows' certified top-1 and k nearest (`nearestWithKInBatches`), the other judged rows asked after,
//     against the wrong rows' top-1 asked apart (the store's top-1 search: the IVF index's int8 scan above 50,000
//     rows) before the k nearest; the k nearest must be identical, and where a top-1 differs the one scan's must
//     score higher in float64 (the index's top-1 is approximate, the scan's certified exact);
//   - the IVF index forced on those rows (`search: 'ivf'`): its calibrated probes, time, and recall@k against the
//     exact answer on a sample (with the share of rows whose neighbours' majority label agrees). Where calibration
//     probes every list, the store answers with the exact scan there too (`usesIndex: false`).
//
// Usage: npx tsx bench/neighbours.ts [--key=value ...]
//   --sizes=20000,60000,100000   rows (the first n of the scaled corpus; repeated texts dropped, as the clean phase does:
//                                60,000 keeps 59,972, above the 50,000-row index threshold)
//   --dim=384 --k=10 --seed=1 --embedder=hash
//   --wrong=0.1                  share of rows taken as one pass's wrongly predicted rows (1M run: 3–6%)
//   --wrong2=<--wrong>           the second pass's share (the 1M run of 2026-12-05: 0.032 and 0.061)
//   --second-pass-all=true       also time the second pass asking every row it needs (false: reuse only)
//   --ivf-forced=true            also time the IVF index forced on the run's rows (false: skip it)
//   --exact-all=50000            the every-row exact scan runs up to this size; above it, on --sample rows, scaled
//                                by n / sample (the product per row is the same)
//   --sample=2000                rows compared against the exact answer
//   --out=bench/results/neighbours.json
// Every figure is saved with the 1-minute load average before and after it (load1).
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ascendingAnswers, rowsToJudge, unionAnswers, withKnownNearest } from '../activities/vector-search.js';
import { createEmbedder } from '../adapters/embedders/index.js';
import { createEmbeddedStore, planSearch } from '../adapters/vector-stores/embedded.js';
import { nearestOtherRows } from '../adapters/vector-stores/exact-knn.js';
import { nearestInBatches, nearestKInBatches, nearestWithKInBatches } from '../adapters/vector-stores/index.js';
import type { Neighbour } from '../core/categorise.js';
import { dot64, gather } from '../core/float64-rerank.js';
import type { StorePoint } from '../adapters/vector-stores/types.js';
import type { EmbedderConfig } from '../core/input.js';
import { sampleRows } from '../core/index-calibration.js';
import { keyValueArgs } from './args.js';
import { machine } from './machine.js';
import { timed } from './proc.js';
import { realTextRows, realTextSource, realTextVectors } from './real-text.js';

const { opt } = keyValueArgs();
const sizes = opt('sizes', '20000,60000,100000').split(',').map(Number);
const dim = Number(opt('dim', '384'));
const k = Number(opt('k', '10'));
const seed = Number(opt('seed', '1'));
const embedderName = opt('embedder', 'hash');
const wrongShare = Number(opt('wrong', '0.1'));
const wrongShare2 = Number(opt('wrong2', String(wrongShare)));
const secondPassAll = opt('second-pass-all', 'true') === 'true';
const ivfForcedOn = opt('ivf-forced', 'true') === 'true';
const exactAll = Number(opt('exact-all', '50000'));
const sampleSize = Number(opt('sample', '2000'));
const out = opt('out', 'bench/results/neighbours.json');

/** Rows `of` (queries × k) picked at `rows` (indices into the queries). */
const pick = (of: Int32Array, rows: readonly number[]) => Int32Array.from(rows.flatMap((i) => [...of.subarray(i * k, (i + 1) * k)]));

/** Mean share of the exact top k that `got` found (row i of both is the same query). */
function recallAtK(got: Int32Array, exact: Int32Array): number {
  let hit = 0;
  for (let i = 0; i < exact.length / k; i++) {
    const want = new Set(exact.subarray(i * k, (i + 1) * k));
    for (const id of got.subarray(i * k, (i + 1) * k)) if (want.has(id)) hit++;
  }
  return hit / exact.length;
}

/** Share of the rows whose neighbours' majority label (ties: the lower label) is the same in both answers. */
function majorityAgreement(got: Int32Array, exact: Int32Array, labelOf: (id: number) => number, labels: number): number {
  const majority = (ids: Int32Array) => {
    const votes = new Array<number>(labels).fill(0);
    for (const id of ids) if (id >= 0) votes[labelOf(id)]!++;
    return votes.indexOf(Math.max(...votes));
  };
  let same = 0;
  const rows = exact.length / k;
  for (let i = 0; i < rows; i++) if (majority(got.subarray(i * k, (i + 1) * k)) === majority(exact.subarray(i * k, (i + 1) * k))) same++;
  return same / rows;
}

const results: unknown[] = [];
const embedder = createEmbedder({ name: embedderName, dim } as EmbedderConfig, process.env);
for (const rows of sizes) {
  // The rows a run keeps: its clean phase drops repeated texts (0.4% of the 1M corpus), whose equal vectors would
  // otherwise tie every search of theirs (the IVF index's top-1 then widens its candidates until the tie is settled).
  const all = await realTextVectors(rows, dim, seed, embedder);
  const texts = realTextRows(0, rows, seed, realTextSource());
  const seen = new Set<string>();
  const keep = texts.flatMap((r, i) => (seen.has(r.text) ? [] : (seen.add(r.text), [i])));
  seen.clear();
  const n = keep.length;
  const vectors = n === rows ? all : gather(all, dim, keep);
  const labelNames = keep.map((i) => texts[i]!.label);
  const labels = [...new Set(labelNames)].sort();
  const labelIds = labelNames.map((l) => labels.indexOf(l));
  const points: StorePoint[] = labelNames.map((label, id) => ({ id, label, split: 'sampled' }));
  // One pass's wrong rows (seeded) and as many pair rows as a tenth of them: what the default judge (scope 'wrong') needs.
  const wrong = [...sampleRows(n, Math.round(wrongShare * n), seed + 1)];
  const pairs = wrong.filter((_, i) => i % 10 === 0);
  const judged = [...rowsToJudge(n, 'wrong', wrong, pairs)];
  // The sample compared against the exact answer: judged rows, seeded.
  const sample = [...sampleRows(judged.length, Math.min(sampleSize, judged.length), seed + 2)].map((i) => judged[i]!);
  const sampleAt = sample.map((id) => judged.indexOf(id));

  const everyRow = n <= exactAll;
  const exact = await timed(() => nearestOtherRows(vectors, n, dim, k, undefined, everyRow ? undefined : sample));
  const exactOfSample = everyRow ? pick(exact.value, sample) : exact.value;
  const scale = everyRow ? 1 : n / sample.length;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'dqe-bench-neighbours-'));
  try {
    const req = { runId: 'bench', vectors, dim, points, workDir: dir };
    // What a run does: the store's own choice of search, on the rows the judge needs.
    const auto = createEmbeddedStore({ name: 'embedded' });
    const autoIndex = await timed(() => auto.index(req));
    const asked = await timed(() => nearestKInBatches(auto, req, judged, k));
    // Two-fold's second pass: its own wrong rows; every row it needs asked, then only those pass 1 did not answer.
    const wrong2 = [...sampleRows(n, Math.round(wrongShare2 * n), seed + 3)];
    const judged2 = rowsToJudge(n, 'wrong', wrong2, wrong2.filter((_, i) => i % 10 === 0));
    let askedAgain = 0;
    const reused = await timed(() =>
      withKnownNearest(judged2, k, { ids: Uint32Array.from(judged), nearest: asked.value }, (missing) => ((askedAgain = missing.length), nearestKInBatches(auto, req, [...missing], k))),
    );
    const again = secondPassAll ? await timed(() => nearestKInBatches(auto, req, [...judged2], k)) : undefined;
    if (again && reused.value.some((id, i) => id !== again.value[i])) throw new Error(`${n} rows: the second pass's answers with pass 1's reused differ from asking every row`);
    // The categorise phases: the wrong rows' top-1 asked apart (before) against one scan for it and their k nearest.
    const top1 = await timed(() => nearestInBatches(auto, req, wrong));
    const top1Second = await timed(() => nearestInBatches(auto, req, wrong2));
    const oneScan = async (wrongRows: number[], rows: Uint32Array, earlier?: { ids: Uint32Array; nearest: Int32Array }) => {
      const both = await nearestWithKInBatches(auto, req, wrongRows, k);
      const fresh = ascendingAnswers(wrongRows, both.k, k);
      const known = earlier ? unionAnswers(earlier, fresh, k) : fresh;
      return { nearest: both.nearest, k: await withKnownNearest(rows, k, known, (missing) => nearestKInBatches(auto, req, [...missing], k)) };
    };
    const first = await timed(() => oneScan(wrong, Uint32Array.from(judged)));
    const second = await timed(() => oneScan(wrong2, judged2, { ids: Uint32Array.from(judged), nearest: asked.value }));
    if (first.value.k.some((id, i) => id !== asked.value[i]) || second.value.k.some((id, i) => id !== reused.value[i])) {
      throw new Error(`${n} rows: the k nearest from one scan differ from those asked apart`);
    }
    /** Rows whose top-1 differs; throws unless the one scan's scores higher in float64 (or ties with a lower id). */
    const top1Differs = (apart: Neighbour[], one: Neighbour[], rows: number[]) =>
      rows.filter((q, i) => {
        if (apart[i]!.id === one[i]!.id) return false;
        const a = dot64(vectors, dim, q, apart[i]!.id);
        const o = dot64(vectors, dim, q, one[i]!.id);
        if (!(o > a || (o === a && one[i]!.id < apart[i]!.id))) throw new Error(`${n} rows: row ${q}'s top-1 from one scan (${one[i]!.id}, ${o}) is not better than asked apart (${apart[i]!.id}, ${a})`);
        return true;
      }).length;
    // The IVF index forced on the same rows (whether or not the store would use it).
    const ivfStore = createEmbeddedStore({ name: 'embedded', search: 'ivf' });
    const ivfIndex = ivfForcedOn ? await timed(() => ivfStore.index(req)) : undefined;
    const ivf = ivfForcedOn ? await timed(() => nearestKInBatches(ivfStore, req, judged, k)) : undefined;
    const row = {
      n,
      rowsBeforeDedup: rows,
      dim,
      k,
      embedder: embedder.id,
      judgedRows: judged.length,
      exactEveryRow: { rows: everyRow ? n : sample.length, wallS: exact.wallS * scale, cpuS: exact.cpuS * scale, scaledFromSample: !everyRow, load1: exact.load1 },
      run: {
        search: planSearch({ name: 'embedded' }, n).mode,
        usesIndex: autoIndex.value.ivf !== undefined && autoIndex.value.ivf.probes < autoIndex.value.ivf.lists,
        indexWallS: autoIndex.wallS,
        nearestKWallS: asked.wallS,
        nearestKCpuS: asked.cpuS,
        load1: asked.load1,
        recallAtK: recallAtK(pick(asked.value, sampleAt), exactOfSample),
      },
      secondPass: {
        judgedRows: judged2.length,
        askedRows: askedAgain,
        reusingWallS: reused.wallS,
        reusingCpuS: reused.cpuS,
        everyRowWallS: again?.wallS ?? null,
        load1: [reused.load1[0], (again ?? reused).load1[1]],
      },
      categorise: {
        wrongRows: [wrong.length, wrong2.length],
        apartWallS: [top1.wallS + asked.wallS, top1Second.wallS + reused.wallS],
        apartTop1WallS: [top1.wallS, top1Second.wallS],
        oneScanWallS: [first.wallS, second.wallS],
        oneScanCpuS: [first.cpuS, second.cpuS],
        top1Differs: [top1Differs(top1.value, first.value.nearest, wrong), top1Differs(top1Second.value, second.value.nearest, wrong2)],
        load1: [top1.load1[0], second.load1[1]],
      },
      ivfForced:
        ivfIndex && ivf
          ? {
              usesIndex: ivfIndex.value.ivf !== undefined && ivfIndex.value.ivf.probes < ivfIndex.value.ivf.lists,
              probes: ivfIndex.value.ivf?.probes,
              lists: ivfIndex.value.ivf?.lists,
              recallAt1: ivfIndex.value.ivf?.recall,
              indexWallS: ivfIndex.wallS,
              nearestKWallS: ivf.wallS,
              nearestKCpuS: ivf.cpuS,
              load1: ivf.load1,
              recallAtK: recallAtK(pick(ivf.value, sampleAt), exactOfSample),
              majorityLabelAgreement: majorityAgreement(pick(ivf.value, sampleAt), exactOfSample, (id) => labelIds[id]!, labels.length),
            }
          : null,
    };
    results.push(row);
    console.log(
      `${n} × ${dim}, k ${k}: every row exact ${row.exactEveryRow.wallS.toFixed(1)} s wall${everyRow ? '' : ` (scaled from ${sample.length} rows)`}; ` +
        `a run (${row.run.search}${row.run.usesIndex ? ', through the index' : ', exact scan'}) asks ${judged.length} rows: ${asked.wallS.toFixed(1)} s wall (recall@${k} ${row.run.recallAtK.toFixed(3)}); ` +
        `second pass ${judged2.length} rows: ${reused.wallS.toFixed(1)} s asking the ${askedAgain} pass 1 did not answer${again ? `, ${again.wallS.toFixed(1)} s asking all` : ''}; ` +
        `categorise (top-1 of ${wrong.length} / ${wrong2.length} wrong rows + the k nearest): apart ${row.categorise.apartWallS.map((x) => x.toFixed(1)).join(' / ')} s, one scan ${row.categorise.oneScanWallS.map((x) => x.toFixed(1)).join(' / ')} s, top-1 differs on ${row.categorise.top1Differs.join(' / ')} rows` +
        (row.ivfForced
          ? `; IVF forced (probes ${row.ivfForced.probes} of ${row.ivfForced.lists}${row.ivfForced.usesIndex ? '' : ': exact scan'}): ${row.ivfForced.nearestKWallS.toFixed(1)} s, recall@${k} ${row.ivfForced.recallAtK.toFixed(3)}, majority label agrees ${(100 * row.ivfForced.majorityLabelAgreement).toFixed(1)}%`
          : ''),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
writeFileSync(out, `${JSON.stringify({ machine: machine(), when: new Date().toISOString(), args: process.argv.slice(2), results }, null, 2)}\n`);
console.log(`saved ${out}`);
