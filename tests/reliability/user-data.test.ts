// A user's data is never lost or changed (issue 14): the run directory belongs to one run, rows come
// out byte for byte as they went in, and every row that cannot be used honestly is rejected with its
// own reason. Each test is one behaviour that dqe got wrong before, with exit code 0.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { execa } from 'execa';
import { cleanDataset } from '../../activities/clean.js';
import { loadDataset } from '../../activities/load.js';
import type { KeptRow, RejectRow } from '../../activities/refs.js';
import { RUN_LOCK_FILE, type Report } from '../../core/run-layout.js';
import { claimRunDir, releaseRunDir } from '../../activities/run-dir.js';
import { getDqeProgress } from '../../client/api.js';
import { readJsonlAll, runPhaseOnce, writeJsonAtomic } from '../../adapters/files.js';
import { parseDqeInput } from '../../core/input.js';
import { scanObjectLine, spliceField } from '../../core/json-line.js';
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';
import { REPO_ROOT } from '../../infra/python-env.js';
import type { DqeResult } from '../../workflows/index.js';
import { createCpuWorker } from '../../workers/cpu-worker.js';
import { testTemporal, uniqueId, type TestTemporal } from '../helpers/temporal.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dqe-user-data-'));
});

const MAILS = spamAssassinJsonl({ limit: 60 }).trim().split('\n');

