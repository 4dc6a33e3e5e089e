// Fan-out arithmetic: contiguous shards of row ids that parallel activities process independently.

export interface Shard {
  index: number;
  /** First row id of the shard. */
  start: number;
  /** One past the last row id. */
  end: number;
}

/** Splits [0, count) into contiguous shards of at most `size` rows, in order. */
export function shardsOf(count: number, size: number): Shard[] {
  if (!Number.isInteger(size) || size < 1) throw new Error('shardsOf: size must be a positive integer');
  const out: Shard[] = [];
  for (let start = 0, index = 0; start < count; start += size, index++) out.push({ index, start, end: Math.min(count, start + size) });
  return out;
}
