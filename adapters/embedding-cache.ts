// A content-addressed vector cache shared by runs: sha256(text) → vector, one folder per embedder id.
// Append-only segment files, one per writer, so concurrent workers never write the same file; a
// torn record at the end of a segment (a crash mid-write) is ignored.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DigestTable } from '../core/digest-table.js';

const KEY_BYTES = 32;

export function textKey(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export class EmbeddingCache {
  /** Key → segment (int; -1: this writer's) and byte offset of the vector, ~40 bytes per entry. */
  private readonly index = new DigestTable();
  private readonly segments: FileHandle[] = [];
  private writer: FileHandle | undefined;
  private writerSize = 0;
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
    const keys = Buffer.alloc(KEY_BYTES);
    for (let i = 0; i < count; i++) {
      const offset = 4 + i * record;
      await fh.read(keys, 0, KEY_BYTES, offset);
      const { slot } = this.index.insert(keys);
      this.index.setInt(slot, segment);
      this.index.setNumber(slot, offset + KEY_BYTES);
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
    const found: number[] = [];
    keys.forEach((key, i) => {
      const slot = this.index.find(key);
      if (slot < 0) return;
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
      const bytes = Buffer.alloc((run.length - 1) * record + dim * 4);
      reads.push(
        fh.read(bytes, 0, bytes.length, offset[run[0]!]).then(() => {
          run.forEach((i, t) => {
            const v = new Float32Array(dim);
            new Uint8Array(v.buffer).set(bytes.subarray(t * record, t * record + dim * 4));
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
      if (this.index.find(key) >= 0 || !batch.insert(key).created) continue;
      if (this.dim === undefined) this.dim = vector.length;
      if (vector.length !== this.dim) throw new Error(`embedding cache ${this.dir}: width ${vector.length} differs from ${this.dim}`);
      parts.push(key, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
      added.push(key);
    }
    if (added.length === 0) return;
    if (!this.writer) {
      this.writer = await open(join(this.dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.seg`), 'a+');
      const head = Buffer.alloc(4);
      head.writeUInt32LE(this.dim!, 0);
      await this.writer.write(head);
      this.writerSize = 4;
    }
    const rec = Buffer.concat(parts);
    await this.writer.write(rec, 0, rec.length, this.writerSize);
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
    await Promise.all(this.segments.map((s) => s.close()));
  }
}
