// Row validation (core/row-validation.ts), without files: the reason and field of each kind of bad row,
// the text checked before the label, and integer labels kept as the digits written.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { scanObjectLine } from '../../core/json-line.js';
import { validateRow, type RowFields } from '../../core/row-validation.js';

/** A JSONL row as the dataset reader hands it over: the record, the line and its field spans. */
function jsonl(line: string): RowFields {
  return { record: JSON.parse(line) as Record<string, unknown>, source: line, spans: scanObjectLine(line).fields };
}

describe('validateRow', () => {
  test('a valid row: the text as written, the label normalised (NFC, trimmed)', () => {
    assert.deepEqual(validateRow(jsonl('{"text":"  hi  ","label":" Cafe\\u0301 "}'), 'text', 'label', undefined), { ok: true, text: '  hi  ', label: 'Café' });
  });

  test('integer labels are the digits written, even past 2^53', () => {
    assert.deepEqual(validateRow(jsonl('{"text":"a","label":12345678901234567891}'), 'text', 'label', undefined), { ok: true, text: 'a', label: '12345678901234567891' });
    const float = validateRow(jsonl('{"text":"a","label":1.0}'), 'text', 'label', undefined);
    assert.deepEqual(float, { ok: false, reason: 'invalid_label', field: 'label', detail: 'field "label" must be a string or an integer, found a number not written as an integer (1.0)' });
  });

  test('each bad field gives its reason and names the field; the text is checked first', () => {
    const cases: Array<[string, string, string, string]> = [
      ['{"label":"x"}', 'missing_text', 'text', 'field "text" is missing'],
      ['{"text":null,"label":"x"}', 'missing_text', 'text', 'field "text" is null'],
      ['{"text":" ","label":"x"}', 'missing_text', 'text', 'field "text" is empty or whitespace only'],
      ['{"text":3,"label":"x"}', 'invalid_text', 'text', 'field "text" must be a string, found number'],
      ['{"text":"a\\u0000b","label":"x"}', 'invalid_text', 'text', 'field "text" contains a NUL character (U+0000) at offset 1: binary data, not text'],
      ['{"text":"a\\ud800","label":"x"}', 'invalid_unicode', 'text', 'field "text" holds a lone surrogate (U+D800) at offset 1: not valid Unicode'],
      ['{"text":"a"}', 'missing_label', 'label', 'field "label" is missing'],
      ['{"text":"a","label":[1]}', 'invalid_label', 'label', 'field "label" must be a string or an integer, found an array'],
      ['{"text":"a","label":"z"}', 'label_not_in_set', 'label', 'label "z" is not in the declared label set'],
      // Both fields bad: the text's reason.
      ['{"text":"","label":[1]}', 'missing_text', 'text', 'field "text" is empty or whitespace only'],
    ];
    for (const [line, reason, field, detail] of cases) {
      assert.deepEqual(validateRow(jsonl(line), 'text', 'label', new Set(['x'])), { ok: false, reason, field, detail }, line);
    }
  });

  test('a CSV row (no spans) validates its string fields alike', () => {
    const record = { text: 'hello', label: 'spam', other: '' };
    assert.deepEqual(validateRow({ record, source: JSON.stringify(record) }, 'text', 'label', undefined), { ok: true, text: 'hello', label: 'spam' });
  });
});
