// The one mapping from command-line flags to the dqe workflow input (`DqeInput`), with the flag
// parsers every command shares: `dqe run`, `dqe schedule create` and `dqe eval` declare their input
// options through it, so a field one of them can set, the others can set the same way.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EMBEDDERS, JUDGES, PRESET_NAMES, SAMPLING_RULES, TRAINERS, VECTOR_STORES, type DqeInput } from '../core/input.js';

/** A finite number; ranges are the input schema's to check, so every command reports them alike. */
export function number(flag: string) {
  return (v: string): number => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number`);
    return n;
  };
}

/** A number strictly between 0 and 1 (for options that are not input fields, so no schema checks them). */
export function fraction(flag: string) {
  return (v: string): number => {
    const x = number(flag)(v);
    if (!(x > 0 && x < 1)) throw new InvalidArgumentError(`${flag} must be a number in (0, 1)`);
    return x;
  };
}

/** An integer of at least `min`. */
export function integer(flag: string, min: number) {
  return (v: string): number => {
    const x = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}`);
    return x;
  };
}

/** A component option: a name (`hash`) or a JSON object (`{"name":"openai","model":"..."}`). */
export function component(flag: string) {
  return (v: string): unknown => {
    if (!v.trim().startsWith('{')) return v;
    try {
      return JSON.parse(v) as unknown;
    } catch (err) {
      throw new InvalidArgumentError(`${flag}: not valid JSON (${(err as Error).message})`);
    }
  };
}

/** The input fields a flag can set, as commander parses them. */
export interface DqeInputFlags {
  format?: 'jsonl' | 'csv';
  textField?: string;
  labelField?: string;
  labels?: string;
  ratio?: number;
  seed?: number;
  sampling?: string;
  embedder?: unknown;
  trainer?: unknown;
  vectorStore?: unknown;
  judge?: unknown;
  noisy?: string;
  undecided?: string;
  twoFold?: boolean;
  maxShare?: number;
  preset?: string;
  gpuTaskQueue?: string;
  review?: boolean;
  overwrite?: boolean;
}

export type DqeInputFlag = keyof DqeInputFlags;

/** Each input flag's option, in `--help` order. */
const OPTIONS: { [K in DqeInputFlag]: () => Option | Option[] } = {
  format: () => new Option('--format <format>', 'dataset format (default: from the extension)').choices(['jsonl', 'csv']),
  textField: () => new Option('--text-field <name>', 'field holding the text (default: text)'),
  labelField: () => new Option('--label-field <name>', 'field holding the label (default: label)'),
  labels: () => new Option('--labels <a,b,...>', 'declared label set; rows with other labels are rejected'),
  ratio: () => new Option('--ratio <r>', 'fraction of kept rows to sample, 0 < r < 1 (default: 0.5)').argParser(number('--ratio')),
  seed: () => new Option('--seed <n>', 'random seed (default: 0)').argParser(number('--seed')),
  sampling: () => new Option('--sampling <rule>', 'greedy diversity rule (default: centroid)').choices([...SAMPLING_RULES]),
  embedder: () => new Option('--embedder <name|json>', `embedder: ${EMBEDDERS.join(', ')} or a JSON object (default: minilm)`).argParser(component('--embedder')),
  trainer: () => new Option('--trainer <name|json>', `trainer: ${TRAINERS.join(', ')} or a JSON object (default: linear)`).argParser(component('--trainer')),
  vectorStore: () => new Option('--vector-store <name|json>', `vector store: ${VECTOR_STORES.join(', ')} or a JSON object (default: embedded)`).argParser(component('--vector-store')),
  judge: () => new Option('--judge <name|json>', `judge: ${JUDGES.join(', ')} or a JSON object (default: offline)`).argParser(component('--judge')),
  noisy: () => new Option('--noisy <mode>', 'rows judged mislabeled (default: drop)').choices(['drop', 'relabel']),
  undecided: () => new Option('--undecided <mode>', 'rows the judge could not decide (default: keep)').choices(['keep', 'drop']),
  twoFold: () => [
    new Option('--two-fold', 'two-fold DQE (the default): a second pass with the halves swapped, so noisy detection covers every row'),
    new Option('--no-two-fold', "one pass, as the paper: half the curation's training, noisy detection only near the unsampled half's errors"),
  ],
  maxShare: () => new Option('--max-share <s>', "the final set's largest share of the kept rows, ratio ≤ s ≤ 1 (default: 1, no cap)").argParser(number('--max-share')),
  preset: () => new Option('--preset <name>', "a named composition of the method: 'paper' = the paper's DQE with the fixed-threshold judge; other flags override its fields").choices([...PRESET_NAMES]),
  gpuTaskQueue: () => new Option('--gpu-task-queue <name>', 'task queue of the GPU worker (swift trainer)'),
  review: () => new Option('--review', 'after judging, wait for a person to accept or override the verdicts (`dqe review <workflow-id>`)'),
  overwrite: () => new Option('--overwrite', 'replace the outputs of a finished run in --output-dir (the whole directory; never a mix of two runs)'),
};

/** The flags of how a dataset is read and curated: every command that starts curation takes them. */
export const CURATION_FLAGS = ['format', 'textField', 'labelField', 'labels', 'ratio', 'seed', 'sampling', 'embedder', 'trainer', 'vectorStore', 'judge', 'noisy', 'undecided', 'twoFold', 'maxShare', 'preset'] as const satisfies readonly DqeInputFlag[];

/** Where a command gives an input field more meaning (e.g. `dqe eval`'s seed also seeds the split). */
export interface FlagOverride {
  description?: string;
  default?: unknown;
}

/** Adds the options of `flags` to a command, in that order. */
export function addDqeInputOptions(command: Command, flags: readonly DqeInputFlag[], overrides: Partial<Record<DqeInputFlag, FlagOverride>> = {}): Command {
  for (const flag of flags) {
    const [option, ...more] = [OPTIONS[flag]()].flat();
    const override = overrides[flag];
    if (override?.description !== undefined) option!.description = override.description;
    if (override?.default !== undefined) option!.default(override.default);
    for (const o of [option!, ...more]) command.addOption(o);
  }
  return command;
}

/** `--input <file|json>`: the whole workflow input, inline JSON or a JSON file. */
export function readInputOption(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  const text = value.trim().startsWith('{') ? value : readFileSync(value, 'utf8');
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * The workflow input the flags give, over `base` (the `--input` JSON): flags override its fields, a
 * `dataset` argument is resolved against the working directory (the workers need absolute paths).
 */
export function dqeInputFromFlags(dataset: string | undefined, flags: DqeInputFlags, base: Record<string, unknown> = {}): DqeInput {
  const input: Record<string, unknown> = { ...base };
  if (dataset !== undefined) input.dataset = resolve(dataset);
  const { labels, ...rest } = flags;
  if (labels !== undefined) input.labels = labels.split(',').map((s) => s.trim());
  for (const field of Object.keys(OPTIONS) as DqeInputFlag[]) {
    const value = (rest as Record<string, unknown>)[field];
    if (field !== 'labels' && value !== undefined) input[field] = value;
  }
  return input as DqeInput;
}
