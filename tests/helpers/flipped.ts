// SpamAssassin mails with every `every`-th label flipped (ham ↔ spam): data the judges have rows to flag in.
import { spamAssassinJsonl } from '../../examples/spam-assassin.js';

/** The first `limit` mails as JSONL, the labels of rows 1, every + 1, 2·every + 1, … flipped. */
export function flippedSpamJsonl(limit: number, every = 10): string {
  const mails = spamAssassinJsonl({ limit }).trim().split('\n').map((l, i) => {
    const m = JSON.parse(l) as { label: string };
    return JSON.stringify(i % every === 0 ? { ...m, label: m.label === 'ham' ? 'spam' : 'ham' } : m);
  });
  return `${mails.join('\n')}\n`;
}
