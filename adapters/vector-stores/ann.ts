// Top-1 neighbour search for the embedded store with usearch: a certified exact scan for small runs and an
// HNSW index tuned on the run's own rows to a target recall@1 for large ones; both re-rank their candidates
// in float64, so scores and ties (lowest row id) are those of `exactNearest`.
import { availableParallelism } from 'node:os';
import { Index, MetricKind, ScalarKind, exactSearch, type BatchMatches, type Matches } from 'usearch';
import type { Neighbour } from '../../core/categorise.js';
import { Rng } from '../../core/random.js';

/** The usearch release whose behaviour (f32 inner products, i8 casting) the error bounds below assume. */
export const ANN_LIBRARY = 'usearch 2.25';

/** Candidates the exact scan keeps per query before its float64 re-rank; widened when it cannot certify. */
const EXACT_CANDIDATES = 8;
/** Factor by which a search that could not settle a query asks for more candidates. */
const WIDEN_FACTOR = 4;
/**
 * Safety factor on the float32 rounding bound of a `dim`-term inner product (dim · 2^-24 · |x||y|): usearch's
 * SIMD kernels sum in another order than a sequential loop, and the distance is rounded once more as 1 - dot.
 */
const F32_BOUND_SAFETY = 2;
const F32_UNIT_ROUNDOFF = 2 ** -24;
/**
 * z of the one-sided confidence with which calibration must show the target recall (1.28: 90%). With 512
 * rows it allows two misses at target 0.99, and passes an index whose true recall is 0.988 about one time in
 * 17; the bare point estimate on 256 rows let runs land at 0.986 and 0.988 (bench/ann.ts sweeps).
 */
export const CALIBRATION_Z = 1.28;
/** The usearch sentinel for "no key" in padded result slots (2^64 - 1). */
const NO_KEY = 0xffff_ffff_ffff_ffffn;

export type AnnQuantization = 'i8' | 'f16' | 'f32';

/** How the HNSW index is built and tuned; the defaults come from bench/ann.ts (docs/performance-ann.md). */
export interface AnnTuning {
  /**
   * Scalar type of the vectors inside the graph. i8 quarters the memory traffic of every distance the
   * build computes; the float64 re-rank of `candidates` per query restores exact scores. @default 'i8'
   */
  quantization: AnnQuantization;
  /** Graph degree (HNSW's M). @default 16 */
  connectivity: number;
  /** Candidate list while inserting (HNSW's efConstruction). @default 64 */
  expansionAdd: number;
  /** Candidates per query re-ranked in float64 (the query row itself not counted). @default 10 */
  candidates: number;
  /** Rows drawn (seeded) to measure recall@1 against the certified exact scan. @default 512 */
  calibrationQueries: number;
  /** First search breadth (HNSW's ef) tried; doubled until the target recall is met. @default 32 */
  minExpansionSearch: number;
  /** Largest search breadth tried before giving up on the target. @default 4096 */
  maxExpansionSearch: number;
  /** Native threads for building and searching. @default os.availableParallelism() */
  threads: number;
  /** Rows per `add` call, so that progress is reported between calls. @default 32768 */
  addChunkRows: number;
  /** Seed of the calibration sample. @default 1 */
  seed: number;
}

export const DEFAULT_ANN_TUNING: AnnTuning = {
  quantization: 'i8',
  connectivity: 16,
  expansionAdd: 64,
  candidates: 10,
  calibrationQueries: 512,
  minExpansionSearch: 32,
  maxExpansionSearch: 4096,
  threads: availableParallelism(),
  addChunkRows: 32_768,
  seed: 1,
};

/** What calibrating any index measured (the HNSW graph's and the IVF index's summaries share it). */
export interface CalibratedIndex {
  library: string;
  /** Candidates per query re-ranked in float64. */
  candidates: number;
  /** recall@1 against the certified exact scan on `calibrationQueries` rows of the run itself. */
  recall: number;
  recallHits: number;
  /** Lower end of the one-sided 90% Wilson interval of `recall`: what must reach `targetRecall`. */
  recallLowerBound: number;
  calibrationQueries: number;
  targetRecall: number;
  /** Whether `recallLowerBound` reached `targetRecall` at some setting tried. */
  reached: boolean;
  buildSeconds: number;
  calibrateSeconds: number;
}

/** What the index phase measured, kept beside the index file and shown in the run's report. */
export interface AnnSummary extends CalibratedIndex {
  quantization: AnnQuantization;
  connectivity: number;
  expansionAdd: number;
  /** The search breadth chosen by calibration (the largest tried when the target was not reached). */
  expansionSearch: number;
  /** Every breadth tried, in order, with the recall@1 it gave. */
  tried: { expansionSearch: number; recall: number; recallLowerBound: number }[];
}

