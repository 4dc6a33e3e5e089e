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

  async get(key: Buffer): Promise<Float32Array | undefined> {
    const slot = this.index.find(key);
    if (slot < 0 || this.dim === undefined) return undefined;
    const segment = this.index.getInt(slot);
    const out = new Float32Array(this.dim);
    const fh = segment >= 0 ? this.segments[segment]! : this.writer!;
    await fh.read(new Uint8Array(out.buffer), 0, out.byteLength, this.index.getNumber(slot));
    return out;
  }

  async put(key: Buffer, vector: Float32Array): Promise<void> {
    if (this.index.find(key) >= 0) return;
    if (this.dim === undefined) this.dim = vector.length;
    if (vector.length !== this.dim) throw new Error(`embedding cache ${this.dir}: width ${vector.length} differs from ${this.dim}`);
    if (!this.writer) {
      this.writer = await open(join(this.dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.seg`), 'a+');
      const head = Buffer.alloc(4);
      head.writeUInt32LE(this.dim, 0);
      await this.writer.write(head);
      this.writerSize = 4;
    }
    const rec = Buffer.concat([key, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)]);
    await this.writer.write(rec, 0, rec.length, this.writerSize);
    const { slot } = this.index.insert(key);
    this.index.setInt(slot, -1);
    this.index.setNumber(slot, this.writerSize + KEY_BYTES);
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
