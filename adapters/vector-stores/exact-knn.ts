// The exact k nearest other rows of query rows (the offline judge's neighbour evidence; with the top-1 from the
// same scan, what a categorise pass asks of its wrong rows), by an int8 scan with a certified bound: every row's
// vector is kept as int8 codes with a scale of its own, every query as uint8 codes, and onnxruntime's
// MatMulIntegerToFloat (VNNI on x86) gives each (query, row) an approximate product plus a per-row bias that makes
// it an upper bound of the exact one. The best `candidates` rows by that bound are scored in float64, best bound
// first, until the next bound lies below the take-th float64 score: no row outside can come between, so the answer
// is exactly that of scoring every row in float64 (ties to the lower id). A query whose candidates run out first
// is asked again with 4× as many. On CPUs without int8 dot-product instructions the candidates come from float32
// products instead, bounded by the float32 error bound: the same answers (`defaultProducts`).
//
// Why: the float32 scan of a categorise pass at a million rows (~57,000 queries × 10⁶ rows × 384) ran near the
// float32 product rate of the two cores: 283 + 346 s for the two passes. The int8 products run ~2.4× faster, and
// ~96% of real-text queries settle with 64 candidates (bench/exact-knn.ts has the figures).
//
// The bound. A row x has scale s = max|x_j| / 64 (float32) and codes c = round(x / s) (|c| ≤ 64: the int8 operand
// must stay within INT8_CODE_MAX for CPUs without VNNI), residual r_x = x − s·c. A query q is divided by its largest
// |q_j| (f) and coded a = round(127 · q / f) at scale t = 1/127 (float32), q' = q / f = t·a + r_q. Then
//   q'·x = t·s·(a·c) + (t·a)·r_x + r_q·x ≤ t·s·(a·c) + |t·a|·|r_x| + |r_q|·|x|,
// so with A = max |t·a| and R = max |r_q| over a block of queries, bias(x) = A·|r_x| + R·|x| (plus the float32
// rounding of the scaled product and the sum, bounded generously) makes the kernel's score an upper bound of q'·x,
// and f times it of q·x. Queries go in blocks sorted by f, so A (about |q| / f) is nearly the same for all of a block.
//
// Equal vectors: a group of D equal rows ties, and a tie at the boundary can never settle (D² work). The scan keeps
// the first row of each group only (the others' bias is −∞) and hands out a candidate group's rows in id order.
import { readFileSync } from 'node:fs';
import { availableParallelism, endianness } from 'node:os';
import type { Neighbour } from '../../core/categorise.js';
import { equalRowsOf, type EqualRows } from '../../core/equal-rows.js';
import { perMatrix } from '../../core/per-matrix.js';
import { NO_NEIGHBOUR, dot64, f32DotBound, maxRowNorm } from '../../core/float64-rerank.js';
import { INT8_CODE_MAX, ORT_VERSION, floatTopK, int8ScaledTopK } from '../onnx/kernels.js';
import { insert } from './exact-k.js';

/** Matrix rows per product call. */
export const INT8_SCAN_ROW_BLOCK = 32_768;
/** Query rows per product call (512 × 32,768 float32 scores = 64 MiB). */
const QUERY_BLOCK = 512;
/**
 * Candidates per query in the first round: int8 64 (at least 2 × take; ~96% of real-text queries settle there),
 * float32 take + 8 (its error bound is ~10⁻⁶); a query left unsettled is asked again with 4× as many.
 */
const FIRST_CANDIDATES = { int8: (take: number) => Math.max(64, 2 * take), float32: (take: number) => take + 8 };
const WIDEN_FACTOR = 4;
const QUERY_CODE_MAX = 127;
const QUERY_SCALE = Math.fround(1 / QUERY_CODE_MAX);
const U32 = 2 ** -24;
/** Where an int64's low 32-bit word lies in its 8 bytes. */
const LOW_WORD = endianness() === 'LE' ? 0 : 1;

/** A matrix's rows as int8 codes: per block of `rowBlock` rows, dim × block codes (transposed), and per row its scale, |r_x| and |x|. */
export interface RowCodes {
  n: number;
  dim: number;
  rowBlock: number;
  codes: Int8Array;
  scales: Float32Array;
  residuals: Float64Array;
  norms: Float64Array;
}