/** Rows the exact scan may return (ascending ids) and their vectors; all rows when absent. */
export interface Pool {
  rows: Int32Array;
  matrix: Float32Array;
}

/** Float64 dot product of rows a and b, in the same order of operations as `exactNearest` (same bits). */
export function dot64(vectors: Float32Array, dim: number, a: number, b: number): number {
  const ao = a * dim;
  const bo = b * dim;
  let s = 0;
  for (let j = 0; j < dim; j++) s += vectors[ao + j]! * vectors[bo + j]!;
  return s;
}

/** Bound on |float32 inner product - exact| for vectors of norms at most `normA`, `normB`. */
export function f32DotBound(dim: number, normA: number, normB: number): number {
  return F32_BOUND_SAFETY * (dim + 2) * F32_UNIT_ROUNDOFF * normA * normB + 2 * F32_UNIT_ROUNDOFF;
}

/** The largest row norm (a bound every row's float32 error term needs). */
export function maxRowNorm(vectors: Float32Array, n: number, dim: number): number {
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, dot64(vectors, dim, i, i));
  return Math.sqrt(max);
}

/**
 * `a` itself when it starts its buffer, else a copy: usearch's exactSearch reads a typed array's buffer
 * from its start, ignoring the view's byteOffset (javascript/lib.cpp, `dataset.ArrayBuffer().Data()`).
 */
export function atBufferStart(a: Float32Array): Float32Array {
  return a.byteOffset === 0 ? a : a.slice();
}

/** The given rows of a row-major matrix, copied into a new one. */
export function gather(vectors: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) out.set(vectors.subarray(rows[i]! * dim, rows[i]! * dim + dim), i * dim);
  return out;
}

/** Keys and distances of every query, `k` slots per query, `counts` of them filled. */
interface Batch {
  keys: BigUint64Array;
  distances: Float32Array;
  counts: BigUint64Array;
}

function asBatch(m: Matches | BatchMatches): Batch {
  // usearch unwraps a single query's result; both shapes lay keys and distances out per query.
  return 'counts' in m ? m : { keys: m.keys, distances: m.distances, counts: new BigUint64Array([BigInt(m.keys.length)]) };
}

const NO_NEIGHBOUR: Neighbour = { id: -1, score: -Infinity };

/**
 * The float64 re-rank of one query's candidates proposed by a float32 scan (`scores32`, the scan's own
 * scores): the best (ties to the lowest id), and whether it is certain — every row not proposed scores at
 * most the lowest proposed float32 score, so at most that plus the float32 error bound exactly. A proposed
 * score off its float64 value by more than the bound means the library broke the bound: an error naming it.
 */
export function certifyTop1(
  vectors: Float32Array,
  dim: number,
  q: number,
  ids: readonly number[],
  scores32: readonly number[],
  maxNorm: number,
  library: string,
): { best: Neighbour; certain: boolean } {
  const bound = f32DotBound(dim, Math.sqrt(dot64(vectors, dim, q, q)), maxNorm);
  let best = -1;
  let bestScore = -Infinity;
  let lowest32 = Infinity;
  ids.forEach((id, j) => {
    const s32 = scores32[j]!;
    lowest32 = Math.min(lowest32, s32);
    if (id === q) return;
    const s = dot64(vectors, dim, q, id);
    if (Math.abs(s - s32) > bound) throw new Error(`${library}: float32 inner product ${s32} of rows ${q} and ${id} is off the float64 ${s} by more than ${bound}`);
    if (s > bestScore || (s === bestScore && id < best)) {
      bestScore = s;
      best = id;
    }
  });
  return { best: best < 0 ? NO_NEIGHBOUR : { id: best, score: bestScore }, certain: best >= 0 && bestScore > lowest32 + bound };
}

/**
 * Exact top-1 of each query among the pool rows (all `n` rows by default), the query itself excluded,
 * ties to the lowest id: usearch's SIMD float32 scan proposes candidates, float64 re-ranks them, and a
 * query is settled only when no row outside the candidates can reach the best float64 score given the
 * float32 error bound; otherwise it is asked again with more candidates, up to the whole pool.
 */
