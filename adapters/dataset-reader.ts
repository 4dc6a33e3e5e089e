// Streams a JSONL or CSV dataset as records, each with its row and line number or a per-row error.
import { createReadStream } from 'node:fs';
import { parse as parseCsv } from 'csv-parse';
import type { RejectReason } from '../core/clean.js';

export type DatasetFormat = 'jsonl' | 'csv';

export type RawRow =
  | { row: number; line: number; record: Record<string, unknown> }
  | { row: number; line: number; reason: RejectReason; detail: string; raw: string };

/** Picks the format from the file name when the input does not say. */
export function formatOf(path: string, declared: DatasetFormat | undefined): DatasetFormat | undefined {
  if (declared) return declared;
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Splits a byte stream into lines (LF or CRLF) without decoding, so bad UTF-8 stays per line. */
async function* byteLines(path: string): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
      const piece = chunk.subarray(start, nl);
      const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      yield line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) {
    const line = Buffer.concat(pending);
    yield line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
  }
}

/** JSONL: one JSON object per non-blank line. Blank lines are not rows (they are counted apart). */
export async function* readJsonlDataset(path: string, onBlank: () => void): AsyncGenerator<RawRow> {
  let line = 0;
  let row = 0;
  for await (let bytes of byteLines(path)) {
    line++;
    if (line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      row++;
      yield { row, line, reason: 'invalid_utf8', detail: 'line is not valid UTF-8', raw: bytes.toString('latin1') };
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
    yield { row, line, record: value as Record<string, unknown> };
  }
}

/** CSV with a header row (RFC 4180 quoting, embedded newlines); a row whose field count differs from the header's is rejected. */
export async function* readCsvDataset(path: string): AsyncGenerator<RawRow> {
  const parser = createReadStream(path).pipe(
    parseCsv({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true, raw: true }),
  );
  let header: string[] | undefined;
  let row = 0;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number }; raw: string }>) {
    if (!header) {
      header = item.record;
      continue;
    }
    row++;
    // info.lines is the line the record ends on; a quoted field may span lines.
    const line = item.info.lines - (item.raw.replace(/\r?\n$/u, '').split('\n').length - 1);
    if (item.record.length !== header.length) {
      yield { row, line, reason: 'invalid_csv', detail: `row has ${item.record.length} fields, the header has ${header.length}`, raw: item.raw };
      continue;
    }
    const record: Record<string, unknown> = {};
    header.forEach((name, i) => (record[name] = item.record[i]));
    yield { row, line, record };
  }
}
