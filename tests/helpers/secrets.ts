// Searches what a run leaves behind (its Temporal history, its files) for a secret that must not be there.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every string in a fetched workflow history, payload bytes decoded as UTF-8 (dqe's payloads are JSON). */
export function historyStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const v of value) historyStrings(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) historyStrings(v, out);
  return out;
}

/** The files under `roots` (recursively) whose bytes contain `secret`. */
export async function filesContaining(roots: readonly string[], secret: string): Promise<string[]> {
  const hits: string[] = [];
  for (const root of roots) {
    const entries = await readdir(root, { withFileTypes: true, recursive: true });
    for (const e of entries) {
      if (!e.isFile()) continue;
      const path = join(e.parentPath, e.name);
      if ((await readFile(path)).includes(secret)) hits.push(path);
    }
  }
  return hits;
}
