// The offline embedder's pure core: signed feature hashing of word unigrams and bigrams.
// Corpus-independent (no fitted IDF), so a text's vector never depends on the other rows: vectors
// can be cached by content hash and computed in shards on different workers.

/** Common English function words: without IDF they would dominate every vector. */
const STOPWORDS = new Set(
  ('a an and are as at be been but by for from had has have he her his i if in into is it its me my ' +
    'no not of on or our she so that the their them then there these they this to was we were what ' +
    'when which who will with you your').split(' '),
);

/** Tokens read per text; longer texts (whole emails with attachments) add little beyond this. */
export const MAX_TOKENS = 4000;

/** FNV-1a, 32-bit, over UTF-16 code units: small, fast and stable across platforms. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}][\p{L}\p{N}'_-]*/gu)) {
    if (!STOPWORDS.has(m[0])) tokens.push(m[0]);
    if (tokens.length >= MAX_TOKENS) break;
  }
  return tokens;
}

/**
 * Writes the L2-normalised hashed vector of `text` into `out[offset .. offset + dim)`.
 * Features: unigrams and bigrams, weight 1 + ln(tf), sign from a hash bit. A text with no tokens
 * gets the zero vector.
 */
export function hashEmbedInto(text: string, dim: number, out: Float32Array, offset: number): void {
  const counts = new Map<string, number>();
  const tokens = tokenize(text);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    counts.set(t, (counts.get(t) ?? 0) + 1);
    if (i > 0) {
      const bigram = `${tokens[i - 1]} ${t}`;
      counts.set(bigram, (counts.get(bigram) ?? 0) + 1);
    }
  }
  const acc = new Float64Array(dim);
  for (const [feature, tf] of counts) {
    const h = fnv1a(feature);
    const sign = h & 0x80000000 ? -1 : 1;
    acc[(h & 0x7fffffff) % dim]! += sign * (1 + Math.log(tf));
  }
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += acc[j]! * acc[j]!;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let j = 0; j < dim; j++) out[offset + j] = acc[j]! * inv;
}
