// Texts that exercise a sentence encoder's tokenizer and window: short phrases, mails far past the
// 256-token window, accents, CJK, Cyrillic, Arabic, emoji, and texts with nothing left after
// normalisation. Deterministic, so a failing row can be found again.
import { loadMails } from '../../examples/spam-assassin.js';
import { calibrationTexts } from '../../infra/minilm-calibration.js';

const SHORT = [
  'hi', 'ok', 'Refund my order', 'Where is my parcel?', 'cancel subscription', 'The movie was great!', 'worst. service. ever.',
  'Can I change my PIN?', 'book a table for two at 8pm', 'I LOVE THIS PHONE', 'unbelievably good', 'not bad', "don't do that",
  'e-mail me at foo@example.com', 'call 555-0134 now!!!', 'price: $19.99 (50% off)', 'C++ vs. C#', 'x', '42', '3.14159',
];
const NON_ENGLISH = [
  'Café crème brûlée à la française', 'Ich möchte meine Bestellung stornieren', '¿Dónde está mi paquete?', 'Ça coûte trop cher',
  '我想取消我的订单', '今日はいい天気ですね', '한국어 문장입니다', 'Привет, как дела?', 'مرحبا بالعالم', 'שלום עולם', 'Ελληνικά γράμματα',
  'naïve façade coöperate', 'Straße und Fluß', 'ÅNGSTRÖM ÉLAN', 'Việt Nam xin chào', 'हिन्दी पाठ', 'ภาษาไทย', 'Türkçe ıİ çğş',
  'mixed 中文 and English text', '𠮷野家 and 𬣤 (CJK beyond U+FFFF)', 'Ünïcödé wïth dïäcrïtïcs everywhere',
];
const EMOJI = [
  '🙂', 'great job 👍👍👍', '🔥🔥 hot deal 🔥🔥', 'I ❤️ NY', '👨‍👩‍👧‍👦 family', '🇫🇷 flag', 'ok 🆗', '🤖 beep boop', '😂😂😂😂', 'pizza 🍕 or 🍔?',
];
/** Nothing survives BERT's normalisation (control characters, zero-width, spaces): the model sees [CLS] [SEP]. */
const EMPTY_AFTER_NORMALISATION = ['\u200b', '\u0000\u0001\u0002', ' \t\n ', '\ufeff', '\u200b\u200c\u200d', '\u0007'];

/** At least `count` texts (≥ 200 by default): the fixed lists above, then SpamAssassin mails, long ones included. */
export function variedTexts(count = 220): string[] {
  const fixed = [...SHORT, ...NON_ENGLISH, ...EMOJI, ...EMPTY_AFTER_NORMALISATION];
  // Never a text the int8 encoder was calibrated on: these texts measure it.
  const calibration = new Set(calibrationTexts());
  const mails = loadMails().map((m) => m.text).filter((t) => t.trim().length > 0 && !calibration.has(t));
  const out = [...fixed];
  // Every k-th mail: short notes and 4,000-character mails (far past 256 tokens) alike.
  const step = Math.max(1, Math.floor(mails.length / Math.max(1, count - fixed.length)));
  for (let i = 0; out.length < count && i < mails.length; i += step) out.push(mails[i]!);
  return out;
}
