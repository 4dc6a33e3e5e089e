// Tests of greedy diversity sampling: hand-worked toy orders, fast path == naive oracle on random and adversarial data, and the seeded first row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { firstIndex, Rng } from '../../core/random.js';
import { floatProducts } from '../../adapters/onnx/kernels.js';
import { hashEmbedInto } from '../../core/hash-embedding.js';
import { addAndCollect, centroidBlocked } from '../../core/sampling/centroid-blocked.js';
import { estimateSpace } from '../../core/kernels/simd.js';
import { addRow, makeKernels, rowSquaredNorms } from '../../core/sampling/kernels.js';
import { makeMixture } from '../../bench/mixture.js';
import { loadMails } from '../../examples/spam-assassin.js';
import type { Products } from '../../core/sampling/index.js';
import {
  allocateVectors,
  greedySample,
  greedySampleWithStats,
  naiveGreedySample,
  sampleCount,
  type GreedySampleStats,
  type SamplingRule,
} from '../../core/sampling/index.js';

const RULES: readonly SamplingRule[] = ['centroid', 'kcenter'];

/** Seeded rows: Gaussian directions normalised to unit length (float32). */
function unitRows(n: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = rng.nextGaussian();
      out[i * dim + j] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[i * dim + j] = out[i * dim + j]! / norm;
  }
  return out;
}

/** Clustered unit rows with exact duplicates: the regime where pruning has to do its work. */
function clusteredRows(n: number, dim: number, seed: number, clusters: number): Float32Array {
  const rng = new Rng(seed);
  const centers = unitRows(clusters, dim, seed + 1000);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.nextFloat() < 0.1) {
      const src = rng.nextInt(i);
      out.copyWithin(i * dim, src * dim, src * dim + dim);
      continue;
    }
    const c = rng.nextInt(clusters);
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = 0.5 + centers[c * dim + j]! + (0.6 / Math.sqrt(dim)) * rng.nextGaussian();
      out[i * dim + j] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[i * dim + j] = out[i * dim + j]! / norm;
  }
  return out;
}

/** onnxruntime's float32 products, as the sampling thread passes them for kcenter. */
const ORT: Products = (a, m, b, nb, d) => floatProducts(a, m, b, nb, d, 2);

/**
 * Fast == oracle with both kernel families (scalar loops and WebAssembly SIMD) and, for kcenter, both
 * products (plain loops and onnxruntime's).
 */
async function assertSameAsOracle(vectors: Float32Array, n: number, dim: number, count: number, seed: number, rule: SamplingRule): Promise<void> {
  const expected = Array.from(naiveGreedySample(vectors, n, dim, { count, seed, rule }));
  for (const kernel of ['scalar', 'simd'] as const) {
    for (const products of rule === 'kcenter' ? [undefined, ORT] : [undefined]) {
      const actual = await greedySample(vectors, n, dim, { count, seed, rule, kernel, ...(products ? { products } : {}) });
      assert.deepEqual(Array.from(actual), expected, `rule=${rule} kernel=${kernel} products=${products ? 'onnxruntime' : 'plain'} n=${n} dim=${dim} count=${count} seed=${seed}`);
    }
  }
}

