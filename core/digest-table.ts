// An open-addressing hash table keyed by the first 128 bits of a cryptographic digest, in typed arrays:
// about 40 bytes per entry instead of the ~200 of a Map from base64 strings to objects, so per-text
// bookkeeping over millions of rows (cleaning, the embedding cache's index) stays small.

const KEY_WORDS = 4;
const MIN_CAPACITY = 1024;

export class DigestTable {
  private keys: Uint32Array;
  /** Per entry: a float64 value, an int32 value and eight flag bits (bit 0: the slot is used). */
  private v0: Float64Array;
  private v1: Int32Array;
  private flags: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Uint32Array(cap * KEY_WORDS);
    this.v0 = new Float64Array(cap);
    this.v1 = new Int32Array(cap);
    this.flags = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The slot holding `digest` (at least 16 bytes), or -1. */
  find(digest: Uint8Array): number {
    const k = words(digest);
    for (let slot = k[0]! & this.mask; ; slot = (slot + 1) & this.mask) {
      if (this.flags[slot] === 0) return -1;
      if (this.matches(slot, k)) return slot;
    }
  }

  /** The slot of `digest`, inserted with zero values when absent; `created` tells which. */
  insert(digest: Uint8Array): { slot: number; created: boolean } {
    if ((this.count + 1) * 2 > this.flags.length) this.grow();
    const k = words(digest);
    let slot = k[0]! & this.mask;
    for (; this.flags[slot] !== 0; slot = (slot + 1) & this.mask) {
      if (this.matches(slot, k)) return { slot, created: false };
    }
    this.keys.set(k, slot * KEY_WORDS);
    this.flags[slot] = 1;
    this.v0[slot] = 0;
    this.v1[slot] = 0;
    this.count++;
    return { slot, created: true };
  }

  getNumber(slot: number): number {
    return this.v0[slot]!;
  }

  setNumber(slot: number, value: number): void {
    this.v0[slot] = value;
  }

  getInt(slot: number): number {
    return this.v1[slot]!;
  }

  setInt(slot: number, value: number): void {
    this.v1[slot] = value;
  }

  /** Flag bits 1..7 of a slot (bit 0 is the table's own). */
  hasFlag(slot: number, bit: number): boolean {
    return (this.flags[slot]! & (1 << bit)) !== 0;
  }

  setFlag(slot: number, bit: number): void {
    this.flags[slot] = this.flags[slot]! | (1 << bit);
  }

  private matches(slot: number, k: Uint32Array): boolean {
    const o = slot * KEY_WORDS;
    return this.keys[o] === k[0] && this.keys[o + 1] === k[1] && this.keys[o + 2] === k[2] && this.keys[o + 3] === k[3];
  }

  private grow(): void {
    const { keys, v0, v1, flags } = this;
    const cap = flags.length * 2;
    this.keys = new Uint32Array(cap * KEY_WORDS);
    this.v0 = new Float64Array(cap);
    this.v1 = new Int32Array(cap);
    this.flags = new Uint8Array(cap);
    this.mask = cap - 1;
    for (let old = 0; old < flags.length; old++) {
      if (flags[old] === 0) continue;
      let slot = keys[old * KEY_WORDS]! & this.mask;
      while (this.flags[slot] !== 0) slot = (slot + 1) & this.mask;
      this.keys.set(keys.subarray(old * KEY_WORDS, old * KEY_WORDS + KEY_WORDS), slot * KEY_WORDS);
      this.v0[slot] = v0[old]!;
      this.v1[slot] = v1[old]!;
      this.flags[slot] = flags[old]!;
    }
  }
}

const scratch = new Uint32Array(KEY_WORDS);

/** The first 128 bits of a digest as four little-endian words (a shared scratch array). */
function words(digest: Uint8Array): Uint32Array {
  if (digest.length < KEY_WORDS * 4) throw new RangeError(`a digest key needs at least 16 bytes, got ${digest.length}`);
  for (let w = 0; w < KEY_WORDS; w++) {
    const o = w * 4;
    scratch[w] = (digest[o]! | (digest[o + 1]! << 8) | (digest[o + 2]! << 16) | (digest[o + 3]! << 24)) >>> 0;
  }
  return scratch;
}