/** Codes every row of the n × dim matrix (one pass; 1M × 384 rows: 384 MB of codes, a quarter of the matrix). */
export function rowCodes(vectors: Float32Array, n: number, dim: number, rowBlock = INT8_SCAN_ROW_BLOCK): RowCodes {
  const codes = new Int8Array(n * dim);
  const scales = new Float32Array(n);
  const residuals = new Float64Array(n);
  const norms = new Float64Array(n);
  for (let from = 0; from < n; from += rowBlock) {
    const len = Math.min(rowBlock, n - from);
    for (let r = 0; r < len; r++) {
      const o = (from + r) * dim;
      let max = 0;
      for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(vectors[o + j]!));
      const s = max > 0 ? Math.fround(max / INT8_CODE_MAX) : 1;
      let r2 = 0;
      let x2 = 0;
      for (let j = 0; j < dim; j++) {
        const x = vectors[o + j]!;
        const c = Math.max(-INT8_CODE_MAX, Math.min(INT8_CODE_MAX, Math.round(x / s)));
        codes[from * dim + j * len + r] = c;
        const e = x - s * c;
        r2 += e * e;
        x2 += x * x;
      }
      scales[from + r] = s;
      residuals[from + r] = Math.sqrt(r2);
      norms[from + r] = Math.sqrt(x2);
    }
  }
  return { n, dim, rowBlock, codes, scales, residuals, norms };
}

const keptCodes = perMatrix(rowCodes);

/** `rowCodes` of a matrix, computed once per array and kept while it lives (a categorise pass asks batch after batch of the same one) or until `releaseRowCodes`. */
export function rowCodesOf(vectors: Float32Array, n: number, dim: number, rowBlock = INT8_SCAN_ROW_BLOCK): RowCodes {
  return keptCodes.of(vectors, n, dim, rowBlock);
}

/**
 * Forgets every kept matrix's codes. A worker keeps its run's matrix across phases (adapters/shared-matrix.ts), and
 * the codes are a quarter of it: released whenever the worker falls idle, as onnxruntime's sessions are, so that
 * they count in the categorise phases' memory only.
 */
export function releaseRowCodes(): void {
  keptCodes.clear();
}

/** A float32 at or above x (x ≥ 0). */
function up32(x: number): number {
  const f = Math.fround(x);
  return f >= x ? f : Math.fround(x * (1 + U32) + Number.MIN_VALUE);
}

/** The products that propose a scan's candidates. */
export type Products = 'int8' | 'float32';

/**
 * int8 where the CPU has int8 dot-product instructions (x86 VNNI, Arm's dot product): onnxruntime's int8 products
 * run ~2.4× its float32 ones there (bench/exact-knn.ts). Without them (AVX2 only) int8 products were measured only
 * ~10% faster than float32 (2026-12-05), too little for the candidates' float64 scoring: float32 there.
 */
export function defaultProducts(): Products {
  return fastInt8;
}

/** The products for a CPU, from its /proc/cpuinfo text: int8 with x86 VNNI or Arm's dot product, else float32. */
export function productsForCpu(cpuinfo: string): Products {
  const flags = cpuinfo.match(/^(flags|Features)\s*:(.*)$/m)?.[2]?.split(/\s+/) ?? [];
  return flags.some((f) => f === 'avx512_vnni' || f === 'avx_vnni' || f === 'asimddp') ? 'int8' : 'float32';
}

