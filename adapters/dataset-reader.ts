// Streams a JSONL or CSV dataset as records, each with its row and line number or a per-row error.
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { CsvError, parse as parseCsv } from 'csv-parse';
import type { RejectReason } from '../core/clean.js';
import { scanObjectLine, type FieldSpan } from '../core/json-line.js';

import { formatOf } from '../core/dataset-format.js';
import { exists } from './files.js';
export { formatOf, type DatasetFormat } from '../core/dataset-format.js';

/** A row read whole: its fields, and `source`, the JSON object text final.jsonl writes for it. */
export interface ReadRow {
  row: number;
  line: number;
  record: Record<string, unknown>;
  /** JSONL: the line itself (its own bytes, a leading BOM dropped); CSV: the row's fields as one JSON object. */
  source: string;
  /** JSONL: where each top-level field's value is in `source`, as written. */
  spans?: Map<string, FieldSpan>;
}

export type RawRow = ReadRow | { row: number; line: number; reason: RejectReason; detail: string; raw: string };

/**
 * Longest row dqe reads, in bytes (64 MiB): far above any text a classifier trains on, and low enough
 * that a binary file without newlines, named .jsonl by mistake, costs a bounded amount of memory.
 */
export const MAX_ROW_BYTES = 64 * 1024 * 1024;

/** Bytes of an over-long or undecodable row kept in its reject, so rejects.jsonl stays readable. */
const REJECT_RAW_BYTES = 200;

export interface ReadOptions {
  /** Rows longer than this many bytes are rejected (`row_too_long`, JSONL) or fail the file (CSV). @default MAX_ROW_BYTES */
  maxRowBytes?: number;
  /** Bytes of the file to read (its size when the run looked): a file that grows meanwhile is read as it was. @default all */
  length?: number;
  /** Fed every byte read, once: the hash of exactly the data the rows came from. */
  hash?: Hash;
}

/** Whole-file problems the reader finds; `line` is where, when it is known. */
export class DatasetFormatError extends Error {
  override readonly name = 'DatasetFormatError';
  constructor(
    message: string,
    readonly kind: 'unreadable' | 'missing_column',
    readonly line?: number,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One line of a file and the byte offset it starts at. */
type ByteLine = ({ bytes: Buffer } | { overLimit: number; head: Buffer }) & { start: number };

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}

/**
 * Splits a byte stream into lines (LF or CRLF) without decoding, so bad UTF-8 stays per line. A line
 * longer than `maxBytes` is not buffered: its bytes are counted and dropped up to the next newline.
 */
async function* byteLines(path: string, maxBytes: number, opts: ReadOptions): AsyncGenerator<ByteLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let over: { bytes: number; head: Buffer } | undefined;
  let lineStart = 0;
  let chunkStart = 0;
  for await (const chunk of readStream(path, opts) as AsyncIterable<Buffer>) {
    opts.hash?.update(chunk);
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl >= 0 ? nl : chunk.length;
      const piece = chunk.subarray(start, end);
      if (over) {
        over.bytes += piece.length;
      } else if (pendingBytes + piece.length > maxBytes) {
        const head = Buffer.concat([...pending, piece]).subarray(0, REJECT_RAW_BYTES);
        over = { bytes: pendingBytes + piece.length, head: Buffer.from(head) };
        pending = [];
        pendingBytes = 0;
      } else if (piece.length > 0) {
        pending.push(piece);
        pendingBytes += piece.length;
      }
      if (nl < 0) break;
      if (over) {
        yield { overLimit: over.bytes, head: over.head, start: lineStart };
        over = undefined;
      } else {
        yield { bytes: stripCr(pending.length === 1 ? pending[0]! : Buffer.concat(pending)), start: lineStart };
      }
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      lineStart = chunkStart + start;
    }
    chunkStart += chunk.length;
  }
  if (over) yield { overLimit: over.bytes, head: over.head, start: lineStart };
  else if (pendingBytes > 0) yield { bytes: stripCr(Buffer.concat(pending)), start: lineStart };
}

