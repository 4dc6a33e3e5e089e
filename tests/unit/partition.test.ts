// core/partition.ts: the bounds kcenter prunes with are never below the exact dot products, whatever the
// data (clusters, duplicates, zero rows, rows of any length, dimensions smaller than the basis).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIST_SLACK, PARTITION_HEAD, buildPartition, groupDotUpper, rowCoords, rowDotUpper, type RowDotKernel } from '../../core/partition.js';
import { Rng } from '../../core/random.js';

function plainKernel(v: Float32Array, dim: number): RowDotKernel {
  const sum = new Float64Array(dim);
  const out = new Float64Array(4);
  return {
    sum,
    out,
    dot4: (...offsets: number[]) => {
      offsets.forEach((o, q) => {
        let s = 0;
        for (let j = 0; j < dim; j++) s += v[o + j]! * sum[j]!;
        out[q] = s;
      });
    },
  };
}

function data(n: number, dim: number, seed: number, clusters: number): Float32Array {
  const rng = new Rng(seed);
  const centers = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => rng.nextGaussian()));
  const v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const r = rng.nextFloat();
    if (i > 0 && r < 0.05) {
      v.copyWithin(i * dim, 0, dim); // duplicates of row 0
      continue;
    }
    if (r < 0.08) continue; // zero rows
    const c = centers[rng.nextInt(clusters)]!;
    const scale = 0.1 + 3 * rng.nextFloat(); // rows of any length
    for (let j = 0; j < dim; j++) v[i * dim + j] = scale * (c[j]! + 0.4 * rng.nextGaussian());
  }
  return v;
}

function dot(v: Float32Array, dim: number, a: number, b: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += v[a * dim + j]! * v[b * dim + j]!;
  return s;
}

test('row, head and group bounds are upper bounds of every dot product', () => {
  for (const [n, dim, clusters] of [
    [400, 24, 5],
    [300, 200, 12],
    [150, 3, 2],
    [90, 1, 1],
  ] as const) {
    const v = data(n, dim, n + dim, clusters);
    const norm2 = Float64Array.from({ length: n }, (_, i) => dot(v, dim, i, i));
    const p = buildPartition(v, n, dim, norm2, plainKernel(v, dim));
    assert.ok(p.rank <= Math.min(dim, 128), `rank ${p.rank}`);
    assert.equal(p.members.length, n);
    assert.deepEqual([...p.members].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), 'every row in one group');
    for (let i = 0; i < n; i++) assert.equal(p.members[p.posOf[i]!], i, 'posOf inverts members');
    for (let g = 0; g < p.groupCount; g++) {
      for (let k = p.start[g]! + 1; k < p.start[g + 1]!; k++) assert.ok(p.members[k - 1]! < p.members[k]!, 'members ascend');
    }
    const H = Math.min(PARTITION_HEAD, p.rank);
    for (let c = 0; c < n; c += 7) {
      const { coords: cCoords, norm: cNorm } = rowCoords(p, c);
      const pc = p.posOf[c]!;
      for (let i = 0; i < n; i++) {
        const pi = p.posOf[i]!;
        const exact = dot(v, dim, i, c);
        const allow = DIST_SLACK * (norm2[i]! + norm2[c]!) / 2;
        assert.ok(rowDotUpper(p, i, c) + allow >= exact, `row bound ${i},${c}`);
        let head = p.tail[pi]! * p.tail[pc]! + p.resid[pi]! * p.resid[pc]!;
        for (let t = 0; t < H; t++) head += p.coords[pi * p.rank + t]! * p.coords[pc * p.rank + t]!;
        assert.ok(head + allow >= exact, `head bound ${i},${c}`);
        assert.ok(groupDotUpper(p, p.groupOf[i]!, cCoords, cNorm, p.resid[pc]!) + allow >= exact, `group bound ${i},${c}`);
      }
    }
  }
});

test('on separated clusters the bounds are tight enough to rule rows of other clusters out', () => {
  const n = 600;
  const dim = 64;
  const rng = new Rng(7);
  const v = new Float32Array(n * dim);
  // Four orthogonal cluster directions plus small noise.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) v[i * dim + j] = 0.05 * rng.nextGaussian();
    v[i * dim + (i % 4)] = v[i * dim + (i % 4)]! + 1;
  }
  const norm2 = Float64Array.from({ length: n }, (_, i) => dot(v, dim, i, i));
  const p = buildPartition(v, n, dim, norm2, plainKernel(v, dim));
  // Rows 0 and 1 are in different clusters: true dot ~0, and the row bound must show it is well below 0.5.
  for (let i = 1; i < n; i += 4) assert.ok(rowDotUpper(p, i, 0) < 0.5, `row ${i}: ${rowDotUpper(p, i, 0)}`);
});
