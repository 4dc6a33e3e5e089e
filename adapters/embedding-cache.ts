// A content-addressed vector cache shared by runs: sha256(text) → vector, one folder per embedder id.
// Append-only segment files, one per writer, so concurrent workers never write the same file; a
// torn record at the end of a segment (a crash mid-write) is ignored. Each segment's keys are also
// appended to a keys file beside it, so opening the cache reads 32 bytes per cached vector in one go
// instead of one read per record (at a million cached rows: 18 s per open, and each embed shard opens it).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DigestTable } from '../core/digest-table.js';
import { readExactly } from './files.js';

const KEY_BYTES = 32;
/**
 * Segment number of an index entry whose record turned out to hold another key (a keys file that disagrees with its
 * segment before its last key): the key counts as not cached, and the next putMany of it writes a record the entry
 * then points to, so the text is embedded once more, not on every run.
 */
const STALE = -2;
/** Bytes of segment read per call when keys must be taken from the segment itself. */
const SCAN_BYTES = 4 << 20;

function keysPathOf(segmentPath: string): string {
  return segmentPath.replace(/\.seg$/u, '.keys');
}

/** Reads `length` bytes of a cache file at `position` into the start of `into`. */
function readFully(fh: FileHandle, into: Buffer, length: number, position: number): Promise<void> {
  return readExactly(fh, into, 0, length, position, (done) => new Error(`embedding cache: segment ended at byte ${position + done}, before its last whole record`));
}

/**
 * The keys of a segment's first records from its keys file: as many whole keys as both files hold, checked
 * against the segment at the last of them (a keys file that disagrees there, or none, gives nothing). Keys
 * before the last are checked when their records are read (getMany).
 */
async function readKeys(path: string, segment: FileHandle, record: number, records: number): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const n = Math.min(records, Math.floor((await fh.stat()).size / KEY_BYTES));
    if (n === 0) return Buffer.alloc(0);
    const keys = Buffer.alloc(n * KEY_BYTES);
    await readFully(fh, keys, keys.length, 0);
    const last = Buffer.alloc(KEY_BYTES);
    await readFully(segment, last, KEY_BYTES, 4 + (n - 1) * record);
    return last.equals(keys.subarray((n - 1) * KEY_BYTES)) ? keys : Buffer.alloc(0);
  } finally {
    await fh.close();
  }
}

