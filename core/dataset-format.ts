// Which format a dataset is in, from its name, and what its first bytes say when they are not the
// JSONL or CSV dqe reads: a JSON array, gzip, zip, UTF-16 or CR-only line ends each get a message
// naming the likely cause, instead of every line rejected as invalid JSON.

export type DatasetFormat = 'jsonl' | 'csv';

/** Picks the format from the file name when the input does not say. */
export function formatOf(path: string, declared: DatasetFormat | undefined): DatasetFormat | undefined {
  if (declared) return declared;
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  return undefined;
}

/** Bytes of the file's head that `sniffDataset` looks at: enough for a first line of ordinary length. */
export const SNIFF_BYTES = 64 * 1024;

/**
 * What is wrong with a dataset whose first bytes are `head` (at most `SNIFF_BYTES`), or undefined when
 * nothing is.
 */
export function sniffDataset(head: Uint8Array, format: DatasetFormat): string | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'it is gzip-compressed; decompress it first (gunzip)';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'it is a zip archive (an .xlsx workbook?); export or extract it as CSV or JSONL first';
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff) || looksUtf16(head)) {
    return 'it is UTF-16 encoded; dqe reads UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)';
  }
  let lf = 0;
  let loneCr = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] === 0x0a) lf++;
    else if (head[i] === 0x0d && i + 1 < head.length && head[i + 1] !== 0x0a) loneCr++;
  }
  if (lf === 0 && loneCr > 0) return 'its lines end in CR only (classic Mac line ends); convert them to LF or CRLF (e.g. tr \'\\r\' \'\\n\')';
  if (format === 'jsonl') {
    const text = new TextDecoder('utf-8').decode(head);
    const first = text.replace(/^\uFEFF/u, '').trimStart();
    const firstLine = first.split('\n', 1)[0]!.trim();
    if (firstLine === '[' || /^\[\s*\{/u.test(firstLine)) {
      return 'it is one JSON array, not JSON Lines (one object per line); convert it, e.g. jq -c \'.[]\' in.json > out.jsonl';
    }
  }
  return undefined;
}

/** Every other byte NUL in the first bytes: UTF-16 text without a byte-order mark. */
function looksUtf16(head: Uint8Array): boolean {
  const n = Math.min(head.length, 64) & ~1;
  if (n < 4) return false;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) evenNul++;
    if (head[i + 1] === 0) oddNul++;
  }
  return evenNul === n / 2 || oddNul === n / 2;
}