const fastInt8: Products = (() => {
  try {
    return productsForCpu(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return 'float32';
  }
})();

const norms = perMatrix(maxRowNorm);

/** The longest row's norm of a matrix (the float32 error bounds need it), computed once per array. */
export function maxNormOf(vectors: Float32Array, n: number, dim: number): number {
  return norms.of(vectors, n, dim);
}

/**
 * The uint8 codes of a block of queries (`part`, indices into `queries`) into `a`, and each distinct row's bias for
 * them: A = max |t·a| and R = max |r_q| over the block, bias(x) = A·|r_x| + R·|x| with room for the float32 scaling
 * and sum (4 roundings of at most the scaled product, |t·a|·(|x| + |r_x|), and the bias) and for the float64 sums
 * that gave |r_x|, |x| and |r_q|. A repeated vector's bias stays −∞.
 */
function queryCodesAndBias(
  vectors: Float32Array,
  dim: number,
  queries: ArrayLike<number>,
  part: readonly number[],
  largest: Float64Array,
  equal: EqualRows,
  rc: RowCodes,
  a: Uint8Array,
  bias: Float32Array,
): void {
  let maxCoded = 0;
  let maxResidual = 0;
  for (let i = 0; i < part.length; i++) {
    const o = queries[part[i]!]! * dim;
    const f = largest[part[i]!]!;
    let c2 = 0;
    let r2 = 0;
    for (let j = 0; j < dim; j++) {
      const v = vectors[o + j]! / f;
      const c = Math.max(-QUERY_CODE_MAX, Math.min(QUERY_CODE_MAX, Math.round(v * QUERY_CODE_MAX)));
      a[i * dim + j] = c + 128;
      const e = v - QUERY_SCALE * c;
      c2 += (QUERY_SCALE * c) ** 2;
      r2 += e * e;
    }
    maxCoded = Math.max(maxCoded, Math.sqrt(c2));
    maxResidual = Math.max(maxResidual, Math.sqrt(r2));
  }
  for (let x = 0; x < rc.n; x++) {
    if (equal.first[x] !== x) continue;
    const b = maxCoded * rc.residuals[x]! + maxResidual * rc.norms[x]!;
    bias[x] = up32((b + 4 * U32 * (maxCoded * (rc.norms[x]! + rc.residuals[x]!) + b)) * (1 + 1e-9) + 1e-30);
  }
}

/**
 * The `take` best rows of 0..n-1 for each query row (itself included) by float64 inner product (`dot64`, the bits of
 * `exactNearest`), best first, ties to the lower id: queries × take ids (−1 past n) and their float64 scores.
 * Exactly what scoring every row in float64 gives; int8 products on onnxruntime do the scan (see the top of this
 * file), or float32 ones whose candidates are bounded by the float32 error bound (`products`). `equal` groups the
 * rows by equal vectors; `onProgress` hears after each block of the first round.
 */
export async function certifiedTopK(
  vectors: Float32Array,
  n: number,
  dim: number,
  take: number,
  queries: ArrayLike<number>,
  options: {
    equal: EqualRows;
    threads: number;
    onProgress?: (done: number, total: number) => void;
    rowBlock?: number;
    /** The products that propose candidates: int8 (default where the CPU multiplies int8 fast) or float32; the answers are the same. */
    products?: Products;
    /** Filled in: rounds of the scan, and the most candidates a round kept per query. */
    stats?: { rounds: number; widestCandidates: number };
  },
): Promise<{ ids: Int32Array; scores: Float64Array }> {
  const { equal, threads, onProgress = () => {}, rowBlock = INT8_SCAN_ROW_BLOCK, products = defaultProducts(), stats } = options;
  const total = queries.length;
  const ids = new Int32Array(total * take).fill(-1);
  const scores = new Float64Array(total * take).fill(-Infinity);
  if (n === 0 || take === 0 || total === 0) return { ids, scores };
  const int8 = products === 'int8';
  const rc = int8 ? rowCodesOf(vectors, n, dim, rowBlock) : undefined;
  // float32: the rows' bound on the float32 product's error needs the longest row.
  const maxNorm = int8 ? 0 : maxNormOf(vectors, n, dim);
  const distinct = n - equal.repeated;
  // Each query's largest |q_j| (its code scale); blocks of queries sorted by it.
  const largest = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    const o = queries[i]! * dim;
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(vectors[o + j]!));
    largest[i] = max > 0 ? max : 1;
  }
  let pending = Array.from({ length: total }, (_, i) => i).sort((a, b) => largest[a]! - largest[b]! || a - b);
  let candidates = Math.min(distinct, FIRST_CANDIDATES[products](take));
  let firstRound = true;
  let done = 0;
  const a = new Uint8Array(int8 ? Math.min(QUERY_BLOCK, total) * dim : 0);
  const floats = new Float32Array(int8 ? 0 : Math.min(QUERY_BLOCK, total) * dim);
  // The per-row bias of the products: −∞ leaves a repeated vector out; int8 adds the rows' bound (per block of queries).
  const bias = new Float32Array(n);
  for (let x = 0; x < n; x++) if (equal.first[x] !== x) bias[x] = -Infinity;
  // A query's candidate score s bounds its rows' float64 scores by scale · s + offset.
  const scale = new Float64Array(total);
  const offset = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    if (int8) scale[i] = largest[i]!;
    else [scale[i], offset[i]] = [1, f32DotBound(dim, Math.sqrt(dot64(vectors, dim, queries[i]!, queries[i]!)), maxNorm)];
  }
  while (pending.length > 0) {
    if (stats) Object.assign(stats, { rounds: stats.rounds + 1, widestCandidates: Math.max(stats.widestCandidates, candidates) });
    const unsettled: number[] = [];
    for (let start = 0; start < pending.length; start += QUERY_BLOCK) {
      const part = pending.slice(start, start + QUERY_BLOCK);
      const m = part.length;
      if (int8) queryCodesAndBias(vectors, dim, queries, part, largest, equal, rc!, a, bias);
      else for (let i = 0; i < m; i++) floats.set(vectors.subarray(queries[part[i]!]! * dim, queries[part[i]!]! * dim + dim), i * dim);
      // Per query: the best `candidates` (bound, row) over all blocks.
      const bestS = new Float32Array(m * candidates).fill(-Infinity);
      const bestI = new Int32Array(m * candidates).fill(-1);
      for (let from = 0; from < n; from += rowBlock) {
        const len = Math.min(rowBlock, n - from);
        const kk = Math.min(candidates, len);
        const rowBias = bias.subarray(from, from + len);
        const top = int8
          ? await int8ScaledTopK(a.subarray(0, m * dim), m, rc!.codes.subarray(from * dim, (from + len) * dim), len, dim, QUERY_SCALE, rc!.scales.subarray(from, from + len), rowBias, kk, threads)
          : await floatTopK(floats.subarray(0, m * dim), m, vectors.subarray(from * dim, (from + len) * dim), len, dim, rowBias, kk, threads);
        // The int64 indices' low words (every index < 2³¹): no BigInt per read.
        const index = new Int32Array(top.indices.buffer, top.indices.byteOffset, 2 * m * kk);
        for (let i = 0; i < m; i++) {
          const lastAt = i * candidates + candidates - 1;
          for (let t = 0; t < kk; t++) {
            const s = top.values[i * kk + t]!;
            // The block's list is best first: once below the query's last kept bound, the rest are too.
            if (s === -Infinity || (bestI[lastAt]! >= 0 && s < bestS[lastAt]!)) break;
            insert(bestS, bestI, i * candidates, candidates, s, from + index[2 * (i * kk + t) + LOW_WORD]!);
          }
        }
      }
      for (let i = 0; i < m; i++) {
        const qi = part[i]!;
        if (!settle(vectors, dim, queries[qi]!, scale[qi]!, offset[qi]!, products, equal, bestS, bestI, i * candidates, candidates, candidates >= distinct, take, ids, scores, qi * take)) unsettled.push(qi);
      }
      if (firstRound) onProgress((done += m), total);
    }
    pending = unsettled;
    firstRound = false;
    candidates = Math.min(distinct, candidates * WIDEN_FACTOR);
  }
  return { ids, scores };
}

