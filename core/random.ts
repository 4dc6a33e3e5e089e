// Seeded, platform-independent pseudo-random numbers (mulberry32) so that every sampling run is reproducible from one integer seed.

const TWO_POW_32 = 4294967296;

/**
 * Folds any safe integer (negative and > 2^32 included) into a 32-bit state.
 * The high part is mixed with a Weyl constant so that seeds differing only
 * above bit 32 still start from different states.
 */
function seedToState(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
  }
  const lo = ((seed % TWO_POW_32) + TWO_POW_32) % TWO_POW_32;
  const hi = Math.floor(seed / TWO_POW_32);
  return (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit-state generator built
 * only from Math.imul, shifts and xors, so its output is bit-identical on every
 * JavaScript engine and CPU. Period 2^32, which is plenty for seeding choices
 * and synthetic benchmark data; it is not cryptographic.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seedToState(seed);
  }

  /** Next uniformly distributed integer in [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the short last block), for 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${String(n)}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal deviate (Box–Muller, one of the pair; simplicity over speed). */
  nextGaussian(): number {
    // 1 - u keeps the argument of log in (0, 1].
    const u = 1 - this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/**
 * The seeded first row of a greedy sample: the first nextInt(n) draw of an
 * Rng seeded with `seed`. Same (seed, n) gives the same index everywhere.
 */
export function firstIndex(seed: number, n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`firstIndex needs n >= 1, got ${String(n)}`);
  }
  return new Rng(seed).nextInt(n);
}