export function exactTop1(
  vectors: Float32Array,
  n: number,
  dim: number,
  queries: ArrayLike<number>,
  options: { pool?: Pool; maxNorm?: number; threads?: number } = {},
): Neighbour[] {
  const pool = options.pool;
  const m = pool ? pool.rows.length : n;
  const out: Neighbour[] = Array.from({ length: queries.length }, () => NO_NEIGHBOUR);
  if (m === 0 || queries.length === 0) return out;
  const data = atBufferStart(pool ? pool.matrix : vectors.subarray(0, n * dim));
  const rowOf = pool ? (key: number) => pool.rows[key]! : (key: number) => key;
  const maxNorm = options.maxNorm ?? maxRowNorm(data, m, dim);
  const threads = options.threads ?? DEFAULT_ANN_TUNING.threads;
  let pending = Array.from({ length: queries.length }, (_, i) => i);
  let k = Math.min(m, EXACT_CANDIDATES);
  while (pending.length > 0) {
    const rows = pending.map((i) => queries[i]!);
    const res = asBatch(exactSearch(data, gather(vectors, dim, rows), dim, k, MetricKind.IP, threads));
    const unsettled: number[] = [];
    pending.forEach((qi, i) => {
      const found = Number(res.counts[i]!);
      const ids: number[] = [];
      const scores32: number[] = [];
      for (let j = 0; j < found; j++) {
        const key = res.keys[i * k + j]!;
        if (key === NO_KEY) continue;
        ids.push(rowOf(Number(key)));
        scores32.push(1 - res.distances[i * k + j]!);
      }
      const r = certifyTop1(vectors, dim, rows[i]!, ids, scores32, maxNorm, ANN_LIBRARY);
      if (found >= m || r.certain) out[qi] = r.best;
      else unsettled.push(qi);
    });
    if (unsettled.length > 0 && k === m) throw new Error('exactTop1: a full scan left queries unsettled');
    pending = unsettled;
    k = Math.min(m, k * WIDEN_FACTOR);
  }
  return out;
}

const SCALAR: Record<AnnQuantization, ScalarKind> = { i8: ScalarKind.I8, f16: ScalarKind.F16, f32: ScalarKind.F32 };

function newIndex(dim: number, t: AnnTuning, expansionSearch: number): Index {
  return new Index({
    dimensions: dim,
    metric: MetricKind.IP,
    quantization: SCALAR[t.quantization],
    connectivity: t.connectivity,
    expansion_add: t.expansionAdd,
    expansion_search: expansionSearch,
    multi: false,
  });
}

/** An HNSW index over every row of a run, searched with a fixed breadth and re-ranked in float64. */
export class AnnIndex {
  private constructor(
    private readonly index: Index,
    private readonly tuning: AnnTuning,
    readonly expansionSearch: number,
  ) {}

  /** Builds the graph over rows 0..n-1 (keys = row ids) and writes it to `path` (the caller renames it). */
  static build(vectors: Float32Array, n: number, dim: number, tuning: AnnTuning, path: string, onProgress?: (done: number, total: number) => void): void {
    const index = newIndex(dim, tuning, tuning.minExpansionSearch);
    for (let start = 0; start < n; start += tuning.addChunkRows) {
      const end = Math.min(n, start + tuning.addChunkRows);
      const keys = new BigUint64Array(end - start);
      for (let i = start; i < end; i++) keys[i - start] = BigInt(i);
      index.add(keys, vectors.subarray(start * dim, end * dim), tuning.threads);
      onProgress?.(end, n);
    }
    index.save(path);
  }

  /**
   * Opens an index written by `build`, to be searched with `expansionSearch`. The file is memory-mapped, not
   * copied: usearch fixes the breadth at construction, so calibration opens one index per breadth, and
   * copies (about 1 GB each at 1M × 768, freed only when V8 collects the wrapper) raised the peak RSS of a
   * 1M run to 9.9 GB; mapped pages are shared through the page cache instead.
   */
  static load(path: string, dim: number, tuning: AnnTuning, expansionSearch: number): AnnIndex {
    const index = newIndex(dim, tuning, expansionSearch);
    index.view(path);
    return new AnnIndex(index, tuning, expansionSearch);
  }

  get size(): number {
    return this.index.size();
  }

  /**
   * Top-1 of each query row among every indexed row but itself, from the graph's best `candidates`
   * re-ranked in float64 (ties to the lowest id). A query whose returned candidates all tie is asked again
   * with more: exact duplicates share one quantised vector, and the lowest id may lie past the first ones.
   */
  search(vectors: Float32Array, dim: number, queries: ArrayLike<number>): Neighbour[] {
    const out: Neighbour[] = Array.from({ length: queries.length }, () => NO_NEIGHBOUR);
    const size = this.index.size();
    let pending = Array.from({ length: queries.length }, (_, i) => i);
    let k = Math.min(size, this.tuning.candidates + 1);
    while (pending.length > 0 && k > 0) {
      const rows = pending.map((i) => queries[i]!);
      const res = asBatch(this.index.search(gather(vectors, dim, rows), k, this.tuning.threads));
      const unsettled: number[] = [];
      pending.forEach((qi, i) => {
        const found = Number(res.counts[i]!);
        const ids: number[] = [];
        for (let j = 0; j < found; j++) {
          const key = res.keys[i * k + j]!;
          if (key !== NO_KEY) ids.push(Number(key));
        }
        const r = rerank(vectors, dim, rows[i]!, ids);
        out[qi] = r.best;
        if (found >= k && r.allTie && k < size) unsettled.push(qi);
      });
      pending = unsettled;
      k = Math.min(size, k * WIDEN_FACTOR);
    }
    return out;
  }
}

