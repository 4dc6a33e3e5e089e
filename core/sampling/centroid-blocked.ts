// The centroid rule of greedy sampling with blocked products: the oracle's rows in the oracle's order, with every
// row's score tracked through float32 matrix products and the oracle's exact score taken only where the products'
// certified error cannot tell rows apart.
//
// Write the oracle's score times k as f_k(i) = k·|x_i|² - 2·x_i·S_k (S_k: float64 sum of the k selected rows); the
// oracle picks the largest f_k/k. Each pick q adds |x_i|² - 2·x_i·x_q to every f(i). So the sampler keeps an estimate
// of f for every row, re-anchored at each block start from one product with S, and adds the increments from
// products of all rows with *candidate* picks computed ahead: at a block start the likely next picks — the greedy
// rule run ahead on the rows with the highest f alone — that have no column yet are multiplied with all rows in
// one float32 matrix product (a column stays while its row ranks high); a pick outside the candidates starts a new
// block. Each step, only the rows whose estimate is within twice the certified error of the largest get the
// oracle's exact score (dot64 with S_k, same function and bits); the best of those is the oracle's pick. Work: about N × count × d multiply-adds at
// matrix-product speed (plus the candidates never picked), one pass over N per step (adding the pick's column and
// collecting the rows near the top together), and a handful of exact scores per step.
//
// With `compact` (the caller's rows are scratch) the live rows are moved to the front of the matrix, in order, whenever
// an eighth of those in use have been picked: the products, passes and anchors then cover the unpicked rows only
// (at ratio 0.5 about a quarter less work). Positions change, row ids do not: ties still go to the lowest id, since
// the live rows keep their relative order.
import { estimateSpace } from '../kernels/simd.js';
import { RowHeap } from './heap.js';
import { addRow, centroidScore, dot64, DOT_BATCH, type Kernels, type Products } from './kernels.js';
import type { GreedySampleStats } from './options.js';

const F32_UNIT_ROUNDOFF = 2 ** -24;
/**
 * Relative slack on the error bound (against k·n_max + 2·l_max·|S|): covers the rounding of the exact scores, of the
 * float64 sums S and of the estimates' own additions, each far below 1e-12 of that here.
 */
const BOUND_SLACK = 1e-9;
/**
 * The anchor multiplies every row with S − k·c0 in float32, c0 a reference centroid whose products x·c0 are kept in
 * float64: its error bound then scales with |S − k·c0| instead of |S| (the centroid moves little between blocks),
 * so far fewer rows need an exact score. c0 is moved to the current centroid when |S − k·c0| exceeds this share
 * of |S| (one float64 pass over the matrix). The exact scores it saves are few next to the pass: real-text rows at
 * 100k × 384 took 207 moves and 12.8M exact scores at a share of 0.4, 23 moves and 13.6M at 1 (3 CPU s less).
 */
const REFERENCE_DRIFT = 1;
/**
 * A candidate's column stays in its slot while its row ranks among the KEEP_RANKS·m highest estimates (new
 * candidates fill the slots that picks and rows falling below free, highest first): a row that drops a few ranks
 * after a similar pick is often picked a little later, and recomputing its column costs as much as the first time.
 * Real-text rows at 30k × 384: keeping only the top m computed 25.6k columns for 14.9k picks, the top 4m 17.0k
 * (8m: 16.1k, with more misses).
 */
const KEEP_RANKS = 4;
/**
 * The next picks are predicted among the 2·√N highest estimates (predictPicks): the pool's own products then cost
 * about four columns, whatever N. Real-text rows, one thread: a fixed pool of 1,024 helped at 100k × 384 (whole
 * sample 98.0 → 86.1 s) but cost more than it saved at 20k–42k (20k × 384: 4.63 → 6.0 s); 2·√N: 20k 4.1 s, 30k
 * 9.2 s, 100k 78.0 s; 4·√N: 20k 4.2 s, 30k 9.8 s.
 */
