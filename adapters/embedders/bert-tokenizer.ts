// A BERT WordPiece tokenizer for the sentence encoder, from the model's own tokenizer.json through
// @huggingface/tokenizers (lowercasing, accent stripping, CJK splitting, [UNK]): token ids for one text
// cut to the model's window with [CLS] and [SEP] added, as BertTokenizerFast does with truncation on.
import * as tokenizers from '@huggingface/tokenizers';
import { windowIds } from '../../core/token-batches.js';

/**
 * CJK ideographs outside the Basic Multilingual Plane (Extensions B–F, compatibility supplement): the
 * ranges of BertNormalizer's handle_chinese_chars above U+FFFF. @huggingface/tokenizers 0.2.0 tests that
 * rule one UTF-16 code unit at a time, so it never matches these (two code units each) and glues them
 * to their neighbours; dqe spaces them itself first, which is what the rule does.
 */
const ASTRAL_CJK = /[\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\u{2F800}-\u{2FA1F}]/gu;

/** The part of @huggingface/tokenizers' Tokenizer used here (its .d.ts files use extensionless imports that NodeNext resolution cannot follow). */
interface HfTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
}
const HfTokenizerClass = (tokenizers as unknown as { Tokenizer: new (tokenizer: object, config: object) => HfTokenizer }).Tokenizer;

export interface BertTokenizer {
  /** `[CLS] ids… [SEP]`, at most `window` tokens. */
  encode(text: string): number[];
}

export function createBertTokenizer(tokenizerJson: object, tokenizerConfig: object, window: number): BertTokenizer {
  const tokenizer = new HfTokenizerClass(tokenizerJson, tokenizerConfig);
  const special = (token: string): number => {
    const id = tokenizer.token_to_id(token);
    if (id === undefined) throw new Error(`tokenizer.json has no ${token} token`);
    return id;
  };
  const cls = special('[CLS]');
  const sep = special('[SEP]');
  return {
    encode: (text) => windowIds(tokenizer.encode(text.replace(ASTRAL_CJK, ' $& '), { add_special_tokens: false }).ids, window, cls, sep),
  };
}