test('five points on the unit circle, worked by hand', async () => {
  // P0 = (1,0), P1 = (0,1), P2 = (-1,0), P3 = (0,-1), P4 = (h,h) with h = float32(sqrt(1/2)),
  // so norm2(P4) = 2h^2 = 0.99999996 < 1 while the axis points have norm2 exactly 1.
  // Seed 4 gives firstIndex(4, 5) = 0.
  //
  // centroid, score = norm2 - 2 x.S / k:
  //   k=1, S=P0: P1 1, P2 1+2 = 3, P3 1, P4 1-2h = -0.41          -> P2
  //   k=2, S=(0,0): every score is norm2: P1 = P3 = 1 > P4          -> tie, lowest index P1
  //   k=3, S=(0,1): P3 1+2/3, P4 0.99999996-2h/3                     -> P3
  //   k=4: only P4 is left                                           -> [0, 2, 1, 3, 4]
  // kcenter, nearest squared distance to the selected rows:
  //   after P0: P1 2, P2 4, P3 2, P4 (1-h)^2+h^2 = 0.59               -> P2
  //   after P2: P1 min(2,2) = 2, P3 2, P4 0.59                         -> tie, P1
  //   after P1: P3 2, P4 0.59                                          -> P3, then P4
  //
  // Seed 5 gives firstIndex(5, 5) = 4 (start at P4):
  //   centroid k=1, S=P4: P0 = P1 = 1-2h, P2 = P3 = 1+2h               -> tie, P2
  //   k=2, S=(h-1,h): P0 1-(h-1) = 1.29, P1 1-h = 0.29, P3 1+h = 1.71   -> P3
  //   k=3, S=(h-1,h-1): P0 = P1 = 1-2(h-1)/3                           -> tie, P0, then P1
  //   kcenter: P2, P3 tie at 2+2h -> P2; then P3 (2 vs 0.59) ; P0 = P1 tie -> P0, P1
  const h = Math.SQRT1_2;
  const pts = new Float32Array([1, 0, 0, 1, -1, 0, 0, -1, h, h]);
  assert.equal(firstIndex(4, 5), 0);
  assert.equal(firstIndex(5, 5), 4);
  for (const rule of RULES) {
    for (const sample of [naiveGreedySample, greedySample]) {
      assert.deepEqual(Array.from(await sample(pts, 5, 2, { count: 5, seed: 4, rule })), [0, 2, 1, 3, 4]);
      assert.deepEqual(Array.from(await sample(pts, 5, 2, { count: 5, seed: 5, rule })), [4, 2, 3, 0, 1]);
      assert.deepEqual(Array.from(await sample(pts, 5, 2, { count: 3, seed: 4, rule })), [0, 2, 1]);
    }
  }
});

test('one dimension with duplicates and zeros, where the two rules differ (worked by hand)', async () => {
  // Rows 1, -1, 0, 1, -1, 0; seed 5 gives firstIndex(5, 6) = 0.
  // centroid: S=1: r1 = r4 = 1+2 = 3 -> r1; S=0: r3 = r4 = 1 > 0 -> r3; S=1, k=3: r4 = 1+2/3 -> r4;
  //           S=0: r2 = r5 = 0 -> r2, then r5.
  // kcenter:  after r0: r1 = r4 = 4 -> r1; after r1: r2 = r5 = 1, r3 = r4 = 0 -> r2;
  //           after r2: all remaining are 0 -> r3, r4, r5 by index.
  const rows = new Float32Array([1, -1, 0, 1, -1, 0]);
  assert.equal(firstIndex(5, 6), 0);
  for (const sample of [naiveGreedySample, greedySample]) {
    assert.deepEqual(Array.from(await sample(rows, 6, 1, { count: 6, seed: 5 })), [0, 1, 3, 4, 2, 5]);
    assert.deepEqual(Array.from(await sample(rows, 6, 1, { count: 6, seed: 5, rule: 'kcenter' })), [0, 1, 2, 3, 4, 5]);
  }
});

test('the rule defaults to centroid', async () => {
  const rows = unitRows(40, 3, 9);
  assert.deepEqual(
    Array.from(await greedySample(rows, 40, 3, { count: 20, seed: 1 })),
    Array.from(await greedySample(rows, 40, 3, { count: 20, seed: 1, rule: 'centroid' })),
  );
});

test('fast path equals the oracle on random unit rows, several seeds', async () => {
  for (const rule of RULES) {
    for (const seed of [1, 2, 3, 4, 5]) {
      const n = 300;
      const dim = 16;
      const rows = unitRows(n, dim, 100 + seed);
      await assertSameAsOracle(rows, n, dim, n, seed, rule);
      await assertSameAsOracle(rows, n, dim, 150, seed + 10, rule);
    }
  }
});

test('fast path equals the oracle on clustered rows with duplicates', async () => {
  for (const rule of RULES) {
    for (const seed of [7, 8, 9]) {
      const n = 600;
      const dim = 24;
      await assertSameAsOracle(clusteredRows(n, dim, seed, 6), n, dim, sampleCount(n, 0.5), seed, rule);
    }
  }
});

