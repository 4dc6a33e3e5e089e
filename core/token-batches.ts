// Plans the encoder's batches: texts sorted by token count and cut into batches whose padded size
// (rows × longest row) stays within a token budget, so padding never dominates the work.

export interface TokenBatch {
  /** Indices into the input, shortest first. */
  rows: number[];
  /** The longest row's length: every row of the batch is padded to it. */
  width: number;
}

/**
 * Batches of `lengths` (token counts, each ≥ 1), each of at most `budget` padded tokens (a row longer
 * than the budget gets a batch of its own). Stable: rows of equal length keep their input order.
 */
export function planTokenBatches(lengths: readonly number[], budget: number): TokenBatch[] {
  if (!(Number.isInteger(budget) && budget > 0)) throw new Error(`token budget must be a positive integer, got ${budget}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: TokenBatch[] = [];
  let rows: number[] = [];
  let width = 0;
  for (const i of order) {
    const len = lengths[i]!;
    // Ascending order: this row is the batch's longest, so the batch would cost (rows + 1) × len.
    if (rows.length > 0 && (rows.length + 1) * len > budget) {
      batches.push({ rows, width });
      rows = [];
    }
    rows.push(i);
    width = len;
  }
  if (rows.length > 0) batches.push({ rows, width });
  return batches;
}

/**
 * The model's input for one text: `[CLS] ids… [SEP]`, the ids cut so the whole fits `window` tokens
 * (BertTokenizerFast's truncation of a single text).
 */
export function windowIds(ids: readonly number[], window: number, cls: number, sep: number): number[] {
  return [cls, ...ids.slice(0, Math.max(0, window - 2)), sep];
}
