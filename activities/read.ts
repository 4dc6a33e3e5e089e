// Readers for the files phases hand each other.
import { open, readFile } from 'node:fs/promises';
import { readExactly, readFloat64, readLines, readUint32 } from '../adapters/files.js';
import type { Split } from '../core/categorise.js';
import type { CleanResult, KeptRow, SampleResult } from './refs.js';

export async function readSplits(sample: SampleResult, rows: number): Promise<Split[]> {
  const bytes = await readFile(sample.splitPath);
  if (bytes.length !== rows) throw new Error(`${sample.splitPath}: expected ${rows} bytes, found ${bytes.length}`);
  return Array.from(bytes, (b) => (b === 1 ? 'sampled' : 'unsampled'));
}

export function readLabelIds(clean: CleanResult): Promise<Uint32Array> {
  return readUint32(clean.labelIdsPath, clean.kept);
}

/** Ids of the rows of one split, ascending. */
export function idsOf(splits: readonly Split[], which: Split): number[] {
  const out: number[] = [];
  splits.forEach((s, id) => s === which && out.push(id));
  return out;
}

/** Longest run of kept.jsonl read at once by keptRowsById, and the widest gap between wanted rows it reads over. */
const BY_ID_SPAN_BYTES = 1 << 20;
const BY_ID_GAP_BYTES = 64 << 10;

/**
 * The kept rows whose ids are in `ids`, keyed by id: only their lines are read (through the offsets file),
 * neighbours that lie close together in one read, so a few thousand rows of a million cost milliseconds
 * instead of a pass over the whole file.
 */
export async function keptRowsById(clean: CleanResult, ids: ReadonlySet<number>): Promise<Map<number, KeptRow>> {
  const out = new Map<number, KeptRow>();
  if (ids.size === 0) return out;
  const offsets = await readFloat64(clean.keptOffsetsPath, clean.kept + 1);
  const sorted = [...ids].sort((a, b) => a - b);
  for (const id of sorted) if (!Number.isInteger(id) || id < 0 || id >= clean.kept) throw new Error(`kept row ${id} asked for: ${clean.keptPath} holds ids 0 to ${clean.kept - 1}`);
  const fh = await open(clean.keptPath, 'r');
  try {
    let buf = Buffer.alloc(BY_ID_SPAN_BYTES);
    for (let g = 0; g < sorted.length; ) {
      // A group: wanted rows close enough together to read as one span.
      const start = offsets[sorted[g]!]!;
      let h = g + 1;
      while (h < sorted.length && offsets[sorted[h]! + 1]! - start <= BY_ID_SPAN_BYTES && offsets[sorted[h]!]! - offsets[sorted[h - 1]! + 1]! <= BY_ID_GAP_BYTES) h++;
      const length = offsets[sorted[h - 1]! + 1]! - start;
      if (length > buf.length) buf = Buffer.alloc(length);
      await readExactly(fh, buf, 0, length, start, (got) => new Error(`${clean.keptPath}: ended at byte ${start + got}, before the end of kept row ${sorted[h - 1]}`));
      for (let k = g; k < h; k++) {
        const id = sorted[k]!;
        const row = JSON.parse(buf.toString('utf8', offsets[id]! - start, offsets[id + 1]! - start)) as KeptRow;
        if (row.id !== id) throw new Error(`${clean.keptPath}: the line at kept row ${id}'s offset holds row ${row.id}`);
        out.set(id, row);
      }
      g = h;
    }
  } finally {
    await fh.close();
  }
  return out;
}

/** Streams the kept rows with ids in [start, end), seeking straight to them. */
export async function* keptRange(clean: CleanResult, start: number, end: number): AsyncGenerator<KeptRow> {
  if (end <= start) return;
  const offsets = await readFloat64(clean.keptOffsetsPath, clean.kept + 1);
  for await (const line of readLines(clean.keptPath, { start: offsets[start]!, end: offsets[end]! - 1 })) yield JSON.parse(line) as KeptRow;
}