test('exact ties: rows drawn from a handful of distinct vectors', async () => {
  // Signed basis vectors and their duplicates: many scores are bit-for-bit equal.
  const dim = 4;
  const distinct: number[][] = [];
  for (let j = 0; j < dim; j++) {
    const plus = new Array<number>(dim).fill(0);
    plus[j] = 1;
    const minus = new Array<number>(dim).fill(0);
    minus[j] = -1;
    distinct.push(plus, minus);
  }
  distinct.push(new Array<number>(dim).fill(0));
  for (const seed of [1, 2, 3, 11, 12]) {
    const rng = new Rng(seed);
    const n = 120;
    const rows = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) rows.set(distinct[rng.nextInt(distinct.length)]!, i * dim);
    for (const rule of RULES) {
      await assertSameAsOracle(rows, n, dim, n, seed, rule);
      await assertSameAsOracle(rows, n, dim, 17, seed, rule);
    }
  }
});

test('many duplicates of a few random vectors, plus zero rows', async () => {
  const dim = 8;
  const base = unitRows(5, dim, 77);
  for (const seed of [1, 2, 3]) {
    const rng = new Rng(seed);
    const n = 250;
    const rows = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const pick = rng.nextInt(6);
      if (pick < 5) rows.set(base.subarray(pick * dim, pick * dim + dim), i * dim);
    }
    for (const rule of RULES) await assertSameAsOracle(rows, n, dim, n, seed, rule);
  }
});

test('all rows identical, all rows zero', async () => {
  const dim = 3;
  const n = 30;
  const same = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) same.set([0.6, 0, 0.8], i * dim);
  const zero = new Float32Array(n * dim);
  for (const rule of RULES) {
    for (const rows of [same, zero]) {
      const first = firstIndex(3, n);
      const expected = [first, ...Array.from({ length: n }, (_, i) => i).filter((i) => i !== first)];
      assert.deepEqual(Array.from(await greedySample(rows, n, dim, { count: n, seed: 3, rule })), expected);
      await assertSameAsOracle(rows, n, dim, n, 3, rule);
    }
  }
});

test('one dimension', async () => {
  for (const seed of [1, 2, 3]) {
    const rng = new Rng(seed);
    const n = 80;
    const rows = new Float32Array(n);
    for (let i = 0; i < n; i++) rows[i] = [1, -1, 0][rng.nextInt(3)]!;
    for (const rule of RULES) await assertSameAsOracle(rows, n, 1, n, seed, rule);
  }
});

test('rows that are not unit length still match the oracle', async () => {
  const n = 200;
  const dim = 12;
  const rows = unitRows(n, dim, 5);
  const rng = new Rng(5);
  for (let i = 0; i < n; i++) {
    const scale = 0.25 + 3 * rng.nextFloat();
    for (let j = 0; j < dim; j++) rows[i * dim + j] = rows[i * dim + j]! * scale;
  }
  for (const rule of RULES) await assertSameAsOracle(rows, n, dim, n, 5, rule);
});

test('tiny inputs: n = 1 and 2, count 0 and n', async () => {
  for (const rule of RULES) {
    assert.deepEqual(Array.from(await greedySample(new Float32Array(0), 0, 4, { count: 0, seed: 1, rule })), []);
    const one = new Float32Array([0.6, 0.8]);
    assert.deepEqual(Array.from(await greedySample(one, 1, 2, { count: 1, seed: 9, rule })), [0]);
    assert.deepEqual(Array.from(await greedySample(one, 1, 2, { count: 0, seed: 9, rule })), []);
    const two = new Float32Array([1, 0, 0, 1]);
    for (const seed of [0, 1, 2, 3]) {
      const first = firstIndex(seed, 2);
      assert.deepEqual(Array.from(await greedySample(two, 2, 2, { count: 2, seed, rule })), [first, 1 - first]);
      assert.deepEqual(Array.from(await greedySample(two, 2, 2, { count: 1, seed, rule })), [first]);
      assert.deepEqual(Array.from(naiveGreedySample(two, 2, 2, { count: 2, seed, rule })), [first, 1 - first]);
    }
  }
});

