// An inverted-file index (IVF) for the embedded store's top-1 search at scale: k-means lists over the rows,
// each query scans the rows of its `probes` nearest lists with exact int8 products (onnxruntime, VNNI),
// keeps the best `candidates`, and re-ranks them in float64 — so scores and ties (lowest row id) are those
// of `exactNearest` whenever the true neighbour is among the candidates. `probes` is tuned on the run's
// own rows to a target recall@1 against the certified exact scan, like the HNSW index's breadth.
import { availableParallelism } from 'node:os';
import type { Neighbour } from '../../core/categorise.js';
import { Rng } from '../../core/random.js';
import { NO_NEIGHBOUR, gather, rerank, rerankTopK } from '../../core/float64-rerank.js';
import { measureRecall, sampleRows, type IvfSummary } from '../../core/index-calibration.js';
import { INT8_CODE_MAX, ORT_VERSION, floatTopK, int8BiasTopK, int8TopK } from '../onnx/kernels.js';
import { exactTop1Gemm, insert } from './exact-k.js';
import { equalRowsOf, settleTie } from '../../core/equal-rows.js';

export interface IvfTuning {
  /** Lists; 0 chooses the power of two nearest √n (1024 at 1M rows). @default 0 */
  lists: number;
  /** k-means iterations on the training sample. @default 8 */
  iterations: number;
  /** Training rows per list (seeded sample). @default 32 */
  trainPerList: number;
  /** Candidates per query re-ranked in float64 (the query row itself not counted). @default 10 */
  candidates: number;
  /** Rows drawn (seeded) to measure recall@1 against the certified exact scan. @default 512 */
  calibrationQueries: number;
  /** Native threads. */
  threads: number;
  /** Seed of the training and calibration samples. @default 1 */
  seed: number;
}

export const DEFAULT_IVF_TUNING: IvfTuning = {
  lists: 0,
  iterations: 8,
  trainPerList: 32,
  candidates: 10,
  calibrationQueries: 512,
  threads: availableParallelism(),
  seed: 1,
};

/**
 * Rows per product of the build (k-means, assignment). onnxruntime's arena keeps what the largest run needed (the
 * rows × lists products, their scaled copy, the top-k). Real-text rows, 996k × 384, 1,024 lists: with 32,768 rows
 * the build took 10.5 s and left RSS 1.25 GB above the matrix; with 8,192, 9.9 s and 0.62 GB (the same index).
 */
const BUILD_BLOCK = 8192;
/** Queries per int8 block. */
const QUERY_BLOCK = 1024;
/** Candidates of a query whose float64 re-rank could not settle it are widened by this factor. */
const WIDEN_FACTOR = 4;

/** Lists for n rows: the power of two nearest √n, at least 1 and at most n. */
export function defaultLists(n: number): number {
  if (n <= 1) return 1;
  return Math.min(n, 2 ** Math.round(Math.log2(Math.sqrt(n))));
}

/**
 * Per-coordinate int8 scales: the largest |x_j| over all rows, over INT8_CODE_MAX (1 for an all-zero coordinate),
 * so that the row codes, which are the int8 operand of the list scans, stay within what every CPU multiplies
 * exactly.
 */
export function coordinateScales(vectors: Float32Array, n: number, dim: number): Float64Array {
  const max = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) {
      const a = Math.abs(vectors[o + j]!);
      if (a > max[j]!) max[j] = a;
    }
  }
  return max.map((m) => (m > 0 ? m / INT8_CODE_MAX : 1));
}

/** Row codes for the uint8 side of the products: round(x_j / s_j) + 128. */
function rowCodes(vectors: Float32Array, rows: ArrayLike<number>, dim: number, inv: Float64Array, out: Uint8Array): void {
  for (let i = 0; i < rows.length; i++) {
    const o = rows[i]! * dim;
    for (let j = 0; j < dim; j++) out[i * dim + j] = Math.round(vectors[o + j]! * inv[j]!) + 128;
  }
}

/**
 * Query codes: round(q_j · s_j / t) + 128 with t = max_j |q_j · s_j| / 127, so that (code - 128) · (row
 * code) is proportional to q · x up to rounding, with one factor per query (ranking rows is unaffected).
 */