const PREDICT_POOL_SCALE = 2;
/**
 * Fewest new candidate columns a block computes; otherwise about twice the picks recent blocks made from their
 * candidates (a running mean), up to m. Early in a run on real text a block makes a handful of picks before one
 * falls outside its candidates, and the other columns were computed for nothing. 300k × 384 real text, first
 * 5,200 picks, two threads: always up to m 63,886 columns, 152.7 s; at least 32 20,314 / 92.9 s; 16 11,564 /
 * 80.7 s; 8 10,017 / 81.1 s (about 680 blocks each: each reads the whole matrix, which now costs more than the
 * columns).
 */
const NEW_COLUMNS_MIN = 16;
/**
 * Candidate picks multiplied ahead per block: dim/2 (the columns then take at most half the matrix's memory),
 * between 64 (products at full speed) and 256 (more rarely pays: half of them go unpicked). Measured on real-text
 * rows at 10k × 384 (bench/sampling-real-text.ts): 64 candidates 2.96 s CPU, 192 2.32 s, 256 1.96 s.
 */
const CANDIDATES_MIN = 64;
const CANDIDATES_MAX = 256;
/**
 * A block ends once this fraction of its candidates has been picked (the rest are ever less likely to be), or at the
 * first pick from outside them.
 */
const BLOCK_USE_FRACTION = 0.5;
/**
 * With compaction allowed, the rows in use are compacted once this share of them has been picked (each compaction
 * moves every live row and column once: about 1/COMPACT_EVERY of a block's pass over the matrix per pick made).
 */
const COMPACT_EVERY = 8;
/**
 * Rows per product call (bounds the temporary output: (candidates + 1) × ROW_CHUNK floats, held by onnxruntime's
 * memory arena until V8 collects the array). Real-text rows at 100k × 384, two threads, growth of the peak RSS
 * over the matrix: 32,768 rows 215–221 MB, 8,192 174–181 MB, 4,096 164 MB (the columns are 77 MB of it); CPU the
 * same within the machine's noise at 100k and at 20k (same process, alternating).
 */
const ROW_CHUNK = 8_192;
// Selections between two onProgress calls.
const PROGRESS_EVERY = 1024;

/**
 * Continues a centroid greedy sample whose first `selected` rows (≥ 1) are out[0 .. selected), their float64 sum
 * in kernels.sum, up to out.length rows, identical to the oracle's. With `compact`, `vectors` (kernels.vectors)
 * and `norms` may be reordered in place: their contents are scratch afterwards.
 */
