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
 * normalised text, at least 16 bytes: its first row, its label and two flags in a typed-array hash table), and as
 * much again per distinct folded text where the caller passes fold keys, never the rows themselves, so it streams
 * over datasets of any length.
 * Pass 1: `observe` every valid row in input order. Pass 2: `decide` every valid row in the same order.
 */
export class Cleaner {
  private readonly seen = new DigestTable();
  /**
   * The same, keyed by the folded text (the normalised text lower-cased, Unicode's default case mapping: the default
   * `minilm` is an uncased model, texts that differ only in case embed to one vector): which carry two or more labels.
   */
  private readonly folded = new DigestTable();
  private readonly labels = new Map<string, number>();
  /** Whether any folded text carries two labels (else no kept row needs its fold key checked). */
  private foldedConflicts = false;

  /** Whether `foldedConflict` can answer true for any row. */
  get anyFoldedConflict(): boolean {
    return this.foldedConflicts;
  }

  observe(textKey: Uint8Array, label: string, row: number, foldKey?: Uint8Array): void {
    let labelId = this.labels.get(label);
    if (labelId === undefined) this.labels.set(label, (labelId = this.labels.size));
    for (const [table, key] of [[this.seen, textKey], [this.folded, foldKey]] as const) {
      if (!key) continue;
      const { slot, created } = table.insert(key);
      if (created) {
        table.setNumber(slot, row);
        table.setInt(slot, labelId);
      } else if (table.getInt(slot) !== labelId) {
        table.setFlag(slot, CONFLICT);
        if (table === this.folded) this.foldedConflicts = true;
      }
    }
  }

  /** Whether the folded text of `foldKey` (observed with it) carries two or more labels among the observed rows. */
  foldedConflict(foldKey: Uint8Array): boolean {
    const slot = this.folded.find(foldKey);
    return slot >= 0 && this.folded.hasFlag(slot, CONFLICT);
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

/**
 * Kept rows whose texts differ only in case (equal once lower-cased) and carry two or more labels among the kept
 * rows: grouped like conflicts (a warning: clean keeps them, they are different texts, but an uncased embedder sees one text).
 */
export function caseConflictGroups(rows: ReadonlyArray<{ key: string; text: string; row: number; label: string }>): ConflictGroup[] {
  return groupConflicts(rows).filter((g) => Object.keys(g.labels).length > 1);
}

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