function queryCodes(vectors: Float32Array, rows: ArrayLike<number>, dim: number, scales: Float64Array, out: Uint8Array): void {
  const w = new Float64Array(dim);
  for (let i = 0; i < rows.length; i++) {
    const o = rows[i]! * dim;
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs((w[j] = vectors[o + j]! * scales[j]!)));
    const f = max > 0 ? 127 / max : 0;
    for (let j = 0; j < dim; j++) out[i * dim + j] = Math.round(w[j]! * f) + 128;
  }
}

/** What `IvfIndex.save` keeps: the lists and codes are rebuilt from these exactly. */
export interface IvfState {
  lists: number;
  dim: number;
  centroids: Float32Array;
  assignment: Int32Array;
}

/** `state` as one little-endian file: lists, dim, rows (int32), centroids (float32), assignment (int32). */
export function encodeIvfState(state: IvfState): Uint8Array {
  const out = new Uint8Array(12 + state.centroids.byteLength + state.assignment.byteLength);
  const view = new DataView(out.buffer);
  view.setInt32(0, state.lists, true);
  view.setInt32(4, state.dim, true);
  view.setInt32(8, state.assignment.length, true);
  out.set(new Uint8Array(state.centroids.buffer, state.centroids.byteOffset, state.centroids.byteLength), 12);
  out.set(new Uint8Array(state.assignment.buffer, state.assignment.byteOffset, state.assignment.byteLength), 12 + state.centroids.byteLength);
  return out;
}

/** The state `encodeIvfState` wrote; `file` names it in errors. */
export function decodeIvfState(bytes: Uint8Array, file: string): IvfState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12) throw new Error(`${file}: ${bytes.length} bytes, too short for an IVF index`);
  const lists = view.getInt32(0, true);
  const dim = view.getInt32(4, true);
  const n = view.getInt32(8, true);
  const expected = 12 + 4 * lists * dim + 4 * n;
  if (lists < 1 || dim < 1 || n < 0 || bytes.length !== expected) throw new Error(`${file}: ${bytes.length} bytes, expected ${expected} for ${lists} lists × ${dim} and ${n} rows`);
  const copy = bytes.slice(12);
  const centroids = new Float32Array(copy.buffer, 0, lists * dim);
  const assignment = new Int32Array(copy.buffer, 4 * lists * dim, n);
  if (assignment.some((l) => l < 0 || l >= lists)) throw new Error(`${file}: a row is assigned to a list outside 0..${lists - 1}`);
  return { lists, dim, centroids, assignment };
}

export class IvfIndex {
  /** Rows of each list, ascending ids, list after list; `offsets` has lists + 1 entries. */
  private readonly members: Int32Array;
  private readonly offsets: Int32Array;
  /** Each list's int8 row codes, transposed (dim × list size), at offsets[l] · dim. */
  private readonly codes: Int8Array;
  private readonly scales: Float64Array;
  private readonly inv: Float64Array;
  /** Centroid codes (dim × lists int8), their common scale and the bias -|c|²/2 of each. */
  private readonly centroidCodes: Int8Array;
  private readonly centroidScale: number;
  private readonly centroidBias: Float32Array;

  private constructor(
    readonly state: IvfState,
    private readonly vectors: Float32Array,
    private readonly n: number,
    private readonly tuning: IvfTuning,
    /** coordinateScales(vectors) and the centroids' codes on them, when the caller has them already. */
    known?: { scales: Float64Array; centroids: ReturnType<typeof centroidCodes> },
  ) {
    const { lists, dim, assignment, centroids } = state;
    this.scales = known?.scales ?? coordinateScales(vectors, n, dim);
    this.inv = this.scales.map((s) => 1 / s);
    const offsets = new Int32Array(lists + 1);
    for (let i = 0; i < n; i++) offsets[assignment[i]! + 1]!++;
    for (let l = 0; l < lists; l++) offsets[l + 1] = offsets[l + 1]! + offsets[l]!;
    const fill = offsets.slice(0, lists);
    const members = new Int32Array(n);
    for (let i = 0; i < n; i++) members[fill[assignment[i]!]!++] = i;
    this.members = members;
    this.offsets = offsets;
    const codes = new Int8Array(n * dim);
    for (let l = 0; l < lists; l++) {
      const base = offsets[l]! * dim;
      const size = offsets[l + 1]! - offsets[l]!;
      for (let r = 0; r < size; r++) {
        const o = members[offsets[l]! + r]! * dim;
        for (let j = 0; j < dim; j++) codes[base + j * size + r] = Math.round(vectors[o + j]! * this.inv[j]!);
      }
    }
    this.codes = codes;
    const c = known?.centroids ?? centroidCodes(centroids, lists, dim, this.scales);
    this.centroidCodes = c.codes;
    this.centroidScale = c.scale;
    this.centroidBias = c.bias;
  }