test('property: exactly count distinct in-range indices, identical to the oracle', async () => {
  // Entries from a small set so ties and duplicate rows are common.
  const entry = fc.constantFrom(-1, -0.5, 0, 0.5, 1, 0.25);
  const input = fc
    .record({ n: fc.integer({ min: 0, max: 40 }), dim: fc.integer({ min: 1, max: 5 }) })
    .chain(({ n, dim }) =>
      fc.record({
        n: fc.constant(n),
        dim: fc.constant(dim),
        values: fc.array(entry, { minLength: n * dim, maxLength: n * dim }),
        count: fc.integer({ min: 0, max: n }),
        seed: fc.integer({ min: -1000, max: 1000 }),
        rule: fc.constantFrom<SamplingRule>('centroid', 'kcenter'),
      }),
    );
  await fc.assert(
    fc.asyncProperty(input, async ({ n, dim, values, count, seed, rule }) => {
      const rows = Float32Array.from(values);
      const got = await greedySample(rows, n, dim, { count, seed, rule });
      assert.equal(got.length, count);
      assert.equal(new Set(got).size, count);
      for (const i of got) assert.ok(i < n);
      assert.deepEqual(Array.from(got), Array.from(naiveGreedySample(rows, n, dim, { count, seed, rule })));
    }),
    { numRuns: 300, seed: 20240601 },
  );
});

test('n = 2000 stays fast, matches the oracle and prunes most of the work', async () => {
  const n = 2000;
  const dim = 32;
  const rows = clusteredRows(n, dim, 31, 8);
  const count = sampleCount(n, 0.5);
  for (const rule of RULES) {
    const { indices, stats } = await greedySampleWithStats(rows, n, dim, { count, seed: 31, rule });
    assert.deepEqual(Array.from(indices), Array.from(naiveGreedySample(rows, n, dim, { count, seed: 31, rule })));
    assert.equal(stats.naiveEvaluations, (count - 1) * n - (count * (count - 1)) / 2);
    if (rule === 'centroid') assert.ok(stats.exactEvaluations < stats.naiveEvaluations / 3, `centroid did ${stats.exactEvaluations} evaluations`);
  }
});

test('hashed SpamAssassin mails (real text): both rules equal the oracle; centroid hands over to the blocked products', async () => {
  const mails = loadMails(600).slice(0, 3000);
  const dim = 96;
  const n = mails.length;
  const rows = new Float32Array(n * dim);
  mails.forEach((m, i) => hashEmbedInto(m.text, dim, rows, i * dim));
  const count = sampleCount(n, 0.5);
  for (const rule of RULES) {
    const { indices, stats } = await greedySampleWithStats(rows, n, dim, { count, seed: 5, rule, products: ORT });
    assert.deepEqual(Array.from(indices), Array.from(naiveGreedySample(rows, n, dim, { count, seed: 5, rule })));
    if (rule === 'centroid') {
      // The bounds hand over to the blocked products on real text.
      assert.ok(stats.productSteps > count / 4, `blocked products made ${stats.productSteps} of ${count} selections`);
      // Picks from outside the candidates happen on real text; each starts a new block (still the oracle's rows).
      assert.ok((stats.candidateMisses ?? 0) > 0, `${stats.candidateMisses} picks outside the candidates`);
    }
  }
});

