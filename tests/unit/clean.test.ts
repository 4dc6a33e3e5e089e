import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { DigestTable } from '../../core/digest-table.js';
import { Cleaner, groupConflicts, normaliseText } from '../../core/clean.js';

describe('normaliseText', () => {
  test('NFC, trims, collapses whitespace, keeps case', () => {
    assert.equal(normaliseText('  Cafe\u0301 \t\n  Bar  '), 'Café Bar');
    assert.equal(normaliseText('Cafe\u0301'), normaliseText('Caf\u00e9'));
    assert.equal(normaliseText('ABC'), 'ABC');
  });
});

/** The digest key the clean activity gives the Cleaner for a text. */
const key = (text: string): Buffer => createHash('sha256').update(text).digest();

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
    for (const [t, l, r] of rows) c.observe(key(t), l, r);
    const decisions = rows.map(([t]) => c.decide(key(t)));
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
    c.observe(key('t'), 'x', 1);
    c.observe(key('t'), 'x', 2);
    c.observe(key('t'), 'y', 3);
    assert.deepEqual([c.decide(key('t')), c.decide(key('t')), c.decide(key('t'))].map((d) => d.kind), ['conflicting_labels', 'conflicting_labels', 'conflicting_labels']);
  });

  test('decide on an unobserved text is a programming error', () => {
    assert.throws(() => new Cleaner().decide(key('nope')), /never observed/);
  });

  test('many texts: the table grows and keeps every first row, duplicate and conflict', () => {
    const c = new Cleaner();
    const n = 50_000;
    for (let i = 0; i < n; i++) c.observe(key(`text ${i}`), i % 7 === 0 ? 'y' : 'x', i);
    for (let i = 0; i < n; i += 5) c.observe(key(`text ${i}`), i % 7 === 0 ? 'y' : 'x', n + i);
    c.observe(key('text 3'), 'z', 2 * n);
    const kinds = { keep: 0, duplicate: 0, conflicting_labels: 0 };
    for (let i = 0; i < n; i++) {
      const d = c.decide(key(`text ${i}`));
      kinds[d.kind]++;
      if (i === 3) assert.equal(d.kind, 'conflicting_labels');
      else assert.equal(d.kind, 'keep');
    }
    for (let i = 0; i < n; i += 5) {
      const d = c.decide(key(`text ${i}`));
      assert.deepEqual(d, i === 3 ? { kind: 'conflicting_labels' } : { kind: 'duplicate', firstRow: i });
    }
    assert.deepEqual(kinds, { keep: n - 1, duplicate: 0, conflicting_labels: 1 });
  });
});

describe('DigestTable', () => {
  test('finds what it holds by the first 16 bytes, grows, and refuses a short key', () => {
    const t = new DigestTable(4);
    for (let i = 0; i < 5000; i++) {
      const { slot, created } = t.insert(key(String(i)));
      assert.equal(created, true);
      t.setNumber(slot, i * 1.5);
      t.setInt(slot, 3 - i);
    }
    assert.equal(t.size, 5000);
    for (let i = 0; i < 5000; i++) {
      const slot = t.find(key(String(i)));
      assert.ok(slot >= 0);
      assert.equal(t.getNumber(slot), i * 1.5);
      assert.equal(t.getInt(slot), 3 - i);
      assert.equal(t.insert(key(String(i))).created, false);
    }
    assert.equal(t.find(key('absent')), -1);
    // Two digests that differ only after byte 16 are one key.
    const a = Buffer.alloc(32, 7);
    const b = Buffer.alloc(32, 7);
    b[20] = 8;
    t.insert(a);
    assert.equal(t.find(b), t.find(a));
    assert.throws(() => t.find(Buffer.alloc(15)), /at least 16 bytes, got 15/);
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