  /** k-means (float32 products, seeded sample) and the assignment of every row to its nearest list. */
  static async build(vectors: Float32Array, n: number, dim: number, tuning: IvfTuning, onProgress?: (done: number, total: number) => void): Promise<IvfIndex> {
    const lists = Math.max(1, Math.min(n, tuning.lists > 0 ? tuning.lists : defaultLists(n)));
    const centroids = await kMeans(vectors, n, dim, lists, tuning);
    // Assignment by the int8 products (the same arithmetic the queries' probes use).
    const scales = coordinateScales(vectors, n, dim);
    const inv = scales.map((s) => 1 / s);
    const c = centroidCodes(centroids, lists, dim, scales);
    const assignment = new Int32Array(n);
    const block = new Uint8Array(Math.min(n, BUILD_BLOCK) * dim);
    for (let start = 0; start < n; start += BUILD_BLOCK) {
      const len = Math.min(BUILD_BLOCK, n - start);
      const ids = Int32Array.from({ length: len }, (_, i) => start + i);
      rowCodes(vectors, ids, dim, inv, block);
      const top = await int8BiasTopK(block.subarray(0, len * dim), len, c.codes, lists, dim, c.scale, c.bias, 1, tuning.threads);
      for (let i = 0; i < len; i++) assignment[start + i] = Number(top.indices[i]!);
      onProgress?.(start + len, n);
    }
    return new IvfIndex({ lists, dim, centroids, assignment }, vectors, n, tuning, { scales, centroids: c });
  }

  /** The index of `state` over `vectors` (the same matrix it was built on). */
  static fromState(state: IvfState, vectors: Float32Array, n: number, tuning: IvfTuning): IvfIndex {
    if (state.assignment.length !== n || state.centroids.length !== state.lists * state.dim) throw new Error(`IVF index state does not match a matrix of ${n} rows`);
    return new IvfIndex(state, vectors, n, tuning);
  }

  get lists(): number {
    return this.state.lists;
  }