export async function centroidBlocked(
  vectors: Float32Array,
  n: number,
  dim: number,
  out: Uint32Array,
  selected: number,
  rowNorms: Float64Array,
  products: Products,
  kernels: Kernels,
  stats: GreedySampleStats,
  onProgress: ((selected: number, order: Uint32Array) => void) | undefined,
  compact = false,
): Promise<Uint32Array> {
  const count = out.length;
  if (selected >= count) return out;
  const m = Math.min(n - 1, Math.max(CANDIDATES_MIN, Math.min(CANDIDATES_MAX, dim >> 1)));
  // With the SIMD kernels, the per-row state lives in kernel memory and the pass over every row per pick is a
  // kernel (20k × 384 real text: that pass 0.7 → 0.13 s); the norms are copied in (compaction reorders the copy).
  const space = kernels.simd ? estimateSpace(n, m + 1) : null;
  let norms = rowNorms;
  if (space !== null) {
    space.norms.set(rowNorms.subarray(0, n));
    norms = space.norms;
  }

  let nmax = 0;
  for (let i = 0; i < n; i++) nmax = Math.max(nmax, norms[i]!);
  // sqrt of a computed sum of squares is within (d+2)·2^-53 relative of the true norm; 1e-9 covers it.
  const lmax = Math.sqrt(nmax) * (1 + 1e-9);
  // Error of one float32 product per unit of |x|·|y| (any summation order; d + 2 roundings), plus the rounding of
  // the float64 sum S to float32 (anchor) and of the result.
  const gamma = (2 * (dim + 2) + 2) * F32_UNIT_ROUNDOFF;

  const sum = kernels.sum;
  let k = selected;
  // Every per-row array below is indexed by a row's position in `vectors`: its id until the first compaction;
  // ids[p] is the id of the row at position p, and positions [0, live) are the rows in use.
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  let live = n;
  // Estimates of f_k; -Infinity once selected.
  const f = space?.f ?? new Float64Array(n);
  for (let t = 0; t < k; t++) f[out[t]!] = -Infinity;

  // A candidate's column x_i·x_c (all rows i) does not change as rows are picked, so it stays in its slot
  // across blocks until the candidate is picked or leaves the top KEEP_RANKS·m: a block computes only its new
  // candidates.
  const slotRow = new Int32Array(m).fill(-1);
  const keepCount = Math.min(n, KEEP_RANKS * m);
  const poolSize = Math.min(n, Math.ceil(PREDICT_POOL_SCALE * Math.sqrt(n)));
  const topCount = Math.min(n, Math.max(keepCount, poolSize));
  const ranked = new Int32Array(topCount);
  // predictPicks' scratch: the pool's estimates run ahead, which pool rows it has picked, the predicted order.
  const ahead = new Float64Array(topCount);
  const taken = new Uint8Array(topCount);
  const order = new Int32Array(topCount);
  const poolRows = new Float32Array(poolSize * dim);
  const poolNorms = new Float64Array(poolSize);
  const lacks = new Uint8Array(poolSize);
  const columnOf = new Int32Array(n).fill(-1);
  const wanted = new Uint8Array(n);
  // Column-major products: slot j's column (rows 0..n-1) at j·n; slot m is the anchor x·S.
  const columns = space?.columns ?? new Float32Array((m + 1) * n);
  const gathered = new Float32Array((m + 1) * dim);
  const gatheredSlots = new Int32Array(m + 1);
  // The reference centroid c0 and p0[i] = x_i·c0 in float64 (dot64); refs counts its moves.
  const c0 = new Float64Array(dim);
  const sumSaved = new Float64Array(dim);
  const p0 = new Float64Array(n);
  let c0Norm = 0;
  let refs = 0;
  const diff = new Float64Array(dim);
  // The last pick's row (compaction may move it before predictPicks reads it).
  const lastRow = new Float32Array(dim);
  let compactions = 0;
  let candidates = 0;
  let used = 0;
  let misses = 0;
  let blocks = 0;
  /** Running mean of the picks a block made from its candidates. */
  let usedAvg = 0;
  let anchorError = 0;
  let blockError = 0;
  let evaluations = 0;
  // Columns multiplied (candidates and anchors), against count − selected picks: the products' overhead.
  let computed = 0;

  /** a (rows × dim, gathered) times every row, into column-major `into`: row j of a into column slots[j]. */
  const multiplyAll = async (a: Float32Array, rows: number, into: Float32Array, slots: Int32Array): Promise<void> => {
    for (let s = 0; s < live; s += ROW_CHUNK) {
      const e = Math.min(live, s + ROW_CHUNK);
      const p = await products(a, rows, vectors.subarray(s * dim, e * dim), e - s, dim);
      for (let j = 0; j < rows; j++) into.set(p.subarray(j * (e - s), (j + 1) * (e - s)), slots[j]! * n + s);
    }
  };

  /**
   * Orders the `pool` highest estimates (ranked[0 .. pool)) by when the greedy rule would pick them if only they
   * were left, until `limit` rows without a column are ordered (the next block computes no more), then the rest by
   * estimate. `stale`: the estimates lack the last pick's increments (they come with the re-anchor), so the pool
   * gets them first; then the rule runs ahead on the pool alone, from float32 products of its rows. On real text
   * the picks reshuffle the top ranks at every step, so the rows with the highest estimates are poor guesses of
   * the next picks; this order only decides which columns are computed, never which row is picked. (Taking a
   * pick's increments from its column where it has one instead of from these products read scattered rows and
   * cost more than the products it saved: 20k × 384 real text, 3.31 against 3.13 CPU s.)
   */
  const predictPicks = async (pool: number, stale: boolean, limit: number): Promise<void> => {
    for (let t = 0; t < pool; t++) {
      const r = ranked[t]!;
      poolRows.set(vectors.subarray(r * dim, r * dim + dim), t * dim);
      poolNorms[t] = norms[r]!;
      ahead[t] = f[r]!;
      lacks[t] = columnOf[r]! < 0 ? 1 : 0;
    }
    const rows = poolRows.subarray(0, pool * dim);
    const gram = await products(rows, pool, rows, pool, dim);
    if (stale) {
      for (let t = 0; t < pool; t++) {
        const o = t * dim;
        let dq = 0;
        for (let j = 0; j < dim; j++) dq += poolRows[o + j]! * lastRow[j]!;
        ahead[t] = ahead[t]! + poolNorms[t]! - 2 * dq;
      }
    }
    aheadOrder(pool, Math.min(pool, m), limit, ranked, ahead, poolNorms, lacks, gram, taken, order);
    ranked.set(order.subarray(0, pool));
  };

  /**
   * Moves the unpicked rows to the front, in order: the matrix rows, their estimates, norms, reference products,
   * ids and candidate columns. Slots keep their columns (and their rows' new positions).
   */
  const compactRows = (): void => {
    compactions++;
    // wanted[] (all zero between blocks) marks the rows that stay while the columns are moved.
    for (let p = 0; p < live; p++) wanted[p] = f[p] === -Infinity ? 0 : 1;
    for (let slot = 0; slot < m; slot++) {
      if (slotRow[slot]! < 0) continue;
      const base = slot * n;
      let w = 0;
      for (let p = 0; p < live; p++) if (wanted[p] === 1) columns[base + w++] = columns[base + p]!;
    }
    let w = 0;
    for (let p = 0; p < live; p++) {
      if (wanted[p] === 0) continue;
      wanted[p] = 0;
      if (w !== p) {
        vectors.copyWithin(w * dim, p * dim, p * dim + dim);
        f[w] = f[p]!;
        norms[w] = norms[p]!;
        p0[w] = p0[p]!;
        ids[w] = ids[p]!;
        const c = columnOf[p]!;
        columnOf[w] = c;
        if (c >= 0) slotRow[c] = w;
      }
      w++;
    }
    live = w;
  };

  /**
   * Makes the predicted next picks the candidates (keeping the columns of rows that still rank high), multiplies
   * the new ones and S with every row, re-anchors f. `stale`: f lacks the last pick's increments.
   */
  const startBlock = async (stale: boolean): Promise<void> => {
    if (blocks > 0) usedAvg = 0.5 * usedAvg + 0.5 * used;
    blocks++;
    if (stale) lastRow.set(vectors.subarray(lastPick * dim, lastPick * dim + dim));
    if (compact && (live - (n - k)) * COMPACT_EVERY >= live) compactRows();
    // The topCount highest estimates (the kept ranks and the prediction pool).
    let ranks = highest(f, live, topCount, ranked);
    // New columns: about twice what recent blocks used, at least NEW_COLUMNS_MIN (all m once blocks run long).
    const limit = Math.min(m, Math.max(NEW_COLUMNS_MIN, Math.ceil(2 * usedAvg)));
    if (ranks > 1) {
      await predictPicks(Math.min(ranks, poolSize), stale, limit);
      ranks = Math.min(ranks, keepCount);
    }
    for (let t = 0; t < ranks; t++) wanted[ranked[t]!] = 1;
    // Columns of rows that left the kept ranks free their slots; the others stay.
    for (let slot = 0; slot < m; slot++) {
      const r = slotRow[slot]!;
      if (r >= 0 && wanted[r] === 0) {
        columnOf[r] = -1;
        slotRow[slot] = -1;
      }
    }
    let g = 0;
    let free = 0;
    for (let t = 0; t < ranks; t++) {
      const r = ranked[t]!;
      wanted[r] = 0;
      if (columnOf[r]! >= 0 || free === m || g >= limit) continue;
      while (free < m && slotRow[free]! >= 0) free++;
      if (free === m) continue;
      slotRow[free] = r;
      columnOf[r] = free;
      gathered.set(vectors.subarray(r * dim, r * dim + dim), g * dim);
      gatheredSlots[g++] = free;
    }
    candidates = 0;
    for (let slot = 0; slot < m; slot++) if (slotRow[slot]! >= 0) candidates++;
    // x·S = k·(x·c0) + x·(S − k·c0): the second term from the float32 product, the first kept in float64.
    let s2 = 0;
    let d2 = 0;
    for (let j = 0; j < dim; j++) {
      diff[j] = sum[j]! - k * c0[j]!;
      s2 += sum[j]! * sum[j]!;
      d2 += diff[j]! * diff[j]!;
    }
    if (refs === 0 || d2 > REFERENCE_DRIFT * REFERENCE_DRIFT * s2) {
      refs++;
      c0Norm = 0;
      for (let j = 0; j < dim; j++) {
        c0[j] = sum[j]! / k;
        c0Norm += c0[j]! * c0[j]!;
      }
      c0Norm = Math.sqrt(c0Norm);
      dotAll(kernels, c0, p0, live, dim, sumSaved);
      d2 = 0;
      for (let j = 0; j < dim; j++) {
        diff[j] = sum[j]! - k * c0[j]!;
        d2 += diff[j]! * diff[j]!;
      }
    }
    for (let j = 0; j < dim; j++) gathered[g * dim + j] = diff[j]!;
    gatheredSlots[g++] = m;
    await multiplyAll(gathered.subarray(0, g * dim), g, columns, gatheredSlots);
    computed += g;
    const anchor = columns.subarray(m * n, m * n + n);
    for (let i = 0; i < live; i++) if (f[i] !== -Infinity) f[i] = k * norms[i]! - 2 * (k * p0[i]! + anchor[i]!);
    // The float32 product with S − k·c0 (gamma covers rounding it to float32), and 2k times dot64's error on x·c0:
    // |fl(x·c0) − x·c0| ≤ d·2^-53/(1 − d·2^-53)·|x|·|c0|.
    const p0Error = ((dim * 2 ** -53) / (1 - dim * 2 ** -53)) * lmax * c0Norm;
    anchorError = (2 * lmax * gamma * Math.sqrt(d2) + 2 * k * p0Error) * (1 + 1e-9);
    blockError = 0;
    used = 0;
  };

  // Rows within the error of the best estimate, collected by the pass that updates the estimates.
  const near = space?.near ?? new Int32Array(n);
  let nearCount = 0;
  /**
   * Collects the rows whose estimate is within `width` of the largest; with slot ≥ 0, first adds that slot's pick's
   * increments to every estimate, in the same pass.
   */
  const collect = (width: number, slot: number): void => {
    if (slot < 0) nearCount = collectNear(f, live, width, near);
    else if (space !== null) nearCount = space.addAndCollect(slot, live, width);
    else nearCount = addAndCollect(f, norms, columns.subarray(slot * n, slot * n + live), live, width, near);
  };

  let best = -Infinity;
  let bestRow = -1;
  // Position of the last pick.
  let lastPick = -1;
  const record = (r: number, dot: number): void => {
    const s = centroidScore(norms[r]!, dot, k);
    if (s > best || (s === best && r < bestRow)) {
      best = s;
      bestRow = r;
    }
  };
  const batch = new Int32Array(DOT_BATCH);
  let batchSize = 0;
  const flush = (): void => {
    if (batchSize >= 2) {
      // Two or three rows still go through the four-row kernel, padded with the last one.
      const last = batch[batchSize - 1]! * dim;
      kernels.dot4(batch[0]! * dim, batch[1]! * dim, batchSize > 2 ? batch[2]! * dim : last, batchSize > 3 ? batch[3]! * dim : last);
      for (let t = 0; t < batchSize; t++) record(batch[t]!, kernels.out[t]!);
    } else if (batchSize === 1) {
      record(batch[0]!, dot64(vectors, batch[0]! * dim, sum, dim));
    }
    batchSize = 0;
  };

  // First estimates from S alone, so that the first block's candidates are real ones.
  {
    const xs = new Float32Array(n);
    await multiplyAll(Float32Array.from(sum), 1, xs, Int32Array.of(0));
    for (let i = 0; i < n; i++) if (f[i] !== -Infinity) f[i] = k * norms[i]! - 2 * xs[i]!;
  }
  await startBlock(false);
  // The slot whose pick's increments the next collect adds (-1: the estimates are up to date).
  let pending = -1;
  for (;;) {
    // Any row whose true f is the largest has an estimate within 2·error of the largest estimate.
    const slack = BOUND_SLACK * (k * nmax + 2 * lmax * k * lmax + 1);
    collect(2 * (anchorError + blockError) + slack, pending);
    pending = -1;
    best = -Infinity;
    bestRow = -1;
    for (let t = 0; t < nearCount; t++) {
      batch[batchSize++] = near[t]!;
      if (batchSize === DOT_BATCH) flush();
    }
    flush();
    evaluations += nearCount;
    const q = bestRow;
    out[k] = ids[q]!;
    f[q] = -Infinity;
    lastPick = q;
    if (k + 1 === count) break;

    // Every row's estimate takes the pick's increment |x_i|² - 2·x_i·x_q, from q's column if it has one.
    const j = columnOf[q]!;
    addRow(sum, vectors, q * dim, dim);
    k++;
    if (onProgress !== undefined && k % PROGRESS_EVERY === 0) onProgress(k, out);
    if (j < 0) {
      // A pick outside the candidates: a new block re-anchors every estimate on S, which now holds q, in the one
      // pass over the matrix that q's own column would have cost, and refreshes the candidates (chosen from
      // estimates one pick stale: that only decides which columns are computed, never which row is picked).
      misses++;
      await startBlock(true);
      continue;
    }
    used++;
    // A picked row's slot is free for the next block's candidates (its column stays readable until then).
    slotRow[j] = -1;
    columnOf[q] = -1;
    blockError += 2 * lmax * gamma * Math.sqrt(norms[q]!) * (1 + 1e-9);
    // Every estimate takes q's increments in the next collect's pass, unless a new block re-anchors them first
    // (its candidates are then chosen from estimates one pick stale, as after a miss).
    if (used >= BLOCK_USE_FRACTION * candidates) await startBlock(true);
    else pending = j;
  }
  stats.exactEvaluations += evaluations;
  stats.groups += blocks;
  stats.productColumns = (stats.productColumns ?? 0) + computed;
  stats.referenceMoves = (stats.referenceMoves ?? 0) + refs;
  stats.candidateMisses = (stats.candidateMisses ?? 0) + misses;
  stats.compactions = (stats.compactions ?? 0) + compactions;
  return out;
}