/**
 * One query's answer from its candidates (group first rows, best bound first): their float64 scores in that order,
 * each group's rows in id order, the best `take` kept (ties to the lower id) and written to ids/scores at `out`.
 * Settled when the next candidate's bound, which bounds every row not yet scored, lies below the take-th score (or,
 * the candidates scored, the last one's bound; or every distinct row was a candidate). A candidate whose float64 score
 * exceeds its own bound means the kernel broke the bound: an error naming it.
 */
function settle(
  vectors: Float32Array,
  dim: number,
  q: number,
  scale: number,
  offset: number,
  products: Products,
  equal: EqualRows,
  bestS: Float32Array,
  bestI: Int32Array,
  at: number,
  count: number,
  all: boolean,
  take: number,
  ids: Int32Array,
  scores: Float64Array,
  out: number,
): boolean {
  let kept = 0;
  const write = (): true => {
    for (let t = 0; t < kept; t++) {
      ids[out + t] = topIds[t]!;
      scores[out + t] = topScores[t]!;
    }
    return true;
  };
  const topIds = ids.subarray(out, out + take);
  const topScores = scores.subarray(out, out + take);
  let last = Infinity;
  for (let t = 0; t < count; t++) {
    const g = bestI[at + t]!;
    if (g < 0) break;
    const bound = scale * bestS[at + t]! + offset;
    if (kept === take && bound + 1e-12 * Math.abs(bound) < topScores[take - 1]!) return write();
    last = bound;
    const s = dot64(vectors, dim, q, g);
    if (s > bound + 1e-12 * Math.abs(bound)) {
      throw new Error(`${products} scan: row ${g} scores ${s} against query row ${q}, above its bound ${bound} (onnxruntime ${ORT_VERSION})`);
    }
    // A group's rows share its score, in id order; at most `take` of them can be in the answer.
    let member = g;
    for (let c = 0; c < take && member >= 0; c++, member = equal.next[member]!) {
      if (kept === take && (s < topScores[take - 1]! || (s === topScores[take - 1]! && member > topIds[take - 1]!))) break;
      let j = kept < take ? kept++ : take - 1;
      while (j > 0 && (s > topScores[j - 1]! || (s === topScores[j - 1]! && member < topIds[j - 1]!))) {
        topScores[j] = topScores[j - 1]!;
        topIds[j] = topIds[j - 1]!;
        j--;
      }
      topScores[j] = s;
      topIds[j] = member;
    }
  }
  // Every candidate scored: rows outside them score at most the last one's bound.
  if (all || (kept === take && last + 1e-12 * Math.abs(last) < topScores[take - 1]!)) return write();
  // The candidates ran out: a row outside them may still come between (ids/scores at `out` are left as they were
  // written here, and written again when the query is asked with more).
  topIds.fill(-1);
  topScores.fill(-Infinity);
  return false;
}

