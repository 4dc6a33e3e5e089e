// The centroid rule of greedy sampling by bounds: the oracle's rows in the oracle's order, with most rows never
// rescored where the centroid's moves keep the bounds tight (clustered data); where they do not (real text, whose
// distances concentrate) it hands the run over to the blocked products of ./centroid-blocked.ts.
import { RowHeap } from './heap.js';
import { addRow, centroidScore, dot64, DOT_BATCH, type Kernels } from './kernels.js';
import { EPS, type GreedySampleStats } from './options.js';

// Absolute slack (in score units, scaled by the data's norms) added to every
// centroid bound: it covers rounding of the scores, of the centroid distances
// and of the running path length, each well below 1e-12 for unit rows.
const CENTROID_SLACK_BASE = 1e-10;

// Hand-over to the blocked products: checked every HANDOFF_WINDOW steps from HANDOFF_MIN_STEPS on; the bounds lose
// once a window scores more than HANDOFF_FRACTION of the remaining rows per step: a blocked step costs about 2·n·dim float32 multiply-adds at product speed (~16 G/s per
// core here, bench/sampling-real-text.ts) plus two passes over n, against about n·dim/12 float64 ones and as many
// heap operations for the scores. Measured at 20k × 384, steps 2048–9216: bench/sampling.ts's clustered Gaussian
// rows score 0.8–1.1% of the remaining rows per step, hashed real text 2.3–6.6%. On real text the first 1,024 steps
// scored two thirds of the rows each, 20.6M float64 scores at 30k × 384 (more than the blocked products spend on the
// whole rest), 3.8M when handing over at step 128.
//
// The first steps score most rows on any data (the centroid still moves far at each pick), so the regular rule
// starts at step 128, and one early check at step EARLY_STEP hands over only if the EARLY_WINDOW steps before it
// still scored more than EARLY_FRACTION of the rows each. Per 16 steps, the share of the rows scored: hashed real
// text at 20k × 384 0.94, 1.00, 1.00, 1.00 (and ≥ 0.7 up to step 400); bench/sampling.ts's clustered Gaussian
// rows at 100k × 768 0.91, 0.63, 0.23, 0.13, then 0.14, 0.09, 0.08 to step 128 and ≤ 0.02 from there. A plain
// 64-step window checked at step 64 (6e65d07) handed that Gaussian set over as well: 136 s instead of 10 s.
// A first check at step FIRST_STEP hands over data that scored more than FIRST_FRACTION of the rows per step in the
// EARLY_WINDOW steps before it (real text: 1.00; that Gaussian set: 0.63): the 32 steps it saves scored every row
// exactly, 0.16 s of a 20k × 384 real-text sample of ~3.5 s.
const HANDOFF_MIN_STEPS = 128;
const HANDOFF_WINDOW = 64;
const HANDOFF_FRACTION = 1 / 12;
const EARLY_STEP = 64;
const EARLY_WINDOW = 16;
const EARLY_FRACTION = 1 / 2;
const FIRST_STEP = 32;
const FIRST_FRACTION = 0.8;

// Two neighbouring centroid epochs merge once their joint span (in steps) is at
// most 1/EPOCH_MERGE_RATIO of their age: the bound lost by re-keying is then
// small next to how far the centroid has moved since, and about
// EPOCH_MERGE_RATIO*ln(count) epochs stay live.
const EPOCH_MERGE_RATIO = 4;

// A step that took at least this fraction of the remaining rows out of the
// heaps is followed by a plain rescan of all rows: popping nearly every row
// costs a heap operation and a random memory access each (early steps, and
// data where the bounds cannot prune).
const DENSE_STEP_FRACTION = 0.5;
// Longest run of rescans (steps) before the heaps are tried again, so data the
// bounds cannot prune costs about what the oracle costs, not more.
const DENSE_MAX_RUN = 64;


// Selections between two onProgress calls.
const PROGRESS_EVERY = 1024;

function distanceToRef(c: Float64Array, ref: Float64Array, dim: number): number {
  let acc = 0;
  for (let j = 0; j < dim; j++) {
    const t = c[j]! - ref[j]!;
    acc += t * t;
  }
  return Math.sqrt(acc);
}