/**
 * The rows of the `count` highest estimates among rows [0, rows) (−Infinity: picked, skipped), highest first, into
 * ranked[0 ..); returns how many. (A module function, for the reason addAndCollect gives.)
 */
function highest(f: Float64Array, rows: number, count: number, ranked: Int32Array): number {
  if (count <= 0) return 0;
  // A min-heap of the highest so far (keys negated), popped into ranked[] from the lowest.
  const top = new RowHeap(count);
  let i = 0;
  for (; i < rows && top.size < count; i++) if (f[i] !== -Infinity) top.push(i, -f[i]!);
  // Only an estimate above the lowest kept one enters.
  let bar = top.size === count ? -top.topKey() : Infinity;
  for (; i < rows; i++) {
    const v = f[i]!;
    if (v > bar) {
      top.replaceTop(i, -v);
      bar = -top.topKey();
    }
  }
  const size = top.size;
  for (let t = size - 1; t >= 0; t--) ranked[t] = top.pop();
  return size;
}

/**
 * out[i] = dot64(row i, y) for rows [0, rows), by the kernels' four-row dot products (the same bits): y takes the
 * place of the kernels' sum meanwhile, which is kept in `saved` and put back.
 */
function dotAll(kernels: Kernels, y: Float64Array, out: Float64Array, rows: number, dim: number, saved: Float64Array): void {
  const { sum, vectors } = kernels;
  saved.set(sum);
  sum.set(y);
  let i = 0;
  for (; i + DOT_BATCH <= rows; i += DOT_BATCH) {
    kernels.dot4(i * dim, (i + 1) * dim, (i + 2) * dim, (i + 3) * dim);
    for (let q = 0; q < DOT_BATCH; q++) out[i + q] = kernels.out[q]!;
  }
  for (; i < rows; i++) out[i] = dot64(vectors, i * dim, y, dim);
  sum.set(saved);
}

