// Every kind of bad input the reliability issue lists (and a few more), as fixtures under
// tests/fixtures/bad-input/ or generated here when large or binary: each yields per-row rejects with a
// reason, or one clear non-retryable failure naming the file (and line); rows in = kept + rejected.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { execa, execaSync } from 'execa';
import { readJsonlAll } from '../../adapters/files.js';
import { readCsvDataset, readJsonlDataset } from '../../adapters/dataset-reader.js';
import { cleanDataset } from '../../activities/clean.js';
import { loadDataset } from '../../activities/load.js';
import type { KeptRow, RejectRow } from '../../activities/refs.js';
import type { Report } from '../../core/run-layout.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { REPO_ROOT } from '../../infra/python-env.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';
import type { LoadAsUserOutcome } from './helpers/load-as-user.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const FIXTURES = join(REPO_ROOT, 'tests', 'fixtures', 'bad-input');
const fixture = (name: string) => join(FIXTURES, name);

/** The unprivileged user the permission cases run as when the tests run as root (root reads any file). */
const NOBODY = 65534;
const TEN_MB = 10 * 1024 * 1024;

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dqe-bad-input-'));
});

interface Curated {
  rowsIn: number;
  blankLines: number;
  kept: KeptRow[];
  rejects: RejectRow[];
}

async function runDir(): Promise<string> {
  return mkdtemp(join(scratch, 'run-'));
}

/** Load and clean, as the workflow's first two activities do; throws what they throw. */
async function curate(dataset: string, labels?: string[]): Promise<Curated> {
  const dir = await runDir();
  const load = await loadDataset({ runDir: dir, dataset, textField: 'text', labelField: 'label', labels });
  const clean = await cleanDataset({ runDir: dir, load, labels });
  const curated = { rowsIn: load.rowsIn, blankLines: load.blankLines, kept: await readJsonlAll<KeptRow>(clean.keptPath), rejects: await readJsonlAll<RejectRow>(clean.rejectsPath) };
  assert.equal(curated.kept.length + curated.rejects.length, curated.rowsIn, 'rows in = kept + rejected');
  return curated;
}

/** The failure `fn` throws, which must be a non-retryable ApplicationFailure. */
async function failureOf(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.nonRetryable, true);
    return err;
  }
  assert.fail('expected a failure');
}

/** A reject's detail without its `<file>:<line>: ` prefix, which must be there. */
function detailOf(r: RejectRow, file: string): string {
  const prefix = `${file}:${r.line}: `;
  assert.ok(r.detail.startsWith(prefix), r.detail);
  return r.detail.slice(prefix.length);
}

const rowsOf = (c: Curated) => c.kept.map((k) => [k.row, k.text, k.label]);
const rejectsOf = (c: Curated) => c.rejects.map((r) => [r.row, r.line, r.reason]);

/** Each reject's detail starts with `<file>:<line>: `. */
function assertDetailsName(c: Curated, file: string): void {
  for (const r of c.rejects) if (r.reason !== 'duplicate' && r.reason !== 'conflicting_labels') assert.ok(r.detail.startsWith(`${file}:${r.line}: `), r.detail);
}

const GOOD = [
  [1, 'the invoice is attached', 'ham'],
  [0, 'win a free cruise now', 'spam'],
  [0, 'lunch at noon tomorrow?', 'ham'],
  [0, 'cheap meds no prescription', 'spam'],
] as const;

