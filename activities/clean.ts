// Phase 2, clean: exact duplicates and conflicting labels leave training; the rest become kept rows. Kept texts that
// differ only in case but carry different labels are reported (case-conflicts.json), not removed.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { AtomicWriter, hashKey, readJsonl, runPhaseOnce, writeJsonAtomic, writeTypedAtomic } from '../adapters/files.js';
import { Cleaner, caseConflictGroups, groupConflicts, normaliseText, type RejectReason } from '../core/clean.js';
import { normaliseLabel } from '../core/label-names.js';
import { jobContext } from './context.js';
import { dqeFailure } from '../adapters/failure.js';
import type { CleanResult, KeptRow, LoadResult, RejectRow } from './refs.js';
import { RUN_FILES, workFile } from '../core/run-layout.js';
import { runFile, workDirOf } from '../adapters/run-files.js';

export interface CleanArgs {
  runDir: string;
  load: LoadResult;
  labels?: readonly string[] | undefined;
}

/** The fewest kept rows the method can run on: two per half, so both halves hold a row and a neighbour. */
export const MIN_KEPT_ROWS = 4;

type ValidRow = Omit<KeptRow, 'id'>;

/** The key of a normalised text (`normaliseText`), or of its folded form (the normalised text lower-cased). */
function keyOf(normalised: string): Buffer {
  return createHash('sha256').update(normalised).digest();
}

/** A rejected row as rejects.jsonl holds it: a JSONL line as written, a CSV row's fields. */
function rejectedRow(r: ValidRow, format: LoadResult['format']): Pick<RejectRow, 'raw' | 'record'> {
  return format === 'csv' ? { record: JSON.parse(r.source) as Record<string, unknown> } : { raw: r.source };
}

/** Merges two JSONL files of rejects, each in row order, into one in row order. */
export async function mergeRejects(a: string, b: string, out: string): Promise<void> {
  const w = await AtomicWriter.create(out);
  const ia = readJsonl<RejectRow>(a);
  const ib = readJsonl<RejectRow>(b);
  let ra = await ia.next();
  let rb = await ib.next();
  while (!ra.done || !rb.done) {
    if (!ra.done && (rb.done || ra.value.row <= rb.value.row)) {
      await w.writeLine(ra.value);
      ra = await ia.next();
    } else if (!rb.done) {
      await w.writeLine(rb.value);
      rb = await ib.next();
    }
  }
  await w.commit();
}

