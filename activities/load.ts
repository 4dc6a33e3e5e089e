// Phase 1, load and validate: every input row becomes a valid row or a reject with its reason.
import { createHash } from 'node:crypto';
import { access, constants, mkdir, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DatasetFormatError, readCsvDataset, readJsonlDataset, formatOf, type RawRow, type ReadRow } from '../adapters/dataset-reader.js';
import { AtomicWriter, hashFile, hashKey, runPhaseOnce } from '../adapters/files.js';
import type { RejectReason } from '../core/clean.js';
import { sniffDataset, SNIFF_BYTES, type DatasetFormat } from '../core/dataset-format.js';
import { INTEGER_LABEL, normaliseLabel } from '../core/label-names.js';
import { MIN_KEPT_ROWS } from './clean.js';
import { ApplicationFailure } from '@temporalio/common';
import { dqeFailure } from '../adapters/failure.js';
import { jobContext } from './context.js';
import type { LoadResult, RejectRow } from './refs.js';
import { workFile } from '../core/run-layout.js';
import { workDirOf } from '../adapters/run-files.js';

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

const LONE_SURROGATE = /\p{Cs}/u;

type FieldCheck = { ok: true; value: string } | { ok: false; reason: RejectReason; detail: string };

/** Lone UTF-16 surrogates (a JSON `\\ud800` escape): not text any encoder or ms-swift can carry. */
function unicodeProblem(field: string, v: string): string | undefined {
  // In a `u` regex a paired surrogate is one code point, so \p{Cs} matches lone ones only.
  const m = LONE_SURROGATE.exec(v);
  if (!m) return undefined;
  return `field "${field}" holds a lone surrogate (U+${m[0].charCodeAt(0).toString(16).toUpperCase()}) at offset ${m.index}: not valid Unicode`;
}

function checkText(record: Record<string, unknown>, field: string): FieldCheck {
  const v = Object.hasOwn(record, field) ? record[field] : undefined;
  if (v === undefined || v === null) return { ok: false, reason: 'missing_text', detail: `field "${field}" is ${v === null ? 'null' : 'missing'}` };
  if (typeof v !== 'string') return { ok: false, reason: 'invalid_text', detail: `field "${field}" must be a string, found ${Array.isArray(v) ? 'an array' : typeof v}` };
  if (v.trim().length === 0) return { ok: false, reason: 'missing_text', detail: `field "${field}" is empty or whitespace only` };
  if (v.includes(NUL)) return { ok: false, reason: 'invalid_text', detail: `field "${field}" contains a NUL character (U+0000) at offset ${v.indexOf(NUL)}: binary data, not text` };
  const bad = unicodeProblem(field, v);
  if (bad) return { ok: false, reason: 'invalid_unicode', detail: bad };
  return { ok: true, value: v };
}

function checkLabel(r: ReadRow, field: string, declared: ReadonlySet<string> | undefined): FieldCheck {
  const v = Object.hasOwn(r.record, field) ? r.record[field] : undefined;
  if (v === undefined || v === null || (typeof v === 'string' && v.trim().length === 0)) {
    return { ok: false, reason: 'missing_label', detail: `field "${field}" is ${v === undefined ? 'missing' : v === null ? 'null' : 'empty'}` };
  }
  let label: string;
  // Integer class ids (0/1, as many datasets ship) are labels too, compared as the digits written (never
  // through a float, which merges ids above 2^53); other numbers, booleans and structures are not.
  const span = r.spans?.get(field);
  const written = typeof v === 'number' ? (span ? r.source.slice(span.start, span.end) : String(v)) : '';
  if (typeof v === 'string') label = normaliseLabel(v);
  else if (typeof v === 'number' && INTEGER_LABEL.test(written)) label = written;
  else return { ok: false, reason: 'invalid_label', detail: `field "${field}" must be a string or an integer, found ${Array.isArray(v) ? 'an array' : typeof v === 'number' ? `a number not written as an integer (${written})` : typeof v}` };
  if (label.includes(NUL)) return { ok: false, reason: 'invalid_label', detail: `field "${field}" contains a NUL character (U+0000)` };
  const bad = unicodeProblem(field, label);
  if (bad) return { ok: false, reason: 'invalid_unicode', detail: bad };
  if (declared && !declared.has(label)) {
    return { ok: false, reason: 'label_not_in_set', detail: `label ${JSON.stringify(label)} is not in the declared label set` };
  }
  return { ok: true, value: label };
}

async function checkDataset(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw dqeFailure('DqeDatasetNotFound', `dataset ${path}: no such file`);
    // A folder on the way that the worker may not enter (EACCES), a symlink loop (ELOOP)...
    throw dqeFailure('DqeDatasetUnreadable', `dataset ${path}: not readable (${code})`);
  }
  if (!info.isFile()) throw dqeFailure('DqeDatasetNotAFile', `dataset ${path}: not a file (${info.isDirectory() ? 'a directory' : info.isFIFO() ? 'a named pipe' : 'a device or socket'})`);
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw dqeFailure('DqeDatasetUnreadable', `dataset ${path}: not readable (${errorCode(err)})`);
  }
  if (info.size === 0) throw dqeFailure('DqeTooFewRows', `dataset ${path}: the file is empty (0 bytes); dqe needs at least ${MIN_KEPT_ROWS} rows`);
  return info.size;
}

