// The embedded vector store: the run's own matrix searched in process, exactly below a size threshold and
// through an index tuned to a target recall above it — an inverted file with int8 products on onnxruntime
// (`ivf`, the default) or a usearch HNSW graph (`hnsw`) — built in the index phase and kept in the run's
// work directory so that the categorise phase, maybe on another worker, loads it.
import { createHash } from 'node:crypto';
import { readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dqeFailure } from '../failure.js';
import type { Neighbour, Split } from '../../core/categorise.js';
import type { VectorStoreConfig } from '../../core/input.js';
import { exists, hashKey, readJson, writeJsonAtomic, writeTypedAtomic } from '../files.js';
import { equalRowsOf } from '../../core/equal-rows.js';
import type { HnswSummary, IvfSummary } from '../../core/index-calibration.js';
import { exactTop1Gemm, type Pool } from './exact-k.js';
import { maxNormOf, nearestOtherRows, nearestOtherRowsWithTop1 } from './exact-knn.js';
import { HnswIndex, DEFAULT_HNSW_TUNING, calibrateHnsw, type HnswTuning } from './hnsw.js';
import { DEFAULT_IVF_TUNING, IvfIndex, calibrateIvf, decodeIvfState, encodeIvfState, type IvfTuning } from './ivf.js';
import type { IndexOutcome, IndexRequest, NearestRequest, VectorStore } from './types.js';

export type EmbeddedStoreConfig = Extract<VectorStoreConfig, { name: 'embedded' }>;
export type SearchMode = 'exact' | 'hnsw' | 'ivf';

/**
 * Kept rows from which 'auto' builds the IVF index. bench/ann.ts (docs/performance-ann.md) times build +
 * calibration + queries against the exact scan with queries = 5% of the rows: the index used less CPU from
 * 25k rows on (3.1 vs 5.3 s) and far less from 50k (6.2 vs 20.3 s); below 50k exact answers cost at most
 * about 20 CPU seconds, so they stay exact. Those exact figures were usearch's exact search; the certified scan on
 * onnxruntime's float32 products that answers now takes ~3 CPU s for a tenth of 49,000 rows (bench/exact-top1.ts),
 * so the threshold is conservative (not re-tuned).
 */
export const DEFAULT_ANN_THRESHOLD = 50_000;
/** recall@1 against exact search the index is tuned to unless the input says otherwise. */
export const DEFAULT_TARGET_RECALL = 0.99;
/** Rows hashed (evenly spaced, first and last included) to tell one run's matrix from another's. */
const FINGERPRINT_ROWS = 4096;
const INDEX_FILE_PREFIX = 'ann-index';

/** Which search a run of `rows` kept rows gets under `config`, and why (for logs and the report). */
export function planSearch(config: EmbeddedStoreConfig, rows: number): { mode: SearchMode; reason: string } {
  const search = config.search ?? 'auto';
  // 'ann' is the old name of 'hnsw' (before IVF, the only approximate index), still accepted.
  if (search !== 'auto') return { mode: search === 'ann' ? 'hnsw' : search, reason: `vectorStore.search is '${search}'` };
  const threshold = config.annThreshold ?? DEFAULT_ANN_THRESHOLD;
  return rows >= threshold
    ? { mode: 'ivf', reason: `${rows} kept rows >= annThreshold ${threshold}` }
    : { mode: 'exact', reason: `${rows} kept rows < annThreshold ${threshold}` };
}

/** Rows of the matrix; a matrix that does not match the points is a non-retryable failure. */
function rowsOf(req: { vectors: Float32Array; dim: number; points: readonly unknown[] }): number {
  const n = req.points.length;
  if (!Number.isInteger(req.dim) || req.dim < 1 || req.vectors.length !== n * req.dim) {
    throw dqeFailure('DqeVectorDimensionMismatch', `embedded vector store: ${req.vectors.length} floats do not make ${n} vectors of dimension ${req.dim}`);
  }
  return n;
}

/** Cheap identity of a matrix: its shape and a strided sample of whole rows. */
function fingerprint(vectors: Float32Array, n: number, dim: number): string {
  const h = createHash('sha256').update(`${n}x${dim}`);
  const step = Math.max(1, Math.floor((n - 1) / (FINGERPRINT_ROWS - 1)));
  const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  for (let i = 0; i < n; i += step) h.update(bytes.subarray(i * dim * 4, (i + 1) * dim * 4));
  if (n > 0) h.update(bytes.subarray((n - 1) * dim * 4, n * dim * 4));
  return h.digest('hex');
}

type IndexSummary = { method: 'hnsw'; summary: HnswSummary } | { method: 'ivf'; summary: IvfSummary };

interface Loaded {
  key: string;
  vectors: Float32Array;
  /** Absent when calibration missed the target in 'auto': exact search answers instead. */
  search: ((queries: readonly number[]) => Promise<Neighbour[]>) | undefined;
  /** The k nearest others through the same index, with the same settings (absent with `search`, and where the IVF index probes every list). */
  searchK: ((queries: readonly number[], k: number) => Promise<Int32Array>) | undefined;
}