describe('bad rows become rejects with a reason, row and line', () => {
  test('invalid JSON lines', async () => {
    const file = fixture('invalid-json.jsonl');
    const c = await curate(file);
    assert.equal(c.rowsIn, 8);
    assert.deepEqual(rejectsOf(c), [[2, 2, 'invalid_json'], [3, 3, 'invalid_json'], [4, 4, 'invalid_json'], [5, 5, 'invalid_json']]);
    assert.deepEqual(rowsOf(c), [[1, GOOD[0][1], 'ham'], [6, GOOD[1][1], 'spam'], [7, GOOD[2][1], 'ham'], [8, GOOD[3][1], 'spam']]);
    assert.equal(c.rejects[0]!.raw, '{"text": "unterminated');
    assertDetailsName(c, file);
  });

  test('CSV with ragged rows', async () => {
    const file = fixture('ragged.csv');
    const c = await curate(file);
    assert.equal(c.rowsIn, 7);
    assert.deepEqual(rejectsOf(c), [[2, 3, 'invalid_csv'], [3, 4, 'invalid_csv'], [6, 7, 'invalid_csv']]);
    assert.deepEqual(c.rejects.map((r) => r.detail), [
      `${file}:3: row has 4 fields, the header has 2`,
      `${file}:4: row has 1 fields, the header has 2`,
      `${file}:7: row has 3 fields, the header has 2`,
    ]);
    assert.deepEqual(c.kept.map((k) => k.row), [1, 4, 5, 7]);
  });

  test('CSV with embedded quotes, commas and newlines (and a stray quote in an unquoted field)', async () => {
    const c = await curate(fixture('quotes-newlines.csv'));
    assert.deepEqual(c.kept.map((k) => [k.row, k.line, k.text, k.label]), [
      [1, 2, 'he said "hello", then left', 'ham'],
      [2, 3, 'first line\nsecond line\nthird line', 'ham'],
      [3, 6, 'a, b, and c', 'spam'],
      [4, 7, `she is 5'10" tall`, 'ham'],
      [5, 8, 'win "big" now', 'spam'],
    ]);
    assert.deepEqual(c.rejects, []);
  });

  test('missing, empty and whitespace-only text; text that is not a string', async () => {
    const file = fixture('text-problems.jsonl');
    const c = await curate(file);
    assert.deepEqual(rejectsOf(c), [
      [2, 2, 'missing_text'], [3, 3, 'missing_text'], [4, 4, 'missing_text'], [5, 5, 'missing_text'],
      [6, 6, 'invalid_text'], [7, 7, 'invalid_text'], [8, 8, 'invalid_text'],
    ]);
    assert.deepEqual(c.rejects.map((r) => [r.field, detailOf(r, file)]), [
      ['text', 'field "text" is missing'],
      ['text', 'field "text" is empty or whitespace only'],
      ['text', 'field "text" is empty or whitespace only'],
      ['text', 'field "text" is null'],
      ['text', 'field "text" must be a string, found number'],
      ['text', 'field "text" must be a string, found an array'],
      ['text', 'field "text" must be a string, found object'],
    ]);
    assert.deepEqual(c.kept.map((k) => k.row), [1, 9, 10, 11]);
  });

  test('null, number, object, array, boolean, empty and missing labels; an integer label is a label', async () => {
    const file = fixture('label-types.jsonl');
    const c = await curate(file);
    assert.deepEqual(c.rejects.map((r) => [r.row, r.reason, r.field, detailOf(r, file)]), [
      [2, 'missing_label', 'label', 'field "label" is null'],
      [3, 'invalid_label', 'label', 'field "label" must be a string or an integer, found a number not written as an integer (2.5)'],
      [4, 'invalid_label', 'label', 'field "label" must be a string or an integer, found object'],
      [5, 'invalid_label', 'label', 'field "label" must be a string or an integer, found an array'],
      [6, 'invalid_label', 'label', 'field "label" must be a string or an integer, found boolean'],
      [7, 'missing_label', 'label', 'field "label" is empty'],
      [8, 'missing_label', 'label', 'field "label" is missing'],
    ]);
    assert.deepEqual(c.kept.map((k) => [k.row, k.label]), [[1, 'ham'], [9, '1'], [10, 'spam'], [11, 'ham'], [12, 'spam']]);
  });

  test('labels outside a declared label set (labels are trimmed, case kept)', async () => {
    const file = fixture('label-set.jsonl');
    const c = await curate(file, ['ham', 'spam']);
    assert.deepEqual(c.rejects.map((r) => [r.row, r.reason, detailOf(r, file)]), [
      [2, 'label_not_in_set', 'label "eggs" is not in the declared label set'],
      [3, 'label_not_in_set', 'label "HAM" is not in the declared label set'],
    ]);
    assert.deepEqual(c.kept.map((k) => [k.row, k.label]), [[1, 'ham'], [4, 'spam'], [5, 'spam'], [6, 'ham'], [7, 'spam']]);
  });

  test('invalid UTF-8, JSONL and CSV (also inside a quoted multi-line CSV field)', async () => {
    const jsonl = await curate(fixture('invalid-utf8.jsonl'));
    assert.deepEqual(rejectsOf(jsonl), [[2, 2, 'invalid_utf8'], [3, 3, 'invalid_utf8'], [4, 4, 'invalid_utf8']]);
    assert.equal(jsonl.rejects[0]!.raw, '{"text": "caf\u00e9 latin-1", "label": "ham"}', 'raw bytes kept as latin-1');
    assert.deepEqual(jsonl.kept.map((k) => k.text).at(-1), 'valid caf\u00e9 and \u65e5\u672c');
    const csv = await curate(fixture('invalid-utf8.csv'));
    assert.deepEqual(rejectsOf(csv), [[2, 3, 'invalid_utf8'], [3, 4, 'invalid_utf8']]);
    assert.deepEqual(csv.kept.map((k) => [k.row, k.text]), [[1, GOOD[0][1]], [4, GOOD[1][1]], [5, GOOD[2][1]], [6, GOOD[3][1]], [7, 'valid caf\u00e9']]);
  });

  test('a UTF-8 BOM, JSONL and CSV: the first field name is still found', async () => {
    for (const name of ['bom.jsonl', 'bom.csv']) {
      const c = await curate(fixture(name));
      assert.deepEqual(rowsOf(c), [[1, GOOD[0][1], 'ham'], [2, GOOD[1][1], 'spam'], [3, GOOD[2][1], 'ham'], [4, GOOD[3][1], 'spam']], name);
      assert.ok(c.kept.every((k) => Object.keys(JSON.parse(k.source) as object)[0] === 'text'), name);
    }
  });

  test('CRLF line ends, JSONL and CSV: no stray \\r in texts or labels (a quoted CRLF is data)', async () => {
    const jsonl = await curate(fixture('crlf.jsonl'));
    assert.deepEqual(rowsOf(jsonl), [[1, GOOD[0][1], 'ham'], [2, GOOD[1][1], 'spam'], [3, GOOD[2][1], 'ham'], [4, GOOD[3][1], 'spam']]);
    assert.equal(jsonl.blankLines, 1);
    const csv = await curate(fixture('crlf.csv'));
    assert.deepEqual(csv.kept.map((k) => [k.row, k.line, k.text, k.label]), [
      [1, 2, GOOD[0][1], 'ham'], [2, 3, GOOD[1][1], 'spam'], [3, 4, GOOD[2][1], 'ham'], [4, 5, GOOD[3][1], 'spam'], [5, 6, 'crlf inside\r\na quoted field', 'ham'],
    ]);
    // Rows after a quoted CRLF (and a blank line) keep their true line numbers.
    const after = join(scratch, 'crlf-then-more.csv');
    await writeFile(after, 'text,label\r\n"one\r\ntwo",ham\r\n\r\nthree,spam\r\nbad,row,here\r\n');
    const rows = [];
    for await (const r of readCsvDataset(after)) rows.push([r.row, r.line, 'reason' in r ? r.reason : r.record.text]);
    assert.deepEqual(rows, [[1, 2, 'one\r\ntwo'], [2, 5, 'three'], [3, 6, 'invalid_csv']]);
  });

  test('NUL bytes, JSONL and CSV: raw or escaped, in a text or a label', async () => {
    const file = fixture('nul-bytes.jsonl');
    const jsonl = await curate(file);
    assert.deepEqual(rejectsOf(jsonl), [[2, 2, 'invalid_json'], [3, 3, 'invalid_json'], [4, 4, 'invalid_text'], [5, 5, 'invalid_label']]);
    assert.equal(jsonl.rejects[2]!.detail, `${file}:4: field "text" contains a NUL character (U+0000) at offset 8: binary data, not text`);
    const csv = await curate(fixture('nul-bytes.csv'));
    assert.deepEqual(rejectsOf(csv), [[2, 3, 'invalid_text'], [6, 7, 'invalid_label']]);
    assert.deepEqual(csv.kept.map((k) => k.row), [1, 3, 4, 5]);
  });

  test('a 10 MB row, JSONL and CSV, is read whole', async () => {
    const big = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(TEN_MB / 27)).slice(0, TEN_MB);
    const lines = [...GOOD.map(([, text, label]) => JSON.stringify({ text, label })), JSON.stringify({ text: big, label: 'ham' })];
    const jsonlPath = join(scratch, 'ten-mb.jsonl');
    await writeFile(jsonlPath, `${lines.join('\n')}\n`);
    const jsonl = await curate(jsonlPath);
    assert.equal(jsonl.kept.length, 5);
    assert.equal(jsonl.kept[4]!.text.length, TEN_MB);
    assert.equal(jsonl.kept[4]!.text, big);
    const csvPath = join(scratch, 'ten-mb.csv');
    await writeFile(csvPath, `text,label\n${GOOD.map(([, t, l]) => `${t},${l}`).join('\n')}\n"${big.replace(/ /g, '\n')}",spam\n`);
    const csv = await curate(csvPath);
    assert.equal(csv.kept.length, 5);
    assert.equal(csv.kept[4]!.text, big.replace(/ /g, '\n'));
    assert.equal(csv.kept[4]!.line, 6);
  });

  test('a row over the size cap is rejected without being buffered (cap lowered for the test)', async () => {
    const path = join(scratch, 'over-cap.jsonl');
    await writeFile(path, `${JSON.stringify({ text: 'short', label: 'a' })}\n${JSON.stringify({ text: 'x'.repeat(5000), label: 'b' })}\n${JSON.stringify({ text: 'after', label: 'b' })}\n`);
    const rows = [];
    for await (const r of readJsonlDataset(path, () => {}, { maxRowBytes: 1000 })) rows.push(r);
    assert.deepEqual(rows.map((r) => ('reason' in r ? [r.row, r.line, r.reason, r.detail, r.raw.length] : [r.row, r.line, r.record.text])), [
      [1, 1, 'short'],
      [2, 2, 'row_too_long', 'line is 5023 bytes, more than the 1000 dqe reads', 200],
      [3, 3, 'after'],
    ]);
  });

  test('a binary file named .jsonl: every row rejected, none silently dropped, then too few rows', async () => {
    // A fixed pseudo-random stream (xorshift32), so the byte mix is the same on every run.
    const bytes = new Uint8Array(1 << 20);
    let x = 0x9e3779b9;
    for (let i = 0; i < bytes.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x & 0xff;
    }
    const path = join(scratch, 'random.jsonl');
    await writeFile(path, bytes);
    const dir = await runDir();
    const load = await loadDataset({ runDir: dir, dataset: path, textField: 'text', labelField: 'label' });
    const newlines = bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
    assert.equal(load.rowsIn + load.blankLines, newlines + (bytes.at(-1) === 0x0a ? 0 : 1), 'every line is a row or a blank line');
    assert.equal(load.valid, 0);
    const err = await failureOf(() => cleanDataset({ runDir: dir, load }));
    assert.equal(err.type, 'DqeTooFewRows');
    const rejects = await readJsonlAll<RejectRow>(join(dir, 'rejects.jsonl'));
    assert.equal(rejects.length, load.rowsIn);
    assert.ok(rejects.every((r) => ['invalid_utf8', 'invalid_json', 'not_an_object'].includes(r.reason)));
  });
});

