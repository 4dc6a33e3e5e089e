import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblems, parseDqeInput } from '../../core/input.js';

test('fills every default from a dataset path alone', () => {
  const r = parseDqeInput({ dataset: 'd.jsonl' });
  assert.ok(r.ok);
  assert.deepEqual(r.config, {
    dataset: 'd.jsonl',
    textField: 'text',
    labelField: 'label',
    ratio: 0.5,
    seed: 0,
    sampling: 'centroid',
    embedder: { name: 'minilm', precision: 'int8', batchTokens: 2048 },
    trainer: { name: 'linear', epochs: 300, learningRate: 0.1, l2: 1e-4 },
    vectorStore: { name: 'embedded' },
    judge: { name: 'offline', rule: 'confident', folds: 5, mislabeledBelow: 0.25, okAtLeast: 0.5 },
    noisy: 'drop',
    undecided: 'keep',
    review: false,
    twoFold: false,
    overwrite: false,
    gpuTaskQueue: 'dqe-gpu',
    gpuHeartbeatTimeoutSeconds: 300,
    shardSize: 50000,
  });
});

test('names every bad field at once, and lists valid names for unknown components', () => {
  const r = parseDqeInput({ dataset: '', ratio: 1.5, seed: -1, embedder: 'bert', trainer: 'xgboost', judge: { name: 'offline', mislabeledBelow: 2 }, labels: ['a', 'a'], colour: 'red' });
  assert.ok(!r.ok);
  const byField = Object.fromEntries(r.problems.map((p) => [p.field, p.message]));
  assert.deepEqual(Object.keys(byField).sort(), ['(input)', 'dataset', 'embedder.name', 'judge.mislabeledBelow', 'labels', 'ratio', 'seed', 'trainer.name']);
  assert.equal(byField['embedder.name'], 'unknown embedder; valid: hash, minilm, openai');
  assert.equal(byField['trainer.name'], 'unknown trainer; valid: linear, encoder, swift');
  assert.equal(byField['(input)'], 'unknown field(s): colour');
  assert.match(formatProblems(r.problems), /^invalid dqe input: dataset: .*; ratio: /);
});

test('a component may be given by name or as an object', () => {
  const a = parseDqeInput({ dataset: 'x', embedder: 'hash', judge: 'offline' });
  const b = parseDqeInput({ dataset: 'x', embedder: { name: 'hash', dim: 1024 } });
  assert.ok(a.ok && b.ok);
  assert.deepEqual(a.config.embedder, b.config.embedder);
});

test('a missing input or a non-object is rejected', () => {
  assert.ok(!parseDqeInput(undefined).ok);
  assert.ok(!parseDqeInput('d.jsonl').ok);
});