/** The first `k` ids of candidates ids[at, at + take) other than `self` into out[i·k, i·k + k) (−1 past them). */
function othersInto(out: Int32Array, i: number, k: number, self: number, ids: Int32Array, at: number, take: number): void {
  let got = 0;
  for (let t = 0; t < take && got < k; t++) {
    const j = ids[at + t]!;
    if (j >= 0 && j !== self) out[i * k + got++] = j;
  }
}

/** Every row id 0..n-1. */
const everyRow = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/**
 * The `k` nearest other rows of each query row (default: every row) of the n × dim matrix by inner product (cosine
 * for the unit-length vectors every embedder writes), nearest first: queries × k ids, −1 past the n − 1 others of a
 * tiny set. Exact in float64 (`dot64`), ties to the lower id; a row's own id is skipped, and where equal vectors tie
 * with it, the first k others are taken. The certified int8 scan above: queries · n · dim int8 multiply-adds (every
 * row of 100k × 384: about 4·10¹²). `onProgress` hears after each block of queries.
 */
export async function nearestOtherRows(
  vectors: Float32Array,
  n: number,
  dim: number,
  k: number,
  onProgress: (done: number, total: number) => void = () => {},
  queries?: ArrayLike<number>,
  threads = availableParallelism(),
  rowBlock = INT8_SCAN_ROW_BLOCK,
  products = defaultProducts(),
): Promise<Int32Array> {
  const rows = queries ?? everyRow(n);
  const out = new Int32Array(rows.length * k).fill(-1);
  const take = Math.min(k + 1, n);
  if (take <= 1) return out;
  const { ids } = await certifiedTopK(vectors, n, dim, take, rows, { equal: equalRowsOf(vectors, n, dim), threads, onProgress, rowBlock, products });
  for (let i = 0; i < rows.length; i++) othersInto(out, i, k, rows[i]!, ids, i * take, take);
  return out;
}

/**
 * One scan for both answers a categorise pass needs of its wrong rows: each query's `k` nearest other rows, exactly
 * as `nearestOtherRows` gives them, and its top-1 (the nearest other row and its float64 score; what `exactTop1Gemm`
 * and `exactNearest` give).
 */
export async function nearestOtherRowsWithTop1(
  vectors: Float32Array,
  n: number,
  dim: number,
  k: number,
  queries: ArrayLike<number>,
  threads = availableParallelism(),
  onProgress: (done: number, total: number) => void = () => {},
  rowBlock = INT8_SCAN_ROW_BLOCK,
  /** The rows' equal-vector groups, where the caller keeps them across calls (else `equalRowsOf`). */
  equal?: () => EqualRows,
): Promise<{ nearest: Neighbour[]; k: Int32Array }> {
  const out = new Int32Array(queries.length * k).fill(-1);
  const nearest: Neighbour[] = Array.from({ length: queries.length }, () => NO_NEIGHBOUR);
  const take = Math.min(Math.max(k + 1, 2), n);
  if (take <= 1) return { nearest, k: out };
  const groups = equal ? equal() : equalRowsOf(vectors, n, dim);
  const { ids, scores } = await certifiedTopK(vectors, n, dim, take, queries, { equal: groups, threads, onProgress, rowBlock });
  for (let i = 0; i < queries.length; i++) {
    const at = i * take;
    othersInto(out, i, k, queries[i]!, ids, at, take);
    for (let t = 0; t < take; t++) {
      const j = ids[at + t]!;
      if (j >= 0 && j !== queries[i]) {
        nearest[i] = { id: j, score: scores[at + t]! };
        break;
      }
    }
  }
  return { nearest, k: out };
}
