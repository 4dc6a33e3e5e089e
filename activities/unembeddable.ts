// Rows whose text an embedder could not place anywhere (a zero or non-finite vector: nothing but
// invisible characters, emoji or punctuation for the hash embedder) leave training with their own reject
// reason, `nothing_to_embed`, instead of getting a similarity-0 "nearest neighbour". Any embedder's
// vectors are checked the same way (isUnembeddable, activities/embed-rows.ts); the embed merge writes the
// matrix without them (appendRowsWithout) and the kept rows and label ids are rewritten without them here.
import { dqeFailure } from '../adapters/failure.js';
import { open } from 'node:fs/promises';
import { AtomicWriter, copyFileAtomic, exists, readExactly, readFloat64, writeTypedAtomic } from '../adapters/files.js';
import { MIN_KEPT_ROWS, mergeRejects } from './clean.js';
import { readLabelIds } from './read.js';
import type { CleanResult, KeptRow, MatrixRef, RejectRow } from './refs.js';
import { workFile } from '../core/run-layout.js';

/** Bytes of kept.jsonl rewritten per read: large enough that a read costs little, small beside the rows. */
const REWRITE_CHUNK_BYTES = 4 << 20;

/**
 * The run's kept rows without the ids in `drop` (ascending), renumbered in order, with rejects.jsonl
 * rewritten to hold their rejects. Files are named with `prefix`. (The matrix leaves them out as the
 * embed merge writes it: appendRowsWithout.)
 */
export async function dropUnembeddable(
  clean: CleanResult,
  drop: readonly number[],
  prefix: string,
  embedderId: string,
  /** Bytes of kept.jsonl read at a time (tests make it small). */
  chunkBytes = REWRITE_CHUNK_BYTES,
): Promise<CleanResult> {
  const gone = new Set(drop);
  const kept = await AtomicWriter.create(workFile(prefix, 'kept.jsonl'));
  const rejects = await AtomicWriter.create(workFile(prefix, 'unembeddable.jsonl'));
  const oldLabels = await readLabelIds(clean);
  const labelIds = new Uint32Array(clean.kept - gone.size);
  const offsets = new Float64Array(clean.kept - gone.size + 1);
  const perLabel: Record<string, number> = {};
  const oldOffsets = await readFloat64(clean.keptOffsetsPath, clean.kept + 1);
  let id = 0;
  let bytes = 0;
  // Kept lines are rewritten as bytes, never decoded: clean wrote each as JSON.stringify({ id, ...row }), so a
  // line is `{"id":<old>,` and the rest, which stays byte for byte; only the dropped rows are parsed. Whole
  // lines are read about `chunkBytes` at a time (a longer line alone) and go out in one write per read.
  const fh = await open(clean.keptPath, 'r');
  try {
    let inBuf = Buffer.alloc(chunkBytes);
    let outBuf = Buffer.alloc(chunkBytes);
    for (let first = 0; first < clean.kept; ) {
      const base = oldOffsets[first]!;
      let last = first + 1;
      while (last < clean.kept && oldOffsets[last + 1]! - base <= chunkBytes) last++;
      const length = oldOffsets[last]! - base;
      if (length > inBuf.length) {
        inBuf = Buffer.alloc(length);
        outBuf = Buffer.alloc(length);
      }
      await readExactly(fh, inBuf, 0, length, base, (got) => new Error(`${clean.keptPath}: ended at byte ${base + got}, before the end of kept row ${first}`));
      let at = 0;
      for (let oldId = first; oldId < last; oldId++) {
        const s = oldOffsets[oldId]! - base;
        const e = oldOffsets[oldId + 1]! - base;
        if (gone.has(oldId)) {
          const r = JSON.parse(inBuf.toString('utf8', s, e)) as KeptRow;
          const detail = `embedder ${embedderId} found nothing to embed in field text (a zero vector): only invisible characters, symbols or words it does not use`;
          await rejects.writeLine({ row: r.row, line: r.line, reason: 'nothing_to_embed', field: 'text', detail, raw: r.source } satisfies RejectRow);
          continue;
        }
        const head = `{"id":${oldId},`;
        if (e - s < head.length || inBuf.toString('latin1', s, s + head.length) !== head) throw new Error(`${clean.keptPath}: line ${oldId + 1} does not start with ${head}`);
        // The new id is never longer than the old one, so the line fits where the old one was.
        const start = at;
        at += outBuf.write(`{"id":${id},`, at, 'latin1');
        at += inBuf.copy(outBuf, at, s + head.length, e);
        bytes += at - start;
        offsets[id + 1] = bytes;
        labelIds[id] = oldLabels[oldId]!;
        const label = clean.labels[oldLabels[oldId]!]!;
        perLabel[label] = (perLabel[label] ?? 0) + 1;
        id++;
      }
      // write() copies the bytes, so outBuf can be refilled by the next read at once.
      await kept.write(outBuf.subarray(0, at));
      first = last;
    }
  } finally {
    await fh.close();
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
  await writeTypedAtomic(workFile(prefix, 'label-ids.u32'), labelIds);
  await writeTypedAtomic(workFile(prefix, 'kept-offsets.f64'), offsets);
  const rejected = { ...clean.rejected, nothing_to_embed: (clean.rejected.nothing_to_embed ?? 0) + drop.length };
  if (id < MIN_KEPT_ROWS) {
    throw dqeFailure('DqeTooFewRows', `${id} rows kept after ${drop.length} had nothing to embed (each row's reason is in ${rejectsPath}); dqe needs at least ${MIN_KEPT_ROWS}`);
  }
  const withRows = Object.keys(perLabel);
  if (withRows.length < 2) throw dqeFailure('DqeTooFewLabels', `after ${drop.length} rows with nothing to embed, the kept rows carry ${withRows.length} label(s) (${withRows.join(', ')}); classification needs at least 2`);
  return { ...clean, keptPath: kept.path, keptOffsetsPath: workFile(prefix, 'kept-offsets.f64'), kept: id, labelIdsPath: workFile(prefix, 'label-ids.u32'), perLabel, rejected };
}

/** Rows read and written per step of a matrix copy: a few MiB, so the copy's memory does not grow with the matrix. */
const COPY_ROWS = 4096;

/**
 * Appends the rows of the matrix file `source` to `out` but those in `gone`, streamed in row blocks; the
 * file's row r is row id `firstId + r`. Returns the rows written.
 */
export async function appendRowsWithout(out: AtomicWriter, source: MatrixRef, firstId: number, gone: ReadonlySet<number>): Promise<number> {
  const rowBytes = source.dim * 4;
  const block = new Uint8Array(COPY_ROWS * rowBytes);
  const fh = await open(source.path, 'r');
  let written = 0;
  try {
    for (let r0 = 0; r0 < source.rows; r0 += COPY_ROWS) {
      const rows = Math.min(COPY_ROWS, source.rows - r0);
      const want = rows * rowBytes;
      await readExactly(fh, block, 0, want, r0 * rowBytes, (got) => new Error(`${source.path}: unexpected end of file at row ${r0 + Math.floor(got / rowBytes)} of ${source.rows}`));
      // Kept rows are moved down over the dropped ones, in order; the block then goes out in one write.
      let kept = 0;
      for (let r = 0; r < rows; r++) {
        if (gone.has(firstId + r0 + r)) continue;
        if (kept !== r) block.copyWithin(kept * rowBytes, r * rowBytes, (r + 1) * rowBytes);
        kept++;
      }
      await out.write(block.subarray(0, kept * rowBytes));
      written += kept;
    }
  } finally {
    await fh.close();
  }
  return written;
}