export async function cleanDataset(args: CleanArgs): Promise<CleanResult> {
  const started = performance.now();
  const runDir = resolve(args.runDir);
  const key = hashKey({ load: args.load.validPath, labels: args.labels ?? null, v: 2 });
  const ctx = jobContext();
  return runPhaseOnce(workDirOf(runDir), 'clean', key, async (prefix) => {
    const cleaner = new Cleaner();
    for await (const r of readJsonl<ValidRow>(args.load.validPath)) {
      const norm = normaliseText(r.text);
      cleaner.observe(keyOf(norm), r.label, r.row, keyOf(norm.toLowerCase()));
    }
    ctx.heartbeat({ pass: 1 });

    const kept = await AtomicWriter.create(workFile(prefix, 'kept.jsonl'));
    const rejects = await AtomicWriter.create(workFile(prefix, 'rejects.jsonl'));
    const rejected: Partial<Record<RejectReason, number>> = { ...args.load.rejected };
    const conflicting: Array<{ key: string; text: string; row: number; label: string }> = [];
    // Kept rows whose case-folded text carries two or more labels (grouped below; those of one label among the kept dropped).
    const caseVariants: Array<{ key: string; text: string; row: number; label: string }> = [];
    const perLabel: Record<string, number> = {};
    // Each kept row's label as an index into `labelNames` (first appearance), mapped to the final ids below.
    const labelNames: string[] = [];
    const labelSeen = new Map<string, number>();
    const keptLabels: number[] = [];
    // Byte offset of each kept row in kept.jsonl (and the end), so shards can seek to their rows.
    const offsets: number[] = [0];
    let id = 0;
    for await (const r of readJsonl<ValidRow>(args.load.validPath)) {
      const norm = normaliseText(r.text);
      const textKey = keyOf(norm);
      const decision = cleaner.decide(textKey);
      if (decision.kind === 'keep') {
        const foldKey = cleaner.anyFoldedConflict ? keyOf(norm.toLowerCase()) : undefined;
        if (foldKey && cleaner.foldedConflict(foldKey)) caseVariants.push({ key: foldKey.toString('base64'), text: norm, row: r.row, label: r.label });
        const line = `${JSON.stringify({ id, ...r } satisfies KeptRow)}\n`;
        await kept.write(line);
        offsets.push(offsets[offsets.length - 1]! + Buffer.byteLength(line));
        let seen = labelSeen.get(r.label);
        if (seen === undefined) labelSeen.set(r.label, (seen = labelNames.push(r.label) - 1));
        keptLabels.push(seen);
        perLabel[r.label] = (perLabel[r.label] ?? 0) + 1;
        id++;
        continue;
      }
      const detail =
        decision.kind === 'duplicate'
          ? `duplicate of row ${decision.firstRow} (same text, same label)`
          : 'the same text carries two or more labels';
      if (decision.kind === 'conflicting_labels') conflicting.push({ key: textKey.toString('base64'), text: norm, row: r.row, label: r.label });
      rejected[decision.kind] = (rejected[decision.kind] ?? 0) + 1;
      await rejects.writeLine({ row: r.row, line: r.line, reason: decision.kind, field: 'text', detail, ...rejectedRow(r, args.load.format) } satisfies RejectRow);
    }
    await kept.commit();
    await rejects.commit();
    // Written before the checks below, so a run that fails for want of rows still says why each row left.
    const rejectsPath = runFile(runDir, RUN_FILES.rejects);
    await mergeRejects(args.load.rejectsPath, rejects.path, rejectsPath);

    if (id < MIN_KEPT_ROWS) {
      const reasons = Object.entries(rejected).map(([r, n]) => `${r} ${n}`).join(', ');
      throw dqeFailure(
        'DqeTooFewRows',
        `dataset ${args.load.datasetPath}: ${id} rows kept of ${args.load.rowsIn} after validation and cleaning${reasons ? ` (rejected: ${reasons}; each row's reason is in ${rejectsPath})` : ''}; dqe needs at least ${MIN_KEPT_ROWS}`,
      );
    }
    const labels = args.labels ? args.labels.map(normaliseLabel) : Object.keys(perLabel).sort();
    if (Object.keys(perLabel).length < 2) {
      throw dqeFailure('DqeTooFewLabels', `dataset ${args.load.datasetPath}: the kept rows carry ${Object.keys(perLabel).length} label(s) (${Object.keys(perLabel).join(', ')}); classification needs at least 2`);
    }
    const index = new Map(labels.map((l, i) => [l, i]));
    const labelIds = Uint32Array.from(keptLabels, (l) => index.get(labelNames[l]!)!);
    await writeTypedAtomic(workFile(prefix, 'label-ids.u32'), labelIds);
    await writeTypedAtomic(workFile(prefix, 'kept-offsets.f64'), Float64Array.from(offsets));

    const groups = groupConflicts(conflicting);
    await writeJsonAtomic(workFile(prefix, 'conflicts.json'), groups);
    const caseGroups = caseConflictGroups(caseVariants);
    await writeJsonAtomic(workFile(prefix, 'case-conflicts.json'), caseGroups);
    return {
      keptPath: kept.path,
      keptOffsetsPath: workFile(prefix, 'kept-offsets.f64'),
      kept: id,
      labelIdsPath: workFile(prefix, 'label-ids.u32'),
      labels,
      perLabel,
      rejectsPath,
      rejected,
      conflicts: { groups: groups.length, rows: conflicting.length, path: workFile(prefix, 'conflicts.json') },
      caseConflicts: { groups: caseGroups.length, rows: caseGroups.reduce((a, g) => a + g.rows.length, 0), path: workFile(prefix, 'case-conflicts.json') },
      seconds: (performance.now() - started) / 1000,
    } satisfies CleanResult;
  });
}
