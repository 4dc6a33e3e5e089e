// The LLM judge's protocol for one noisy pair: the versioned prompt, the JSON schema of the answer,
// and the validation of what comes back. Pure: no I/O, so it is unit-tested on its own.
import { z } from 'zod';
import { mapAnswerToLabel } from '../../core/labels.js';

/**
 * Version of the prompt and answer format. It is part of the verdict cache key: bump it whenever the
 * wording, the schema or the truncation changes, so that old answers are not reused for a new prompt.
 */
export const JUDGE_PROMPT_VERSION = 1;

/** Name of the response schema sent with structured outputs. */
export const ANSWER_SCHEMA_NAME = 'dqe_noisy_pair_verdict';

/** Longest reason kept, characters: the prompt asks for one sentence; a rambling answer is cut, not rejected. */
const MAX_REASON_CHARS = 500;

export interface PromptItem {
  text: string;
  /** The label the training set gives the text. */
  label: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A valid answer: the label the judge thinks right and its reason, for text 1 and text 2. */
export interface PairAnswer {
  labels: [string, string];
  reasons: [string, string];
}

export type ParsedAnswer = { ok: true; answer: PairAnswer } | { ok: false; problem: string };

/** A text as the prompt shows it: cut at `maxChars`, saying how much was left out. */
export function promptText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}\n[… ${text.length - maxChars} more characters not shown]`;
}

const SYSTEM = [
  'You check the labels of a text-classification training set.',
  'The two texts below are nearest neighbours in embedding space, yet they carry different labels, so at least one of the given labels may be wrong.',
  'Judge each text on its own: which label of the label set is correct for it?',
  'The given label is only a claim; keep it when it is right, replace it when another label fits the text better.',
  'Answer with a JSON object only, of this form:',
  '{"text_1": {"label": "<label>", "reason": "<one sentence>"}, "text_2": {"label": "<label>", "reason": "<one sentence>"}}',
  'Each "label" must be exactly one of the labels of the label set; each "reason" is one sentence saying why.',
].join('\n');

/**
 * The chat messages for one pair: the task, the label set (with descriptions where given), and both
 * texts with their given labels. `items` are already truncated with `promptText`.
 */
export function pairMessages(labels: readonly string[], descriptions: Readonly<Record<string, string>>, items: readonly [PromptItem, PromptItem]): ChatMessage[] {
  const labelLines = labels.map((l) => (descriptions[l] ? `- ${JSON.stringify(l)}: ${descriptions[l]}` : `- ${JSON.stringify(l)}`));
  const textBlock = (i: 1 | 2, item: PromptItem) => [`Text ${i}, given label ${JSON.stringify(item.label)}:`, `<text_${i}>`, item.text, `</text_${i}>`].join('\n');
  const user = ['Label set:', ...labelLines, '', textBlock(1, items[0]), '', textBlock(2, items[1])].join('\n');
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: user },
  ];
}

/** The follow-up turn after an invalid answer: what was wrong, and the request to answer again. */
export function correctionMessages(invalidContent: string, problem: string): ChatMessage[] {
  return [
    { role: 'assistant', content: invalidContent },
    { role: 'user', content: `That answer is not valid: ${problem}. Answer again with the JSON object only, using labels from the label set.` },
  ];
}

/** The answer's JSON schema for structured outputs (strict mode: every field required, nothing else allowed). */
export function answerJsonSchema(labels: readonly string[]) {
  const item = {
    type: 'object',
    properties: {
      label: { type: 'string', enum: [...labels] },
      reason: { type: 'string' },
    },
    required: ['label', 'reason'],
    additionalProperties: false,
  };
  return {
    type: 'object',
    properties: { text_1: item, text_2: item },
    required: ['text_1', 'text_2'],
    additionalProperties: false,
  };
}

const itemShape = z.object({ label: z.string(), reason: z.string() });
const answerShape = z.object({ text_1: itemShape, text_2: itemShape });

/** Strips one Markdown code fence, which models in plain JSON mode sometimes add. */
function unfence(s: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/u.exec(s);
  return m ? m[1]! : s;
}

/**
 * Validates an answer. Valid: a JSON object with `text_1` and `text_2`, each a `label` that maps to the
 * label set (exactly, else case- and space-insensitively, as predictions are mapped)
 * and a non-empty `reason`. Anything else is invalid, with a one-line `problem` saying why.
 */
export function parsePairAnswer(content: string | null | undefined, labels: readonly string[]): ParsedAnswer {
  if (content === null || content === undefined || content.trim() === '') return { ok: false, problem: 'the answer is empty' };
  let json: unknown;
  try {
    json = JSON.parse(unfence(content));
  } catch {
    return { ok: false, problem: 'the answer is not JSON' };
  }
  const shaped = answerShape.safeParse(json);
  if (!shaped.success) {
    const issue = shaped.error.issues[0]!;
    return { ok: false, problem: `the answer does not follow the schema (${issue.path.map(String).join('.') || '(answer)'}: ${issue.message})` };
  }
  const out: PairAnswer = { labels: ['', ''], reasons: ['', ''] };
  for (const [i, key] of [[0, 'text_1'], [1, 'text_2']] as const) {
    const item = shaped.data[key];
    const label = mapAnswerToLabel(item.label, labels);
    if (label === undefined) return { ok: false, problem: `${key}.label ${JSON.stringify(item.label)} is not in the label set (${labels.join(', ')})` };
    const reason = item.reason.trim().replace(/\s+/gu, ' ');
    if (reason === '') return { ok: false, problem: `${key}.reason is empty` };
    out.labels[i] = label;
    out.reasons[i] = reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
  }
  return { ok: true, answer: out };
}
