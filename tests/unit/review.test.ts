// Review decisions: their checks, and how they override the judge's verdicts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyDecisions, checkSubmission, formatReviewProblems, MAX_INLINE_DECISIONS, parseDecisionsFile, reviewedPasses, type ReviewRow } from '../../core/review.js';
import { mergeVerdicts } from '../../core/two-fold.js';
import type { RowVerdict } from '../../core/judging.js';

const labels = ['billing', 'refund', 'other'];
const at = (i: number) => `decisions.${i}`;

test('checkSubmission: an empty submission accepts every verdict', () => {
  assert.deepEqual(checkSubmission({}, labels), { ok: true, submission: {} });
  assert.deepEqual(checkSubmission({ decisions: [], reviewer: 'ana' }, labels), { ok: true, submission: { decisions: [], reviewer: 'ana' } });
});

test('checkSubmission names every bad decision and field', () => {
  const r = checkSubmission(
    {
      decisions: [
        { row: 3, verdict: 'mislabeled', label: 'refunds' },
        { row: 0, verdict: 'wrong' },
        { row: 5, verdict: 'label_ok', label: 'billing' },
        { row: 3, verdict: 'label_ok' },
      ],
      colour: 'red',
    },
    labels,
  );
  assert.equal(r.ok, false);
  assert.equal(
    formatReviewProblems(!r.ok ? r.problems : []),
    'invalid review: decisions.1.row: Too small: expected number to be >0; decisions.1.verdict: Invalid option: expected one of "label_ok"|"mislabeled"|"undecided"; (submission): unknown field(s): colour',
  );
  // Shape first; labels and duplicates once the shape is right.
  const r2 = checkSubmission({ decisions: [{ row: 3, verdict: 'mislabeled', label: 'refunds' }, { row: 5, verdict: 'label_ok', label: 'billing' }, { row: 3, verdict: 'label_ok' }] }, labels);
  assert.deepEqual(r2.ok ? [] : r2.problems, [
    { at: 'decisions.0.label', message: '"refunds" is not a label of this run; labels: billing, refund, other' },
    { at: 'decisions.1.label', message: 'a label goes only with verdict mislabeled' },
    { at: 'decisions.2.row', message: 'row 3 is already decided by decisions.0' },
  ]);
  const both = checkSubmission({ decisions: [], decisionsFile: '/d.jsonl' }, labels);
  assert.deepEqual(both.ok ? [] : both.problems, [{ at: 'decisionsFile', message: 'give decisions or decisionsFile, not both' }]);
  const many = checkSubmission({ decisions: Array.from({ length: MAX_INLINE_DECISIONS + 1 }, (_, i) => ({ row: i + 1, verdict: 'label_ok' })) }, labels);
  assert.deepEqual(many.ok ? [] : many.problems, [{ at: 'decisions', message: `at most ${MAX_INLINE_DECISIONS} decisions inline; put more in decisionsFile` }]);
});

test('applyDecisions overrides the decided rows, keeps the rest, and records each change', () => {
  const judged: RowVerdict[] = [
    { id: 10, verdict: 'mislabeled', suggested: 'refund', reason: 'p=0.1' },
    { id: 11, verdict: 'label_ok', reason: 'p=0.9' },
    { id: 12, verdict: 'undecided', reason: 'p=0.4' },
  ];
  const rows = new Map<number, ReviewRow>([
    [101, { id: 10, row: 101, label: 'billing', partnerLabel: 'refund' }],
    [102, { id: 11, row: 102, label: 'refund', partnerLabel: 'billing' }],
    [103, { id: 12, row: 103, label: 'other', partnerLabel: 'billing' }],
  ]);
  const r = applyDecisions(
    judged,
    rows,
    [
      { row: 101, verdict: 'label_ok', reason: 'reads like billing' },
      { row: 102, verdict: 'mislabeled' },
      { row: 103, verdict: 'mislabeled', label: 'refund' },
    ],
    at,
    'ana',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.verdicts, [
    { id: 10, verdict: 'label_ok', reason: 'reviewed by ana: reads like billing' },
    { id: 11, verdict: 'mislabeled', suggested: 'billing', reason: 'reviewed by ana' },
    { id: 12, verdict: 'mislabeled', suggested: 'refund', reason: 'reviewed by ana' },
  ]);
  assert.deepEqual(r.changes.map((c) => [c.row, c.judge.verdict, c.review.verdict, c.changed]), [
    [101, 'mislabeled', 'label_ok', true],
    [102, 'label_ok', 'mislabeled', true],
    [103, 'undecided', 'mislabeled', true],
  ]);
  // Confirming the judge is a decision, not a change; undecided rows stay as judged.
  const same = applyDecisions(judged, rows, [{ row: 102, verdict: 'label_ok' }], at, undefined);
  assert.ok(same.ok);
  assert.deepEqual(same.changes.map((c) => c.changed), [false]);
  assert.deepEqual(same.verdicts.map((v) => v.verdict), ['mislabeled', 'label_ok', 'undecided']);
});

