// Readers for the files phases hand each other.
import { readFile } from 'node:fs/promises';
import { readFloat64, readJsonl, readLines, readUint32 } from '../adapters/files.js';
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

/** The kept rows whose ids are in `ids`, keyed by id (one streaming pass). */
export async function keptRowsById(clean: CleanResult, ids: ReadonlySet<number>): Promise<Map<number, KeptRow>> {
  const out = new Map<number, KeptRow>();
  if (ids.size === 0) return out;
  for await (const r of readJsonl<KeptRow>(clean.keptPath)) if (ids.has(r.id)) out.set(r.id, r);
  return out;
}

/** Streams the kept rows with ids in [start, end), seeking straight to them. */
export async function* keptRange(clean: CleanResult, start: number, end: number): AsyncGenerator<KeptRow> {
  if (end <= start) return;
  const offsets = await readFloat64(clean.keptOffsetsPath, clean.kept + 1);
  for await (const line of readLines(clean.keptPath, { start: offsets[start]!, end: offsets[end]! - 1 })) yield JSON.parse(line) as KeptRow;
}

