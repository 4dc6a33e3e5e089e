import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerJsonSchema, pairMessages, parsePairAnswer, promptText } from '../../adapters/judges/pair-prompt.js';
import { retryAfterMs } from '../../adapters/http-retry.js';

const labels = ['billing', 'tech support', 'other'];

test('the prompt gives the task, the label set with descriptions, and both texts with their given labels', () => {
  const [system, user] = pairMessages(labels, { billing: 'invoices and refunds' }, [
    { text: 'My card was charged twice.', label: 'tech support' },
    { text: 'I want a refund.', label: 'billing' },
  ]);
  assert.equal(system!.role, 'system');
  assert.match(system!.content, /correct/u);
  assert.match(system!.content, /one sentence/u);
  assert.equal(
    user!.content,
    [
      'Label set:',
      '- "billing": invoices and refunds',
      '- "tech support"',
      '- "other"',
      '',
      'Text 1, given label "tech support":',
      '<text_1>',
      'My card was charged twice.',
      '</text_1>',
      '',
      'Text 2, given label "billing":',
      '<text_2>',
      'I want a refund.',
      '</text_2>',
    ].join('\n'),
  );
});

test('long texts are cut, saying how much is left out', () => {
  assert.equal(promptText('abcdef', 6), 'abcdef');
  assert.equal(promptText('abcdefgh', 6), 'abcdef\n[… 2 more characters not shown]');
});

test('the schema is strict: both texts, label from the set, reason, nothing else', () => {
  const s = answerJsonSchema(labels);
  assert.deepEqual(s.required, ['text_1', 'text_2']);
  assert.equal(s.additionalProperties, false);
  assert.deepEqual(s.properties.text_1.properties.label.enum, labels);
  assert.deepEqual(s.properties.text_2.required, ['label', 'reason']);
});

test('valid answers: exact labels, loose labels, fenced JSON; reasons trimmed', () => {
  const ok = (text1: string, text2: string) => JSON.stringify({ text_1: { label: text1, reason: ' Asks for a refund. ' }, text_2: { label: text2, reason: 'Money.' } });
  assert.deepEqual(parsePairAnswer(ok('billing', 'billing'), labels), { ok: true, answer: { labels: ['billing', 'billing'], reasons: ['Asks for a refund.', 'Money.'] } });
  assert.deepEqual(parsePairAnswer(ok('Tech  Support', 'OTHER'), labels), { ok: true, answer: { labels: ['tech support', 'other'], reasons: ['Asks for a refund.', 'Money.'] } });
  assert.deepEqual(parsePairAnswer('```json\n' + ok('billing', 'other') + '\n```', labels), { ok: true, answer: { labels: ['billing', 'other'], reasons: ['Asks for a refund.', 'Money.'] } });
});

test('invalid answers say why', () => {
  const bad = (content: string | null) => {
    const r = parsePairAnswer(content, labels);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.problem;
  };
  assert.equal(bad(null), 'the answer is empty');
  assert.equal(bad('billing'), 'the answer is not JSON');
  assert.equal(bad('{"text_1": {"label": "billing", "reason": "x"}}'), 'the answer does not follow the schema (text_2: Invalid input: expected object, received undefined)');
  assert.equal(bad('{"text_1": {"label": "refunds", "reason": "x"}, "text_2": {"label": "other", "reason": "y"}}'), 'text_1.label "refunds" is not in the label set (billing, tech support, other)');
  assert.equal(bad('{"text_1": {"label": "other", "reason": "x"}, "text_2": {"label": "other", "reason": "  "}}'), 'text_2.reason is empty');
});

test('Retry-After: milliseconds, seconds or an HTTP date', () => {
  assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': '2.5' })), 2500);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), now), 7000);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined);
  assert.equal(retryAfterMs(new Headers({})), undefined);
});
