// Row validation: whether an input row's text and label fields are what dqe can train on, and if not,
// the reject reason and a message naming the field. Pure; activities/load.ts reads the rows and writes
// the valid ones and the rejects.
import type { RejectReason } from './clean.js';
import type { FieldSpan } from './json-line.js';
import { INTEGER_LABEL, normaliseLabel } from './label-names.js';

/** U+0000 in a text or label: binary data, which tokenizers and ms-swift's JSONL handle badly. */
const NUL = '\u0000';

/** What validation reads of a row (adapters/dataset-reader.ts ReadRow has it). */
export interface RowFields {
  record: Record<string, unknown>;
  /** JSONL: the line itself, so an integer label is compared as the digits written. */
  source: string;
  /** JSONL: where each top-level field's value is in `source`. */
  spans?: Map<string, FieldSpan> | undefined;
}

const LONE_SURROGATE = /\p{Cs}/u;

export type FieldCheck = { ok: true; value: string } | { ok: false; reason: RejectReason; detail: string };

/** Lone UTF-16 surrogates (a JSON `\\ud800` escape): not text any encoder or ms-swift can carry. */
function unicodeProblem(field: string, v: string): string | undefined {
  // In a `u` regex a paired surrogate is one code point, so \p{Cs} matches lone ones only.
  const m = LONE_SURROGATE.exec(v);
  if (!m) return undefined;
  return `field "${field}" holds a lone surrogate (U+${m[0].charCodeAt(0).toString(16).toUpperCase()}) at offset ${m.index}: not valid Unicode`;
}

export function checkText(record: Record<string, unknown>, field: string): FieldCheck {
  const v = Object.hasOwn(record, field) ? record[field] : undefined;
  if (v === undefined || v === null) return { ok: false, reason: 'missing_text', detail: `field "${field}" is ${v === null ? 'null' : 'missing'}` };
  if (typeof v !== 'string') return { ok: false, reason: 'invalid_text', detail: `field "${field}" must be a string, found ${Array.isArray(v) ? 'an array' : typeof v}` };
  if (v.trim().length === 0) return { ok: false, reason: 'missing_text', detail: `field "${field}" is empty or whitespace only` };
  if (v.includes(NUL)) return { ok: false, reason: 'invalid_text', detail: `field "${field}" contains a NUL character (U+0000) at offset ${v.indexOf(NUL)}: binary data, not text` };
  const bad = unicodeProblem(field, v);
  if (bad) return { ok: false, reason: 'invalid_unicode', detail: bad };
  return { ok: true, value: v };
}

export function checkLabel(r: RowFields, field: string, declared: ReadonlySet<string> | undefined): FieldCheck {
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

export type RowCheck = { ok: true; text: string; label: string } | { ok: false; reason: RejectReason; field: string; detail: string };

/** The row's text and label as dqe keeps them, or the first field at fault (the text before the label). */
export function validateRow(r: RowFields, textField: string, labelField: string, declared: ReadonlySet<string> | undefined): RowCheck {
  const text = checkText(r.record, textField);
  if (!text.ok) return { ok: false, reason: text.reason, field: textField, detail: text.detail };
  const label = checkLabel(r, labelField, declared);
  if (!label.ok) return { ok: false, reason: label.reason, field: labelField, detail: label.detail };
  return { ok: true, text: text.value, label: label.value };
}
