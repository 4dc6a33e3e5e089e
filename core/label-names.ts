// How labels are compared: as written, after Unicode NFC and with surrounding whitespace trimmed, never
// through a number (integer labels stay the digits the file holds). Labels that still differ only in
// case or in invisible characters are most likely one class typed two ways: reported as a warning.

/** The label a row is compared and trained on: NFC, surrounding whitespace trimmed; case kept. */
export function normaliseLabel(label: string): string {
  return label.normalize('NFC').trim();
}

/** Format and other default-ignorable characters (zero-width space, joiners, BOM, soft hyphen...). */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/** The key under which labels differing only in case or invisible characters meet. */
function looseKey(label: string): string {
  return label.replace(INVISIBLE, '').normalize('NFKC').toLowerCase();
}

/** Groups of two or more labels that differ only in case or invisible characters, each group in the given order. */
export function similarLabelGroups(labels: readonly string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const l of labels) {
    const key = looseKey(l);
    const g = groups.get(key);
    if (g) g.push(l);
    else groups.set(key, [l]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

/** A JSON number label is a label only when written as an integer (digits, an optional minus). */
export const INTEGER_LABEL = /^-?(?:0|[1-9][0-9]*)$/u;

/**
 * Kept rows a class needs for the method to learn and test it: one for the sampled half and one for the
 * unsampled half, whose rows are predicted by a model trained on the other.
 */
export const MIN_ROWS_PER_CLASS = 2;

/** What the method could not do well with these labels, for report.json, the reports and the CLI summary. */
export function labelWarnings(perLabel: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  for (const group of similarLabelGroups(Object.keys(perLabel).sort())) {
    out.push(`labels ${group.map((l) => JSON.stringify(l)).join(', ')} differ only in case or invisible characters: one class typed ${group.length} ways? They are kept as separate classes.`);
  }
  for (const [label, rows] of Object.entries(perLabel)) {
    if (rows < MIN_ROWS_PER_CLASS) {
      out.push(`label ${JSON.stringify(label)} has ${rows} kept row(s): too few for the method to learn it in one half and test it in the other (it needs at least ${MIN_ROWS_PER_CLASS}).`);
    }
  }
  return out;
}

/** The warning for kept texts that differ only in case but carry different labels (clean's `caseConflicts`), if any. */
export function caseConflictWarnings(caseConflicts: { groups: number; rows: number } | undefined): string[] {
  if (!caseConflicts || caseConflicts.groups === 0) return [];
  return [
    `${caseConflicts.rows} kept rows in ${caseConflicts.groups} group(s) differ from each other only in case but carry different labels (listed in report.md): an uncased embedder (the default minilm) sees each group as one text with two labels. They are kept: fix the labels or drop the variants.`,
  ];
}
