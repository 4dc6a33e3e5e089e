// The run directory's contract (core/run-layout.ts): distinct names, and phase files named and matched alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA_FILES, RUN_FILES, RUN_LOCK_FILE, WORK_DIR, WORK_FILES, workFile, workFilePattern } from '../../core/run-layout.js';

test('every run file has its own name, none is the work folder, and the data files are run files', () => {
  const names = Object.values(RUN_FILES);
  assert.equal(new Set(names).size, names.length);
  assert.ok(!names.includes(WORK_DIR as never));
  assert.equal(RUN_FILES.lock, RUN_LOCK_FILE);
  for (const f of DATA_FILES) assert.ok(names.includes(f), f);
  assert.deepEqual([...DATA_FILES], ['final.jsonl', 'final.rows.jsonl', 'final.swift.jsonl', 'rejects.jsonl', 'categories.jsonl', 'noisy-pairs.jsonl', 'flagged.jsonl']);
});

test('workFilePattern matches what workFile names under runPhaseOnce, and nothing else', () => {
  const key = '0123456789abcdef';
  for (const suffix of Object.keys(WORK_FILES) as Array<keyof typeof WORK_FILES>) {
    const name = workFile(`clean.${key}`, suffix);
    assert.ok(workFilePattern('clean', suffix).test(name), name);
    assert.ok(!workFilePattern('clean', suffix).test(`${name}.tmp-42-beef`), `${name}: a temporary file is not the file`);
  }
  assert.ok(workFilePattern('predict-shard-0', 'job').test(`predict-shard-0.${key}.job`));
  assert.ok(!workFilePattern('predict-shard-0', 'job').test(`predict-shard-10.${key}.job`));
  assert.ok(!workFilePattern('train', 'json').test(`train.${key}.job`));
  assert.ok(!workFilePattern('clean', 'kept.jsonl').test(`clean.${key}xkept.jsonl`), 'dots are literal');
  assert.ok(!workFilePattern('clean', 'kept.jsonl').test(`clean.0123.kept.jsonl`), 'keys are 16 hex digits');
});