test('the bounds hand over to the blocked products on real text at step 32, never on clustered rows', async () => {
  // bench/sampling.ts's Gaussian mixture: the first steps score most rows (the centroid still moves far), then the
  // bounds prune. A 64-step window checked at step 64 handed it over (11.6 s instead of 0.3 s at 10k × 64 here).
  const n = 5000;
  const dim = 64;
  const mixture = makeMixture(n, { alpha: 0.5, noise: 0.7, clusters: 64, dup: 0.05, dim, seed: 1, subclusters: 0, subnoise: 0 });
  const count = sampleCount(n, 0.5);
  const clustered = await greedySampleWithStats(mixture, n, dim, { count, seed: 1, rule: 'centroid', products: ORT });
  assert.equal(clustered.stats.productSteps, 0);
  assert.deepEqual(Array.from(clustered.indices), Array.from(naiveGreedySample(mixture, n, dim, { count, seed: 1 })));
  // Hashed mails score nearly every row per step from the start: handed over at the first check (step 32).
  const mails = loadMails(600).slice(0, 3000);
  const text = new Float32Array(mails.length * dim);
  mails.forEach((m, i) => hashEmbedInto(m.text, dim, text, i * dim));
  const textCount = sampleCount(mails.length, 0.5);
  const real = await greedySampleWithStats(text, mails.length, dim, { count: textCount, seed: 1, rule: 'centroid', products: ORT });
  assert.equal(real.stats.productSteps, textCount - 32);
  assert.deepEqual(Array.from(real.indices), Array.from(naiveGreedySample(text, mails.length, dim, { count: textCount, seed: 1 })));
});

test('centroid resume: continuing from any prefix of the picks gives the oracle’s rows (real text and ties)', async () => {
  const mails = loadMails(600).slice(0, 2000);
  const dim = 64;
  const text = new Float32Array(mails.length * dim);
  mails.forEach((m, i) => hashEmbedInto(m.text, dim, text, i * dim));
  // Real text, then rows drawn from six distinct vectors (ties everywhere: the lowest row wins).
  const tied = new Float32Array(900 * 8);
  const rng = new Rng(4);
  const protos = Array.from({ length: 6 }, () => Array.from({ length: 8 }, () => rng.nextGaussian()));
  for (let i = 0; i < 900; i++) tied.set(protos[Math.floor(rng.nextFloat() * 6)]!, i * 8);
  for (const [rows, n, d] of [[text, mails.length, dim], [tied, 900, 8]] as const) {
    const count = sampleCount(n, 0.5);
    const oracle = naiveGreedySample(rows, n, d, { count, seed: 3 });
    for (const p of [1, 2, 37, Math.floor(count / 2), count - 1, count]) {
      const resumed = await greedySample(rows, n, d, { count, seed: 3, resume: oracle.slice(0, p), products: ORT });
      assert.deepEqual(Array.from(resumed), Array.from(oracle), `n ${n}, from ${p} picks`);
    }
  }
});

test('centroid resume: picks that cannot be a prefix of this run are refused', async () => {
  const rows = unitRows(50, 4, 1);
  const good = naiveGreedySample(rows, 50, 4, { count: 20, seed: 2 });
  const bad: Array<[Uint32Array, string, SamplingRule?]> = [
    [good.slice(0, 5), 'only the centroid rule', 'kcenter'],
    [Uint32Array.of(...good, 7), 'more than count 20'],
    [good.slice(1, 6), 'is not seed 2'],
    [Uint32Array.of(good[0]!, 50), 'past the last row 49'],
    [Uint32Array.of(good[0]!, good[1]!, good[0]!), 'pick 2 repeats row'],
  ];
  for (const [resume, message, rule] of bad) {
    await assert.rejects(greedySample(rows, 50, 4, { count: 20, seed: 2, rule: rule ?? 'centroid', resume }), (e: Error) => e instanceof RangeError && e.message.includes(message));
  }
});

