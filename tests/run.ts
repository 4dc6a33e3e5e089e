// The test command: starts one real Temporal dev server for the whole suite, then runs every
// tests/**/*.test.ts file with Node's test runner against it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
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

/** Python groups (infra/requirements/<group>.txt) the suite needs: the CLI, ms-swift, Qdrant's client and its Edge engine, cleanlab, the minilm weights and its reference implementation. */
const PYTHON_GROUPS = 'temporal,swift,qdrant,qdrant-edge,cleanlab,minilm,sentence-transformers';
for (const group of (process.env.DQE_TEST_PYTHON_GROUPS ?? PYTHON_GROUPS).split(',').filter(Boolean)) await ensurePythonGroup(group, log);

// The HTML report test drives Debian's Chromium; on a fresh Debian machine as root, install it.
const chromium = process.env.DQE_CHROMIUM ?? '/usr/bin/chromium';
const needsChromium = files.some((f) => f.endsWith('report-html.test.ts'));
if (needsChromium && !existsSync(chromium) && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
  log('installing Debian chromium for the HTML report test');
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'chromium']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed with exit code ${r.status}`);
  }
}
const state = await mkdtemp(join(tmpdir(), 'dqe-tests-'));
// The tests' own scratch folders (and those of every process they start: workers, the CLI, Python) go to a folder
// of the suite's through TMPDIR, removed when the suite passes: a run used to leave ~0.9 GB in /tmp. Like /tmp it is
// open to every user (sticky): the permission tests run tsx as an unprivileged user, which keeps its cache in TMPDIR.
// Beside the server's state folder, not in it: the secrets test searches that folder's files for a key.
const scratch = await mkdtemp(join(tmpdir(), 'dqe-tests-tmp-'));
await chmod(scratch, 0o1777);
const server = await startDevServer({ dbFile: join(state, 'temporal.db'), log });
log(`Temporal dev server ${server.address} (UI ${server.uiUrl}); ${files.length} test files`);

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter', 'spec', '--test-concurrency', '1', ...files.map((f) => relative(REPO_ROOT, f))],
    { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, TMPDIR: scratch, DQE_TEST_TEMPORAL_ADDRESS: server.address, DQE_TEST_STATE: state } },
  );
  child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
});
await server.stop();
await rm(state, { recursive: true, force: true });
if (code === 0) await rm(scratch, { recursive: true, force: true });
else log(`tests failed: their scratch files are kept in ${scratch}`);
process.exit(code);