/** This process's environment without Temporal's and dqe's settings, as a user's shell would have it. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(TEMPORAL_|DQE_)/u.test(k)) env[k] = v;
  return env;
}

async function folder(name: string): Promise<string> {
  return mkdtemp(join(scratch, `${name}-`));
}

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  return out.sort();
}

async function curate(dataset: string, opts: { labels?: string[] } = {}) {
  const dir = await folder('run');
  const load = await loadDataset({ runDir: dir, dataset, textField: 'text', labelField: 'label', labels: opts.labels });
  const clean = await cleanDataset({ runDir: dir, load, labels: opts.labels });
  const kept = await readJsonlAll<KeptRow>(clean.keptPath);
  const rejects = await readJsonlAll<RejectRow>(clean.rejectsPath);
  assert.equal(kept.length + rejects.length, load.rowsIn, 'rows in = kept + rejected');
  return { load, clean, kept, rejects };
}

async function failureOf(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

const good = (i: number) => JSON.stringify({ text: `mail number ${i} about invoices and lunches`, label: i % 2 === 0 ? 'ham' : 'spam' });

describe('the run directory is owned by one run', () => {
  test('a second run is refused naming the holder; a retry of the same run takes it over; one of two racing claims wins', async () => {
    const dir = join(await folder('owned'), 'run');
    const dataset = join(scratch, 'elsewhere.jsonl');
    assert.deepEqual(await claimRunDir({ runDir: dir, dataset, workflowId: 'wf-a', runId: 'run-1' }), { runDir: dir, cleared: false });
    const refused = await failureOf(() => claimRunDir({ runDir: dir, dataset, workflowId: 'wf-b', runId: 'run-2', overwrite: true }));
    assert.equal(refused.type, 'DqeOutputInUse');
    assert.equal(refused.nonRetryable, true);
    assert.equal(
      refused.message,
      `output directory ${dir} is in use by run wf-a (run id run-1, running); give another output directory, or wait for that run to end (if it was terminated and will not end, delete ${RUN_LOCK_FILE} there)`,
    );
    // The same run on another worker (a retried attempt), then the same workflow reset to a new run id.
    assert.deepEqual(await claimRunDir({ runDir: dir, dataset, workflowId: 'wf-a', runId: 'run-1' }), { runDir: dir, cleared: false });
    await claimRunDir({ runDir: dir, dataset, workflowId: 'wf-a', runId: 'run-1b' });
    assert.deepEqual(JSON.parse(await readFile(join(dir, RUN_LOCK_FILE), 'utf8')), { workflowId: 'wf-a', runId: 'run-1b', state: 'running' });

    const race = join(await folder('race'), 'run');
    const outcomes = await Promise.allSettled(['x', 'y', 'z'].map((w) => claimRunDir({ runDir: race, dataset, workflowId: `wf-${w}`, runId: w })));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'exactly one claim wins');
    for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as ApplicationFailure).type, 'DqeOutputInUse');
  });

  test('a folder of files no dqe run wrote is never used or cleared, even with overwrite', async () => {
    const dir = await folder('foreign');
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const err = await failureOf(() => claimRunDir({ runDir: dir, dataset: join(scratch, 'x.jsonl'), workflowId: 'w', runId: 'r', overwrite: true }));
    assert.equal(err.type, 'DqeOutputNotEmpty');
    assert.match(err.message, /holds files no dqe run claimed \(notes\.txt\)/u);
    assert.deepEqual(await tree(dir), ['notes.txt']);
  });

  test('a phase that succeeds removes the temporary files its killed attempts left, and only its own', async () => {
    const work = await folder('temps');
    await writeFile(join(work, 'load.k1.valid.jsonl.tmp-4242-deadbeef'), 'half a file');
    await writeFile(join(work, 'embed-shard-1.k2.f32.tmp-4343-cafe'), 'another phase, still running');
    await runPhaseOnce(work, 'load', 'k1', async (prefix) => {
      await writeFile(`${prefix}.valid.jsonl`, 'x');
      return { ok: true };
    });
    assert.deepEqual(await tree(work), ['embed-shard-1.k2.f32.tmp-4343-cafe', 'load.k1.json', 'load.k1.valid.jsonl']);
  });

  test('release sweeps every temporary file, and only the holder may release', async () => {
    const dir = join(await folder('release'), 'run');
    await claimRunDir({ runDir: dir, dataset: join(scratch, 'x.jsonl'), workflowId: 'w', runId: 'r' });
    await mkdir(join(dir, 'work'));
    await writeFile(join(dir, 'final.jsonl.tmp-77-abcd'), '');
    await writeFile(join(dir, 'work', 'report.json.tmp-78'), '');
    assert.deepEqual(await releaseRunDir({ runDir: dir, workflowId: 'other', runId: 'r', state: 'failed' }), { removedTemps: 0 });
    assert.deepEqual(await releaseRunDir({ runDir: dir, workflowId: 'w', runId: 'r', state: 'completed' }), { removedTemps: 2 });
    assert.deepEqual(await tree(dir), [RUN_LOCK_FILE]);
  });
});

describe('rows come out as they went in', () => {
  test('integer labels above 2^53 stay two classes, compared as the digits written', async () => {
    const path = join(scratch, 'big-ids.jsonl');
    const lines = Array.from({ length: 8 }, (_, i) => `{"text": "message ${i} about topic ${i % 2}", "label": ${i % 2 === 0 ? '9007199254740993' : '9007199254740992'}}`);
    await writeFile(path, `${lines.join('\n')}\n`);
    const c = await curate(path);
    assert.deepEqual(c.clean.labels, ['9007199254740992', '9007199254740993']);
    assert.deepEqual(c.clean.perLabel, { '9007199254740993': 4, '9007199254740992': 4 });
    assert.deepEqual(c.kept.map((k) => k.source), lines, 'each kept row holds its line as written');
  });

  test('CSV: every column is kept, one named __proto__ included', async () => {
    const path = join(scratch, 'proto.csv');
    await writeFile(path, `text,label,__proto__,constructor\n${Array.from({ length: 4 }, (_, i) => `text ${i},${i % 2 ? 'a' : 'b'},p${i},c${i}`).join('\n')}\n`);
    const c = await curate(path);
    const first = JSON.parse(c.kept[0]!.source) as Record<string, unknown>;
    assert.deepEqual(Object.keys(first), ['text', 'label', '__proto__', 'constructor']);
    assert.equal(Object.getOwnPropertyDescriptor(first, '__proto__')?.value, 'p0');
    assert.equal(c.kept[0]!.source, '{"text":"text 0","label":"b","__proto__":"p0","constructor":"c0"}');
  });

  test('relabelling changes the label value only, every other byte as written', () => {
    const line = '{ "id" : 12345678901234567891, "label":"spam" ,"score": 0.10, "big": 1e400, "label2": "x"}';
    const span = scanObjectLine(line).fields.get('label')!;
    assert.equal(spliceField(line, span, JSON.stringify('ham')), '{ "id" : 12345678901234567891, "label":"ham" ,"score": 0.10, "big": 1e400, "label2": "x"}');
  });

  test('labels: NFC and surrounding whitespace are normalised; a declared set is compared the same way', async () => {
    const path = join(scratch, 'nfc.jsonl');
    const labels = ['caf\u00e9', 'cafe\u0301', ' caf\u00e9\t', 'tea', 'tea ', '\u00a0tea'];
    await writeFile(path, `${labels.map((l, i) => JSON.stringify({ text: `drink order ${i}`, label: l })).join('\n')}\n`);
    const c = await curate(path, { labels: ['cafe\u0301', 'tea'] });
    assert.deepEqual(c.rejects, []);
    assert.deepEqual(c.clean.labels, ['caf\u00e9', 'tea']);
    assert.deepEqual(c.clean.perLabel, { 'caf\u00e9': 3, tea: 3 });
  });
});

describe('honest rejects: every row accounted for', () => {
  test('a JSON line naming a field twice is rejected (duplicate_field), not read last-wins', async () => {
    const path = join(scratch, 'dup-field.jsonl');
    await writeFile(path, [good(0), '{"text": "free money", "label": "ham", "label": "spam"}', good(1), '{"text": "x", "label": "a", "meta": {"k": 1, "k": 2}}', good(2), good(3)].join('\n'));
    const c = await curate(path);
    assert.deepEqual(c.rejects.map((r) => [r.row, r.reason, r.detail.slice(path.length + 1)]), [
      [2, 'duplicate_field', '2: the object names field "label" twice (JSON.parse would keep the last one silently)'],
      [4, 'duplicate_field', '4: the object names field "meta.k" twice (JSON.parse would keep the last one silently)'],
    ]);
    assert.equal(c.rejects[0]!.raw, '{"text": "free money", "label": "ham", "label": "spam"}');
  });

  test('lone surrogates in a text or a label are rejected (invalid_unicode)', async () => {
    const path = join(scratch, 'surrogates.jsonl');
    await writeFile(path, [good(0), '{"text": "broken \\ud800 pair", "label": "ham"}', '{"text": "fine", "label": "sp\\udfffam"}', good(1), good(2), '{"text": "a real pair \\ud83d\\ude00", "label": "ham"}', good(3)].join('\n'));
    const c = await curate(path);
    assert.deepEqual(c.rejects.map((r) => [r.row, r.reason, r.field, r.detail.slice(path.length + 1)]), [
      [2, 'invalid_unicode', 'text', '2: field "text" holds a lone surrogate (U+D800) at offset 7: not valid Unicode'],
      [3, 'invalid_unicode', 'label', '3: field "label" holds a lone surrogate (U+DFFF) at offset 2: not valid Unicode'],
    ]);
    assert.equal(c.kept.length, 5, 'a proper surrogate pair (an emoji) is text');
  });

  test('datasetSha256 is the hash of exactly the bytes the rows came from, while the file grows', async () => {
    const path = join(scratch, 'growing.jsonl');
    const lines = Array.from({ length: 30_000 }, (_, i) => good(i));
    await writeFile(path, `${lines.join('\n')}\n`);
    let appended = 0;
    let done = false;
    const dir = await folder('grow');
    const loading = loadDataset({ runDir: dir, dataset: path, textField: 'text', labelField: 'label' }).finally(() => (done = true));
    // Appends between the reader's chunks, until the load is over.
    const grow = (): void => {
      if (done) return;
      appendFileSync(path, `${good(1_000_000 + appended++)}\n`);
      setImmediate(grow);
    };
    grow();
    const load = await loading;
    assert.ok(appended > 0, 'the file grew during the load');
    const now = await readFile(path);
    assert.ok(now.length > load.datasetBytes);
    assert.equal(load.datasetSha256, createHash('sha256').update(now.subarray(0, load.datasetBytes)).digest('hex'));
    // The rows are exactly the lines of those bytes (appends that came before the load looked count too).
    const read = now.subarray(0, load.datasetBytes);
    assert.equal(read.at(-1), 0x0a);
    assert.equal(load.rowsIn, read.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0));
    assert.ok(load.rowsIn >= 30_000);
  });

  describe('a file that is not JSONL or CSV gets an error naming the likely cause', () => {
    const rows = Array.from({ length: 6 }, (_, i) => ({ text: `mail ${i}`, label: i % 2 ? 'spam' : 'ham' }));
    const jsonl = rows.map((r) => JSON.stringify(r)).join('\n');
    const cases: Array<[string, string, () => Buffer, string]> = [
      ['a JSON array (pretty-printed)', 'array.json', () => Buffer.from(JSON.stringify(rows, null, 2)), 'it is one JSON array, not JSON Lines (one object per line); convert it, e.g. jq -c \'.[]\' in.json > out.jsonl'],
      ['a JSON array on one line', 'array1.jsonl', () => Buffer.from(JSON.stringify(rows)), 'it is one JSON array, not JSON Lines (one object per line); convert it, e.g. jq -c \'.[]\' in.json > out.jsonl'],
      ['gzip', 'packed.jsonl', () => gzipSync(jsonl), 'it is gzip-compressed; decompress it first (gunzip)'],
      ['UTF-16 with a BOM', 'utf16.jsonl', () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(jsonl, 'utf16le')]), 'it is UTF-16 encoded; dqe reads UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)'],
      ['UTF-16 CSV without a BOM', 'utf16.csv', () => Buffer.from('text,label\nhello,ham\n', 'utf16le'), 'it is UTF-16 encoded; dqe reads UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)'],
      ['CR-only line ends', 'mac.jsonl', () => Buffer.from(jsonl.replaceAll('\n', '\r')), 'its lines end in CR only (classic Mac line ends); convert them to LF or CRLF (e.g. tr \'\\r\' \'\\n\')'],
    ];
    for (const [kind, name, bytes, cause] of cases) {
      test(kind, async () => {
        const path = join(scratch, name);
        await writeFile(path, bytes());
        const err = await failureOf(() => loadDataset({ runDir: join(scratch, `run-${name}`), dataset: path, textField: 'text', labelField: 'label' }));
        assert.equal(err.type, 'DqeDatasetWrongFormat');
        assert.equal(err.nonRetryable, true);
        assert.equal(err.message, `dataset ${path}: not ${name.endsWith('.csv') ? 'CSV' : 'JSON Lines'} as dqe reads it: ${cause}`);
      });
    }
  });

  test('a dotted text field (JSONL) and a text field equal to the label field are refused up front', () => {
    const problems = (input: Record<string, unknown>) => {
      const r = parseDqeInput(input);
      return r.ok ? [] : r.problems;
    };
    assert.deepEqual(problems({ dataset: '/d/x.jsonl', textField: 'body.text' }), [
      { field: 'textField', message: '"body.text" looks like a nested path; dqe reads top-level JSON fields only (flatten it first, e.g. jq -c \'{text: .a.b, label}\')' },
    ]);
    assert.deepEqual(problems({ dataset: '/d/x.jsonl', textField: 'label' }), [{ field: 'labelField', message: 'must differ from textField (both are "label")' }]);
    assert.deepEqual(problems({ dataset: '/d/x.csv', textField: 'body.text' }), [], 'a CSV column may have a dot in its name');
    assert.deepEqual(problems({ dataset: '/d/x.jsonl', outputDir: '  ' }), [{ field: 'outputDir', message: 'must not be blank' }]);
  });
});

describe('through the workflow on the dev server', () => {
  let t: TestTemporal;
  const taskQueue = uniqueId('dqe-user-data');
  before(async () => {
    t = await testTemporal();
  });
  after(async () => t.close());

  async function runWorkflow(input: Record<string, unknown>, workflowId = uniqueId('dqe-ud')): Promise<DqeResult | WorkflowFailedError> {
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(scratch, 'cache'), env: {} } });
    return worker.runUntil(
      t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [input] }).then(
        (r) => r as DqeResult,
        (e: unknown) => {
          if (e instanceof WorkflowFailedError) return e;
          throw e;
        },
      ),
    );
  }

  function failure(r: DqeResult | WorkflowFailedError, activity: string): ApplicationFailure {
    assert.ok(r instanceof WorkflowFailedError, 'the run failed');
    assert.ok(r.cause instanceof ActivityFailure, String(r.cause));
    assert.equal(r.cause.activityType, activity);
    assert.equal(r.cause.retryState, RetryState.NON_RETRYABLE_FAILURE);
    assert.ok(r.cause.cause instanceof ApplicationFailure);
    return r.cause.cause;
  }

  const mails = async (name: string, extra: string[] = []) => {
    const path = join(await folder(name), `${name}.jsonl`);
    await writeFile(path, `${[...MAILS, ...extra].join('\n')}\n`);
    return path;
  };

  test('an output directory holding the dataset is refused before anything is written, whatever the dataset is called', async () => {
    for (const name of ['final.jsonl', 'rejects.jsonl']) {
      const dir = await folder('own');
      const dataset = join(dir, 'data', name);
      await mkdir(dirname(dataset));
      const bytes = `${MAILS.join('\n')}\n`;
      await writeFile(dataset, bytes);
      for (const outputDir of [dirname(dataset), dir]) {
        const err = failure(await runWorkflow({ dataset, outputDir }), 'claimRunDir');
        assert.equal(err.type, 'DqeOutputHoldsDataset');
        assert.equal(err.message, `output directory ${outputDir} holds the dataset ${dataset}; dqe writes its outputs there and never writes beside a user's data: give another output directory`);
      }
      assert.equal(await readFile(dataset, 'utf8'), bytes, 'the dataset is untouched');
      assert.deepEqual(await tree(dir), [join('data', name)], 'nothing was written');
    }
  });

  test('a blank output directory is refused', async () => {
    const r = await runWorkflow({ dataset: await mails('blank'), outputDir: ' ' });
    assert.ok(r instanceof WorkflowFailedError && r.cause instanceof ApplicationFailure);
    assert.equal(r.cause.type, 'DqeInvalidInput');
    assert.equal(r.cause.message, 'invalid dqe input: outputDir: must not be blank');
  });

  test('previous outputs: refused without overwrite, replaced whole with it; a failed run leaves none of the old files', async () => {
    const dataset = await mails('prev');
    const outputDir = join(await folder('prev-out'), 'run');
    const first = await runWorkflow({ dataset, outputDir }, uniqueId('dqe-first'));
    assert.ok(!(first instanceof Error), first instanceof Error ? first.message : '');
    const before = await tree(outputDir);
    const report = await readFile(join(outputDir, 'report.json'));

    const again = failure(await runWorkflow({ dataset, outputDir }, uniqueId('dqe-again')), 'claimRunDir');
    assert.equal(again.type, 'DqeOutputNotEmpty');
    assert.match(again.message, /holds the outputs of run dqe-first-\S+ \(run id \S+, completed\); give another output directory, or set overwrite: true \(dqe run --overwrite\) to replace them whole$/u);
    assert.deepEqual(await tree(outputDir), before);
    assert.deepEqual(await readFile(join(outputDir, 'report.json')), report);

    // An overwriting run that fails (one class only) leaves its own rejects, never the old report or final set.
    const oneClass = join(await folder('one-class'), 'one.jsonl');
    await writeFile(oneClass, `${Array.from({ length: 6 }, (_, i) => JSON.stringify({ text: `only ham ${i}`, label: 'ham' })).join('\n')}\n`);
    const failed = failure(await runWorkflow({ dataset: oneClass, outputDir, overwrite: true }, uniqueId('dqe-over')), 'cleanDataset');
    assert.equal(failed.type, 'DqeTooFewLabels');
    const left = await tree(outputDir);
    for (const old of ['report.json', 'report.md', 'final.jsonl', 'final.rows.jsonl', 'final.swift.jsonl', 'categories.jsonl']) assert.ok(!left.includes(old), `${old} of the old run is gone`);
    assert.ok(left.includes('rejects.jsonl'));
    assert.equal((JSON.parse(await readFile(join(outputDir, RUN_LOCK_FILE), 'utf8')) as { state: string }).state, 'failed');
  });

  test('two runs started into one directory: one completes, the other is refused naming it', async () => {
    const dataset = await mails('two');
    const outputDir = join(await folder('two-out'), 'run');
    const ids = [uniqueId('dqe-one'), uniqueId('dqe-two')];
    const worker = await createCpuWorker({ connection: t.workerConnection, taskQueue, deps: { cacheDir: join(scratch, 'cache'), env: {} } });
    const results = await worker.runUntil(
      Promise.allSettled(ids.map((workflowId) => t.client.workflow.execute('dqe', { taskQueue, workflowId, args: [{ dataset, outputDir }] }))),
    );
    const won = results.findIndex((r) => r.status === 'fulfilled');
    assert.ok(won >= 0, 'one run completed');
    const lost = results[1 - won]!;
    assert.equal(lost.status, 'rejected');
    const cause = ((lost).reason as WorkflowFailedError).cause as ActivityFailure;
    assert.ok(cause.cause instanceof ApplicationFailure);
    assert.ok(['DqeOutputInUse', 'DqeOutputNotEmpty'].includes(cause.cause.type ?? ''), cause.cause.type ?? '');
    assert.ok(cause.cause.message.includes(`run ${ids[won]!} (run id `), cause.cause.message);
  });

  test('a run resumed after a killed attempt leaves no temporary files behind', async () => {
    const dataset = await mails('killed');
    const outputDir = join(await folder('killed-out'), 'run');
    const workflowId = uniqueId('dqe-killed');
    // What a worker killed mid-write leaves: the lock of its run and half-written temporary files.
    await mkdir(join(outputDir, 'work'), { recursive: true });
    await writeJsonAtomic(join(outputDir, RUN_LOCK_FILE), { workflowId, runId: 'the-killed-attempt', state: 'running' });
    await writeFile(join(outputDir, 'final.jsonl.tmp-4242-deadbeef'), '{"text": "half');
    await writeFile(join(outputDir, 'work', 'load.0123456789abcdef.valid.jsonl.tmp-4242-cafe'), '{"row": 1');
    const r = await runWorkflow({ dataset, outputDir }, workflowId);
    assert.ok(!(r instanceof Error), r instanceof Error ? r.message : '');
    assert.deepEqual((await tree(outputDir)).filter((f) => f.includes('.tmp-')), []);

    // Status of the completed run, with no worker running: described, not queried (a query would wait for a worker).
    const status = await Promise.race([getDqeProgress(t.client, workflowId), sleep(15_000).then(() => 'no answer within 15 s')]);
    assert.deepEqual(status, { status: 'completed', phase: 'report', phaseIndex: 10, phaseCount: 11, done: [], runDir: outputDir, workflowId, execution: 'COMPLETED' });
    // `dqe status` finds the server as `dqe run` does: TEMPORAL_ADDRESS unset, DQE_DEV_PORT set.
    const env = userEnv();
    const cli = await execa(process.execPath, [join(REPO_ROOT, 'bin', 'dqe.js'), 'status', workflowId], { cwd: REPO_ROOT, env: { ...env, DQE_DEV_PORT: t.address.split(':')[1]! }, extendEnv: false, reject: false, timeout: 60_000 });
    assert.equal(cli.exitCode, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { execution: string }).execution, 'COMPLETED');
  });

  test('final.jsonl holds each kept line\'s own bytes; final.swift.jsonl the exact text', async () => {
    // Numbers JSON.parse would change (2^64-ish ids, 1e400, 0.10), odd spacing, escapes and key order.
    const lines = MAILS.map((m, i) => {
      const { text, label } = JSON.parse(m) as { text: string; label: string };
      return `{ "id":${12345678901234567000 + i}, "score" : 0.10,"big":1e400, "text":${JSON.stringify(`  ${text}\t`)},"note":"caf\\u00e9" , "label":"${label}"}`;
    });
    const dataset = join(await folder('exact'), 'exact.jsonl');
    await writeFile(dataset, `${lines.join('\r\n')}\r\n`);
    const outputDir = join(await folder('exact-out'), 'run');
    const r = await runWorkflow({ dataset, outputDir, seed: 2 });
    assert.ok(!(r instanceof Error), r instanceof Error ? r.message : '');
    const final = (await readFile(join(outputDir, 'final.jsonl'), 'utf8')).split('\n').slice(0, -1);
    assert.ok(final.length > 0);
    const input = new Set(lines);
    for (const l of final) assert.ok(input.has(l), `not an input line: ${l.slice(0, 120)}`);
    const swift = await readJsonlAll<{ messages: Array<{ content: string }> }>(join(outputDir, 'final.swift.jsonl'));
    assert.deepEqual(swift.map((s) => s.messages[1]!.content), final.map((l) => (JSON.parse(l) as { text: string }).text));
    assert.ok(swift.every((s) => s.messages[1]!.content.startsWith('  ') && s.messages[1]!.content.endsWith('\t')));
  });

  test('nothing to embed: rejected with its own reason; look-alike labels and tiny classes are warned about', async () => {
    const extra = [
      JSON.stringify({ id: 'emoji', text: '\u{1F642}\u{1F642} !!! ...', label: 'spam' }),
      JSON.stringify({ id: 'invisible', text: '\u200b\u200d\u2060', label: 'ham' }),
      JSON.stringify({ id: 'stopwords', text: 'the and of', label: 'ham' }),
      ...['Spam', 'Spam', 'sp\u200bam'].map((label, i) => JSON.stringify({ text: `limited offer number ${i} click now`, label })),
      JSON.stringify({ text: 'a lone class of its own', label: 'eggs' }),
    ];
    const dataset = await mails('empty-vectors', extra);
    const outputDir = join(await folder('empty-out'), 'run');
    // hash: its zero vector for text with no word it uses is what this reason is about.
    const r = await runWorkflow({ dataset, outputDir, seed: 4, embedder: 'hash' });
    assert.ok(!(r instanceof Error), r instanceof Error ? r.message : '');
    const rejects = await readJsonlAll<RejectRow>(join(outputDir, 'rejects.jsonl'));
    const nothing = rejects.filter((x) => x.reason === 'nothing_to_embed');
    assert.deepEqual(nothing.map((x) => [x.row, (JSON.parse(x.raw!) as { id: string }).id]), [[MAILS.length + 1, 'emoji'], [MAILS.length + 2, 'invisible'], [MAILS.length + 3, 'stopwords']]);
    assert.equal(nothing[0]!.detail, 'embedder hash-v1-d1024 found nothing to embed in field text (a zero vector): only invisible characters, symbols or words it does not use');
    const report = JSON.parse(await readFile(join(outputDir, 'report.json'), 'utf8')) as Report;
    assert.equal(report.counts.rejectedByReason.nothing_to_embed, 3);
    assert.equal(report.counts.kept + report.counts.rejected, report.counts.rowsIn);
    const warnings = [
      'labels "Spam", "spam", "sp\u200bam" differ only in case or invisible characters: one class typed 3 ways? They are kept as separate classes.',
      'label "eggs" has 1 kept row(s): too few for the method to learn it in one half and test it in the other (it needs at least 2).',
      'label "sp\u200bam" has 1 kept row(s): too few for the method to learn it in one half and test it in the other (it needs at least 2).',
    ];
    assert.deepEqual([...report.warnings].sort(), [...warnings].sort());
    assert.deepEqual([...(r).warnings].sort(), [...warnings].sort());
    assert.match(await readFile(join(outputDir, 'report.md'), 'utf8'), /## Warnings\n\n- /u);
    // No wrong prediction was paired with a neighbour at similarity 0 (what a zero vector gets).
    const categories = await readJsonlAll<{ similarity: number }>(join(outputDir, 'categories.jsonl'));
    assert.ok(categories.every((c) => c.similarity !== 0));
  });

  test('a failed run prints its one-line cause, with the worker\'s warnings in a log file it names', async () => {
    const oneClass = join(await folder('cli-fail'), 'one.jsonl');
    await writeFile(oneClass, `${Array.from({ length: 6 }, (_, i) => JSON.stringify({ text: `only ham ${i}`, label: 'ham' })).join('\n')}\n`);
    const state = await folder('state');
    const env = userEnv();
    const workflowId = uniqueId('dqe-cli-fail');
    const args = ['run', oneClass, '--in-process-worker', '--no-progress', '--task-queue', uniqueId('dqe-cli-q'), '--workflow-id', workflowId, '--output-dir', join(state, 'run')];
    const r = await execa(process.execPath, [join(REPO_ROOT, 'bin', 'dqe.js'), ...args], { cwd: REPO_ROOT, env: { ...env, TEMPORAL_ADDRESS: t.address, DQE_STATE_DIR: state }, extendEnv: false, reject: false, timeout: 180_000 });
    assert.equal(r.exitCode, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.at(-1), `dqe: the run failed in activity cleanDataset: DqeTooFewLabels: dataset ${oneClass}: the kept rows carry 1 label(s) (ham); classification needs at least 2`);
    assert.deepEqual(lines.filter((l) => /WARN|^\s+at /u.test(l)), [], 'no worker log lines or stack frames on the terminal');
    const logPath = join(state, 'logs', `${workflowId}.log`);
    assert.equal(lines.at(-2), `dqe: the worker's warnings and stack traces are in ${logPath}`);
    assert.match(await readFile(logPath, 'utf8'), /\[WARN\]/u);
  });

  test('a ratio that leaves no unsampled row fails once with what the method could not do', async () => {
    const dataset = await mails('ratio');
    const err = failure(await runWorkflow({ dataset, outputDir: join(await folder('ratio-out'), 'run'), ratio: 0.99 }), 'sampleRows');
    assert.equal(err.type, 'DqeRatioTooHigh');
    assert.match(err.message, /^ratio 0\.99 × \d+ kept rows samples \d+, leaving no unsampled row to predict, so DQE could find nothing uncovered, difficult or noisy; use a ratio of at most 0\.\d{4}$/u);
  });
});

describe('the CLI checks what it can before it starts a workflow', () => {
  /** `dqe` as a user runs it, against an address where nothing listens: a check that passed would fail to connect. */
  async function dqe(args: string[]) {
    const env = userEnv();
    const r = await execa(process.execPath, [join(REPO_ROOT, 'bin', 'dqe.js'), ...args], { cwd: REPO_ROOT, env: { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' }, extendEnv: false, reject: false, timeout: 120_000 });
    return { exitCode: r.exitCode, stderr: r.stderr };
  }

  test('a missing dataset, a misspelt CSV column or JSONL field, and a blank --output-dir fail at once, leaving no run directory', async () => {
    const base = await folder('cli');
    const csv = join(base, 'mails.csv');
    await writeFile(csv, 'body,label\nhello,ham\n');
    const jsonl = join(base, 'mails.jsonl');
    await writeFile(jsonl, `${MAILS.slice(0, 5).join('\n')}\n`);
    const out = join(base, 'run');
    const cases: Array<[string[], string]> = [
      [['run', join(base, 'nope.jsonl')], `dqe: dataset ${join(base, 'nope.jsonl')}: no such file`],
      [['run', csv], `dqe: dataset ${csv}: the header has no column "text" (its columns: "body", "label"); set --text-field / --label-field`],
      [['run', jsonl, '--label-field', 'labl'], `dqe: dataset ${jsonl}: none of the first 5 rows has the field "labl" (their fields: "id", "text", "label"); set --text-field / --label-field`],
      [['run', jsonl, '--output-dir', ' '], 'dqe: --output-dir is empty; give the run directory'],
    ];
    for (const [args, message] of cases) {
      const r = await dqe([...args, '--in-process-worker', ...(args.includes('--output-dir') ? [] : ['--output-dir', out]), '--no-progress']);
      assert.equal(r.exitCode, 1, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').at(-1), message);
    }
    assert.deepEqual(await tree(base), ['mails.csv', 'mails.jsonl']);
  });

  test('an option error prints its one line and a pointer to --help, not the whole help', async () => {
    const r = await dqe(['run', 'x.jsonl', '--ratio', 'lots']);
    assert.notEqual(r.exitCode, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /^error: option '--ratio <r>' argument 'lots' is invalid\./u);
    assert.equal(lines[1], '(add --help for usage)');
  });
});
