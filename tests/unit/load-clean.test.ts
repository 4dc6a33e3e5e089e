import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { readJsonlAll } from '../../adapters/files.js';
import { cleanDataset } from '../../activities/clean.js';
import { caseConflictWarnings } from '../../core/label-names.js';
import { loadDataset } from '../../activities/load.js';
import type { KeptRow, RejectRow } from '../../activities/refs.js';

// Every scratch folder the tests make (the property test makes one per case), removed when the file's tests end.
const scratch: string[] = [];
after(() => Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true }))));

async function tmp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dqe-load-'));
  scratch.push(dir);
  return dir;
}

async function loadAndClean(dir: string, file: string, labels?: string[]) {
  const load = await loadDataset({ runDir: join(dir, 'run'), dataset: file, textField: 'text', labelField: 'label', labels });
  const clean = await cleanDataset({ runDir: join(dir, 'run'), load, labels });
  const rejects = await readJsonlAll<RejectRow>(clean.rejectsPath);
  const kept = await readJsonlAll<KeptRow>(clean.keptPath);
  return { load, clean, rejects, kept };
}

describe('load and clean (JSONL)', () => {
  test('every row is kept or rejected with its row, line and reason', async () => {
    const dir = await tmp();
    const file = join(dir, 'in.jsonl');
    const lines = [
      '{"text":"hello world","label":"a"}', // row 1 kept
      '{"text":"good bye","label":"b"}', // row 2 kept
      'not json', // row 3 invalid_json
      '', // blank line: not a row
      '{"text":"  hello   world ","label":"a"}', // row 4 duplicate of row 1 (same normalised text)
      '{"text":"same text","label":"a"}', // row 5 conflicting_labels
      '{"text":"same text","label":"b"}', // row 6 conflicting_labels
      '{"text":"   ","label":"a"}', // row 7 missing_text
      '{"label":"a"}', // row 8 missing_text
      '{"text":"no label"}', // row 9 missing_label
      '{"text":"obj label","label":{"x":1}}', // row 10 invalid_label
      '{"text":"int label","label":1}', // row 11 label_not_in_set ("1" not declared)
      '[1,2]', // row 12 not_an_object
      '{"text":"third","label":"b"}', // row 13 kept
      '{"text":"fourth","label":"a"}', // row 14 kept
    ];
    await writeFile(file, `\uFEFF${lines.join('\r\n')}\r\n`);
    const { load, clean, rejects, kept } = await loadAndClean(dir, file, ['a', 'b']);
    assert.equal(load.rowsIn, 14);
    assert.equal(load.blankLines, 1);
    assert.deepEqual(kept.map((k) => [k.id, k.row, k.line, k.text, k.label]), [
      [0, 1, 1, 'hello world', 'a'],
      [1, 2, 2, 'good bye', 'b'],
      [2, 13, 14, 'third', 'b'],
      [3, 14, 15, 'fourth', 'a'],
    ]);
    assert.deepEqual(rejects.map((r) => [r.row, r.line, r.reason]), [
      [3, 3, 'invalid_json'],
      [4, 5, 'duplicate'],
      [5, 6, 'conflicting_labels'],
      [6, 7, 'conflicting_labels'],
      [7, 8, 'missing_text'],
      [8, 9, 'missing_text'],
      [9, 10, 'missing_label'],
      [10, 11, 'invalid_label'],
      [11, 12, 'label_not_in_set'],
      [12, 13, 'not_an_object'],
    ]);
    assert.match(rejects[0]!.detail, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: `));
    assert.equal(rejects[4]!.field, 'text');
    assert.equal(rejects[6]!.field, 'label');
    assert.equal(clean.kept + rejects.length, load.rowsIn);
    assert.deepEqual(clean.rejected, { invalid_json: 1, duplicate: 1, conflicting_labels: 2, missing_text: 2, missing_label: 1, invalid_label: 1, label_not_in_set: 1, not_an_object: 1 });
    assert.deepEqual(clean.labels, ['a', 'b']);
    assert.deepEqual(clean.conflicts, { groups: 1, rows: 2, path: clean.conflicts.path });
    assert.deepEqual(JSON.parse(await readFile(clean.conflicts.path, 'utf8')), [{ text: 'same text', rows: [5, 6], labels: { a: 1, b: 1 } }]);
  });

  test('a retried phase finds its output and returns it unchanged', async () => {
    const dir = await tmp();
    const file = join(dir, 'in.jsonl');
    await writeFile(file, ['a b', 'c d', 'e f', 'g h'].map((t, i) => JSON.stringify({ text: t, label: i % 2 ? 'x' : 'y' })).join('\n'));
    const first = await loadAndClean(dir, file);
    const second = await loadAndClean(dir, file);
    assert.deepEqual(second.clean, first.clean);
    assert.deepEqual(second.load, first.load);
  });
});

describe('clean: texts that differ only in case', () => {
  test('kept, and reported where the kept rows carry different labels', async () => {
    const dir = await tmp();
    const file = join(dir, 'in.jsonl');
    const rows: Array<[string, string]> = [
      ['Cancel my order', 'cancel'], // row 1 ┐ one group: cancel ×2, refund ×1
      ['cancel my  order', 'refund'], // row 2 │ (whitespace normalised as clean does)
      ['CANCEL MY ORDER', 'cancel'], // row 3 ┘
      ['Hello there', 'greet'], // row 4 ┐ same label: not reported
      ['hello there', 'greet'], // row 5 ┘
      ['Hi', 'greet'], // row 6 ┐ the same text with two labels: rejected as conflicting_labels,
      ['Hi', 'cancel'], // row 7 │ so the kept "HI" (row 8) has no other label among the kept rows:
      ['HI', 'greet'], // row 8 ┘ not reported
      ['Straße', 'a'], // row 9 ┐ Unicode's lower case (ß stays ß): one group
      ['STRAßE', 'b'], // row 10 ┘
    ];
    await writeFile(file, rows.map(([text, label]) => JSON.stringify({ text, label })).join('\n'));
    const { clean, kept, rejects } = await loadAndClean(dir, file);
    assert.deepEqual(kept.map((k) => k.row), [1, 2, 3, 4, 5, 8, 9, 10]);
    assert.deepEqual(rejects.map((r) => [r.row, r.reason]), [[6, 'conflicting_labels'], [7, 'conflicting_labels']]);
    assert.deepEqual(JSON.parse(await readFile(clean.caseConflicts.path, 'utf8')), [
      { text: 'Cancel my order', rows: [1, 2, 3], labels: { cancel: 2, refund: 1 } },
      { text: 'Straße', rows: [9, 10], labels: { a: 1, b: 1 } },
    ]);
    assert.deepEqual({ groups: clean.caseConflicts.groups, rows: clean.caseConflicts.rows }, { groups: 2, rows: 5 });
    assert.deepEqual(caseConflictWarnings(clean.caseConflicts), [
      '5 kept rows in 2 group(s) differ from each other only in case but carry different labels (listed in report.md): an uncased embedder (the default minilm) sees each group as one text with two labels. They are kept: fix the labels or drop the variants.',
    ]);
    assert.deepEqual(caseConflictWarnings({ groups: 0, rows: 0 }), []);
    assert.deepEqual(caseConflictWarnings(undefined), []);
  });
});

describe('load (CSV)', () => {
  test('quoted fields with commas, quotes and newlines; ragged rows rejected', async () => {
    const dir = await tmp();
    const file = join(dir, 'in.csv');
    await writeFile(
      file,
      'text,label\r\n"hello, ""world""",a\r\n"two\nlines",b\r\nragged,a,extra\r\nplain,b\r\nlast one,a\r\n',
    );
    const { load, rejects, kept } = await loadAndClean(dir, file);
    assert.equal(load.rowsIn, 5);
    assert.deepEqual(kept.map((k) => [k.row, k.line, k.text, k.label]), [
      [1, 2, 'hello, "world"', 'a'],
      [2, 3, 'two\nlines', 'b'],
      [4, 6, 'plain', 'b'],
      [5, 7, 'last one', 'a'],
    ]);
    assert.deepEqual(rejects.map((r) => [r.row, r.line, r.reason]), [[3, 5, 'invalid_csv']]);
  });
});

test('property: every row is kept or rejected for the reason an independent model predicts', async () => {
  // Each generated line carries what it is: a valid row (text, label) or a line load must reject.
  const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta', 'theta'];
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...WORDS)).map(([a, b]) => `${a} ${b}`) },
    { weight: 1, arbitrary: fc.constantFrom('a', ' a ', 'a  ', 'x y z', 'x  y z') }, // repeats after normalisation
  );
  type Line = { line: string; row: { text: string; label: string } | null };
  const valid = fc.record({ text, label: fc.constantFrom('p', 'q', 'r') }).map((row): Line => ({ line: JSON.stringify(row), row }));
  const invalid = fc
    .constantFrom('{', '[]', '{"text":null,"label":"p"}', '{"text":"t","label":2.5}', '"str"', '{"text":"","label":"p"}', '{"text":"t"}')
    .map((line): Line => ({ line, row: null }));
  const line = fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: invalid });
  const normalise = (t: string) => t.normalize('NFC').trim().replace(/\s+/gu, ' ');

  let succeeded = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(line, { minLength: 4, maxLength: 40 }), async (lines) => {
      // The model: load rejects the invalid lines; clean keeps a text's first row unless the text carries two labels.
      const labelsOf = new Map<string, Set<string>>();
      for (const l of lines) if (l.row) labelsOf.set(normalise(l.row.text), (labelsOf.get(normalise(l.row.text)) ?? new Set()).add(l.row.label));
      const seen = new Set<string>();
      const expected = lines.map((l) => {
        if (!l.row) return 'load';
        const key = normalise(l.row.text);
        if (labelsOf.get(key)!.size > 1) return 'conflicting_labels';
        if (seen.has(key)) return 'duplicate';
        seen.add(key);
        return 'kept';
      });
      const keptRows = lines.filter((_, i) => expected[i] === 'kept');
      const keptLabels = new Set(keptRows.map((l) => l.row!.label));

      const dir = await tmp();
      const file = join(dir, 'in.jsonl');
      await writeFile(file, lines.map((l) => l.line).join('\n'));
      const load = await loadDataset({ runDir: join(dir, 'run'), dataset: file, textField: 'text', labelField: 'label' });
      assert.equal(load.rowsIn, lines.length);
      let failure: Error | undefined;
      let clean: Awaited<ReturnType<typeof cleanDataset>> | undefined;
      try {
        clean = await cleanDataset({ runDir: join(dir, 'run'), load });
      } catch (err) {
        failure = err as Error;
      }
      if (keptRows.length < 4) assert.match(String(failure?.message), new RegExp(`: ${keptRows.length} rows kept of ${lines.length} after validation and cleaning`, 'u'));
      else if (keptLabels.size < 2) assert.match(String(failure?.message), /the kept rows carry 1 label\(s\)/u);
      else {
        assert.equal(failure, undefined);
        succeeded++;
        assert.equal(clean!.kept, keptRows.length);
        const kept = await readJsonlAll<KeptRow>(clean!.keptPath);
        assert.deepEqual(kept.map((k) => k.row), expected.flatMap((e, i) => (e === 'kept' ? [i + 1] : [])));
      }
      // Failed or not, rejects.jsonl says why every other row left, in row order.
      const rejects = await readJsonlAll<RejectRow>(join(dir, 'run', 'rejects.jsonl'));
      assert.deepEqual(
        rejects.map((r) => [r.row, r.reason === 'duplicate' || r.reason === 'conflicting_labels' ? r.reason : 'load']),
        expected.flatMap((e, i) => (e === 'kept' ? [] : [[i + 1, e]])),
      );
    }),
    { numRuns: 60, seed: 7 },
  );
  // The success branch is the one that checks kept rows; most generated datasets must reach it.
  console.log(`property: ${succeeded} of 60 cleaned`);
  assert.ok(succeeded >= 40, `${succeeded} of 60 generated datasets were cleaned without a whole-run failure`);
});