/**
 * The float64 re-rank of one query's candidate rows (the query itself skipped): the best, ties to the lowest
 * id, and whether more than one other candidate came back and all of them tied (exact duplicates share one
 * quantised vector, so the lowest id may lie past the candidates: the caller asks again with more).
 */
export function rerank(vectors: Float32Array, dim: number, q: number, ids: Iterable<number>): { best: Neighbour; allTie: boolean } {
  let best = -1;
  let bestScore = -Infinity;
  let worstScore = Infinity;
  let others = 0;
  for (const id of ids) {
    if (id === q) continue;
    const s = dot64(vectors, dim, q, id);
    others++;
    worstScore = Math.min(worstScore, s);
    if (s > bestScore || (s === bestScore && id < best)) {
      bestScore = s;
      best = id;
    }
  }
  return { best: best < 0 ? NO_NEIGHBOUR : { id: best, score: bestScore }, allTie: others > 1 && worstScore === bestScore };
}

/** `count` distinct rows of 0..n-1 drawn with a seeded generator (Floyd's algorithm), ascending. */
export function sampleRows(n: number, count: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const chosen = new Set<number>();
  for (let j = n - Math.min(count, n); j < n; j++) {
    const t = rng.nextInt(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from([...chosen].sort((a, b) => a - b));
}

/** Lower end of the Wilson score interval of a proportion (hits of total) at normal quantile z. */
export function wilsonLower(hits: number, total: number, z: number): number {
  if (total === 0) return 1;
  const p = hits / total;
  const z2 = z * z;
  const centre = p + z2 / (2 * total);
  const spread = z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  return (centre - spread) / (1 + z2 / total);
}

/** recall@1 of `got` against `truth` and whether the lower end of its 90% one-sided interval reaches the target. */
export function measureRecall(
  got: readonly Neighbour[],
  truth: readonly Neighbour[],
  targetRecall: number,
): Pick<CalibratedIndex, 'recall' | 'recallHits' | 'recallLowerBound' | 'calibrationQueries' | 'targetRecall' | 'reached'> {
  const hits = got.reduce((h, g, i) => h + (g.id === truth[i]!.id ? 1 : 0), 0);
  const recallLowerBound = wilsonLower(hits, got.length, CALIBRATION_Z);
  return {
    recall: got.length === 0 ? 1 : hits / got.length,
    recallHits: hits,
    recallLowerBound,
    calibrationQueries: got.length,
    targetRecall,
    reached: recallLowerBound >= targetRecall,
  };
}

/**
 * Measures recall@1 of the index at `path` against the certified exact scan on a seeded sample of rows,
 * doubling the search breadth from `minExpansionSearch` until the lower end of its one-sided 90% Wilson
 * interval reaches `targetRecall` (so that sampling luck does not pick too small a breadth).
 */
export function calibrate(
  vectors: Float32Array,
  n: number,
  dim: number,
  path: string,
  tuning: AnnTuning,
  targetRecall: number,
  maxNorm: number,
): Omit<AnnSummary, 'buildSeconds' | 'calibrateSeconds'> {
  const sample = sampleRows(n, tuning.calibrationQueries, tuning.seed);
  const truth = exactTop1(vectors, n, dim, sample, { maxNorm, threads: tuning.threads });
  const tried: AnnSummary['tried'] = [];
  let ef = tuning.minExpansionSearch;
  for (;;) {
    const m = measureRecall(AnnIndex.load(path, dim, tuning, ef).search(vectors, dim, sample), truth, targetRecall);
    tried.push({ expansionSearch: ef, recall: m.recall, recallLowerBound: m.recallLowerBound });
    if (m.reached || ef >= tuning.maxExpansionSearch) {
      return {
        library: ANN_LIBRARY,
        quantization: tuning.quantization,
        connectivity: tuning.connectivity,
        expansionAdd: tuning.expansionAdd,
        expansionSearch: ef,
        candidates: tuning.candidates,
        ...m,
        tried,
      };
    }
    ef = Math.min(tuning.maxExpansionSearch, ef * 2);
  }
}
