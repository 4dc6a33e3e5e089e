// Benchmark of the neighbour step through Qdrant's own engine (Qdrant Edge behind the Qdrant test endpoint,
// tests/qdrant-shim) beside the embedded store's IVF index, on vectors of real text (bench/real-text.ts:
// SpamAssassin scaled by a word chain, `hash` vectors): build, queries, recall@1 against the certified exact scan.
//
// Usage: npx tsx bench/qdrant-edge.ts [--key=value ...]
//   --n=100000 --dim=384 --queries=5000 --seed=1
//   --modes=default,ef256,exact     Qdrant searches: HNSW with Qdrant's default ef, with hnsw_ef=256, and
//                                   Qdrant's exact scan (params.exact)
//   --indexing-threshold-kb=20000 --full-scan-threshold-kb=10000   the Qdrant server's defaults
//   --out=bench/results/qdrant-edge.json
//
// Both stores get the same matrix and queries. The shim's process (Python: JSON parsing with qdrant-client's
// models, then the Rust engine) is timed from /proc, so its CPU seconds are its own; the Node side (the adapter
// sending JSON) is timed separately. Qdrant builds its HNSW graphs in the optimizer, which the shim runs before
// the first query after a write: the bench sends one query straight to the endpoint first and times it as the
// build, so that the adapter's 60 s request timeout does not cut it short on a busy machine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Neighbour } from '../core/categorise.js';
import { createEmbedder } from '../adapters/embedders/index.js';
import { maxRowNorm } from '../core/float64-rerank.js';
import { sampleRows } from '../core/index-calibration.js';
import { createEmbeddedStore } from '../adapters/vector-stores/embedded.js';
import { nearestInBatches } from '../adapters/vector-stores/index.js';
import { exactTop1Gemm } from '../adapters/vector-stores/exact-k.js';
import { collectionForRun, createQdrantStore, type QdrantStoreConfig } from '../adapters/vector-stores/qdrant.js';
import type { StorePoint, VectorStore } from '../adapters/vector-stores/types.js';
import { startQdrantShim, type QdrantShim } from '../tests/qdrant-shim/start.js';
import { keyValueArgs } from './args.js';
import { loadavgLine as loadavg, procCpuSeconds, procPeakRss } from './proc.js';
import { machine } from './machine.js';
import { realTextVectors } from './real-text.js';

const { opt } = keyValueArgs();
const n = Number(opt('n', '100000'));
const dim = Number(opt('dim', '384'));
const queryCount = Number(opt('queries', '5000'));
const seed = Number(opt('seed', '1'));
const modes = opt('modes', 'default,ef256,exact').split(',');
const indexingKb = opt('indexing-threshold-kb', '20000');
const fullScanKb = opt('full-scan-threshold-kb', '10000');
const out = opt('out', 'bench/results/qdrant-edge.json');
const THREADS = os.availableParallelism();
/** Scores within this of the exact best count as a hit (duplicate texts give equal vectors: any of them is right). */
const TIE_TOLERANCE = 1e-5;

interface Timed<T> {
  value: T;
  wallS: number;
  nodeCpuS: number;
  shimCpuS?: number;
  load: string;
}

async function timed<T>(f: () => Promise<T>, shim?: QdrantShim): Promise<Timed<T>> {
  const shimBefore = shim ? procCpuSeconds(shim.pid) : 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await f();
  const wallS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const nodeCpuS = (used.user + used.system) / 1e6;
  const r: Timed<T> = { value, wallS: +wallS.toFixed(3), nodeCpuS: +nodeCpuS.toFixed(3), load: loadavg() };
  if (shim) r.shimCpuS = +(procCpuSeconds(shim.pid) - shimBefore).toFixed(2);
  return r;
}

function recall(got: readonly Neighbour[], truth: readonly Neighbour[]) {
  let sameId = 0;
  let hits = 0;
  got.forEach((g, i) => {
    const t = truth[i]!;
    if (g.id === t.id) sameId++;
    if (g.id === t.id || g.score >= t.score - TIE_TOLERANCE) hits++;
  });
  return { recallAt1: +(hits / got.length).toFixed(4), sameIdAsExact: +(sameId / got.length).toFixed(4) };
}

const startedAt = machine();
const loadBefore = loadavg();
console.error(`qdrant-edge bench: ${n} × ${dim} real-text rows (hash), ${queryCount} queries; load ${loadBefore}`);
const embedder = createEmbedder({ name: 'hash', dim }, process.env);
const embed = await timed(() => realTextVectors(n, dim, seed, embedder));
const vectors = embed.value;
console.error(`embedded the rows in ${embed.wallS} s`);
// Half the rows sampled, as after dqe's sample phase at ratio 0.5; neighbours are searched among all rows.
const points: StorePoint[] = Array.from({ length: n }, (_, id) => ({ id, label: id % 7 === 0 ? 'spam' : 'ham', split: id % 2 === 0 ? 'sampled' : 'unsampled' }));
const queries = Array.from(sampleRows(n, queryCount, seed + 3));

const truth = await timed(() => exactTop1Gemm(vectors, n, dim, queries, maxRowNorm(vectors, n, dim), THREADS));
console.error(`exact (certified gemm scan): ${truth.wallS} s`);