  /** For each list, the queries (indices into `rows`) that have it among their `p` nearest lists. */
  private async probeLists(rows: readonly number[], p: number): Promise<(list: number) => Int32Array> {
    const { dim, lists } = this.state;
    const m = rows.length;
    const rowCode = new Uint8Array(m * dim);
    rowCodes(this.vectors, rows, dim, this.inv, rowCode);
    const near = await int8BiasTopK(rowCode, m, this.centroidCodes, lists, dim, this.centroidScale, this.centroidBias, p, this.tuning.threads);
    const count = new Int32Array(lists + 1);
    for (let i = 0; i < m * p; i++) count[Number(near.indices[i]!) + 1]!++;
    for (let l = 0; l < lists; l++) count[l + 1] = count[l + 1]! + count[l]!;
    const byList = new Int32Array(m * p);
    const fill = count.slice(0, lists);
    for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) byList[fill[Number(near.indices[i * p + j]!)]!++] = i;
    return (list) => byList.subarray(count[list], count[list + 1]);
  }

  /**
   * The best `k` candidates of each of `rows` by int8 product over the rows of its `p` nearest lists: m × k
   * row ids, best first (ties to the lowest id), −1 where its lists hold fewer. `scanned` counts the products.
   */
  private async candidates(rows: readonly number[], p: number, k: number, scanned?: { pairs: number }): Promise<Int32Array> {
    const { dim, lists } = this.state;
    const m = rows.length;
    // The queries of each list: those that probe it among their `p` nearest lists by the same int8 score as the
    // assignment; every query, with no ranking of lists, when every list is probed (what calibration asks for
    // on rows with little cluster structure).
    const queriesOf = p >= lists ? everyQuery(m) : await this.probeLists(rows, p);
    const qCode = new Uint8Array(m * dim);
    queryCodes(this.vectors, rows, dim, this.scales, qCode);
    const bestS = new Int32Array(m * k);
    const bestI = new Int32Array(m * k).fill(-1);
    const a = new Uint8Array(Math.min(m, QUERY_BLOCK) * dim);
    for (let l = 0; l < lists; l++) {
      const size = this.offsets[l + 1]! - this.offsets[l]!;
      const qs = queriesOf(l);
      if (size === 0 || qs.length === 0) continue;
      const b = this.codes.subarray(this.offsets[l]! * dim, this.offsets[l + 1]! * dim);
      const kk = Math.min(k, size);
      for (let s = 0; s < qs.length; s += QUERY_BLOCK) {
        const part = qs.subarray(s, s + QUERY_BLOCK);
        for (let i = 0; i < part.length; i++) a.set(qCode.subarray(part[i]! * dim, part[i]! * dim + dim), i * dim);
        const top = await int8TopK(a.subarray(0, part.length * dim), part.length, b, size, dim, kk, this.tuning.threads);
        if (scanned) scanned.pairs += part.length * size;
        for (let i = 0; i < part.length; i++) {
          const qi = part[i]!;
          for (let j = 0; j < kk; j++) insert(bestS, bestI, qi * k, k, top.values[i * kk + j]!, this.members[this.offsets[l]! + Number(top.indices[i * kk + j]!)]!);
        }
      }
    }
    return bestI;
  }

  /**
   * Top-1 of each query row among every row but itself: the best `candidates` by int8 product over the
   * rows of its `probes` nearest lists, re-ranked in float64 (ties to the lowest id). A query whose
   * candidates all tie in float64 is asked again with more, unless they are all one vector (exact duplicates
   * share their codes): then the lowest row with that vector answers (`settleTie`), without D² widening.
   * `scanned` receives the number of (query, row) products computed.
   */
  async search(queries: ArrayLike<number>, probes: number, scanned?: { pairs: number }): Promise<Neighbour[]> {
    const out: Neighbour[] = Array.from({ length: queries.length }, () => NO_NEIGHBOUR);
    let pending = Array.from({ length: queries.length }, (_, i) => i);
    let k = Math.min(this.n, this.tuning.candidates + 1);
    const p = Math.max(1, Math.min(this.state.lists, probes));
    while (pending.length > 0) {
      const rows = pending.map((i) => queries[i]!);
      const bestI = await this.candidates(rows, p, k, scanned);
      const unsettled: number[] = [];
      pending.forEach((qi, i) => {
        const ids = Array.from(bestI.subarray(i * k, (i + 1) * k)).filter((id) => id >= 0);
        const r = rerank(this.vectors, this.state.dim, rows[i]!, ids);
        out[qi] = r.best;
        if (ids.length >= k && r.allTie && k < this.n) {
          const settled = settleTie(equalRowsOf(this.vectors, this.n, this.state.dim), rows[i]!, r.best, ids);
          if (settled) out[qi] = settled;
          else unsettled.push(qi);
        }
      });
      pending = unsettled;
      k = Math.min(this.n, k * WIDEN_FACTOR);
    }
    return out;
  }

  /**
   * The `k` nearest other rows of each query row (queries × k ids, nearest first, ties to the lowest id, −1
   * past what its lists hold): the best k + candidates by int8 product over the rows of its `probes`
   * nearest lists, re-ranked in float64. Approximate as the top-1 search is (the calibrated probes).
   */
  async searchK(queries: ArrayLike<number>, probes: number, k: number): Promise<Int32Array> {
    const out = new Int32Array(queries.length * k).fill(-1);
    const kc = Math.min(this.n, k + this.tuning.candidates);
    const rows = Array.from(queries);
    const bestI = await this.candidates(rows, Math.max(1, Math.min(this.state.lists, probes)), kc);
    rows.forEach((q, i) => rerankTopK(this.vectors, this.state.dim, q, bestI.subarray(i * kc, (i + 1) * kc), k, out, i * k));
    return out;
  }
}

/** Every query index of a batch of m, for every list. */
function everyQuery(m: number): (list: number) => Int32Array {
  const all = Int32Array.from({ length: m }, (_, i) => i);
  return () => all;
}

