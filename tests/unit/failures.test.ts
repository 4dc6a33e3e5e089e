// The one failure catalogue (core/failures.ts) against the README's table, the workflow's retry policy
// and every place the code throws a `Dqe*` failure.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { dqeFailure } from '../../adapters/failure.js';
import { DQE_FAILURES, DQE_FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES} from '../../core/failures.js';
import { REPO_ROOT } from '../../infra/python-env.js';
import * as pkg from '../../index.js';

/** The source folders whose code throws failures (tests, benches and dependencies excluded). */
const SOURCE_DIRS = ['activities', 'adapters', 'client', 'core', 'infra', 'workers', 'workflows'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = SOURCE_DIRS.flatMap((d) => sources(join(REPO_ROOT, d))).filter((f) => !f.endsWith(join('core', 'failures.ts')));
const code = new Map(files.map((f) => [relative(REPO_ROOT, f), readFileSync(f, 'utf8')]));

describe('the failure catalogue', () => {
  test('every type in it is thrown somewhere, and every Dqe* type the code names is in it', () => {
    const named = new Set<string>();
    for (const text of code.values()) for (const m of text.matchAll(/'(Dqe[A-Z][A-Za-z]+)'/gu)) named.add(m[1]!);
    // Search attribute names are not failure types.
    for (const attr of ['DqeDataset', 'DqePhase', 'DqeStatus', 'DqeFinalSize']) named.delete(attr);
    assert.deepEqual([...named].filter((t) => !(t in DQE_FAILURES)).sort(), [], 'types thrown but not catalogued');
    assert.deepEqual(DQE_FAILURE_TYPES.filter((t) => !named.has(t)), [], 'catalogued types nothing throws');
  });

  test('failures are built only from the catalogue: no ApplicationFailure made by hand outside the two factories', () => {
    const byHand = [...code].filter(([path, text]) => path !== join('adapters', 'failure.ts') && /ApplicationFailure\.(?:create|nonRetryable|retryable)\(/u.test(text)).map(([p]) => p);
    assert.deepEqual(byHand, [join('workflows', 'dqe.ts')], 'only the workflow builds its own (with the catalogue\'s flag)');
    assert.match(code.get(join('workflows', 'dqe.ts'))!, /nonRetryable: !isRetryableFailure\(type\)/u);
  });

  test('a failure is retryable exactly when the catalogue says so', () => {
    for (const t of DQE_FAILURE_TYPES) assert.equal(dqeFailure(t, 'x').nonRetryable, !DQE_FAILURES[t].retryable, t);
    // The README documented this one as non-retryable while the preflight threw it retryable.
    assert.equal(DQE_FAILURES.DqeEndpointUnreachable.retryable, true);
  });

  test('the workflow retries nothing the catalogue calls non-retryable (its list is derived)', () => {
    const wf = code.get(join('workflows', 'dqe.ts'))!;
    assert.match(wf, /const NON_RETRYABLE = \[\.\.\.NON_RETRYABLE_FAILURE_TYPES\];/u);
    assert.equal((wf.match(/nonRetryableErrorTypes: NON_RETRYABLE/gu) ?? []).length, 5, 'every retrying activity profile uses it');
    assert.deepEqual([...NON_RETRYABLE_FAILURE_TYPES], DQE_FAILURE_TYPES.filter((t) => !DQE_FAILURES[t].retryable));
  });

  test('the README table lists the catalogue, in order, with the same retryability and description', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /<!-- failure-types:start -->\n([\s\S]*?)<!-- failure-types:end -->/u.exec(readme)?.[1];
    assert.ok(block, 'README has the failure-types table');
    const rows = block.split('\n').filter((l) => l.startsWith('| `'));
    const parsed = rows.map((l) => {
      const [, type, retryable, when] = /^\| `(\w+)` \| (yes|no) \| (.*) \|$/u.exec(l)!;
      return [type, retryable === 'yes', when];
    });
    assert.deepEqual(parsed, DQE_FAILURE_TYPES.map((t) => [t, DQE_FAILURES[t].retryable, DQE_FAILURES[t].when]));
  });

  test('the package exports the catalogue', () => {
    assert.equal(pkg.DQE_FAILURES, DQE_FAILURES);
    assert.equal(pkg.isRetryableFailure('DqeRemoteUnavailable'), true);
  });

  test('the catalogue module is workflow-safe: no Node built-in, no I/O import', () => {
    const text = readFileSync(join(REPO_ROOT, 'core', 'failures.ts'), 'utf8');
    assert.deepEqual(text.match(/^import .*$/gmu) ?? [], []);
  });
});