test('rows allocated with allocateVectors use the SIMD kernels without a copy, with the same result', async () => {
  const n = 500;
  const dim = 37; // not a multiple of 4: the kernels' scalar tails run too
  const plain = clusteredRows(n, dim, 41, 5);
  const shared = allocateVectors(n, dim);
  shared.set(plain);
  for (const rule of RULES) {
    const expected = Array.from(naiveGreedySample(plain, n, dim, { count: 300, seed: 41, rule }));
    // Twice: the second run must not see scratch left over by the first.
    for (let run = 0; run < 2; run++) {
      const { indices, stats } = await greedySampleWithStats(shared, n, dim, { count: 300, seed: 41, rule });
      assert.equal(stats.simd, true);
      assert.deepEqual(Array.from(indices), expected);
    }
    const scalar = await greedySampleWithStats(plain, n, dim, { count: 300, seed: 41, rule, kernel: 'scalar' });
    assert.equal(scalar.stats.simd, false);
    assert.deepEqual(Array.from(scalar.indices), expected);
  }
  // The caller's matrix is left as it was (the sampler compacted only rows it owned)...
  assert.deepEqual(shared, plain);
  // ...unless the caller hands the rows over as scratch: then the centroid rule moves the unpicked rows to the
  // front as it goes (the products skip the picked ones), with the same picks.
  const expected = Array.from(naiveGreedySample(plain, n, dim, { count: 300, seed: 41, rule: 'centroid' }));
  const { indices, stats } = await greedySampleWithStats(shared, n, dim, { count: 300, seed: 41, rule: 'centroid', rowsAreScratch: true });
  assert.deepEqual(Array.from(indices), expected);
  assert.ok((stats.compactions ?? 0) > 0, `${stats.compactions} compactions`);
  assert.notDeepEqual(shared, plain);
});

test('sampleCount is ceil(ratio * n) without float fuzz', () => {
  assert.equal(sampleCount(10, 0.7), 7); // 0.7 * 10 = 7.000000000000001 in float64
  assert.equal(sampleCount(30, 0.1), 3); // 3.0000000000000004
  assert.equal(sampleCount(5, 0.5), 3);
  assert.equal(sampleCount(3, 0.34), 2);
  assert.equal(sampleCount(1000, 0.0011), 2);
  assert.equal(sampleCount(7, 0), 0);
  assert.equal(sampleCount(7, 1), 7);
  assert.equal(sampleCount(0, 0.5), 0);
  assert.equal(sampleCount(1, 0.01), 1);
  assert.throws(() => sampleCount(10, 1.5), RangeError);
  assert.throws(() => sampleCount(10, Number.NaN), RangeError);
  assert.throws(() => sampleCount(-1, 0.5), RangeError);
  assert.throws(() => sampleCount(2.5, 0.5), RangeError);
});

test('invalid input is rejected', async () => {
  const rows = new Float32Array([1, 0, 0, 1]);
  const bad: Array<Parameters<typeof naiveGreedySample>> = [
    [rows, 2, 3, { count: 1, seed: 1 }],
    [rows, 2, 2, { count: 3, seed: 1 }],
    [rows, 2, 2, { count: -1, seed: 1 }],
    [rows, 2, 2, { count: 1.5, seed: 1 }],
    [rows, 2, 2, { count: 1, seed: 0.5 }],
    [rows, 2, 0, { count: 0, seed: 1 }],
    [new Float32Array([1, Number.NaN]), 1, 2, { count: 1, seed: 1 }],
    [new Float32Array([Infinity, 0]), 1, 2, { count: 1, seed: 1 }],
    [rows, 2, 2, { count: 1, seed: 1, rule: 'farthest' as SamplingRule }],
  ];
  for (const args of bad) {
    assert.throws(() => naiveGreedySample(...args), RangeError);
    await assert.rejects(greedySample(...args), RangeError);
  }
});

test('firstIndex and Rng are pinned: the same seed gives the same row everywhere', () => {
  assert.equal(firstIndex(42, 1000), 956);
  assert.equal(firstIndex(0, 1), 0);
  assert.equal(firstIndex(-7, 10), 9);
  assert.equal(firstIndex(2 ** 40 + 3, 97), 96);
  const rng = new Rng(1);
  assert.deepEqual([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()], [2693262067, 11749833, 2265367787]);
  assert.throws(() => firstIndex(1, 0), RangeError);
  assert.throws(() => firstIndex(1.5, 10), RangeError);
  assert.throws(() => new Rng(2 ** 60), RangeError);
  for (let seed = 0; seed < 200; seed++) {
    const i = firstIndex(seed, 7);
    assert.ok(Number.isInteger(i) && i >= 0 && i < 7);
  }
});