describe('whole-file problems fail once, non-retryable, naming the file (and line)', () => {
  const cases: Array<{ kind: string; file: () => Promise<string> | string; type: string; message: (path: string, runDir: string) => string }> = [
    { kind: 'one class only', file: () => fixture('one-class.jsonl'), type: 'DqeTooFewLabels', message: (p) => `dataset ${p}: the kept rows carry 1 label(s) (ham); classification needs at least 2` },
    { kind: 'fewer rows than the method needs', file: () => fixture('too-few-rows.jsonl'), type: 'DqeTooFewRows', message: (p) => `dataset ${p}: 3 rows kept of 3 after validation and cleaning; dqe needs at least 4` },
    {
      kind: 'all rows duplicates',
      file: () => fixture('all-duplicates.jsonl'),
      type: 'DqeTooFewRows',
      message: (p, run) => `dataset ${p}: 1 rows kept of 8 after validation and cleaning (rejected: duplicate 7; each row's reason is in ${run}/rejects.jsonl); dqe needs at least 4`,
    },
    { kind: 'an empty file', file: () => fixture('empty.jsonl'), type: 'DqeTooFewRows', message: (p) => `dataset ${p}: the file is empty (0 bytes); dqe needs at least 4 rows` },
    { kind: 'a CSV with a header only', file: () => fixture('header-only.csv'), type: 'DqeTooFewRows', message: (p) => `dataset ${p}: 0 rows kept of 0 after validation and cleaning; dqe needs at least 4` },
    { kind: 'blank lines only', file: () => fixture('blank-lines-only.jsonl'), type: 'DqeTooFewRows', message: (p) => `dataset ${p}: 0 rows kept of 0 after validation and cleaning; dqe needs at least 4` },
    {
      kind: 'a CSV quote never closed',
      file: () => fixture('unclosed-quote.csv'),
      type: 'DqeDatasetUnreadable',
      message: (p) => `dataset ${p}: line 4: invalid CSV: a quoted field opened on line 4 or later is never closed (csv-parse CSV_QUOTE_NOT_CLOSED)`,
    },
    {
      kind: 'a CSV without the text column',
      file: () => fixture('missing-column.csv'),
      type: 'DqeDatasetMissingColumn',
      message: (p) => `dataset ${p}: line 1: the header has no column "text" (its columns: "body", "label"); set textField / labelField`,
    },
    { kind: 'a CSV naming a column twice', file: () => fixture('duplicate-column.csv'), type: 'DqeDatasetUnreadable', message: (p) => `dataset ${p}: line 1: the header names column "text" twice` },
    { kind: 'a directory instead of a file', file: () => FIXTURES, type: 'DqeDatasetNotAFile', message: (p) => `dataset ${p}: not a file (a directory)` },
    {
      kind: 'a named pipe (would block a reader forever)',
      file: async () => {
        const p = join(scratch, 'pipe.jsonl');
        await execa('mkfifo', [p]);
        return p;
      },
      type: 'DqeDatasetNotAFile',
      message: (p) => `dataset ${p}: not a file (a named pipe)`,
    },
    { kind: 'a missing file', file: () => join(scratch, 'no-such-file.jsonl'), type: 'DqeDatasetNotFound', message: (p) => `dataset ${p}: no such file` },
    {
      kind: 'a symlink loop',
      file: async () => {
        const p = join(scratch, 'loop.jsonl');
        await symlink(p, p);
        return p;
      },
      type: 'DqeDatasetUnreadable',
      message: (p) => `dataset ${p}: not readable (ELOOP)`,
    },
    { kind: 'an unknown format', file: () => join(FIXTURES, '.gitattributes'), type: 'DqeUnknownFormat', message: (p) => `dataset ${p}: unknown format; name it .jsonl or .csv, or set "format"` },
  ];

  for (const c of cases) {
    test(c.kind, async () => {
      const path = await c.file();
      const dir = await runDir();
      const err = await failureOf(async () => {
        const load = await loadDataset({ runDir: dir, dataset: path, textField: 'text', labelField: 'label' });
        await cleanDataset({ runDir: dir, load });
      });
      assert.equal(err.type, c.type);
      assert.equal(err.message, c.message(path, dir));
    });
  }

  test('an output directory that cannot be written (a file where a folder should be)', async () => {
    const blocker = join(scratch, 'a-file');
    await writeFile(blocker, 'not a folder');
    const err = await failureOf(() => loadDataset({ runDir: join(blocker, 'run'), dataset: fixture('bom.jsonl'), textField: 'text', labelField: 'label' }));
    assert.equal(err.type, 'DqeOutputNotWritable');
    assert.equal(err.message, `output directory ${join(blocker, 'run')}: cannot write (ENOTDIR)`);
  });

  describe('permissions, checked as an unprivileged user (root reads and writes any file)', () => {
    const asRoot = process.getuid?.() === 0;
    // The unprivileged user must be able to reach the checkout (its tsx and sources): a clone inside a
    // 0700 directory (`mktemp -d`) is out of its reach, which says nothing about dqe, so say so and skip.
    const tsxPackage = join(REPO_ROOT, 'node_modules', 'tsx', 'package.json');
    const reachable =
      !asRoot ||
      execaSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(tsxPackage)})`], { uid: NOBODY, gid: NOBODY, reject: false }).exitCode === 0;
    const skip = reachable ? false : `uid ${NOBODY} cannot read ${REPO_ROOT} (a folder above it is closed to other users); clone into a readable folder to run these`;

    async function loadAsUser(dataset: string, dir: string): Promise<LoadAsUserOutcome> {
      const { stdout } = await execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'tests/reliability/helpers/load-as-user.ts'), JSON.stringify({ dataset, runDir: dir })], {
        cwd: REPO_ROOT,
        ...(asRoot ? { uid: NOBODY, gid: NOBODY, env: { HOME: scratch } } : {}),
      });
      return JSON.parse(stdout) as LoadAsUserOutcome;
    }

    async function openDir(): Promise<string> {
      const dir = await mkdtemp(join(scratch, 'open-'));
      await chmod(scratch, 0o755);
      await chmod(dir, 0o777);
      return dir;
    }

    test('the unprivileged helper itself reads a readable file (the control case)', { skip }, async () => {
      const base = await openDir();
      const data = join(base, 'ok.jsonl');
      await writeFile(data, await readFile(fixture('bom.jsonl')));
      await chmod(data, 0o644);
      const out = await loadAsUser(data, join(base, 'run'));
      assert.deepEqual(out, { uid: asRoot ? NOBODY : process.getuid?.(), ok: true, kept: 4 });
    });

    test('an unreadable file', { skip }, async () => {
      const base = await openDir();
      const data = join(base, 'secret.jsonl');
      await writeFile(data, await readFile(fixture('bom.jsonl')));
      await chmod(data, 0o000);
      const out = await loadAsUser(data, join(base, 'run'));
      assert.deepEqual(out.failure, { type: 'DqeDatasetUnreadable', message: `dataset ${data}: not readable (EACCES)`, nonRetryable: true });
    });

    test('a file in a folder the worker may not enter', { skip }, async () => {
      const base = await openDir();
      const closed = join(base, 'closed');
      await mkdir(closed);
      const data = join(closed, 'data.jsonl');
      await writeFile(data, await readFile(fixture('bom.jsonl')));
      await chmod(closed, 0o000);
      const out = await loadAsUser(data, join(base, 'run'));
      assert.deepEqual(out.failure, { type: 'DqeDatasetUnreadable', message: `dataset ${data}: not readable (EACCES)`, nonRetryable: true });
    });

    test('an output directory without write permission', { skip }, async () => {
      const base = await openDir();
      const data = join(base, 'ok.jsonl');
      await writeFile(data, await readFile(fixture('bom.jsonl')));
      await chmod(data, 0o644);
      const locked = join(base, 'locked');
      await mkdir(locked);
      await chmod(locked, 0o555);
      const out = await loadAsUser(data, join(locked, 'run'));
      assert.deepEqual(out.failure, { type: 'DqeOutputNotWritable', message: `output directory ${join(locked, 'run')}: cannot write (EACCES)`, nonRetryable: true });
    });
  });
});

describe('through the workflow on the dev server', () => {
  let t: TestTemporal;
  const taskQueue = uniqueId('dqe-bad-input');
  before(async () => {
    t = await testTemporal();
  });
  after(async () => t.close());

  async function runWorkflow(input: Record<string, unknown>): Promise<unknown> {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(scratch, 'cache'), env: {} } });
    return worker.runUntil(t.client.workflow.execute('dqe', { taskQueue, workflowId: uniqueId('dqe-bad'), args: [input] }).then((r): unknown => r, (e: unknown) => e));
  }

  test('every whole-file problem fails the run at its first attempt, with the file named', async () => {
    const cases: Array<[string, string, string]> = [
      [fixture('empty.jsonl'), 'loadDataset', 'DqeTooFewRows'],
      [fixture('one-class.jsonl'), 'cleanDataset', 'DqeTooFewLabels'],
      [fixture('all-duplicates.jsonl'), 'cleanDataset', 'DqeTooFewRows'],
      [fixture('unclosed-quote.csv'), 'loadDataset', 'DqeDatasetUnreadable'],
      [fixture('missing-column.csv'), 'loadDataset', 'DqeDatasetMissingColumn'],
      [FIXTURES, 'loadDataset', 'DqeDatasetNotAFile'],
      [join(scratch, 'missing.jsonl'), 'loadDataset', 'DqeDatasetNotFound'],
    ];
    for (const [dataset, activity, type] of cases) {
      const err = await runWorkflow({ dataset, outputDir: await runDir() });
      assert.ok(err instanceof WorkflowFailedError, `${dataset}: ${String(err)}`);
      assert.ok(err.cause instanceof ActivityFailure, dataset);
      assert.equal(err.cause.activityType, activity);
      assert.equal(err.cause.retryState, RetryState.NON_RETRYABLE_FAILURE, `${dataset}: retried`);
      assert.ok(err.cause.cause instanceof ApplicationFailure);
      assert.equal(err.cause.cause.type, type);
      assert.ok(err.cause.cause.message.startsWith(`dataset ${dataset}: `), err.cause.cause.message);
    }
  });

  test('an unwritable output directory fails the run at its first attempt', async () => {
    const blocker = join(scratch, 'wf-blocker');
    await writeFile(blocker, '');
    const err = await runWorkflow({ dataset: fixture('bom.jsonl'), outputDir: join(blocker, 'run') });
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure, String(err));
    assert.equal(err.cause.retryState, RetryState.NON_RETRYABLE_FAILURE);
    assert.equal(err.cause.cause.type, 'DqeOutputNotWritable');
  });

  test('a dataset mixing every bad-row kind with real mails (and a 10 MB mail) runs to the end', async () => {
    const mails = spamAssassinJsonl({ limit: 120 }).trim().split('\n');
    const bad = [
      ...(await readFile(fixture('invalid-json.jsonl'), 'utf8')).trim().split('\n').slice(1, 5),
      ...(await readFile(fixture('text-problems.jsonl'), 'utf8')).trim().split('\n').slice(1, 8),
      ...(await readFile(fixture('label-types.jsonl'), 'utf8')).trim().split('\n').slice(1, 9),
    ];
    const big = JSON.stringify({ id: 'big', text: 'enormous newsletter '.repeat(TEN_MB / 20), label: 'ham' });
    const path = join(scratch, 'mixed.jsonl');
    const raw = Buffer.concat([
      Buffer.from('\uFEFF'),
      Buffer.from([...mails.slice(0, 60), ...bad, big, ...mails.slice(60)].join('\r\n')),
      Buffer.from('\r\n{"text": "caf\xe9", "label": "ham"}\r\n', 'latin1'),
      Buffer.from('{"text": "nul \\u0000", "label": "spam"}\r\n'),
    ]);
    await writeFile(path, raw);
    const outputDir = await runDir();
    const result = await runWorkflow({ dataset: path, outputDir, seed: 3 });
    assert.ok(!(result instanceof Error), String(result));
    const report = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
    const c = report.counts;
    assert.equal(c.rowsIn, 120 + bad.length + 1 + 2);
    assert.equal(c.kept + c.rejected, c.rowsIn);
    assert.deepEqual(
      { ...c.rejectedByReason, duplicate: undefined, conflicting_labels: undefined },
      { invalid_json: 4, missing_text: 4, invalid_text: 4, missing_label: 3, invalid_label: 4, invalid_utf8: 1, duplicate: undefined, conflicting_labels: undefined },
    );
    const rejects = await readJsonlAll<RejectRow>(join(outputDir, 'rejects.jsonl'));
    assert.equal(rejects.length, c.rejected);
    assert.equal(report.labels.includes('1'), true, 'the integer label became a label');
  });
});
