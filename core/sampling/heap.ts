// The one priority queue of the sampling paths: a binary max-heap of (row, key) pairs in typed arrays, ordered by
// key descending and, on equal keys, row ascending (the oracle's tie rule).

export class RowHeap {
  ids: Int32Array;
  keys: Float64Array;
  size = 0;

  /** Room for `capacity` entries; push grows it by doubling. */
  constructor(capacity: number) {
    const cap = Math.max(4, capacity);
    this.ids = new Int32Array(cap);
    this.keys = new Float64Array(cap);
  }

  topKey(): number {
    return this.keys[0]!;
  }

  topId(): number {
    return this.ids[0]!;
  }

  push(id: number, key: number): void {
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    const { ids, keys } = this;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!above(key, id, keys[parent]!, ids[parent]!)) break;
      keys[i] = keys[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    keys[i] = key;
    ids[i] = id;
  }

  /** Removes the top entry and returns its row. */
  pop(): number {
    const top = this.ids[0]!;
    const last = --this.size;
    if (last > 0) this.siftDown(0, this.ids[last]!, this.keys[last]!);
    return top;
  }

  /** Rebuilds the heap from `rows` with keys key[row]. */
  fill(rows: ArrayLike<number>, key: Float64Array): void {
    for (let i = 0; i < rows.length; i++) {
      this.ids[i] = rows[i]!;
      this.keys[i] = key[rows[i]!]!;
    }
    this.heapify(rows.length);
  }

  /** Restores the heap order over the first `size` entries written directly into ids/keys. */
  heapify(size: number): void {
    this.size = size;
    for (let i = (size >> 1) - 1; i >= 0; i--) this.siftDown(i, this.ids[i]!, this.keys[i]!);
  }

  /** Replaces the top with (id, key) and restores the order. */
  replaceTop(id: number, key: number): void {
    this.siftDown(0, id, key);
  }

  /** Whether (key, id) comes before both children of the top (true when there are none). */
  headsChildren(key: number, id: number): boolean {
    if (this.size > 1 && above(this.keys[1]!, this.ids[1]!, key, id)) return false;
    return !(this.size > 2 && above(this.keys[2]!, this.ids[2]!, key, id));
  }

  private siftDown(start: number, id: number, key: number): void {
    const { ids, keys, size } = this;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && above(keys[right]!, ids[right]!, keys[child]!, ids[child]!)) child = right;
      if (!above(keys[child]!, ids[child]!, key, id)) break;
      keys[i] = keys[child]!;
      ids[i] = ids[child]!;
      i = child;
    }
    keys[i] = key;
    ids[i] = id;
  }
}

function above(ka: number, ia: number, kb: number, ib: number): boolean {
  return ka > kb || (ka === kb && ia < ib);
}
