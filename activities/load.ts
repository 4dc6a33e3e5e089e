// Phase 1, load and validate: every input row becomes a valid row or a reject with its reason.
import { access, constants, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DatasetFormatError, readCsvDataset, readJsonlDataset, formatOf, type RawRow } from '../adapters/dataset-reader.js';
import { AtomicWriter, hashFile, hashKey, runPhaseOnce } from '../adapters/files.js';
import type { RejectReason } from '../core/clean.js';
import { MIN_KEPT_ROWS } from './clean.js';
import { badInput, FailureType } from './errors.js';
import { jobContext } from './context.js';
import type { LoadResult, RejectRow } from './refs.js';

export interface LoadArgs {
  runDir: string;
  dataset: string;
  format?: 'jsonl' | 'csv' | undefined;
  textField: string;
  labelField: string;
  labels?: readonly string[] | undefined;
}

/** Rows between heartbeats while reading. */
const HEARTBEAT_EVERY_ROWS = 5000;

/** U+0000 in a text or label: binary data, which tokenizers and ms-swift's JSONL handle badly. */
const NUL = '\u0000';

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

type FieldCheck = { ok: true; value: string } | { ok: false; reason: RejectReason; detail: string };

function checkText(record: Record<string, unknown>, field: string): FieldCheck {
  const v = record[field];
  if (v === undefined || v === null) return { ok: false, reason: 'missing_text', detail: `field "${field}" is ${v === null ? 'null' : 'missing'}` };
  if (typeof v !== 'string') return { ok: false, reason: 'invalid_text', detail: `field "${field}" must be a string, found ${Array.isArray(v) ? 'an array' : typeof v}` };
  if (v.trim().length === 0) return { ok: false, reason: 'missing_text', detail: `field "${field}" is empty or whitespace only` };
  if (v.includes(NUL)) return { ok: false, reason: 'invalid_text', detail: `field "${field}" contains a NUL character (U+0000) at offset ${v.indexOf(NUL)}: binary data, not text` };
  return { ok: true, value: v };
}

function checkLabel(record: Record<string, unknown>, field: string, declared: ReadonlySet<string> | undefined): FieldCheck {
  const v = record[field];
  if (v === undefined || v === null || (typeof v === 'string' && v.trim().length === 0)) {
    return { ok: false, reason: 'missing_label', detail: `field "${field}" is ${v === undefined ? 'missing' : v === null ? 'null' : 'empty'}` };
  }
  let label: string;
  // Integer class ids (0/1, as many datasets ship) are labels too; floats, booleans and structures are not.
  if (typeof v === 'string') label = v.trim();
  else if (typeof v === 'number' && Number.isInteger(v)) label = String(v);
  else return { ok: false, reason: 'invalid_label', detail: `field "${field}" must be a string or an integer, found ${Array.isArray(v) ? 'an array' : typeof v === 'number' ? 'a non-integer number' : typeof v}` };
  if (label.includes(NUL)) return { ok: false, reason: 'invalid_label', detail: `field "${field}" contains a NUL character (U+0000)` };
  if (declared && !declared.has(label)) {
    return { ok: false, reason: 'label_not_in_set', detail: `label ${JSON.stringify(label)} is not in the declared label set` };
  }
  return { ok: true, value: label };
}

async function checkDataset(path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw badInput(FailureType.DatasetNotFound, `dataset ${path}: no such file`);
    // A folder on the way that the worker may not enter (EACCES), a symlink loop (ELOOP)...
    throw badInput(FailureType.DatasetUnreadable, `dataset ${path}: not readable (${code})`);
  }
  if (!info.isFile()) throw badInput(FailureType.DatasetNotAFile, `dataset ${path}: not a file (${info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a named pipe' : 'a device or socket'})`);
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw badInput(FailureType.DatasetUnreadable, `dataset ${path}: not readable (${errorCode(err)})`);
  }
  if (info.size === 0) throw badInput(FailureType.TooFewRows, `dataset ${path}: the file is empty (0 bytes); dqe needs at least ${MIN_KEPT_ROWS} rows`);
}