test('the SIMD pass that adds a pick column and collects the rows near the top equals the scalar loop bit for bit', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 41 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.constantFrom(0, 1e-3, 0.5, 4, Number.POSITIVE_INFINITY),
      (n, slot, seed, width) => {
        const rng = new Rng(seed);
        const space = estimateSpace(n, 3);
        assert.ok(space !== null);
        const f = new Float64Array(n);
        const norms = new Float64Array(n);
        const columns = new Float32Array(3 * n);
        for (let i = 0; i < n; i++) {
          // Picked rows (-Infinity), ties (a few distinct values) and spread values.
          const kind = rng.nextInt(4);
          f[i] = kind === 0 ? Number.NEGATIVE_INFINITY : kind === 1 ? rng.nextInt(3) : rng.nextGaussian();
          norms[i] = rng.nextInt(2) === 0 ? 1 : rng.nextFloat() * 3;
        }
        for (let i = 0; i < 3 * n; i++) columns[i] = rng.nextInt(3) === 0 ? 0.5 : rng.nextGaussian();
        space.f.set(f);
        space.norms.set(norms);
        space.columns.set(columns);
        const near = new Int32Array(n);
        const expected = addAndCollect(f, norms, columns.subarray(slot * n, slot * n + n), n, width, near);
        const got = space.addAndCollect(slot, n, width);
        assert.equal(got, expected);
        assert.deepEqual(Array.from(space.near.subarray(0, got)), Array.from(near.subarray(0, expected)));
        assert.deepEqual(Array.from(space.f), Array.from(f));
      },
    ),
    { numRuns: 400 },
  );
});

test('the blocked centroid products alone, from the first row, equal the oracle on ties, duplicates, zero rows and rows of any length, with and without compaction', async () => {
  const run = async (rows: Float32Array, n: number, dim: number, count: number, seed: number): Promise<void> => {
    const expected = Array.from(naiveGreedySample(rows, n, dim, { count, seed, rule: 'centroid' }));
    for (const [compact, kernel] of [[false, 'scalar'], [true, 'scalar'], [false, 'simd'], [true, 'simd']] as const) {
      // Compaction reorders the rows it is given: a copy.
      const own = compact ? rows.slice() : rows;
      const kernels = makeKernels(own, dim, kernel);
      assert.equal(kernels.simd, kernel === 'simd');
      const out = new Uint32Array(count);
      out[0] = firstIndex(seed, n);
      addRow(kernels.sum, own, out[0] * dim, dim);
      const stats: GreedySampleStats = { simd: false, exactEvaluations: 0, naiveEvaluations: 0, groups: 0, productSteps: 0 };
      await centroidBlocked(kernels.vectors, n, dim, out, 1, rowSquaredNorms(own, n, dim), ORT, kernels, stats, undefined, compact);
      assert.deepEqual(Array.from(out), expected, `n ${n} dim ${dim} seed ${seed} compact ${compact} ${kernel}`);
      // Every eighth of the rows in use picked moves the rest to the front: count ≥ n/8 picks compact at least once.
      if (compact && count >= n / 4) assert.ok((stats.compactions ?? 0) > 0, `${stats.compactions} compactions`);
      if (!compact) assert.equal(stats.compactions, 0);
    }
  };
  const rng = new Rng(9);
  const dim = 6;
  const n = 400;
  const base = unitRows(4, dim, 3);
  const mixed = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const pick = rng.nextInt(7);
    // Copies of four vectors, a zero row, a signed basis vector, or a random row of length 0.1–3.
    if (pick < 4) mixed.set(base.subarray(pick * dim, pick * dim + dim), i * dim);
    else if (pick === 5) mixed[i * dim + rng.nextInt(dim)] = rng.nextInt(2) === 0 ? 1 : -1;
    else if (pick === 6) for (let j = 0; j < dim; j++) mixed[i * dim + j] = rng.nextGaussian() * (0.1 + rng.nextFloat() * 2.9);
  }
  for (const seed of [1, 2, 3]) {
    await run(mixed, n, dim, n, seed);
    await run(mixed, n, dim, 37, seed);
  }
  // An odd number of rows: the SIMD pass's last row on its own.
  await run(mixed.subarray(0, 399 * dim), 399, dim, 150, 5);
  await run(clusteredRows(1500, 24, 4, 6), 1500, 24, 900, 4);
});
