import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cleaner, groupConflicts, normaliseText } from '../../core/clean.js';

describe('normaliseText', () => {
  test('NFC, trims, collapses whitespace, keeps case', () => {
    assert.equal(normaliseText('  Cafe\u0301 \t\n  Bar  '), 'Café Bar');
    assert.equal(normaliseText('Cafe\u0301'), normaliseText('Caf\u00e9'));
    assert.equal(normaliseText('ABC'), 'ABC');
  });
});

describe('Cleaner', () => {
  // rows: 1 "a"/x, 2 "b"/y, 3 "a"/x (duplicate of 1), 4 "c"/x, 5 "c"/y (conflict with 4), 6 "a"/x (duplicate)
  const rows: Array<[string, string, number]> = [
    ['a', 'x', 1],
    ['b', 'y', 2],
    ['a', 'x', 3],
    ['c', 'x', 4],
    ['c', 'y', 5],
    ['a', 'x', 6],
  ];
  test('keeps the first of exact duplicates, rejects the rest, and rejects every row of a conflict', () => {
    const c = new Cleaner();
    for (const [t, l, r] of rows) c.observe(t, l, r);
    const decisions = rows.map(([t]) => c.decide(t));
    assert.deepEqual(decisions, [
      { kind: 'keep' },
      { kind: 'keep' },
      { kind: 'duplicate', firstRow: 1 },
      { kind: 'conflicting_labels' },
      { kind: 'conflicting_labels' },
      { kind: 'duplicate', firstRow: 1 },
    ]);
  });

  test('a text whose duplicates disagree once is a conflict for all its rows, even the first', () => {
    const c = new Cleaner();
    c.observe('t', 'x', 1);
    c.observe('t', 'x', 2);
    c.observe('t', 'y', 3);
    assert.deepEqual([c.decide('t'), c.decide('t'), c.decide('t')].map((d) => d.kind), ['conflicting_labels', 'conflicting_labels', 'conflicting_labels']);
  });

  test('decide on an unobserved text is a programming error', () => {
    assert.throws(() => new Cleaner().decide('nope'), /never observed/);
  });
});

test('groupConflicts groups by key in order of first appearance and counts labels', () => {
  const groups = groupConflicts([
    { key: 'k1', text: 'hello', row: 4, label: 'x' },
    { key: 'k2', text: 'bye', row: 5, label: 'y' },
    { key: 'k1', text: 'hello', row: 7, label: 'y' },
    { key: 'k1', text: 'hello', row: 9, label: 'y' },
  ]);
  assert.deepEqual(groups, [
    { text: 'hello', rows: [4, 7, 9], labels: { x: 1, y: 2 } },
    { text: 'bye', rows: [5], labels: { y: 1 } },
  ]);
});
