// The one way from flags to the workflow input: every command that starts curation (`dqe run`,
// `dqe schedule create`, `dqe eval`) takes the same input flags, parsed the same way, into the same
// fields; and the package's public surface is its `exports`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError, type Command } from 'commander';
import { buildProgram } from '../../client/cli.js';
import { component, CURATION_FLAGS, dqeInputFromFlags, fraction, integer, number } from '../../client/input-flags.js';
import { parseDqeInput } from '../../core/input.js';
import { REPO_ROOT } from '../../infra/python-env.js';

function command(path: string[]): Command {
  let c: Command = buildProgram();
  for (const name of path) c = c.commands.find((s) => s.name() === name)!;
  return c;
}

const flagOf = (field: string) => `--${field.replace(/[A-Z]/gu, (m) => `-${m.toLowerCase()}`)}`;

test('run, schedule create and eval take every curation flag, each parsed by one parser', () => {
  const commands = [['run'], ['schedule', 'create'], ['eval']];
  for (const field of [...CURATION_FLAGS, 'gpuTaskQueue']) {
    const options = commands.map((p) => command(p).options.find((o) => o.long === flagOf(field)));
    options.forEach((o, i) => assert.ok(o, `dqe ${commands[i]!.join(' ')} lacks ${flagOf(field)}`));
    // The same choices and argument shape everywhere.
    assert.equal(new Set(options.map((o) => JSON.stringify([o!.flags, o!.argChoices]))).size, 1, flagOf(field));
  }
  // eval's --ratio once took anything Number does ("" → 0, "lots" → NaN); now it is run's parser.
  for (const p of commands) {
    const ratio = command(p).options.find((o) => o.long === '--ratio')!;
    assert.throws(() => ratio.parseArg!('lots', undefined), (e: unknown) => e instanceof InvalidArgumentError && e.message === '--ratio must be a number', p.join(' '));
    assert.throws(() => ratio.parseArg!('', undefined), InvalidArgumentError);
    assert.equal(ratio.parseArg!('0.3', undefined), 0.3);
    const maxShare = command(p).options.find((o) => o.long === '--max-share')!;
    assert.throws(() => maxShare.parseArg!('most', undefined), (e: unknown) => e instanceof InvalidArgumentError && e.message === '--max-share must be a number', p.join(' '));
    assert.equal(maxShare.parseArg!('0.55', undefined), 0.55);
  }
  // eval's seed is the evaluation's (split, flips, random arm) and defaults to 0.
  assert.equal(command(['eval']).options.find((o) => o.long === '--seed')!.defaultValue, 0);
});

test('flags map to the input fields, over --input, and the schema accepts the result', () => {
  const input = dqeInputFromFlags(
    'data/x.jsonl',
    { labels: ' ham , spam', ratio: 0.3, seed: 4, sampling: 'kcenter', embedder: 'hash', trainer: { name: 'linear', epochs: 3 }, vectorStore: 'embedded', judge: 'offline', noisy: 'relabel', undecided: 'drop', twoFold: true, maxShare: 0.45, gpuTaskQueue: 'gpu-2', review: true, textField: 'body' },
    { ratio: 0.9, labelField: 'y', outputDir: '/runs/x' },
  );
  assert.deepEqual(input, {
    dataset: join(process.cwd(), 'data/x.jsonl'),
    labels: ['ham', 'spam'],
    ratio: 0.3,
    seed: 4,
    sampling: 'kcenter',
    embedder: 'hash',
    trainer: { name: 'linear', epochs: 3 },
    vectorStore: 'embedded',
    judge: 'offline',
    noisy: 'relabel',
    undecided: 'drop',
    twoFold: true,
    maxShare: 0.45,
    gpuTaskQueue: 'gpu-2',
    review: true,
    textField: 'body',
    labelField: 'y',
    outputDir: '/runs/x',
  });
  assert.equal(parseDqeInput(input).ok, true);
  // No dataset argument keeps --input's; no flags keep --input whole.
  assert.deepEqual(dqeInputFromFlags(undefined, {}, { dataset: 'rel.jsonl', seed: 1 }), { dataset: 'rel.jsonl', seed: 1 });
});

