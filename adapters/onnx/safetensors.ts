// Reads a safetensors file (8-byte little-endian header length, JSON header, raw little-endian tensors):
// the float32 tensors by name. The format is simple enough that a library would add nothing.
import { readFile } from 'node:fs/promises';
import type { Weight } from './bert.js';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Every F32 tensor of the file (others, e.g. BERT's int64 `position_ids` buffer, are skipped). */
export async function readSafetensors(path: string): Promise<Map<string, Weight>> {
  const buf = await readFile(path);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, HeaderEntry | Record<string, string>>;
  const base = 8 + headerLength;
  const out = new Map<string, Weight>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [from, to] } = entry as HeaderEntry;
    if (dtype !== 'F32') continue;
    // Copied so the tensor is 4-byte aligned whatever its offset in the file.
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + base + from, buf.byteOffset + base + to));
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${path}: tensor ${name} holds ${data.length} values for shape [${shape.join(', ')}]`);
    out.set(name, { dims: shape, data });
  }
  return out;
}
