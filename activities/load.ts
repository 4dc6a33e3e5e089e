// Phase 1, load and validate: every input row becomes a valid row or a reject with its reason.
import { createHash } from 'node:crypto';
import { access, constants, mkdir, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DatasetFormatError, readCsvDataset, readJsonlDataset, formatOf, type RawRow } from '../adapters/dataset-reader.js';
import { AtomicWriter, hashFile, hashKey, runPhaseOnce } from '../adapters/files.js';
import type { RejectReason } from '../core/clean.js';
import { sniffDataset, SNIFF_BYTES, type DatasetFormat } from '../core/dataset-format.js';
import { normaliseLabel } from '../core/label-names.js';
import { validateRow } from '../core/row-validation.js';
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

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
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
        const v = validateRow(r, args.textField, args.labelField, declared);
        if (!v.ok) {
          const row = r.spans ? { raw: r.source } : { record: r.record };
          await reject({ row: r.row, line: r.line, reason: v.reason, field: v.field, detail: `${datasetPath}:${r.line}: ${v.detail}`, ...row });
          continue;
        }
        validCount++;
        await valid.writeLine({ row: r.row, line: r.line, text: v.text, label: v.label, source: r.source });
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