export function textKey(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export class EmbeddingCache {
  /** Key → segment (int; -1: this writer's, STALE: none) and byte offset of the vector, ~40 bytes per entry. */
  private readonly index = new DigestTable();
  private readonly segments: FileHandle[] = [];
  private writer: FileHandle | undefined;
  private writerSize = 0;
  /** This writer's keys file (`<segment>.keys`): the keys of its segment's records, in order, 32 bytes each. */
  private keysWriter: FileHandle | undefined;
  private keysSize = 0;
  private dim: number | undefined;

  private constructor(private readonly dir: string) {}

  /** Opens (creating if needed) the cache folder of one embedder. */
  static async open(root: string, embedderId: string): Promise<EmbeddingCache> {
    const dir = join(root, 'embeddings', embedderId.replace(/[^A-Za-z0-9._-]/gu, '_'));
    await mkdir(dir, { recursive: true });
    const cache = new EmbeddingCache(dir);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
    for (const name of names) await cache.loadSegment(join(dir, name));
    return cache;
  }

  private async loadSegment(path: string): Promise<void> {
    const fh = await open(path, 'r');
    const size = (await fh.stat()).size;
    if (size < 4) {
      await fh.close();
      return;
    }
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const dim = head.readUInt32LE(0);
    if (this.dim !== undefined && dim !== this.dim) {
      await fh.close();
      return;
    }
    this.dim = dim;
    const record = KEY_BYTES + dim * 4;
    const count = Math.floor((size - 4) / record);
    const segment = this.segments.push(fh) - 1;
    const add = (keys: Buffer, at: number, first: number, n: number): void => {
      for (let i = 0; i < n; i++) {
        const { slot } = this.index.insert(keys.subarray(at + i * KEY_BYTES, at + (i + 1) * KEY_BYTES));
        this.index.setInt(slot, segment);
        this.index.setNumber(slot, 4 + (first + i) * record + KEY_BYTES);
      }
    };
    // The keys' own file, read whole: the records it covers need no read of the segment.
    const known = await readKeys(keysPathOf(path), fh, record, count);
    add(known, 0, 0, known.length / KEY_BYTES);
    // Records past it (a segment written before keys files, or a crash between the two appends): their keys are
    // read from the segment itself, many records per read.
    const perRead = Math.max(1, Math.floor(SCAN_BYTES / record));
    const block = Buffer.alloc(Math.min(count, perRead) * record);
    const keys = Buffer.alloc(Math.min(count, perRead) * KEY_BYTES);
    for (let first = known.length / KEY_BYTES; first < count; first += perRead) {
      const n = Math.min(perRead, count - first);
      await readFully(fh, block, n * record, 4 + first * record);
      for (let i = 0; i < n; i++) block.copy(keys, i * KEY_BYTES, i * record, i * record + KEY_BYTES);
      add(keys, 0, first, n);
    }
  }

  get size(): number {
    return this.index.size;
  }

  /** One vector, or undefined when the key is not cached. */
  async get(key: Buffer): Promise<Float32Array | undefined> {
    return (await this.getMany([key]))[0];
  }

  /**
   * The vectors of a batch of keys (undefined where not cached). Records that lie back to back in one segment
   * (a batch cached by an earlier run in the same order) come in one read.
   */
  async getMany(keys: readonly Buffer[]): Promise<(Float32Array | undefined)[]> {
    const out: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(keys.length).fill(undefined);
    const dim = this.dim;
    if (dim === undefined) return out;
    const record = KEY_BYTES + dim * 4;
    const segment = new Int32Array(keys.length);
    const offset = new Float64Array(keys.length);
    const slots = new Int32Array(keys.length);
    const found: number[] = [];
    keys.forEach((key, i) => {
      const slot = this.index.find(key);
      if (slot < 0 || this.index.getInt(slot) === STALE) return;
      slots[i] = slot;
      segment[i] = this.index.getInt(slot);
      offset[i] = this.index.getNumber(slot);
      found.push(i);
    });
    const reads: Promise<void>[] = [];
    for (let r = 0; r < found.length; ) {
      // A run: the next found key's record follows this one's in the same segment.
      let e = r + 1;
      while (e < found.length && segment[found[e]!] === segment[found[r]!] && offset[found[e]!] === offset[found[e - 1]!]! + record) e++;
      const run = found.slice(r, e);
      const fh = segment[run[0]!]! >= 0 ? this.segments[segment[run[0]!]!]! : this.writer!;
      // Whole records, keys included: a record whose key is not the one asked for (an index built from a keys
      // file that disagrees with its segment before its last key) is not used, and the text is embedded again.
      const bytes = Buffer.alloc(run.length * record);
      reads.push(
        readFully(fh, bytes, bytes.length, offset[run[0]!]! - KEY_BYTES).then(() => {
          run.forEach((i, t) => {
            if (!bytes.subarray(t * record, t * record + KEY_BYTES).equals(keys[i]!)) {
              this.index.setInt(slots[i]!, STALE);
              return;
            }
            const v = new Float32Array(dim);
            new Uint8Array(v.buffer).set(bytes.subarray(t * record + KEY_BYTES, (t + 1) * record));
            out[i] = v;
          });
        }),
      );
      r = e;
    }
    await Promise.all(reads);
    return out;
  }

  /** Adds one vector (kept if the key is already cached). */
  async put(key: Buffer, vector: Float32Array): Promise<void> {
    await this.putMany([key], [vector]);
  }

  /** Adds a batch of vectors with one append (keys already cached, or repeated in the batch, are kept once). */
  async putMany(keys: readonly Buffer[], vectors: readonly Float32Array[]): Promise<void> {
    const parts: Buffer[] = [];
    const added: Buffer[] = [];
    const batch = new DigestTable();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const vector = vectors[i]!;
      const cached = this.index.find(key);
      if ((cached >= 0 && this.index.getInt(cached) !== STALE) || !batch.insert(key).created) continue;
      if (this.dim === undefined) this.dim = vector.length;
      if (vector.length !== this.dim) throw new Error(`embedding cache ${this.dir}: width ${vector.length} differs from ${this.dim}`);
      parts.push(key, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
      added.push(key);
    }
    if (added.length === 0) return;
    if (!this.writer) {
      const path = join(this.dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.seg`);
      this.writer = await open(path, 'a+');
      this.keysWriter = await open(keysPathOf(path), 'a');
      this.keysSize = 0;
      const head = Buffer.alloc(4);
      head.writeUInt32LE(this.dim!, 0);
      await this.writer.write(head);
      this.writerSize = 4;
    }
    const rec = Buffer.concat(parts);
    await this.writer.write(rec, 0, rec.length, this.writerSize);
    // The keys again, in their own file, after the records they name: a reader trusts it only that far.
    const addedKeys = Buffer.concat(added);
    await this.keysWriter!.write(addedKeys, 0, addedKeys.length, this.keysSize);
    this.keysSize += addedKeys.length;
    const record = KEY_BYTES + this.dim! * 4;
    added.forEach((key, t) => {
      const { slot } = this.index.insert(key);
      this.index.setInt(slot, -1);
      this.index.setNumber(slot, this.writerSize + t * record + KEY_BYTES);
    });
    this.writerSize += rec.length;
  }

  async close(): Promise<void> {
    if (this.writer) {
      await this.writer.sync();
      await this.writer.close();
    }
    if (this.keysWriter) {
      await this.keysWriter.sync();
      await this.keysWriter.close();
    }
    await Promise.all(this.segments.map((s) => s.close()));
  }
}