/** The run directory and its work/ folder exist (made if needed) and this worker may write both. */
async function checkWritable(runDir: string, workDir: string): Promise<void> {
  for (const dir of [runDir, workDir]) {
    try {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    } catch (err) {
      throw dqeFailure('DqeOutputNotWritable', `output directory ${dir}: cannot write (${errorCode(err)})`);
    }
  }
}

/** Fails the run when the file's first bytes show it is not the JSONL or CSV dqe reads. */
async function checkHead(path: string, format: DatasetFormat, size: number): Promise<void> {
  const fh = await open(path, 'r');
  let head: Uint8Array;
  try {
    const buf = new Uint8Array(Math.min(SNIFF_BYTES, size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const problem = sniffDataset(head, format);
  if (problem) throw dqeFailure('DqeDatasetWrongFormat', `dataset ${path}: not ${format === 'jsonl' ? 'JSON Lines' : 'CSV'} as dqe reads it: ${problem}`);
}

export async function loadDataset(args: LoadArgs): Promise<LoadResult> {
  const started = performance.now();
  const datasetPath = resolve(args.dataset);
  const datasetBytes = await checkDataset(datasetPath);
  const format = formatOf(datasetPath, args.format);
  if (!format) throw dqeFailure('DqeUnknownFormat', `dataset ${datasetPath}: unknown format; name it .jsonl or .csv, or set "format"`);
  let datasetSha256: string;
  try {
    await checkHead(datasetPath, format, datasetBytes);
    // The first `datasetBytes` only: a file that grows during the run is read as it was when it started.
    datasetSha256 = await hashFile(datasetPath, datasetBytes);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw dqeFailure('DqeDatasetUnreadable', `dataset ${datasetPath}: cannot read (${errorCode(err)})`);
  }
  const workDir = workDirOf(args.runDir);
  const key = hashKey({ datasetSha256, format, textField: args.textField, labelField: args.labelField, labels: args.labels ?? null });
  await checkWritable(resolve(args.runDir), workDir);
  const ctx = jobContext();
  return runPhaseOnce(workDir, 'load', key, async (prefix) => {
    const declared = args.labels ? new Set(args.labels.map(normaliseLabel)) : undefined;
    const valid = await AtomicWriter.create(workFile(prefix, 'valid.jsonl'));
    const rejects = await AtomicWriter.create(workFile(prefix, 'rejects.jsonl'));
    const rejected: Partial<Record<RejectReason, number>> = {};
    let rowsIn = 0;
    let validCount = 0;
    let blankLines = 0;
    const reject = async (r: RejectRow) => {
      rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
      await rejects.writeLine(r);
    };
    const hash = createHash('sha256');
    const read = { length: datasetBytes, hash };
    const rows: AsyncGenerator<RawRow> =
      format === 'jsonl' ? readJsonlDataset(datasetPath, () => blankLines++, read) : readCsvDataset(datasetPath, { ...read, requiredColumns: [args.textField, args.labelField] });
    try {
      for await (const r of rows) {
        rowsIn++;
        if (rowsIn % HEARTBEAT_EVERY_ROWS === 0) ctx.heartbeat({ rows: rowsIn });
        if ('reason' in r) {
          await reject({ row: r.row, line: r.line, reason: r.reason, detail: `${datasetPath}:${r.line}: ${r.detail}`, raw: r.raw });
          continue;
        }
        const text = checkText(r.record, args.textField);
        const label = checkLabel(r, args.labelField, declared);
        const bad = !text.ok ? { check: text, field: args.textField } : !label.ok ? { check: label, field: args.labelField } : undefined;
        if (bad && !bad.check.ok) {
          const row = r.spans ? { raw: r.source } : { record: r.record };
          await reject({ row: r.row, line: r.line, reason: bad.check.reason, field: bad.field, detail: `${datasetPath}:${r.line}: ${bad.check.detail}`, ...row });
          continue;
        }
        if (!text.ok || !label.ok) continue;
        validCount++;
        await valid.writeLine({ row: r.row, line: r.line, text: text.value, label: label.value, source: r.source });
      }
    } catch (err) {
      await valid.abort();
      await rejects.abort();
      if (err instanceof DatasetFormatError) {
        throw dqeFailure(err.kind === 'missing_column' ? 'DqeDatasetMissingColumn' : 'DqeDatasetUnreadable', `dataset ${datasetPath}: ${err.message}`);
      }
      throw dqeFailure('DqeDatasetUnreadable', `dataset ${datasetPath}: cannot read after row ${rowsIn} (${errorCode(err)})`);
    }
    const read256 = hash.digest('hex');
    if (read256 !== datasetSha256) {
      await valid.abort();
      await rejects.abort();
      throw dqeFailure('DqeDatasetUnreadable', `dataset ${datasetPath}: its first ${datasetBytes} bytes changed while dqe read them; run again once nothing writes to the file`);
    }
    await valid.commit();
    await rejects.commit();
    return {
      datasetPath,
      datasetSha256: read256,
      datasetBytes,
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