/**
 * The embedded store. `tuning` and `ivfTuning` override the index build and calibration settings (tests
 * and benchmarks); the input configures only the choice of search and the target recall.
 */
export function createEmbeddedStore(config: EmbeddedStoreConfig = { name: 'embedded' }, tuning: Partial<HnswTuning> = {}, ivfTuning: Partial<IvfTuning> = {}): VectorStore {
  const t: HnswTuning = { ...DEFAULT_HNSW_TUNING, ...tuning };
  const iv: IvfTuning = { ...DEFAULT_IVF_TUNING, ...(tuning.threads !== undefined ? { threads: tuning.threads } : {}), ...ivfTuning };
  const targetRecall = config.targetRecall ?? DEFAULT_TARGET_RECALL;
  // Per-matrix values computed once: categorise calls `nearest` batch after batch with the same array.
  const fingerprints = new WeakMap<Float32Array, string>();
  const pools = new WeakMap<Float32Array, Map<Split, Pool>>();
  let loaded: Loaded | undefined;

  // The rows' equal-vector groups, computed the first time a certified top-1 needs them (one hashing pass: ~2 s at
  // 1M × 384), then kept with the matrix (`equalRowsOf`): categorise asks batch after batch of the same one.
  const equalOf = (vectors: Float32Array, n: number, dim: number) => () => equalRowsOf(vectors, n, dim);

  const indexKey = (method: 'hnsw' | 'ivf', vectors: Float32Array, n: number, dim: number): string => {
    let matrix = fingerprints.get(vectors);
    if (matrix === undefined) fingerprints.set(vectors, (matrix = fingerprint(vectors, n, dim)));
    if (method === 'hnsw') {
      const { threads: _threads, addChunkRows: _chunk, ...result } = t;
      return hashKey({ matrix, tuning: result, targetRecall });
    }
    const { threads: _threads, ...result } = iv;
    return hashKey({ matrix, method, tuning: result, targetRecall });
  };

  const workDirOf = (req: { workDir?: string }): string => {
    if (req.workDir === undefined) {
      throw dqeFailure('DqeAnnIndexNeedsWorkDir', 'embedded vector store: ANN search keeps its index in the run\'s work directory, but the request gave no workDir');
    }
    return req.workDir;
  };

  const files = (dir: string, method: 'hnsw' | 'ivf', key: string): { data: string; manifest: string } => {
    const base = join(dir, `${INDEX_FILE_PREFIX}.${key}`);
    return { data: `${base}.${method === 'hnsw' ? 'usearch' : 'ivf'}`, manifest: `${base}.json` };
  };

  /** Builds the index unless this matrix's is already in `dir`; the summary file is written last. */
  async function ensureIndex(method: 'hnsw' | 'ivf', req: IndexRequest | NearestRequest, n: number, key: string, dir: string): Promise<IndexSummary & { reused: boolean; built?: IvfIndex }> {
    const { data, manifest } = files(dir, method, key);
    if ((await exists(manifest)) && (await exists(data))) return { ...(await readJson<IndexSummary>(manifest)), reused: true };
    const tmp = `${data}.tmp-${process.pid}`;
    const progress = 'onProgress' in req ? req.onProgress : undefined;
    try {
      const started = performance.now();
      let result: IndexSummary;
      let built: IvfIndex | undefined;
      if (method === 'hnsw') {
        HnswIndex.build(req.vectors, n, req.dim, t, tmp, progress);
        const done = performance.now();
        const calibrated = await calibrateHnsw(req.vectors, n, req.dim, tmp, t, targetRecall, maxNormOf(req.vectors, n, req.dim));
        result = { method, summary: { ...calibrated, buildSeconds: (done - started) / 1000, calibrateSeconds: (performance.now() - done) / 1000 } };
      } else {
        built = await IvfIndex.build(req.vectors, n, req.dim, iv, progress);
        await writeTypedAtomic(tmp, encodeIvfState(built.state));
        const done = performance.now();
        const calibrated = await calibrateIvf(built, req.vectors, n, req.dim, iv, targetRecall, maxNormOf(req.vectors, n, req.dim));
        result = { method, summary: { ...calibrated, buildSeconds: (done - started) / 1000, calibrateSeconds: (performance.now() - done) / 1000 } };
      }
      await rename(tmp, data);
      await writeJsonAtomic(manifest, result);
      return { ...result, reused: false, ...(built ? { built } : {}) };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** The run's index, loaded once per store object and matrix. */
  async function indexFor(method: 'hnsw' | 'ivf', req: NearestRequest, n: number): Promise<Loaded> {
    const key = indexKey(method, req.vectors, n, req.dim);
    if (loaded?.key === key && loaded.vectors === req.vectors) return loaded;
    const dir = workDirOf(req);
    const found = await ensureIndex(method, req, n, key, dir);
    // In 'auto', an index that could not reach the target recall is not used: exact search is. Nor is an IVF index
    // whose calibration probes every list: it prunes nothing, and the certified exact scan (exact-knn.ts) answers
    // as fast and exactly, without the index's int8 copy of the rows in memory (384 MB at 1M × 384).
    const everyList = found.method === 'ivf' && found.summary.probes >= found.summary.lists;
    const use = (found.summary.reached || config.search === method) && !everyList;
    let search: Loaded['search'];
    let searchK: Loaded['searchK'];
    if (use && found.method === 'hnsw') {
      const index = HnswIndex.load(files(dir, method, key).data, req.dim, t, found.summary.expansionSearch);
      search = (queries) => Promise.resolve(index.search(req.vectors, req.dim, queries));
      searchK = (queries, k) => Promise.resolve(index.searchK(req.vectors, req.dim, queries, k));
    } else if (use && found.method === 'ivf') {
      const { data } = files(dir, method, key);
      const index = found.built ?? IvfIndex.fromState(decodeIvfState(new Uint8Array(await readFile(data)), data), req.vectors, n, iv);
      const probes = found.summary.probes;
      search = (queries) => index.search(queries, probes);
      searchK = (queries, k) => index.searchK(queries, probes, k);
    }
    loaded = { key, vectors: req.vectors, search, searchK };
    return loaded;
  }

  function pool(vectors: Float32Array, n: number, dim: number, split: Split, req: NearestRequest): Pool {
    let bySplit = pools.get(vectors);
    if (!bySplit) pools.set(vectors, (bySplit = new Map<Split, Pool>()));
    let p = bySplit.get(split);
    if (!p) {
      const rows = Int32Array.from(req.points.filter((pt) => pt.split === split).map((pt) => pt.id)).sort();
      const matrix = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => matrix.set(vectors.subarray(r * dim, r * dim + dim), i * dim));
      p = { rows, matrix };
      bySplit.set(split, p);
    }
    return p;
  }

  return {
    name: 'embedded',
    async index(req): Promise<IndexOutcome> {
      const n = rowsOf(req);
      // Fewer than two rows have nothing to index: the exact answer is immediate.
      const mode = n < 2 ? 'exact' : planSearch(config, n).mode;
      if (mode === 'exact') {
        // The matrix file is the index; nothing to build.
        return { indexed: n, reused: true };
      }
      const key = indexKey(mode, req.vectors, n, req.dim);
      const found = await ensureIndex(mode, req, n, key, workDirOf(req));
      return found.method === 'hnsw' ? { indexed: n, reused: found.reused, hnsw: found.summary } : { indexed: n, reused: found.reused, ivf: found.summary };
    },
    async nearest(req): Promise<Neighbour[]> {
      const n = rowsOf(req);
      const { vectors, dim } = req;
      // A split filter needs candidates the indexes cannot restrict to; no phase asks for one at scale.
      if (req.split !== undefined) {
        const p = pool(vectors, n, dim, req.split, req);
        return exactTop1Gemm(vectors, n, dim, req.queryIds, maxNormOf(vectors, n, dim), t.threads, { pool: p });
      }
      // Fewer than two rows have nothing to index: the exact answer is immediate.
      const mode = n < 2 ? 'exact' : planSearch(config, n).mode;
      if (mode !== 'exact') {
        const index = await indexFor(mode, req, n);
        if (index.search) return index.search(req.queryIds);
      }
      // The certified exact scan (exact-knn.ts: int8 or float32 products by the CPU); its float32 predecessor answered
      // 2,000 queries over 20,000 real-text rows in 0.3 s, where usearch's exact search took 2.9 s (bench/exact-top1.ts).
      return (await nearestOtherRowsWithTop1(vectors, n, dim, 1, req.queryIds, t.threads, undefined, undefined, equalOf(vectors, n, dim))).nearest;
    },
    async nearestK(req): Promise<Int32Array> {
      const n = rowsOf(req);
      const mode = n < 2 ? 'exact' : planSearch(config, n).mode;
      if (mode !== 'exact') {
        const index = await indexFor(mode, req, n);
        if (index.searchK) return index.searchK(req.queryIds, req.k);
      }
      return nearestOtherRows(req.vectors, n, req.dim, req.k, undefined, req.queryIds, t.threads);
    },
    async nearestWithK(req) {
      const n = rowsOf(req);
      const mode = n < 2 ? 'exact' : planSearch(config, n).mode;
      if (mode !== 'exact') {
        const index = await indexFor(mode, req, n);
        // An index that prunes answers both itself; where it does not (every IVF list probed, or calibration
        // missed its target), the k nearest come from the exact scan, and the certified top-1 with them.
        if (index.search && index.searchK) return { nearest: await index.search(req.queryIds), k: await index.searchK(req.queryIds, req.k) };
      }
      return nearestOtherRowsWithTop1(req.vectors, n, req.dim, req.k, req.queryIds, t.threads, undefined, undefined, equalOf(req.vectors, n, req.dim));
    },
    async drop(_runId, workDir) {
      // Free the loaded copy and delete the saved index (hundreds of MB at a million rows); the
      // run's other work files stay for a retried phase.
      loaded = undefined;
      if (workDir === undefined || !(await exists(workDir))) return;
      const saved = (await readdir(workDir)).filter((f) => f.startsWith(`${INDEX_FILE_PREFIX}.`));
      await Promise.all(saved.map((f) => rm(join(workDir, f), { force: true })));
    },
  };
}