/**
 * predictPicks' run ahead, over typed-array parameters (as addAndCollect, for the same reason): the greedy rule on
 * the pool alone (entry t: row ranked[t], estimate ahead[t], squared norm norms[t], lacks[t] = 1 without a column;
 * gram: the pool's products with itself) until `predicted` picks or `limit` picks without a column, then the
 * unpicked entries in pool order; into order[0 .. pool).
 */
function aheadOrder(
  pool: number,
  predicted: number,
  limit: number,
  ranked: Int32Array,
  ahead: Float64Array,
  norms: Float64Array,
  lacks: Uint8Array,
  gram: Float32Array,
  taken: Uint8Array,
  order: Int32Array,
): void {
  taken.fill(0, 0, pool);
  let w = 0;
  let without = 0;
  while (w < predicted && without < limit) {
    let b = -1;
    let top = -Infinity;
    for (let t = 0; t < pool; t++) {
      if (taken[t] === 0 && (b < 0 || ahead[t]! > top)) {
        b = t;
        top = ahead[t]!;
      }
    }
    taken[b] = 1;
    order[w++] = ranked[b]!;
    without += lacks[b]!;
    const g = b * pool;
    for (let t = 0; t < pool; t++) ahead[t] = ahead[t]! + norms[t]! - 2 * gram[g + t]!;
  }
  for (let t = 0; t < pool; t++) if (taken[t] === 0) order[w++] = ranked[t]!;
}