/** The file's bytes, up to `opts.length` when set. */
function readStream(path: string, opts: ReadOptions) {
  if (opts.length === 0) return Readable.from([]);
  return createReadStream(path, { highWaterMark: 1 << 20, ...(opts.length !== undefined ? { end: opts.length - 1 } : {}) });
}

/** JSONL: one JSON object per non-blank line. Blank lines are not rows (they are counted apart). */
export async function* readJsonlDataset(path: string, onBlank: () => void, opts: ReadOptions = {}): AsyncGenerator<RawRow> {
  const maxBytes = opts.maxRowBytes ?? MAX_ROW_BYTES;
  let line = 0;
  let row = 0;
  for await (const item of byteLines(path, maxBytes, opts)) {
    line++;
    if ('overLimit' in item) {
      row++;
      yield { row, line, reason: 'row_too_long', detail: `line is ${item.overLimit} bytes, more than the ${maxBytes} dqe reads`, raw: item.head.toString('latin1') };
      continue;
    }
    let bytes = item.bytes;
    if (line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      row++;
      yield { row, line, reason: 'invalid_utf8', detail: 'line is not valid UTF-8', raw: bytes.subarray(0, REJECT_RAW_BYTES).toString('latin1') };
      continue;
    }
    if (text.trim().length === 0) {
      onBlank();
      continue;
    }
    row++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield { row, line, reason: 'invalid_json', detail: (err as Error).message, raw: text };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { row, line, reason: 'not_an_object', detail: `expected a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, raw: text };
      continue;
    }
    const scan = scanObjectLine(text);
    if (scan.duplicate !== undefined) {
      yield { row, line, reason: 'duplicate_field', detail: `the object names field "${scan.duplicate}" twice (JSON.parse would keep the last one silently)`, raw: text };
      continue;
    }
    yield { row, line, record: value as Record<string, unknown>, source: text, spans: scan.fields };
  }
}

/**
 * Where each line of a file starts, which lines are blank and which are not valid UTF-8: csv-parse
 * counts a CRLF inside a quoted field as two lines and decodes bad UTF-8 to U+FFFD without a word,
 * so rows are placed on lines by their byte offsets instead.
 */
class LineIndex {
  private starts = new Float64Array(1024);
  private blank = new Uint8Array(1024);
  count = 0;
  /** 1-based numbers of lines that are not valid UTF-8 (a newline byte never occurs inside a UTF-8 sequence). */
  readonly badUtf8 = new Set<number>();

  static async of(path: string, maxBytes: number, opts: ReadOptions): Promise<LineIndex> {
    const index = new LineIndex();
    for await (const item of byteLines(path, maxBytes, opts)) {
      const empty = 'bytes' in item && item.bytes.length === 0;
      index.push(item.start, empty);
      if (!('bytes' in item)) continue;
      try {
        utf8.decode(item.bytes);
      } catch {
        index.badUtf8.add(index.count);
      }
    }
    return index;
  }

  private push(start: number, empty: boolean): void {
    if (this.count === this.starts.length) {
      const starts = new Float64Array(this.count * 2);
      starts.set(this.starts);
      this.starts = starts;
      const blank = new Uint8Array(this.count * 2);
      blank.set(this.blank);
      this.blank = blank;
    }
    this.starts[this.count] = start;
    this.blank[this.count] = empty ? 1 : 0;
    this.count++;
  }

  /** The 1-based line holding byte `offset`. */
  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  /** The lines of the bytes [from, to): blank lines before the row skipped, as csv-parse skips them. */
  span(from: number, to: number): { first: number; last: number } {
    const last = this.lineAt(Math.max(from, to - 1));
    let first = this.lineAt(from);
    while (first < last && this.blank[first - 1] === 1) first++;
    return { first, last };
  }
}

export interface CsvReadOptions extends ReadOptions {
  /** Columns the header must name; a missing one fails the file with the header's columns listed. */
  requiredColumns?: readonly string[];
}

/**
 * CSV with a header row (RFC 4180 quoting, embedded newlines; a stray quote inside an unquoted field is
 * kept as text). A row whose field count differs from the header's is rejected (`invalid_csv`), a row
 * on a line that is not valid UTF-8 too (`invalid_utf8`). Broken quoting (a quoted field never closed,
 * text after a closing quote) leaves no way to tell where rows end: it fails the whole file, naming
 * the line.
 */
export async function* readCsvDataset(path: string, opts: CsvReadOptions = {}): AsyncGenerator<RawRow> {
  const maxBytes = opts.maxRowBytes ?? MAX_ROW_BYTES;
  const lines = await LineIndex.of(path, maxBytes, opts);
  let parsedTo = 0;
  const parser = (opts.length === 0 ? Readable.from([]) : createReadStream(path, opts.length === undefined ? {} : { end: opts.length - 1 })).pipe(
    parseCsv({
      bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true, raw: true, max_record_size: maxBytes,
      // Where parsing got to, whether or not the rows were consumed yet: a quote error names the line after it.
      on_record: (record: string[], context: { bytes: number }) => {
        parsedTo = context.bytes;
        return record;
      },
    }),
  );
  let header: string[] | undefined;
  let row = 0;
  let lastLine = 0;
  let consumed = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { bytes: number }; raw: string }>) {
      // info.bytes is the file offset just past the record; a quoted field may span lines.
      const { first: line, last: endLine } = lines.span(consumed, item.info.bytes);
      consumed = item.info.bytes;
      lastLine = endLine;
      if (!header) {
        header = item.record;
        const seen = new Set<string>();
        for (const name of header) {
          if (seen.has(name)) throw new DatasetFormatError(`line ${line}: the header names column "${name}" twice`, 'unreadable', line);
          seen.add(name);
        }
        const missing = (opts.requiredColumns ?? []).filter((c) => !seen.has(c));
        if (missing.length > 0) {
          throw new DatasetFormatError(
            `line ${line}: the header has no column ${missing.map((m) => `"${m}"`).join(' or ')} (its columns: ${header.map((h) => JSON.stringify(h)).join(', ')}); set textField / labelField`,
            'missing_column',
            line,
          );
        }
        continue;
      }
      row++;
      const badLines: number[] = [];
      for (let l = line; l <= endLine; l++) if (lines.badUtf8.has(l)) badLines.push(l);
      if (badLines.length > 0) {
        yield { row, line, reason: 'invalid_utf8', detail: `row is not valid UTF-8 (line ${badLines.join(', ')})`, raw: item.raw.slice(0, REJECT_RAW_BYTES) };
        continue;
      }
      if (item.record.length !== header.length) {
        yield { row, line, reason: 'invalid_csv', detail: `row has ${item.record.length} fields, the header has ${header.length}`, raw: item.raw };
        continue;
      }
      // fromEntries defines own properties, so a column named `__proto__` is a field like any other.
      const record: Record<string, unknown> = Object.fromEntries(header.map((name, i) => [name, item.record[i]]));
      yield { row, line, record, source: JSON.stringify(record) };
    }
  } catch (err) {
    if (err instanceof CsvError) {
      const at = Math.max(lastLine, parsedTo > 0 ? lines.lineAt(parsedTo - 1) : 0) + 1;
      const what =
        err.code === 'CSV_QUOTE_NOT_CLOSED'
          ? `a quoted field opened on line ${at} or later is never closed`
          : err.code === 'CSV_MAX_RECORD_SIZE'
            ? `a row is longer than the ${maxBytes} bytes dqe reads`
            : err.message;
      throw new DatasetFormatError(`line ${at}: invalid CSV: ${what} (csv-parse ${err.code})`, 'unreadable', at);
    }
    throw err;
  }
}

/** Why a dataset file cannot be read at all (no format, no file), or undefined; the message starts with the path. */
export async function datasetFileProblem(path: string, format: 'jsonl' | 'csv' | undefined): Promise<{ type: 'DqeUnknownFormat' | 'DqeDatasetNotFound'; message: string } | undefined> {
  if (!formatOf(path, format)) return { type: 'DqeUnknownFormat', message: `${path}: unknown format; name it .jsonl or .csv, or pass --format` };
  if (!(await exists(path))) return { type: 'DqeDatasetNotFound', message: `${path}: no such file` };
  return undefined;
}