/**
 * Centroid rule, lazily. Rows live in epochs; epoch e has a reference vector
 * ref_e and a max-heap of its rows keyed so that, at any later step t,
 *   score_r(t) <= key_r + 2·nmax·||c_t - ref_e||.
 * A row evaluated exactly at step a enters a fresh epoch with ref = c_a and
 * key = score_r(a) (Cauchy–Schwarz: |x·(c_t - c_a)| <= ||x||·||c_t - c_a||).
 * Old epochs are merged (the smaller heap re-keyed by 2·nmax·||ref_A - ref_B||,
 * the triangle inequality) once their span of steps is small against their
 * age, so few epochs stay live while recently evaluated rows keep tight bounds.
 * Epochs sit in a heap keyed by topKey + 2·nmax·(D_e(t0) - P(t0)), P being the
 * running path length of the centroid: D_e(t) <= D_e(t0) + P(t) - P(t0), so an
 * epoch is skipped without touching its reference while that bound is below
 * the best exact score of the step.
 */
export function centroidFast(
  vectors: Float32Array,
  n: number,
  dim: number,
  count: number,
  first: number,
  norms: Float64Array,
  stats: GreedySampleStats,
  kernels: Kernels,
  onProgress: ((selected: number, order: Uint32Array) => void) | undefined,
): { out: Uint32Array; selected: number } {
  const out = new Uint32Array(count);
  out[0] = first;
  const selected = new Uint8Array(n);
  selected[first] = 1;
  if (count === 1) return { out, selected: 1 };

  let nmax = 0;
  let zeroCount = 0;
  for (let i = 0; i < n; i++) {
    const v = norms[i]!;
    if (v === 0) zeroCount++;
    else if (v > nmax) nmax = v;
  }
  // sqrt of a computed sum of squares is within (d+2)*2^-53 relative of the true norm; 1e-9 covers it.
  nmax = Math.sqrt(nmax) * (1 + 1e-9);
  const n2max = nmax * nmax;
  const twoN = 2 * nmax;
  // All-zero rows score exactly 0 at every step, so only the lowest remaining one can ever win;
  // they stay out of the heaps, where their loose bound would make them look like candidates.
  const zeros = new Int32Array(zeroCount);
  for (let i = 0, z = 0; i < n; i++) if (norms[i] === 0) zeros[z++] = i;
  let zeroPtr = 0;

  const sum = kernels.sum;
  addRow(sum, vectors, first * dim, dim);
  let k = 1;
  let c = new Float64Array(dim);
  let cNext = new Float64Array(dim);
  for (let j = 0; j < dim; j++) c[j] = sum[j]!;
  const slackUnit = CENTROID_SLACK_BASE + 1024 * (dim + 8) * EPS;
  let pathLength = 0;
  let slack = slackUnit * (1 + n2max);

  // Epochs; ids are never reused, a dead epoch has refs[e] === null.
  const refs: (Float64Array | null)[] = [];
  const heaps: (RowHeap | null)[] = [];
  const spanLo: number[] = [];
  const spanHi: number[] = [];
  const epochDist: number[] = [];
  const refPool: Float64Array[] = [];
  let live: number[] = [];
  const epochHeap = new RowHeap(64); // one entry per live epoch; entries of dead epochs are skipped
  const touched: number[] = [];

  const takeRef = (): Float64Array => {
    const r = refPool.pop() ?? new Float64Array(dim);
    r.set(c);
    return r;
  };
  const addEpoch = (ref: Float64Array, heap: RowHeap, lo: number, hi: number, dist: number): number => {
    const e = refs.length;
    refs.push(ref);
    heaps.push(heap);
    spanLo.push(lo);
    spanHi.push(hi);
    epochDist.push(dist);
    epochHeap.push(e, heap.topKey() + twoN * (dist - pathLength));
    return e;
  };
  const killEpoch = (e: number, keepRef: boolean): void => {
    if (!keepRef) refPool.push(refs[e]!);
    refs[e] = null;
    heaps[e] = null;
  };

  // Rows evaluated in the current step: all leave their heaps, all but the winner come back in a new epoch.
  let evIds = new Int32Array(Math.max(16, n));
  let evScores = new Float64Array(Math.max(16, n));
  let evCount = 0;
  let evaluations = 0;
  let windowStart = 0;
  let earlyStart = 0;
  let best = -Infinity;
  let bestRow = -1;

  const record = (r: number, dot: number): void => {
    const s = centroidScore(norms[r]!, dot, k);
    if (evCount === evIds.length) {
      const ids = new Int32Array(evCount * 2);
      ids.set(evIds);
      evIds = ids;
      const sc = new Float64Array(evCount * 2);
      sc.set(evScores);
      evScores = sc;
    }
    evIds[evCount] = r;
    evScores[evCount] = s;
    evCount++;
    if (s > best || (s === best && r < bestRow)) {
      best = s;
      bestRow = r;
    }
  };
  // Exact evaluation of `batchSize` rows in `batch`, four at a time when possible (same sums as dot64).
  const batch = new Int32Array(DOT_BATCH);
  const batchDots = kernels.out;
  const dot4 = kernels.dot4;
  let batchSize = 0;
  const flush = (): void => {
    if (batchSize >= 2) {
      // Two or three rows still go through the four-row kernel, padded with the last one.
      const last = batch[batchSize - 1]! * dim;
      dot4(batch[0]! * dim, batch[1]! * dim, batchSize > 2 ? batch[2]! * dim : last, batchSize > 3 ? batch[3]! * dim : last);
      for (let t = 0; t < batchSize; t++) record(batch[t]!, batchDots[t]!);
    } else if (batchSize === 1) {
      record(batch[0]!, dot64(vectors, batch[0]! * dim, sum, dim));
    }
    batchSize = 0;
  };

  const considerZero = (): void => {
    while (zeroPtr < zeros.length && selected[zeros[zeroPtr]!] === 1) zeroPtr++;
    if (zeroPtr < zeros.length) {
      const z = zeros[zeroPtr]!;
      const s = centroidScore(norms[z]!, dot64(vectors, z * dim, sum, dim), k);
      evaluations++;
      if (s > best || (s === best && z < bestRow)) {
        best = s;
        bestRow = z;
      }
    }
  };

  // Merges epochs a (older) and b (newer) into a new epoch holding the larger heap and its reference.
  const merge = (a: number, b: number): number => {
    const ha = heaps[a]!;
    const hb = heaps[b]!;
    const [big, small, keep, drop] = ha.size >= hb.size ? [ha, hb, a, b] : [hb, ha, b, a];
    const shift = twoN * distanceToRef(refs[keep]!, refs[drop]!, dim) * (1 + 1e-9) + slack;
    for (let t = 0; t < small.size; t++) big.push(small.ids[t]!, small.keys[t]! + shift);
    const ref = refs[keep]!;
    killEpoch(keep, true);
    killEpoch(drop, false);
    return addEpoch(ref, big, spanLo[a]!, spanHi[b]!, distanceToRef(c, ref, dim));
  };

  // Step with k = 1: every row is evaluated once, against c = the first row.
  for (let i = 0; i < n; i++) {
    if (selected[i] === 1 || norms[i] === 0) continue;
    batch[batchSize++] = i;
    if (batchSize === DOT_BATCH) flush();
  }
  flush();
  considerZero();
  // Rows taken out of the heaps in the last step (all of them in step 1), and the rescan schedule.
  let popped = evCount;
  let lastWasHeapStep = true;
  let denseLeft = 0;
  let denseRun = 1;

  for (;;) {
    // `bestRow` wins the step with k selected rows.
    out[k] = bestRow;
    selected[bestRow] = 1;
    evaluations += evCount;
    for (const e of touched) {
      const h = heaps[e]!;
      if (h.size > 0) epochHeap.push(e, h.topKey() + twoN * (epochDist[e]! - pathLength));
      else killEpoch(e, false);
    }
    touched.length = 0;
    let fresh = 0;
    for (let t = 0; t < evCount; t++) if (evIds[t] !== bestRow) fresh++;
    if (fresh > 0) {
      const heap = new RowHeap(fresh);
      let w = 0;
      for (let t = 0; t < evCount; t++) {
        const r = evIds[t]!;
        if (r === bestRow) continue;
        heap.ids[w] = r;
        heap.keys[w] = evScores[t]!;
        w++;
      }
      heap.heapify(w);
      live.push(addEpoch(takeRef(), heap, k, k, 0));
    }
    evCount = 0;
    if (k + 1 === count) break;

    // Merge neighbouring epochs whose joint span is short against their age.
    {
      const kept: number[] = [];
      for (const e of live) {
        if (refs[e] === null) continue;
        let cur = e;
        while (kept.length > 0) {
          const prev = kept[kept.length - 1]!;
          if ((spanHi[cur]! - spanLo[prev]! + 1) * EPOCH_MERGE_RATIO > k - spanHi[cur]!) break;
          kept.pop();
          cur = merge(prev, cur);
        }
        kept.push(cur);
      }
      live = kept;
    }

    // Move the centroid: S += x, k += 1, and extend the path length by the move (rounded up).
    addRow(sum, vectors, bestRow * dim, dim);
    k++;
    if (onProgress !== undefined && k % PROGRESS_EVERY === 0) onProgress(k, out);
    if (k === EARLY_STEP - EARLY_WINDOW || k === FIRST_STEP - EARLY_WINDOW) earlyStart = evaluations;
    const early =
      (k === FIRST_STEP && evaluations - earlyStart > EARLY_WINDOW * FIRST_FRACTION * (n - k)) ||
      (k === EARLY_STEP && evaluations - earlyStart > EARLY_WINDOW * EARLY_FRACTION * (n - k));
    if (early || (k % HANDOFF_WINDOW === 0 && k >= HANDOFF_MIN_STEPS && evaluations - windowStart > HANDOFF_WINDOW * HANDOFF_FRACTION * (n - k))) {
      stats.exactEvaluations += evaluations;
      stats.groups += refs.length;
      return { out, selected: k };
    }
    if (k % HANDOFF_WINDOW === 0) windowStart = evaluations;
    let move2 = 0;
    for (let j = 0; j < dim; j++) {
      const v = sum[j]! / k;
      cNext[j] = v;
      const t = v - c[j]!;
      move2 += t * t;
    }
    const move = Math.sqrt(move2);
    pathLength += move * (1 + 1e-9) + 8 * EPS * (nmax + pathLength + move + 1);
    const swap = c;
    c = cNext;
    cNext = swap;
    slack = slackUnit * (1 + n2max + twoN * pathLength);

    best = -Infinity;
    bestRow = -1;
    considerZero();
    if (lastWasHeapStep) {
      if (popped >= DENSE_STEP_FRACTION * (n - zeroCount - k)) {
        // Each heap step that still pops most rows doubles the next run of rescans (up to DENSE_MAX_RUN).
        denseLeft = denseRun;
        denseRun = Math.min(DENSE_MAX_RUN, denseRun * 2);
      } else {
        denseRun = 1;
      }
    }
    if (denseLeft > 0) {
      denseLeft--;
      lastWasHeapStep = false;
      // The last step took most rows out of the heaps anyway: rescan all of them in index order
      // (sequential memory, no heap work) and start over with a single epoch, as in step 1.
      for (const e of live) if (refs[e] !== null) killEpoch(e, false);
      live = [];
      epochHeap.size = 0;
      for (let i = 0; i < n; i++) {
        if (selected[i] === 1 || norms[i] === 0) continue;
        batch[batchSize++] = i;
        if (batchSize === DOT_BATCH) flush();
      }
      flush();
      continue;
    }
    lastWasHeapStep = true;
    popped = 0;
    while (epochHeap.size > 0) {
      const e = epochHeap.topId();
      const ref = refs[e];
      if (ref === null || ref === undefined) {
        epochHeap.pop();
        continue;
      }
      if (epochHeap.topKey() + twoN * pathLength + slack < best) break;
      epochHeap.pop();
      const d = distanceToRef(c, ref, dim);
      epochDist[e] = d;
      const heap = heaps[e]!;
      const offset = twoN * d + slack;
      // Rows are popped in batches against the best known before the batch: a few extra
      // evaluations, but four interleaved sums run about twice as fast as one.
      while (heap.size > 0 && heap.topKey() + offset >= best) {
        while (batchSize < DOT_BATCH && heap.size > 0 && heap.topKey() + offset >= best) {
          batch[batchSize++] = heap.pop();
          popped++;
        }
        flush();
      }
      touched.push(e);
    }
  }
  stats.exactEvaluations += evaluations;
  stats.groups += refs.length;
  return { out, selected: count };
}