/** int8 codes of the centroids (dim × lists) on the rows' coordinate scales, with one common factor. */
function centroidCodes(centroids: Float32Array, lists: number, dim: number, scales: Float64Array): { codes: Int8Array; scale: number; bias: Float32Array } {
  // c · x ≈ Σ_j (c_j s_j) (x_j / s_j): the codes hold c_j s_j / t, the rows round(x_j / s_j).
  let max = 0;
  for (let l = 0; l < lists; l++) for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(centroids[l * dim + j]! * scales[j]!));
  const t = max > 0 ? max / INT8_CODE_MAX : 1;
  const codes = new Int8Array(dim * lists);
  const bias = new Float32Array(lists);
  for (let l = 0; l < lists; l++) {
    let sq = 0;
    for (let j = 0; j < dim; j++) {
      const c = centroids[l * dim + j]!;
      codes[j * lists + l] = Math.round((c * scales[j]!) / t);
      sq += c * c;
    }
    bias[l] = -sq / 2;
  }
  return { codes, scale: t, bias };
}

/** Lloyd's k-means on a seeded sample of `trainPerList · lists` rows (float32 products), seeded start. */
async function kMeans(vectors: Float32Array, n: number, dim: number, lists: number, tuning: IvfTuning): Promise<Float32Array> {
  const sample = sampleRows(n, Math.min(n, lists * tuning.trainPerList), tuning.seed);
  const s = sample.length;
  const data = gather(vectors, dim, sample);
  // Start from `lists` distinct sample rows drawn with another seed.
  const start = sampleRows(s, lists, tuning.seed + 1);
  const centroids = gather(data, dim, start);
  const rng = new Rng(tuning.seed + 2);
  const bias = new Float32Array(lists);
  const sums = new Float64Array(lists * dim);
  const counts = new Int32Array(lists);
  const assign = new Int32Array(s);
  for (let it = 0; it < tuning.iterations; it++) {
    for (let l = 0; l < lists; l++) {
      let sq = 0;
      for (let j = 0; j < dim; j++) sq += centroids[l * dim + j]! ** 2;
      bias[l] = -sq / 2;
    }
    for (let b = 0; b < s; b += BUILD_BLOCK) {
      const len = Math.min(BUILD_BLOCK, s - b);
      const top = await floatTopK(data.subarray(b * dim, (b + len) * dim), len, centroids, lists, dim, bias, 1, tuning.threads);
      for (let i = 0; i < len; i++) assign[b + i] = Number(top.indices[i]!);
    }
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < s; i++) {
      const l = assign[i]!;
      counts[l]!++;
      for (let j = 0; j < dim; j++) sums[l * dim + j] = sums[l * dim + j]! + data[i * dim + j]!;
    }
    for (let l = 0; l < lists; l++) {
      // An empty list restarts at a random sample row.
      if (counts[l] === 0) {
        const r = rng.nextInt(s);
        centroids.set(data.subarray(r * dim, r * dim + dim), l * dim);
      }
      else for (let j = 0; j < dim; j++) centroids[l * dim + j] = sums[l * dim + j]! / counts[l]!;
    }
  }
  return centroids;
}

/**
 * Measures recall@1 of `index` against the certified exact scan on a seeded sample of rows, doubling the
 * probes from 1 until the lower end of the one-sided 90% Wilson interval reaches `targetRecall` (all lists
 * scan every row, so the last step can only miss when candidates tie beyond the re-rank).
 */
export async function calibrateIvf(
  index: IvfIndex,
  vectors: Float32Array,
  n: number,
  dim: number,
  tuning: IvfTuning,
  targetRecall: number,
  maxNorm: number,
): Promise<Omit<IvfSummary, 'buildSeconds' | 'calibrateSeconds'>> {
  const sample = sampleRows(n, tuning.calibrationQueries, tuning.seed);
  const truth = await exactTop1Gemm(vectors, n, dim, sample, maxNorm, tuning.threads);
  const tried: IvfSummary['tried'] = [];
  for (let probes = 1; ; probes = Math.min(index.lists, probes * 2)) {
    const scanned = { pairs: 0 };
    const got = await index.search(sample, probes, scanned);
    const m = measureRecall(got, truth, targetRecall);
    tried.push({ probes, recall: m.recall, recallLowerBound: m.recallLowerBound, scanned: sample.length === 0 ? 0 : scanned.pairs / (sample.length * n) });
    if (m.reached || probes >= index.lists) {
      return {
        library: `onnxruntime-node ${ORT_VERSION}`,
        method: 'ivf-int8',
        lists: index.lists,
        probes,
        candidates: tuning.candidates,
        ...m,
        tried,
      };
    }
  }
}
