import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
    judge: { name: 'offline', rule: 'confident', scope: 'wrong', minSuggested: 0.6, thresholdScale: 0.95, folds: 5, neighbours: 10, mislabeledBelow: 0.25, okAtLeast: 0.5 },
    noisy: 'drop',
    undecided: 'keep',
    review: false,
    twoFold: true,
    maxShare: 1,
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

test("judge.scope is 'pairs', 'wrong' (the default) or 'all'; anything else names the valid ones", () => {
  const ok = parseDqeInput({ dataset: 'x', judge: { name: 'offline', scope: 'all' } });
  assert.ok(ok.ok && ok.config.judge.name === 'offline' && ok.config.judge.scope === 'all');
  const wrong = parseDqeInput({ dataset: 'x', judge: { name: 'offline', scope: 'wrong' } });
  assert.ok(wrong.ok && wrong.config.judge.name === 'offline' && wrong.config.judge.scope === 'wrong');
  const bad = parseDqeInput({ dataset: 'x', judge: { name: 'offline', scope: 'every' } });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.problems, [{ field: 'judge.scope', message: 'unknown scope; valid: pairs, wrong, all' }]);
  assert.ok(!parseDqeInput({ dataset: 'x', judge: { name: 'openai', scope: 'all' } }).ok, 'the openai judge has no scope');
});
test("judge neighbours: 10 by default with rule 'confident', 0 with rule 'fixed', an integer from 0 to 100", () => {
  const on = parseDqeInput({ dataset: 'x', judge: { name: 'offline', neighbours: 5 } });
  assert.ok(on.ok && on.config.judge.name === 'offline');
  assert.equal(on.config.judge.neighbours, 5);
  const byDefault = parseDqeInput({ dataset: 'x' });
  assert.ok(byDefault.ok && byDefault.config.judge.name === 'offline');
  assert.equal(byDefault.config.judge.neighbours, 10);
  const off = parseDqeInput({ dataset: 'x', judge: { name: 'offline', neighbours: 0 } });
  assert.ok(off.ok && off.config.judge.name === 'offline');
  assert.equal(off.config.judge.neighbours, 0);
  const fixedAlone = parseDqeInput({ dataset: 'x', judge: { name: 'offline', rule: 'fixed' } });
  assert.ok(fixedAlone.ok && fixedAlone.config.judge.name === 'offline');
  assert.equal(fixedAlone.config.judge.neighbours, 0);
  for (const bad of [-1, 101, 2.5]) {
    const r = parseDqeInput({ dataset: 'x', judge: { name: 'offline', neighbours: bad } });
    assert.ok(!r.ok);
    assert.deepEqual(r.problems.map((p) => p.field), ['judge.neighbours']);
  }
  const fixed = parseDqeInput({ dataset: 'x', judge: { name: 'offline', rule: 'fixed', neighbours: 10 } });
  assert.ok(!fixed.ok);
  assert.deepEqual(fixed.problems, [{ field: 'judge.neighbours', message: "needs rule 'confident' (rule 'fixed' reads the probabilities alone)" }]);
  assert.ok(parseDqeInput({ dataset: 'x', preset: 'paper', judge: { name: 'offline', neighbours: 0 } }).ok);
});

describe('preset paper', () => {
  const paperJudge = { name: 'offline', rule: 'fixed', scope: 'pairs', minSuggested: 0, thresholdScale: 1, folds: 5, neighbours: 0, mislabeledBelow: 0.25, okAtLeast: 0.5 };
  test("pins the paper's composition and the fixed-threshold judge", () => {
    const r = parseDqeInput({ dataset: 'x', preset: 'paper' });
    assert.ok(r.ok);
    assert.deepEqual(
      { preset: r.config.preset, ratio: r.config.ratio, sampling: r.config.sampling, judge: r.config.judge, noisy: r.config.noisy, undecided: r.config.undecided, twoFold: r.config.twoFold, maxShare: r.config.maxShare },
      { preset: 'paper', ratio: 0.5, sampling: 'centroid', judge: paperJudge, noisy: 'drop', undecided: 'keep', twoFold: false, maxShare: 1 },
    );
  });
  test('fields the input gives win; an offline judge keeps the settings it does not override', () => {
    const r = parseDqeInput({ dataset: 'x', preset: 'paper', ratio: 0.4, twoFold: true, judge: { name: 'offline', folds: 10 } });
    assert.ok(r.ok);
    assert.deepEqual([r.config.ratio, r.config.twoFold, r.config.judge], [0.4, true, { ...paperJudge, folds: 10 }]);
    const byName = parseDqeInput({ dataset: 'x', preset: 'paper', judge: 'offline' });
    assert.ok(byName.ok);
    assert.deepEqual(byName.config.judge, paperJudge);
  });
  test('another judge replaces the preset judge', () => {
    const r = parseDqeInput({ dataset: 'x', preset: 'paper', judge: 'openai' });
    assert.ok(r.ok);
    assert.equal(r.config.judge.name, 'openai');
  });
  test('an unknown preset names the valid ones', () => {
    const r = parseDqeInput({ dataset: 'x', preset: 'papr' });
    assert.ok(!r.ok);
    assert.deepEqual(r.problems, [{ field: 'preset', message: 'unknown preset; valid: paper' }]);
  });
});

test('maxShare: 1 (no cap) unless given, never below the ratio', () => {
  const share = (input: Record<string, unknown>) => {
    const r = parseDqeInput({ dataset: 'x', ...input });
    return r.ok ? r.config.maxShare : r.problems;
  };
  assert.equal(share({}), 1);
  assert.equal(share({ ratio: 0.7 }), 1);
  assert.equal(share({ maxShare: 0.6 }), 0.6);
  assert.equal(share({ ratio: 0.3, maxShare: 0.3 }), 0.3);
  assert.deepEqual(share({ maxShare: 0.4 }), [{ field: 'maxShare', message: '0.4 is below ratio 0.5: the sampled rows alone are 0.5 of the kept rows (raise maxShare, or 1 for no cap)' }]);
  assert.deepEqual(share({ maxShare: 0 }), [{ field: 'maxShare', message: 'Too small: expected number to be >0' }]);
  assert.deepEqual(share({ maxShare: 1.5 }), [{ field: 'maxShare', message: 'Too big: expected number to be <=1' }]);
});