/**
 * f[i] += norms[i] − 2·column[i] for every row i < rows, and the rows whose new estimate is within `width` of the
 * largest into near[0 ..), in row order; returns how many. (A module function over typed-array parameters: as a
 * closure over the sampler's variables the same loop took 13.5 s instead of 10.1 s of a 100k × 384 real-text sample.)
 */
export function addAndCollect(f: Float64Array, norms: Float64Array, column: Float32Array, rows: number, width: number, near: Int32Array): number {
  let fmax = -Infinity;
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const v = f[i]! + (norms[i]! - 2 * column[i]!);
    f[i] = v;
    if (v < fmax - width) continue;
    if (v > fmax) fmax = v;
    near[count++] = i;
  }
  return keepWithin(f, fmax - width, near, count);
}

/** addAndCollect without increments: the rows whose estimate is within `width` of the largest. */
function collectNear(f: Float64Array, rows: number, width: number, near: Int32Array): number {
  let fmax = -Infinity;
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const v = f[i]!;
    if (v < fmax - width) continue;
    if (v > fmax) fmax = v;
    near[count++] = i;
  }
  return keepWithin(f, fmax - width, near, count);
}

/** Keeps the listed rows whose estimate is at least `low` (the list was gathered while the largest still rose). */
function keepWithin(f: Float64Array, low: number, near: Int32Array, count: number): number {
  let w = 0;
  for (let t = 0; t < count; t++) if (f[near[t]!]! >= low) near[w++] = near[t]!;
  return w;
}