test('applyDecisions refuses rows in no noisy pair', () => {
  const r = applyDecisions([], new Map(), [{ row: 7, verdict: 'label_ok' }], (i) => `review.jsonl:${i + 2}`, undefined);
  assert.deepEqual(r, { ok: false, problems: [{ at: 'review.jsonl:2.row', message: 'row 7 is in no noisy pair of this run and the judge flagged no such row (see noisy-pairs.jsonl, flagged.jsonl)' }] });
});

test("two-fold: the decisions go into each pass that judged the row, so merging the passes gives the reviewer's verdict", () => {
  const first: RowVerdict[] = [
    { id: 10, verdict: 'label_ok', reason: 'p=0.9' },
    { id: 11, verdict: 'undecided', reason: 'p=0.4' },
  ];
  const second: RowVerdict[] = [
    { id: 10, verdict: 'mislabeled', suggested: 'refund', reason: 'p=0.1' },
    { id: 12, verdict: 'mislabeled', suggested: 'billing', reason: 'p=0.05' },
    { id: 13, verdict: 'label_ok', reason: 'p=0.8' },
  ];
  const rows = new Map<number, ReviewRow>([
    [101, { id: 10, row: 101, label: 'billing', partnerLabel: 'refund' }],
    [102, { id: 11, row: 102, label: 'refund', partnerLabel: 'billing' }],
    [103, { id: 12, row: 103, label: 'refund', partnerLabel: 'billing' }],
    [104, { id: 13, row: 104, label: 'other', partnerLabel: 'billing' }],
    [105, { id: 14, row: 105, label: 'other', partnerLabel: 'refund' }],
  ]);
  const judged = [...mergeVerdicts(first, second).values()];
  const r = applyDecisions(
    judged,
    rows,
    [
      { row: 101, verdict: 'label_ok' }, // the second pass's mislabeled would win the merge without the review
      { row: 103, verdict: 'undecided' }, // second pass only
      { row: 105, verdict: 'mislabeled' }, // in a pair but judged by neither pass
    ],
    at,
    'ana',
    'noisy-pairs.jsonl and noisy-pairs.second-pass.jsonl',
  );
  assert.ok(r.ok);
  // Each change is against the merged verdict: row 101 was mislabeled (second pass), and changed.
  assert.deepEqual(r.changes.map((c) => [c.row, c.judge.verdict, c.review.verdict, c.changed]), [
    [101, 'mislabeled', 'label_ok', true],
    [103, 'mislabeled', 'undecided', true],
    [105, 'undecided', 'mislabeled', true],
  ]);
  const [p1, p2] = reviewedPasses(first, second, r.decided);
  assert.deepEqual(p1, [
    { id: 10, verdict: 'label_ok', reason: 'reviewed by ana' },
    { id: 11, verdict: 'undecided', reason: 'p=0.4' },
    { id: 14, verdict: 'mislabeled', suggested: 'refund', reason: 'reviewed by ana' },
  ]);
  assert.deepEqual(p2, [
    { id: 10, verdict: 'label_ok', reason: 'reviewed by ana' },
    { id: 12, verdict: 'undecided', reason: 'reviewed by ana' },
    { id: 13, verdict: 'label_ok', reason: 'p=0.8' },
  ]);
  assert.deepEqual(
    [...mergeVerdicts(p1, p2).values()].map((v) => [v.id, v.verdict]),
    [
      [10, 'label_ok'],
      [11, 'undecided'],
      [14, 'mislabeled'],
      [12, 'undecided'],
      [13, 'label_ok'],
    ],
  );
  const missing = applyDecisions(judged, rows, [{ row: 7, verdict: 'label_ok' }], at, undefined, 'noisy-pairs.jsonl and noisy-pairs.second-pass.jsonl');
  assert.deepEqual(missing.ok ? [] : missing.problems.map((p) => p.message), ['row 7 is in no noisy pair of this run and the judge flagged no such row (see noisy-pairs.jsonl and noisy-pairs.second-pass.jsonl)']);
});

test('parseDecisionsFile: blank lines skipped, each bad line named path:line and field, lines kept', () => {
  const text = ['{"row":3,"verdict":"label_ok"}', '', 'not json', '{"row":0,"verdict":"label_ok","extra":1}', '{"row":7,"verdict":"mislabeled","label":"refund"}\r', ''].join('\n');
  const parsed = parseDecisionsFile(text, '/r/d.jsonl');
  assert.deepEqual(parsed.decisions, [{ row: 3, verdict: 'label_ok' }, { row: 7, verdict: 'mislabeled', label: 'refund' }]);
  assert.deepEqual(parsed.lines, [1, 5]);
  assert.deepEqual(parsed.problems.map((p) => p.at), ['/r/d.jsonl:3', '/r/d.jsonl:4 row', '/r/d.jsonl:4']);
  assert.equal(parsed.problems[0]!.message, 'not valid JSON');
  assert.equal(parsed.problems[2]!.message, 'unknown field(s): extra');
});
