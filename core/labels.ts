// Label handling shared by trainers: mapping an LLM's free-text answer to a label of the label set.

/** Lower-cases and collapses whitespace; used for the second, forgiving match. */
function loose(s: string): string {
  return s.trim().replace(/\s+/gu, ' ').toLowerCase();
}

/**
 * Maps a model's answer to a label: an exact match first, then a case- and space-normalised match.
 * Returns `undefined` when the answer maps to no label (counted as wrong and as an
 * instruction-following failure).
 */
export function mapAnswerToLabel(answer: string, labels: readonly string[]): string | undefined {
  if (labels.includes(answer)) return answer;
  const a = loose(answer);
  return labels.find((l) => loose(l) === a);
}

/** The system prompt of ms-swift `messages` rows: lists the label set and asks for the label only. */
export function classifierSystemPrompt(labels: readonly string[]): string {
  return `Classify the text into exactly one of these labels: ${labels.join(', ')}. Answer with the label only.`;
}

/** One ms-swift `messages` training row. */
export function swiftMessagesRow(text: string, label: string | undefined, labels: readonly string[]) {
  const messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }> = [
    { role: 'system', content: classifierSystemPrompt(labels) },
    { role: 'user', content: text },
  ];
  if (label !== undefined) messages.push({ role: 'assistant', content: label });
  return { messages };
}
