// The dqe workflow's public input contract: its schema, defaults and validation messages.
// Pure and deterministic, so the workflow itself can validate its input at entry.
import { z } from 'zod';

/** Names of each pluggable component, so unknown names get an error that lists the valid ones. */
export const EMBEDDERS = ['hash', 'openai'] as const;
export const TRAINERS = ['linear', 'swift'] as const;
export const VECTOR_STORES = ['embedded', 'qdrant'] as const;
export const JUDGES = ['offline', 'openai'] as const;
export const SAMPLING_RULES = ['centroid', 'kcenter'] as const;

const positiveInt = z.number().int().positive();

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
  /** Asks the endpoint for this many dimensions (models that support it). */
  dimensions: positiveInt.optional(),
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
const swiftTrainer = z.strictObject({
  name: z.literal('swift'),
  /** Hugging Face / ModelScope id or a local path. @default 'Qwen/Qwen2.5-7B-Instruct' */
  model: z.string().min(1).default('Qwen/Qwen2.5-7B-Instruct'),
  tunerType: z.enum(['full', 'lora']).default('lora'),
  epochs: z.number().positive().default(1),
  learningRate: z.number().positive().default(1e-4),
  batchSize: positiveInt.default(1),
  gradientAccumulation: positiveInt.default(16),
  maxLength: positiveInt.default(2048),
  saveSteps: positiveInt.default(50),
  deepspeed: z.string().optional(),
  inferBackend: z.enum(['vllm', 'transformers']).default('vllm'),
  maxNewTokens: positiveInt.max(512).default(16),
  /** GPUs per node (NPROC_PER_NODE). @default 1 */
  gpus: positiveInt.default(1),
  extraArgs: z.array(z.string()).default([]),
});
const embeddedStore = z.strictObject({ name: z.literal('embedded') });
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
const offlineJudge = z.strictObject({
  name: z.literal('offline'),
  /** A row whose out-of-sample probability of its own label is below this is judged mislabeled. @default 0.25 */
  mislabeledBelow: z.number().min(0).max(1).default(0.25),
  /** A row whose out-of-sample probability of its own label is at least this is judged label_ok. @default 0.5 */
  okAtLeast: z.number().min(0).max(1).default(0.5),
}).refine((j) => j.mislabeledBelow <= j.okAtLeast, { path: ['mislabeledBelow'], message: 'must not exceed okAtLeast' });
const openaiJudge = z.strictObject({
  name: z.literal('openai'),
  /** @default 'gpt-4o' */
  model: z.string().min(1).default('gpt-4o'),
  baseUrl: z.url().optional(),
  concurrency: positiveInt.max(64).default(4),
  /** Optional per-label descriptions shown to the judge. */
  labelDescriptions: z.record(z.string(), z.string()).optional(),
});

/** Accepts `"name"` as shorthand for `{ name: "name" }`. */
function component<T extends readonly [z.ZodObject, z.ZodObject]>(kind: string, valid: readonly string[], variants: T, fallback: string) {
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

export const dqeInputSchema = z
  .strictObject({
    /** Path of the dataset, as the workers see it. */
    dataset: z.string().min(1),
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
    embedder: component('embedder', EMBEDDERS, [hashEmbedder, openaiEmbedder], 'hash'),
    trainer: component('trainer', TRAINERS, [linearTrainer, swiftTrainer], 'linear'),
    vectorStore: component('vector store', VECTOR_STORES, [embeddedStore, qdrantStore], 'embedded'),
    judge: component('judge', JUDGES, [offlineJudge, openaiJudge], 'offline'),
    /** What to do with rows judged mislabeled. @default 'drop' */
    noisy: z.enum(['drop', 'relabel']).default('drop'),
    /** What to do with rows the judge could not decide. @default 'keep' */
    undecided: z.enum(['keep', 'drop']).default('keep'),
    /** Run directory for every output. @default `runs/<workflow id>` under the worker's working directory */
    outputDir: z.string().min(1).optional(),
    /** Task queue of the GPU worker (swift jobs). @default 'dqe-gpu' */
    gpuTaskQueue: z.string().min(1).default('dqe-gpu'),
  });

/** What callers send (every default optional). */
export type DqeInput = z.input<typeof dqeInputSchema>;
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
