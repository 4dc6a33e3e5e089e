// Cleaning rules of DQE phase 2: text normalisation, exact duplicates and conflicting labels.
import { DigestTable } from './digest-table.js';

/** Normalises text for comparison: Unicode NFC, trimmed, runs of whitespace collapsed; case kept. */
export function normaliseText(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/gu, ' ');
}

/** Why a row left training. Stable strings: they appear in rejects.jsonl and report.json. */
export type RejectReason =
  | 'invalid_json'
  | 'not_an_object'
  | 'invalid_csv'
  | 'invalid_utf8'
  | 'row_too_long'
  | 'missing_text'
  | 'missing_label'
  | 'invalid_text'
  | 'invalid_label'
  | 'invalid_unicode'
  | 'duplicate_field'
  | 'label_not_in_set'
  | 'nothing_to_embed'
  | 'duplicate'
  | 'conflicting_labels';

export interface CleanDecision {
  kind: 'keep' | 'duplicate' | 'conflicting_labels';
  /** For a duplicate: the input row number of the first occurrence that was kept. */
  firstRow?: number;
}

const CONFLICT = 1;
const DECIDED = 2;

/**
 * Two-pass cleaner that holds about 40 bytes per distinct text (keyed by a caller-supplied digest of the
 * normalised text, at least 16 bytes: its first row, its label and two flags in a typed-array hash table),
 * never the rows themselves, so it streams over datasets of any length.
 * Pass 1: `observe` every valid row in input order. Pass 2: `decide` every valid row in the same order.
 */
export class Cleaner {
  private readonly seen = new DigestTable();
  private readonly labels = new Map<string, number>();

  observe(textKey: Uint8Array, label: string, row: number): void {
    let labelId = this.labels.get(label);
    if (labelId === undefined) this.labels.set(label, (labelId = this.labels.size));
    const { slot, created } = this.seen.insert(textKey);
    if (created) {
      this.seen.setNumber(slot, row);
      this.seen.setInt(slot, labelId);
    } else if (this.seen.getInt(slot) !== labelId) this.seen.setFlag(slot, CONFLICT);
  }

  decide(textKey: Uint8Array): CleanDecision {
    const slot = this.seen.find(textKey);
    if (slot < 0) throw new Error('Cleaner.decide called for a text that was never observed');
    if (this.seen.hasFlag(slot, CONFLICT)) return { kind: 'conflicting_labels' };
    if (this.seen.hasFlag(slot, DECIDED)) return { kind: 'duplicate', firstRow: this.seen.getNumber(slot) };
    this.seen.setFlag(slot, DECIDED);
    return { kind: 'keep' };
  }
}

export interface ConflictGroup {
  /** The normalised text, cut to `CONFLICT_TEXT_PREVIEW` characters. */
  text: string;
  rows: number[];
  /** Count of rows per label. */
  labels: Record<string, number>;
}

/** Characters of a conflicting text shown in the report: enough to recognise it. */
export const CONFLICT_TEXT_PREVIEW = 200;

/** Groups conflicting rows by their text key, in order of first appearance. */
export function groupConflicts(rows: ReadonlyArray<{ key: string; text: string; row: number; label: string }>): ConflictGroup[] {
  const groups = new Map<string, ConflictGroup>();
  for (const r of rows) {
    let g = groups.get(r.key);
    if (!g) {
      g = { text: r.text.slice(0, CONFLICT_TEXT_PREVIEW), rows: [], labels: {} };
      groups.set(r.key, g);
    }
    g.rows.push(r.row);
    g.labels[r.label] = (g.labels[r.label] ?? 0) + 1;
  }
  return [...groups.values()];
}
