// The LLM judge's answer cache, shared by runs: one small JSON file per judged pair, named by a hash of
// everything the judge was shown, so a re-run or a retried activity never pays for the same pair twice.
//
// Each entry is written to a temporary name and renamed into place, so concurrent workers judging the
// same pair both write a whole file and a reader never sees a torn one; the last rename wins, and
// either answer is a valid one.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from './files.js';

/** Bump when the entry layout changes, so old entries are ignored instead of misread. */
const CACHE_FORMAT = 1;

/** Everything that shapes the judge's answer for one pair; the cache key is its hash. */
export interface VerdictKeyParts {
  model: string;
  promptVersion: number;
  /** The label set in order, with the descriptions the prompt shows. */
  labels: readonly string[];
  labelDescriptions: Readonly<Record<string, string>>;
  /** The two texts as the prompt shows them (truncated where it truncates), in prompt order. */
  texts: readonly [string, string];
  /** Their given labels, in the same order. */
  givenLabels: readonly [string, string];
}

/** sha256 hex of the key parts; texts enter whole, so two pairs share a key only when the prompt is identical. */
export function verdictKey(parts: VerdictKeyParts): string {
  const described = parts.labels.map((l) => [l, parts.labelDescriptions[l] ?? null]);
  return createHash('sha256')
    .update(JSON.stringify([CACHE_FORMAT, parts.model, parts.promptVersion, described, parts.texts, parts.givenLabels]))
    .digest('hex');
}

export class VerdictCache {
  private readonly dir: string;

  /** `root` is the cache folder shared by runs (`ActivityDeps.cacheDir`); entries go under `verdicts/`. */
  constructor(root: string) {
    this.dir = join(root, 'verdicts');
  }

  private path(key: string): string {
    // Two-character fan-out keeps folders small when a cache holds hundreds of thousands of pairs.
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /**
   * The cached value for `key`, or undefined when there is none. `validate` returns the value when it
   * is still usable (e.g. its labels are in today's label set) and undefined otherwise; an unreadable
   * or foreign entry counts as a miss and is overwritten by the next `put`.
   */
  async get<T>(key: string, validate: (value: unknown) => T | undefined): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const entry = JSON.parse(text) as { format?: unknown; key?: unknown; value?: unknown };
      if (entry.format !== CACHE_FORMAT || entry.key !== key) return undefined;
      return validate(entry.value);
    } catch {
      return undefined;
    }
  }

  async put(key: string, value: unknown): Promise<void> {
    await writeJsonAtomic(this.path(key), { format: CACHE_FORMAT, key, value });
  }
}
