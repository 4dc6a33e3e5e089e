// Confines the paths a workflow input names (the dataset, the run directory) to folders the worker's
// operator allows, so a run started from the UI or another service cannot read or write elsewhere.
import { realpath } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** The worker environment variable listing allowed roots, separated like PATH (`:` on POSIX). */
export const ALLOWED_ROOTS_ENV = 'DQE_ALLOWED_ROOTS';

/**
 * The allowed roots from the environment, resolved to absolute paths; undefined when the variable is
 * unset or empty (no confinement).
 */
export function allowedRoots(env: NodeJS.ProcessEnv): string[] | undefined {
  const raw = env[ALLOWED_ROOTS_ENV];
  if (!raw || raw.trim() === '') return undefined;
  const roots = raw.split(delimiter).map((r) => r.trim()).filter((r) => r.length > 0);
  return roots.length > 0 ? roots.map((r) => resolve(r)) : undefined;
}

/**
 * The real path of `path`, following every symlink: for a path that does not exist yet (a run
 * directory about to be made), the real path of its nearest existing ancestor joined with the rest.
 */
async function realPathOf(path: string): Promise<string> {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.push(existing.slice(parent.length).replace(/^[\\/]+/u, ''));
      existing = parent;
    }
  }
}

function isInside(child: string, root: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export type Confined = { ok: true; path: string } | { ok: false; message: string };

/**
 * Checks that `path` (resolved against the worker's working directory, `..` collapsed, symlinks
 * followed) lies inside one of `roots` (whose own symlinks are followed too).
 *
 * @param what names the path in the message, e.g. `dataset` or `output directory`.
 */
export async function confinePath(path: string, what: string, roots: readonly string[]): Promise<Confined> {
  const absolute = resolve(path);
  let real: string;
  let realRoots: string[];
  try {
    real = await realPathOf(absolute);
    realRoots = await Promise.all(roots.map((r) => realPathOf(r)));
  } catch (err) {
    // A folder on the way the worker may not enter, a symlink loop: what it points to is unknown.
    return { ok: false, message: `${what} ${absolute}: cannot resolve it to check it against the allowed roots (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  if (realRoots.some((root) => isInside(real, root))) return { ok: true, path: real };
  const shown = real === absolute ? absolute : `${absolute} (really ${real})`;
  return {
    ok: false,
    message: `${what} ${shown} is outside the allowed roots (${roots.join(', ')}; set by ${ALLOWED_ROOTS_ENV} on the worker)`,
  };
}
