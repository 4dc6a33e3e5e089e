// What the CLI can check before it starts a workflow, when it sees the dataset itself: that the file
// exists and that its header (CSV) or its first rows (JSONL) name the text and label fields, so a typo
// fails at once instead of leaving a run directory behind.
import { open, stat } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { formatOf } from '../core/dataset-format.js';
import type { DqeConfig } from '../core/input.js';

/** Bytes of the file the check reads: a header, or the first rows of ordinary length. */
const HEAD_BYTES = 256 * 1024;
/** JSONL rows looked at; a field that none of them names is a typo, not a few rows' gap. */
const JSONL_ROWS = 100;

async function head(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/u, '');
  } finally {
    await fh.close();
  }
}

const quoted = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');

/**
 * The problem with the dataset as the CLI sees it, or undefined when there is none it can tell. A
 * missing file is only a problem when `mustExist` (the worker runs here and would not find it either).
 */
export async function datasetProblem(config: Pick<DqeConfig, 'dataset' | 'format' | 'textField' | 'labelField'>, mustExist: boolean): Promise<string | undefined> {
  const info = await stat(config.dataset).catch(() => undefined);
  if (!info) return mustExist ? `dataset ${config.dataset}: no such file` : undefined;
  if (!info.isFile()) return undefined;
  const format = formatOf(config.dataset, config.format);
  const text = await head(config.dataset);
  const fields = [config.textField, config.labelField];
  if (format === 'csv') {
    const firstLine = text.split(/\r?\n/u, 1)[0] ?? '';
    let header: string[];
    try {
      header = parseCsv(firstLine, { relax_quotes: true })[0] ?? [];
    } catch {
      return undefined;
    }
    const missing = fields.filter((f) => !header.includes(f));
    if (missing.length > 0) return `dataset ${config.dataset}: the header has no column ${quoted(missing)} (its columns: ${quoted(header)}); set --text-field / --label-field`;
  }
  if (format === 'jsonl') {
    const seen = new Set<string>();
    let rows = 0;
    for (const line of text.split('\n').slice(0, -1)) {
      if (rows >= JSONL_ROWS) break;
      try {
        const v: unknown = JSON.parse(line);
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          rows++;
          for (const k of Object.keys(v)) seen.add(k);
        }
      } catch {
        // A bad line is the load phase's to reject, with its line number.
      }
    }
    const missing = fields.filter((f) => !seen.has(f));
    if (rows > 0 && missing.length > 0) {
      return `dataset ${config.dataset}: none of the first ${rows} rows has the field ${quoted(missing)} (their fields: ${quoted([...seen])}); set --text-field / --label-field`;
    }
  }
  return undefined;
}
