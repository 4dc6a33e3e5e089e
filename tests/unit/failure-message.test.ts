import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureMessage } from '../../client/failure-message.js';

test("a client error names its causes: the server's reason under 'Failed to start Workflow'", () => {
  // The shape of @temporalio/client's error when the server refuses a start (a gRPC error as cause).
  const grpc = new Error('14 UNAVAILABLE: shard status unknown');
  const err = new Error('Failed to start Workflow', { cause: grpc });
  assert.equal(failureMessage(err), 'Failed to start Workflow: 14 UNAVAILABLE: shard status unknown');
});

test('a cause whose message is already in the line is not repeated; non-errors print as strings', () => {
  const err = new Error('cannot read data.jsonl: ENOENT', { cause: new Error('ENOENT') });
  assert.equal(failureMessage(err), 'cannot read data.jsonl: ENOENT');
  assert.equal(failureMessage(new Error('plain')), 'plain');
  assert.equal(failureMessage('text'), 'text');
});