test('--two-fold / --no-two-fold set twoFold; neither leaves it to the preset or the default (two-fold)', () => {
  const twoFoldOf = (args: string[]) => {
    const c = command(['run']);
    c.exitOverride();
    c.parseOptions(args);
    return dqeInputFromFlags('d.jsonl', c.opts()).twoFold;
  };
  for (const p of [['run'], ['schedule', 'create'], ['eval']]) assert.ok(command(p).options.some((o) => o.long === '--no-two-fold'), p.join(' '));
  assert.equal(twoFoldOf(['--no-two-fold']), false);
  assert.equal(twoFoldOf(['--two-fold']), true);
  assert.equal(twoFoldOf([]), undefined);
  const parsed = (input: Record<string, unknown>) => {
    const r = parseDqeInput({ dataset: 'd.jsonl', ...input });
    assert.ok(r.ok);
    return r.config.twoFold;
  };
  assert.equal(parsed({}), true);
  assert.equal(parsed({ preset: 'paper' }), false);
  assert.equal(parsed({ preset: 'paper', twoFold: true }), true);
});

test('the parsers name the flag and the rule', () => {
  assert.equal(number('--x')('1e3'), 1000);
  assert.throws(() => number('--x')('Infinity'), { message: '--x must be a number' });
  assert.throws(() => fraction('--holdout')('1'), { message: '--holdout must be a number in (0, 1)' });
  assert.equal(fraction('--holdout')('0.25'), 0.25);
  assert.throws(() => integer('--k', 2)('1'), { message: '--k must be an integer ≥ 2' });
  assert.throws(() => integer('--k', 2)(' '), { message: '--k must be an integer ≥ 2' });
  assert.deepEqual(component('--judge')(' {"name":"openai"}'), { name: 'openai' });
  assert.equal(component('--judge')('offline'), 'offline');
  assert.throws(() => component('--judge')('{name'), (e: unknown) => e instanceof InvalidArgumentError && e.message.startsWith('--judge: not valid JSON ('));
});

test('the package exports its public API (index.ts) and nothing deeper; test and bench packages are dev dependencies', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.deepEqual(pkg.exports, { '.': './index.ts', './package.json': './package.json' });
  // A self-reference resolves through `exports`, as a dependent package's import would.
  const api = (await import('dqe')) as Record<string, unknown>;
  assert.equal(typeof api.startDqe, 'function');
  assert.equal(typeof api.createCpuWorker, 'function');
  const deep: string = 'dqe/client/eval.js';
  await assert.rejects(import(deep), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  for (const dev of ['@temporalio/testing', 'hnswlib-node']) {
    assert.equal(pkg.dependencies[dev], undefined, dev);
    assert.ok(pkg.devDependencies[dev], dev);
  }
  // What runs in production imports no dev dependency (type-only imports vanish at run time).
  const runtime = readdirSync(REPO_ROOT, { recursive: true, encoding: 'utf8' }).filter((f) => /^(activities|adapters|client|core|infra|workers|workflows|bin)\/.*\.(ts|js)$|^index\.ts$/u.test(f));
  assert.ok(runtime.length > 50);
  const devImports = runtime.flatMap((f) =>
    [...readFileSync(join(REPO_ROOT, f), 'utf8').matchAll(/^import (?!type )[^;]*? from '([^'.][^']*)'/gmu)].map((m) => m[1]!).filter((spec) => Object.keys(pkg.devDependencies).some((d) => spec === d || spec.startsWith(`${d}/`))).map((spec) => `${f}: ${spec}`),
  );
  assert.deepEqual(devImports, []);
});