// ---- the embedded store, IVF index forced (as 'auto' picks from 50k rows) ------------------------------------
const workDir = await mkdtemp(path.join(os.tmpdir(), 'dqe-bench-qdrant-edge-'));
const req = { runId: 'bench-qdrant-edge', vectors, dim, points, workDir };
const embeddedStore: VectorStore = createEmbeddedStore({ name: 'embedded', search: 'ivf' });
const ivfBuild = await timed(() => embeddedStore.index(req));
const ivfSearch = await timed(() => nearestInBatches(createEmbeddedStore({ name: 'embedded', search: 'ivf' }), req, queries));
await rm(workDir, { recursive: true, force: true });
const embedded = {
  search: 'ivf',
  buildWallS: ivfBuild.wallS, buildCpuS: ivfBuild.nodeCpuS, buildLoad: ivfBuild.load,
  queryWallS: ivfSearch.wallS, queryCpuS: ivfSearch.nodeCpuS, queryLoad: ivfSearch.load,
  totalWallS: +(ivfBuild.wallS + ivfSearch.wallS).toFixed(3),
  ...recall(ivfSearch.value, truth.value),
};
console.error(`embedded ivf: ${JSON.stringify(embedded)}`);

// ---- Qdrant Edge behind the Qdrant REST endpoint ----------------------------------------------------------------
const shim = await startQdrantShim({ args: ['--indexing-threshold-kb', indexingKb, '--full-scan-threshold-kb', fullScanKb] });
let qdrant: Record<string, unknown>;
try {
  const env = { QDRANT_URL: shim.url };
  const store = (over: Partial<QdrantStoreConfig> = {}) => createQdrantStore({ name: 'qdrant', exact: false, keep: false, ...over }, env);
  const upload = await timed(() => store().index(req), shim);
  console.error(`qdrant upload: ${upload.wallS} s`);
  const collection = collectionForRun(req.runId);
  // node:http, not fetch: fetch gives up after 300 s without response headers, and building the HNSW graph of
  // 100k rows takes longer than that on a busy 2-core machine.
  const optimize = await timed(async () => {
    const body = JSON.stringify({ searches: [{ query: Array.from(vectors.subarray(0, dim)), limit: 1 }] });
    const status = await new Promise<number>((resolve, reject) => {
      const r = request(`${shim.url}/collections/${collection}/points/query/batch`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      r.on('error', reject);
      r.end(body);
    });
    if (status !== 200) throw new Error(`warm-up query answered ${status}`);
  }, shim);
  const info = (await (await fetch(`${shim.url}/collections/${collection}`)).json()) as { result: { segments_count: number; indexed_vectors_count: number; points_count: number } };
  console.error(`qdrant optimize (HNSW build): ${optimize.wallS} s; ${JSON.stringify(info.result)}`);
  const runs = [];
  for (const mode of modes) {
    const over = mode === 'exact' ? { exact: true } : mode.startsWith('ef') ? { hnswEf: Number(mode.slice(2)) } : {};
    const statsBefore = await shim.stats();
    const q = await timed(() => nearestInBatches(store(over), req, queries), shim);
    const statsAfter = await shim.stats();
    const run = {
      mode, params: over,
      queryWallS: q.wallS, queryShimCpuS: q.shimCpuS, queryNodeCpuS: q.nodeCpuS, load: q.load,
      hnswQueries: statsAfter.indexedQueries - statsBefore.indexedQueries,
      ...recall(q.value, truth.value),
    };
    console.error(`qdrant ${mode}: ${JSON.stringify(run)}`);
    runs.push(run);
  }
  await store().drop(req.runId);
  const peakRssBytes = procPeakRss(shim.pid);
  qdrant = {
    engine: (await shim.stats()).engine,
    thresholdsKb: { indexing: Number(indexingKb), fullScan: Number(fullScanKb) },
    uploadWallS: upload.wallS, uploadShimCpuS: upload.shimCpuS, uploadNodeCpuS: upload.nodeCpuS, uploadLoad: upload.load,
    optimizeWallS: optimize.wallS, optimizeShimCpuS: optimize.shimCpuS, optimizeLoad: optimize.load,
    buildWallS: +(upload.wallS + optimize.wallS).toFixed(3),
    segments: info.result.segments_count, indexedVectors: info.result.indexed_vectors_count, points: info.result.points_count,
    shimPeakRssBytes: peakRssBytes,
    runs,
  };
} finally {
  await shim.stop();
}

const result = {
  generatedBy: 'bench/qdrant-edge.ts',
  argv: process.argv.slice(2),
  machine: startedAt,
  loadavgBefore: loadBefore,
  loadavgAfter: loadavg(),
  config: { n, dim, queries: queryCount, seed, embedder: 'hash', data: 'real text (bench/real-text.ts)', threads: THREADS },
  embedRowsWallS: embed.wallS,
  exact: { method: 'onnxruntime float32 products + float64 re-rank, certified (exactTop1Gemm)', wallS: truth.wallS, cpuS: truth.nodeCpuS, load: truth.load },
  embedded,
  qdrantEdge: qdrant,
  matrixBytes: vectors.byteLength,
};
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.error(`wrote ${out}`);