/** The run directory and its work/ folder exist (made if needed) and this worker may write both. */
async function checkWritable(runDir: string, workDir: string): Promise<void> {
  for (const dir of [runDir, workDir]) {
    try {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    } catch (err) {
      throw badInput(FailureType.OutputNotWritable, `output directory ${dir}: cannot write (${errorCode(err)})`);
    }
  }
}

export async function loadDataset(args: LoadArgs): Promise<LoadResult> {
  const started = performance.now();
  const datasetPath = resolve(args.dataset);
  await checkDataset(datasetPath);
  const format = formatOf(datasetPath, args.format);
  if (!format) throw badInput(FailureType.UnknownFormat, `dataset ${datasetPath}: unknown format; name it .jsonl or .csv, or set "format"`);
  let datasetSha256: string;
  try {
    datasetSha256 = await hashFile(datasetPath);
  } catch (err) {
    throw badInput(FailureType.DatasetUnreadable, `dataset ${datasetPath}: cannot read (${errorCode(err)})`);
  }
  const workDir = join(resolve(args.runDir), 'work');
  const key = hashKey({ datasetSha256, format, textField: args.textField, labelField: args.labelField, labels: args.labels ?? null });
  await checkWritable(resolve(args.runDir), workDir);
  const ctx = jobContext();
  return runPhaseOnce(workDir, 'load', key, async (prefix) => {
    const declared = args.labels ? new Set(args.labels) : undefined;
    const valid = await AtomicWriter.create(`${prefix}.valid.jsonl`);
    const rejects = await AtomicWriter.create(`${prefix}.rejects.jsonl`);
    const rejected: Partial<Record<RejectReason, number>> = {};
    let rowsIn = 0;
    let validCount = 0;
    let blankLines = 0;
    const reject = async (r: RejectRow) => {
      rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
      await rejects.writeLine(r);
    };
    const rows: AsyncGenerator<RawRow> =
      format === 'jsonl' ? readJsonlDataset(datasetPath, () => blankLines++) : readCsvDataset(datasetPath, { requiredColumns: [args.textField, args.labelField] });
    try {
      for await (const r of rows) {
        rowsIn++;
        if (rowsIn % HEARTBEAT_EVERY_ROWS === 0) ctx.heartbeat({ rows: rowsIn });
        if ('reason' in r) {
          await reject({ row: r.row, line: r.line, reason: r.reason, detail: `${datasetPath}:${r.line}: ${r.detail}`, raw: r.raw });
          continue;
        }
        const text = checkText(r.record, args.textField);
        const label = checkLabel(r.record, args.labelField, declared);
        const bad = !text.ok ? { check: text, field: args.textField } : !label.ok ? { check: label, field: args.labelField } : undefined;
        if (bad && !bad.check.ok) {
          await reject({ row: r.row, line: r.line, reason: bad.check.reason, field: bad.field, detail: `${datasetPath}:${r.line}: ${bad.check.detail}`, record: r.record });
          continue;
        }
        if (!text.ok || !label.ok) continue;
        validCount++;
        await valid.writeLine({ row: r.row, line: r.line, text: text.value, label: label.value, record: r.record });
      }
    } catch (err) {
      await valid.abort();
      await rejects.abort();
      if (err instanceof DatasetFormatError) {
        throw badInput(err.kind === 'missing_column' ? FailureType.DatasetMissingColumn : FailureType.DatasetUnreadable, `dataset ${datasetPath}: ${err.message}`);
      }
      throw badInput(FailureType.DatasetUnreadable, `dataset ${datasetPath}: cannot read after row ${rowsIn} (${errorCode(err)})`);
    }
    await valid.commit();
    await rejects.commit();
    return {
      datasetPath,
      datasetSha256,
      format,
      rowsIn,
      blankLines,
      validPath: valid.path,
      valid: validCount,
      rejectsPath: rejects.path,
      rejected,
      seconds: (performance.now() - started) / 1000,
    } satisfies LoadResult;
  });
}
