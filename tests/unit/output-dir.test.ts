// Run-directory templates: placeholders, the scheduled-time segment, and the errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOutputDir, timeSegment, unknownPlaceholders } from '../../core/output-dir.js';
import { parseDqeInput } from '../../core/input.js';

const at = new Date('2026-11-02T03:00:07.250Z');

test('timeSegment: ISO 8601 basic UTC to the second, no colons', () => {
  assert.equal(timeSegment(at), '20261102T030007Z');
  assert.equal(timeSegment(new Date('2026-01-09T23:59:59Z')), '20260109T235959Z');
});

test('resolveOutputDir fills every placeholder, each as often as it appears', () => {
  assert.deepEqual(resolveOutputDir('/runs/{scheduleId}/{scheduledTime}/{workflowId}-{scheduledTime}', { workflowId: 'nightly-2026-11-02T03:00:07Z', scheduleId: 'nightly', scheduledTime: at }), {
    ok: true,
    dir: '/runs/nightly/20261102T030007Z/nightly-2026-11-02T03:00:07Z-20261102T030007Z',
  });
  assert.deepEqual(resolveOutputDir('runs/{workflowId}', { workflowId: 'w1', scheduledTime: at }), { ok: true, dir: 'runs/w1' });
  assert.deepEqual(resolveOutputDir('/plain/dir', { workflowId: 'w1', scheduledTime: at }), { ok: true, dir: '/plain/dir' });
});

test('resolveOutputDir: {scheduleId} without a schedule, and unknown placeholders, are errors', () => {
  assert.deepEqual(resolveOutputDir('/runs/{scheduleId}', { workflowId: 'w1', scheduledTime: at }), {
    ok: false,
    message: 'uses {scheduleId}, but this run was not started by a Temporal Schedule',
  });
  assert.deepEqual(resolveOutputDir('/runs/{date}/{user}', { workflowId: 'w1', scheduledTime: at }), {
    ok: false,
    message: 'unknown placeholder(s) {date}, {user}; valid: {workflowId}, {scheduleId}, {scheduledTime}',
  });
  assert.deepEqual(unknownPlaceholders('{workflowId}{}{x}'), ['', 'x']);
});

test('the input schema refuses unknown placeholders in outputDir, naming them', () => {
  const r = parseDqeInput({ dataset: 'd.jsonl', outputDir: 'runs/{runId}' });
  assert.deepEqual(r, { ok: false, problems: [{ field: 'outputDir', message: 'unknown placeholder(s) {runId}; valid: {workflowId}, {scheduleId}, {scheduledTime}' }] });
  const ok = parseDqeInput({ dataset: 'd.jsonl', outputDir: 'runs/{scheduleId}/{scheduledTime}', review: true });
  assert.ok(ok.ok);
  assert.equal(ok.config.review, true);
  assert.equal((parseDqeInput({ dataset: 'd.jsonl' }) as { config: { review: boolean } }).config.review, false);
});
