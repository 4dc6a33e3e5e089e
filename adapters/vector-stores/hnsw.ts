// Top-1 neighbour search for the embedded store with usearch: an HNSW index tuned on the run's own rows to a
// target recall@1 (against the certified exact scan of exact-k.ts) for large runs; it re-ranks its candidates in
// float64, so scores and ties (lowest row id) are those of `exactNearest`.
import { availableParallelism } from 'node:os';
import { Index, MetricKind, ScalarKind, type BatchMatches, type Matches } from 'usearch';
import type { Neighbour } from '../../core/categorise.js';
import { NO_NEIGHBOUR, gather, rerank, rerankTopK } from '../../core/float64-rerank.js';
import { equalRowsOf, settleTie } from '../../core/equal-rows.js';
import { exactTop1Gemm } from './exact-k.js';
import { measureRecall, sampleRows, type HnswQuantization, type HnswSummary } from '../../core/index-calibration.js';

/** The usearch release whose behaviour (f32 inner products, i8 casting) the error bounds below assume. */
export const HNSW_LIBRARY = 'usearch 2.25';

/** Factor by which a search that could not settle a query asks for more candidates. */
const WIDEN_FACTOR = 4;
/** The usearch sentinel for "no key" in padded result slots (2^64 - 1). */
export const NO_KEY = 0xffff_ffff_ffff_ffffn;

/** How the HNSW index is built and tuned; the defaults come from bench/ann.ts (docs/performance-ann.md). */
export interface HnswTuning {
  /**
   * Scalar type of the vectors inside the graph. i8 quarters the memory traffic of every distance the
   * build computes; the float64 re-rank of `candidates` per query restores exact scores. @default 'i8'
   */
  quantization: HnswQuantization;
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

export const DEFAULT_HNSW_TUNING: HnswTuning = {
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

/** Keys and distances of every query, `k` slots per query, `counts` of them filled. */
export interface Batch {
  keys: BigUint64Array;
  distances: Float32Array;
  counts: BigUint64Array;
}

export function asBatch(m: Matches | BatchMatches): Batch {
  // usearch unwraps a single query's result; both shapes lay keys and distances out per query.
  return 'counts' in m ? m : { keys: m.keys, distances: m.distances, counts: new BigUint64Array([BigInt(m.keys.length)]) };
}

const SCALAR: Record<HnswQuantization, ScalarKind> = { i8: ScalarKind.I8, f16: ScalarKind.F16, f32: ScalarKind.F32 };

function newIndex(dim: number, t: HnswTuning, expansionSearch: number): Index {
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
export class HnswIndex {
  private constructor(
    private readonly index: Index,
    private readonly tuning: HnswTuning,
    readonly expansionSearch: number,
  ) {}

  /** Builds the graph over rows 0..n-1 (keys = row ids) and writes it to `path` (the caller renames it). */
  static build(vectors: Float32Array, n: number, dim: number, tuning: HnswTuning, path: string, onProgress?: (done: number, total: number) => void): void {
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
  static load(path: string, dim: number, tuning: HnswTuning, expansionSearch: number): HnswIndex {
    const index = newIndex(dim, tuning, expansionSearch);
    index.view(path);
    return new HnswIndex(index, tuning, expansionSearch);
  }

  get size(): number {
    return this.index.size();
  }

  /**
   * Top-1 of each query row among every indexed row but itself, from the graph's best `candidates`
   * re-ranked in float64 (ties to the lowest id). A query whose returned candidates all tie is asked again
   * with more, unless they are all one vector (exact duplicates share one quantised vector, and the lowest id
   * may lie past the first ones): then the lowest row with that vector answers (`settleTie`).
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
        if (found >= k && r.allTie && k < size) {
          const settled = settleTie(equalRowsOf(vectors, size, dim), rows[i]!, r.best, ids);
          if (settled) out[qi] = settled;
          else unsettled.push(qi);
        }
      });
      pending = unsettled;
      k = Math.min(size, k * WIDEN_FACTOR);
    }
    return out;
  }

  /**
   * The `k` nearest other rows of each query row (queries × k ids, nearest first, ties to the lowest id, −1
   * past the graph's answer): the graph's best k + candidates, re-ranked in float64.
   */
  searchK(vectors: Float32Array, dim: number, queries: ArrayLike<number>, k: number): Int32Array {
    const out = new Int32Array(queries.length * k).fill(-1);
    const kc = Math.min(this.index.size(), k + this.tuning.candidates);
    if (kc === 0) return out;
    const rows = Array.from(queries);
    const res = asBatch(this.index.search(gather(vectors, dim, rows), kc, this.tuning.threads));
    rows.forEach((q, i) => {
      const ids: number[] = [];
      for (let j = 0; j < Number(res.counts[i]!); j++) {
        const key = res.keys[i * kc + j]!;
        if (key !== NO_KEY) ids.push(Number(key));
      }
      rerankTopK(vectors, dim, q, ids, k, out, i * k);
    });
    return out;
  }
}

/**
 * Measures recall@1 of the index at `path` against the certified exact scan on a seeded sample of rows,
 * doubling the search breadth from `minExpansionSearch` until the lower end of its one-sided 90% Wilson
 * interval reaches `targetRecall` (so that sampling luck does not pick too small a breadth).
 */
export async function calibrateHnsw(
  vectors: Float32Array,
  n: number,
  dim: number,
  path: string,
  tuning: HnswTuning,
  targetRecall: number,
  maxNorm: number,
): Promise<Omit<HnswSummary, 'buildSeconds' | 'calibrateSeconds'>> {
  const sample = sampleRows(n, tuning.calibrationQueries, tuning.seed);
  const truth = await exactTop1Gemm(vectors, n, dim, sample, maxNorm, tuning.threads);
  const tried: HnswSummary['tried'] = [];
  let ef = tuning.minExpansionSearch;
  for (;;) {
    const m = measureRecall(HnswIndex.load(path, dim, tuning, ef).search(vectors, dim, sample), truth, targetRecall);
    tried.push({ expansionSearch: ef, recall: m.recall, recallLowerBound: m.recallLowerBound });
    if (m.reached || ef >= tuning.maxExpansionSearch) {
      return {
        library: HNSW_LIBRARY,
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
