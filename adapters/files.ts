// Run-directory I/O: atomic writes, JSONL streams, float32 matrices and idempotent phase manifests.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';

/** Path of a temporary sibling of `path`, unique per process and call. */
function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes a whole file atomically: a reader sees the old file or the new one, never a torn one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = await writeTemporary(path, data);
  await rename(tmp, path);
}

/** Writes `data` to a new temporary sibling of `path`, on disk (synced) when this resolves; returns its name. */
async function writeTemporary(path: string, data: string | Uint8Array): Promise<string> {
  const tmp = tempPath(path);
  await writeNewFile(tmp, data);
  return tmp;
}

/** Creates `path` (EEXIST if it is there) holding `data`, on disk (synced) when this resolves. */
async function writeNewFile(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates `path` holding `data` only if nothing is there yet, and a reader sees it whole or not at all: the data is
 * written and synced under a temporary name, then hard-linked to `path` (which fails if it exists). Returns false
 * when `path` existed. (An exclusive open followed by a write would leave an empty file for a moment, and a rival
 * reading it then could not tell who holds it.)
 */
export async function createFileExclusive(path: string, data: string | Uint8Array): Promise<boolean> {
  const tmp = await writeTemporary(path, data);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code ?? '')) throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  // A file system without hard links (FAT, some FUSE mounts): an exclusive create, then the data. A reader can
  // see the file empty for a moment and must wait for it (readLock does).
  try {
    await writeNewFile(path, data);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** What link(2) answers on a file system that has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Copies a file into place atomically. */
export async function copyFileAtomic(from: string, to: string): Promise<void> {
  const tmp = tempPath(to);
  await copyFile(from, tmp);
  await rename(tmp, to);
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A file written as a stream to a temporary name and renamed into place by `commit`. */
export class AtomicWriter {
  private readonly tmp: string;
  private readonly stream: WriteStream;
  /** The stream's first error (a full disk, a write after `abort`), rethrown by the next call. */
  private failure: Error | undefined;
  private constructor(readonly path: string) {
    this.tmp = tempPath(path);
    this.stream = createWriteStream(this.tmp);
    // Without a listener, a stream error would be an uncaught exception that kills the worker.
    this.stream.on('error', (err) => (this.failure ??= err));
  }

  static async create(path: string): Promise<AtomicWriter> {
    await mkdir(dirname(path), { recursive: true });
    const w = new AtomicWriter(path);
    await once(w.stream, 'open');
    return w;
  }

  /**
   * Queues `chunk` on the file's write stream. Bytes are copied first: the stream holds what it is given until it
   * is on disk, after this resolves, so a caller may refill its buffer at once (a reused buffer handed over as is
   * once lost and doubled kept rows).
   */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(typeof chunk === 'string' ? chunk : Buffer.from(chunk))) await once(this.stream, 'drain');
  }

  async writeLine(value: unknown): Promise<void> {
    await this.write(`${JSON.stringify(value)}\n`);
  }

  async commit(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const fh = await open(this.tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    await rm(this.tmp, { force: true });
  }
}

/** Streams the lines of a UTF-8 file (or of its bytes `start`..`end` inclusive), without their newlines. */
export async function* readLines(path: string, range: { start?: number; end?: number } = {}): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(path, { ...range, encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let from = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', from)) >= 0) {
      yield text.slice(from, nl);
      from = nl + 1;
    }
    rest = text.slice(from);
  }
  if (rest.length > 0) yield rest;
}

/** Streams the values of a JSONL file written by dqe (trusted: one JSON value per line). */
export async function* readJsonl<T>(path: string): AsyncGenerator<T> {
  for await (const line of readLines(path)) if (line.length > 0) yield JSON.parse(line) as T;
}

export async function readJsonlAll<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  for await (const v of readJsonl<T>(path)) out.push(v);
  return out;
}

/** Bytes read or written per call when moving large typed arrays: 64 MiB keeps syscalls few. */
const IO_CHUNK = 64 << 20;

/** Writes any typed array's bytes to a file atomically (little-endian, as the platform). */
export async function writeTypedAtomic(path: string, data: ArrayBufferView): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  const fh = await open(tmp, 'w');
  try {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (let off = 0; off < bytes.length; off += IO_CHUNK) {
      const part = bytes.subarray(off, Math.min(off + IO_CHUNK, bytes.length));
      let done = 0;
      while (done < part.length) done += (await fh.write(part, done)).bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/**
 * Reads `length` bytes of `fh` from file position `position` into `into` at `offset`, as many reads as it takes
 * (at most IO_CHUNK each). A file that ends first throws `ended(bytesRead)`: each caller names the file and the
 * unit (byte, row, record) its user knows.
 */
export async function readExactly(
  fh: FileHandle,
  into: Uint8Array,
  offset: number,
  length: number,
  position: number,
  ended: (bytesRead: number) => Error,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(into, offset + done, Math.min(IO_CHUNK, length - done), position + done);
    if (bytesRead === 0) throw ended(done);
    done += bytesRead;
  }
}

export async function readBytesInto(path: string, target: Uint8Array): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size !== target.length) throw new Error(`${path}: expected ${target.length} bytes, found ${size}`);
    await readExactly(fh, target, 0, target.length, 0, (done) => new Error(`${path}: unexpected end of file at byte ${done}`));
  } finally {
    await fh.close();
  }
}

/** A float32 row-major matrix file and its shape, as activities pass it around. */
export interface MatrixRef {
  path: string;
  rows: number;
  dim: number;
}

export async function readMatrix(ref: MatrixRef): Promise<Float32Array> {
  const out = new Float32Array(ref.rows * ref.dim);
  await readBytesInto(ref.path, new Uint8Array(out.buffer));
  return out;
}

export async function readUint32(path: string, length: number): Promise<Uint32Array> {
  const out = new Uint32Array(length);
  await readBytesInto(path, new Uint8Array(out.buffer));
  return out;
}

export async function readInt32(path: string, length: number): Promise<Int32Array> {
  const out = new Int32Array(length);
  await readBytesInto(path, new Uint8Array(out.buffer));
  return out;
}

export async function readFloat64(path: string, length: number): Promise<Float64Array> {
  const out = new Float64Array(length);
  await readBytesInto(path, new Uint8Array(out.buffer));
  return out;
}

/** Short stable hash of any JSON value, used to name phase outputs after their inputs. */
export function hashKey(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** SHA-256 of a file's bytes (its first `length` bytes when given), streamed. */
export async function hashFile(path: string, length?: number): Promise<string> {
  const h = createHash('sha256');
  if (length === 0) return h.digest('hex');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, ...(length !== undefined ? { end: length - 1 } : {}) })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Runs one phase idempotently. Its result is recorded in `<workDir>/<phase>.<key>.json`, written last
 * and atomically; a retried or replayed phase with the same inputs finds it and returns it at once.
 * `fn` gets the prefix to name its outputs with, and must write them atomically.
 */
export async function runPhaseOnce<T>(workDir: string, phase: string, key: string, fn: (prefix: string) => Promise<T>): Promise<T> {
  const manifest = join(workDir, `${phase}.${key}.json`);
  if (await exists(manifest)) return await readJson<T>(manifest);
  await mkdir(workDir, { recursive: true });
  const result = await fn(join(workDir, `${phase}.${key}`));
  await writeJsonAtomic(manifest, result);
  await removeTemps(workDir, `${phase}.${key}.`);
  return result;
}

/** Removes the temporary files that killed attempts of one phase left (names starting with `prefix`). */
async function removeTemps(dir: string, prefix: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix) && name.includes('.tmp-')) await rm(join(dir, name), { force: true });
  }
}
