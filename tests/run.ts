// The test command: starts one real Temporal dev server for the whole suite, then runs every
// tests/**/*.test.ts file with Node's test runner against it.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startDevServer } from '../infra/temporal.js';
import { ensurePythonGroup, REPO_ROOT } from '../infra/python-env.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' || name === 'node_modules' ? [] : testFiles(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = (only.length > 0 ? only : testFiles(join(REPO_ROOT, 'tests'))).sort();
const log = (l: string) => console.error(`[tests] ${l}`);

for (const group of (process.env.DQE_TEST_PYTHON_GROUPS ?? 'temporal,swift').split(',').filter(Boolean)) await ensurePythonGroup(group, log);
const state = await mkdtemp(join(tmpdir(), 'dqe-tests-'));
const server = await startDevServer({ dbFile: join(state, 'temporal.db'), log });
log(`Temporal dev server ${server.address} (UI ${server.uiUrl}); ${files.length} test files`);

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter', 'spec', '--test-concurrency', '1', ...files.map((f) => relative(REPO_ROOT, f))],
    { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, DQE_TEST_TEMPORAL_ADDRESS: server.address, DQE_TEST_STATE: state } },
  );
  child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
});
await server.stop();
await rm(state, { recursive: true, force: true });
process.exit(code);
