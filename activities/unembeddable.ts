// Rows whose text an embedder could not place anywhere (a zero or non-finite vector: nothing but
// invisible characters, emoji or punctuation for the hash embedder) leave training with their own reject
// reason, `nothing_to_embed`, instead of getting a similarity-0 "nearest neighbour". Any embedder's
// vectors are checked the same way; the kept rows, label ids and matrix are rewritten without them.
import { dqeFailure } from '../adapters/failure.js';
import { AtomicWriter, copyFileAtomic, exists, readJsonl, readMatrix, writeTypedAtomic } from '../adapters/files.js';
import { MIN_KEPT_ROWS, mergeRejects } from './clean.js';
import { readLabelIds } from './read.js';
import type { CleanResult, KeptRow, MatrixRef, RejectRow } from './refs.js';
import { workFile } from '../core/run-layout.js';

/** Whether a vector has no direction: all zeros, or any NaN or infinity. */
export function isUnembeddable(v: Float32Array): boolean {
  let any = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) return true;
    if (x !== 0) any = true;
  }
  return !any;
}

/**
 * The run's kept rows without the ids in `drop` (ascending), renumbered in order, with rejects.jsonl
 * rewritten to hold their rejects; the matrix likewise. Files are named with `prefix`.
 */
export async function dropUnembeddable(clean: CleanResult, matrix: MatrixRef, drop: readonly number[], prefix: string, embedderId: string): Promise<{ clean: CleanResult; matrix: MatrixRef }> {
  const gone = new Set(drop);
  const kept = await AtomicWriter.create(workFile(prefix, 'kept.jsonl'));
  const rejects = await AtomicWriter.create(workFile(prefix, 'unembeddable.jsonl'));
  const oldLabels = await readLabelIds(clean);
  const labelIds: number[] = [];
  const offsets: number[] = [0];
  const perLabel: Record<string, number> = {};
  let id = 0;
  for await (const r of readJsonl<KeptRow>(clean.keptPath)) {
    if (gone.has(r.id)) {
      const detail = `embedder ${embedderId} found nothing to embed in field text (a zero vector): only invisible characters, symbols or words it does not use`;
      await rejects.writeLine({ row: r.row, line: r.line, reason: 'nothing_to_embed', field: 'text', detail, raw: r.source } satisfies RejectRow);
      continue;
    }
    const line = `${JSON.stringify({ ...r, id } satisfies KeptRow)}\n`;
    await kept.write(line);
    offsets.push(offsets[offsets.length - 1]! + Buffer.byteLength(line));
    labelIds.push(oldLabels[r.id]!);
    perLabel[r.label] = (perLabel[r.label] ?? 0) + 1;
    id++;
  }
  await kept.commit();
  await rejects.commit();
  const rejectsPath = clean.rejectsPath;
  // The rejects as clean wrote them, kept aside once, so a retried attempt does not add these rows twice.
  const before = workFile(prefix, 'rejects-before.jsonl');
  if (!(await exists(before))) await copyFileAtomic(rejectsPath, before);
  const merged = workFile(prefix, 'rejects.jsonl');
  await mergeRejects(before, rejects.path, merged);
  // rejects.jsonl in the run directory is replaced whole, in row order (a retry merges from `merged` again).
  await copyFileAtomic(merged, rejectsPath);
  const full = await readMatrix(matrix);
  const out = new Float32Array(id * matrix.dim);
  let o = 0;
  for (let r = 0; r < matrix.rows; r++) {
    if (gone.has(r)) continue;
    out.set(full.subarray(r * matrix.dim, (r + 1) * matrix.dim), o * matrix.dim);
    o++;
  }
  await writeTypedAtomic(workFile(prefix, 'matrix.f32'), out);
  await writeTypedAtomic(workFile(prefix, 'label-ids.u32'), Uint32Array.from(labelIds));
  await writeTypedAtomic(workFile(prefix, 'kept-offsets.f64'), Float64Array.from(offsets));
  const rejected = { ...clean.rejected, nothing_to_embed: (clean.rejected.nothing_to_embed ?? 0) + drop.length };
  if (id < MIN_KEPT_ROWS) {
    throw dqeFailure('DqeTooFewRows', `${id} rows kept after ${drop.length} had nothing to embed (each row's reason is in ${rejectsPath}); dqe needs at least ${MIN_KEPT_ROWS}`);
  }
  const withRows = Object.keys(perLabel);
  if (withRows.length < 2) throw dqeFailure('DqeTooFewLabels', `after ${drop.length} rows with nothing to embed, the kept rows carry ${withRows.length} label(s) (${withRows.join(', ')}); classification needs at least 2`);
  return {
    clean: { ...clean, keptPath: kept.path, keptOffsetsPath: workFile(prefix, 'kept-offsets.f64'), kept: id, labelIdsPath: workFile(prefix, 'label-ids.u32'), perLabel, rejected },
    matrix: { path: workFile(prefix, 'matrix.f32'), rows: id, dim: matrix.dim },
  };
}
