// The interface every vector store implements: index the kept rows of a run, then find neighbours.
import type { Neighbour, Split } from '../../core/categorise.js';
import type { HnswSummary, IvfSummary } from '../../core/index-calibration.js';

export interface StorePoint {
  /** Kept-row id (0-based, input order). */
  id: number;
  label: string;
  split: Split;
}

export interface IndexRequest {
  runId: string;
  /** Row-major N × dim unit vectors; row i belongs to `points[i]`. */
  vectors: Float32Array;
  dim: number;
  points: readonly StorePoint[];
  onProgress?: (done: number, total: number) => void;
  /** The run's work directory, where a store that builds files (the embedded ANN index) keeps them. */
  workDir?: string;
}

export interface IndexOutcome {
  indexed: number;
  reused: boolean;
  /** Present when the embedded store built (or found) an ANN index: its settings and measured recall@1. */
  hnsw?: HnswSummary;
  /** Present when the embedded store built (or found) an IVF index: its settings and measured recall@1. */
  ivf?: IvfSummary;
}

export interface NearestRequest {
  runId: string;
  vectors: Float32Array;
  dim: number;
  /** Every row's point, as given to `index` (stores that keep no payload of their own filter with it). */
  points: readonly StorePoint[];
  /** Rows whose nearest neighbour is wanted; each query excludes itself. */
  queryIds: readonly number[];
  /** Only rows of this split are candidates. @default every row */
  split?: Split;
  /** The run's work directory, as given to `index`. */
  workDir?: string;
}

/** The `k` nearest other rows of each query, over every row (no split filter). */
export interface NearestKRequest extends Omit<NearestRequest, 'split'> {
  k: number;
}

export interface VectorStore {
  readonly name: string;
  /** Makes every row searchable. Idempotent: a retry completes a partial index and never duplicates. */
  index(req: IndexRequest): Promise<IndexOutcome>;
  /** Top-1 neighbour of each query by cosine similarity, the query excluded, ties to the lowest id. */
  nearest(req: NearestRequest): Promise<Neighbour[]>;
  /**
   * The `k` nearest other rows of each query by cosine similarity: queries × k row ids, nearest first, ties to
   * the lowest id, −1 where fewer came back. Through the store's index where it has one (approximate as its
   * top-1 search is), exact otherwise.
   */
  nearestK(req: NearestKRequest): Promise<Int32Array>;
  /**
   * `nearest` and `nearestK` of the same queries, where one search serves both (the embedded store's exact scan:
   * half the products of asking twice). Stores without it are asked one after the other (`nearestWithKInBatches`).
   */
  nearestWithK?(req: NearestKRequest): Promise<{ nearest: Neighbour[]; k: Int32Array }>;
  /** Removes what `index` created for the run (`workDir`: the run's work directory, as given to `index`). */
  drop(runId: string, workDir?: string): Promise<void>;
}
