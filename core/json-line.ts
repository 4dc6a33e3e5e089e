// Where each top-level field of one JSON object line sits, and whether any object in it names a key
// twice: final.jsonl copies a user's lines byte for byte and relabels by splicing one value, and a
// repeated key (which JSON.parse resolves silently, last one wins) is a row dqe cannot read honestly.

/** A top-level value's place in the line: `line.slice(start, end)` is its JSON text as written. */
export interface FieldSpan {
  start: number;
  end: number;
}

export interface ObjectLineScan {
  /** Each top-level key (decoded) and where its value is. */
  fields: Map<string, FieldSpan>;
  /** The dotted path of the first key an object names twice (`a`, `meta.source`, `items[].id`). */
  duplicate?: string;
}

interface Frame {
  /** Keys seen so far; undefined for an array. */
  keys: Set<string> | undefined;
  /** Path of this container, for the duplicate message. */
  path: string;
  expectKey: boolean;
  /** The key whose value is being read (objects only). */
  key: string | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Index just past the string literal that opens at `i`. */
function stringEnd(line: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const c = line.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (Number.isNaN(c)) return line.length;
    j += c === BACKSLASH ? 2 : 1;
  }
}

function decodeKey(literal: string): string {
  return literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

function childPath(frame: Frame): string {
  if (frame.keys === undefined) return `${frame.path}[]`;
  return frame.path === '' ? frame.key! : `${frame.path}.${frame.key!}`;
}

/**
 * Scans a line that `JSON.parse` accepted as an object (so its syntax is not checked again). Iterative,
 * so deeply nested input cannot exhaust the stack.
 */
export function scanObjectLine(line: string): ObjectLineScan {
  const fields = new Map<string, FieldSpan>();
  const stack: Frame[] = [];
  let duplicate: string | undefined;
  let valueStart = -1;
  let lastNonSpace = -1;
  const closeTopField = () => {
    const top = stack[0]!;
    if (stack.length === 1 && top.key !== undefined && valueStart >= 0) fields.set(top.key, { start: valueStart, end: lastNonSpace + 1 });
    valueStart = -1;
  };
  for (let i = 0; i < line.length; ) {
    const c = line.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const frame = stack[stack.length - 1];
    if (stack.length === 1 && valueStart < 0 && frame && !frame.expectKey && c !== 0x3a /* : */ && c !== 0x2c && c !== 0x7d) valueStart = i;
    if (c === QUOTE) {
      const end = stringEnd(line, i);
      if (frame?.keys && frame.expectKey) {
        const key = decodeKey(line.slice(i, end));
        if (frame.keys.has(key)) duplicate ??= frame.path === '' ? key : `${frame.path}.${key}`;
        frame.keys.add(key);
        frame.key = key;
        frame.expectKey = false;
        if (stack.length === 1) valueStart = -1;
      }
      lastNonSpace = end - 1;
      i = end;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const path = frame ? childPath(frame) : '';
      stack.push({ keys: c === 0x7b ? new Set() : undefined, path, expectKey: c === 0x7b, key: undefined });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (stack.length === 1) closeTopField();
      stack.pop();
    } else if (c === 0x2c /* , */) {
      if (stack.length === 1) closeTopField();
      if (frame?.keys) frame.expectKey = true;
    }
    lastNonSpace = i;
    i++;
  }
  return duplicate === undefined ? { fields } : { fields, duplicate };
}

/** `line` with the value of top-level field `span` replaced by `json` (a JSON text). */
export function spliceField(line: string, span: FieldSpan, json: string): string {
  return line.slice(0, span.start) + json + line.slice(span.end);
}
