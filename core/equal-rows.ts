// Rows of a matrix grouped by equal vectors. Distinct texts can embed equally (with `hash`, texts that differ only
// in case or punctuation; with the uncased `minilm`, texts that differ only in case), and a group of D equal rows
// ties at the top of every search that meets it: a certified top-1 that widens its candidates until the tie settles
// then costs about D² (2,000 equal rows in 20,000: 29 s). Knowing the groups, a search keeps one row of each group
// (its lowest id) and settles the tie at once (0.7 s there; bench/equal-vectors.ts).
import type { Neighbour } from './categorise.js';
import { perMatrix } from './per-matrix.js';

/**
 * `first[i]`: the lowest row whose vector equals row i's (i itself when none is lower); `next[i]`: the next
 * higher row equal to row i (−1 after a group's last); `repeated`: rows that are not the first of their group
 * (0 when every vector is distinct). Equality is by value, so −0 equals 0.
 */
export interface EqualRows {
  first: Int32Array;
  next: Int32Array;
  repeated: number;
}

function rowHash(bits: Uint32Array, at: number, dim: number): number {
  let h = 0x811c9dc5;
  for (let j = 0; j < dim; j++) {
    const b = bits[at + j]!;
    h = Math.imul(h ^ (b === 0x80000000 ? 0 : b), 0x01000193);
    h ^= h >>> 15;
  }
  return h;
}

function sameRow(vectors: Float32Array, dim: number, a: number, b: number): boolean {
  const ao = a * dim;
  const bo = b * dim;
  for (let j = 0; j < dim; j++) if (vectors[ao + j] !== vectors[bo + j]) return false;
  return true;
}

/** Groups rows 0..n-1 of the n × dim matrix by equal vectors: one pass hashing each row, equality checked. */
export function equalRows(vectors: Float32Array, n: number, dim: number): EqualRows {
  const bits = new Uint32Array(vectors.buffer, vectors.byteOffset, n * dim);
  const first = new Int32Array(n);
  const next = new Int32Array(n).fill(-1);
  const last = new Int32Array(n);
  // Hash → the first rows of the groups with that hash (almost always one).
  const byHash = new Map<number, number | number[]>();
  let repeated = 0;
  for (let i = 0; i < n; i++) {
    const h = rowHash(bits, i * dim, dim);
    const seen = byHash.get(h);
    const heads = seen === undefined ? [] : typeof seen === 'number' ? [seen] : seen;
    const head = heads.find((f) => sameRow(vectors, dim, f, i));
    if (head === undefined) {
      first[i] = i;
      last[i] = i;
      byHash.set(h, seen === undefined ? i : [...heads, i]);
    } else {
      first[i] = head;
      next[last[head]!] = i;
      last[head] = i;
      repeated++;
    }
  }
  return { first, next, repeated };
}

const kept = perMatrix(equalRows);

/** `equalRows` of a matrix, computed once per array and kept while the array lives (the store, the IVF and the HNSW index ask batch after batch of the same one). */
export function equalRowsOf(vectors: Float32Array, n: number, dim: number): EqualRows {
  return kept.of(vectors, n, dim);
}

/** The lowest row other than `q` whose vector equals row `b`'s, or −1 (b = q alone in its group). */
export function lowestEqualOther(equal: EqualRows, b: number, q: number): number {
  const f = equal.first[b]!;
  return f !== q ? f : equal.next[f]!;
}

/**
 * The answer to query row `q` whose candidates all tied at `best` (the float64 re-rank's `allTie`) where they are
 * all one vector: the lowest row of that vector's group other than q, which is what asking again with more
 * candidates until the tie settles would find (unless a distinct vector scores exactly the same with a lower id,
 * which an approximate index need not find either). Undefined where distinct vectors tied (ask again).
 */
export function settleTie(equal: EqualRows, q: number, best: Neighbour, candidates: Iterable<number>): Neighbour | undefined {
  const f = equal.first[best.id]!;
  for (const r of candidates) if (r !== q && equal.first[r] !== f) return undefined;
  return { id: lowestEqualOther(equal, best.id, q), score: best.score };
}
