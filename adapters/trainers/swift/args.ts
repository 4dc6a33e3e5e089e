// The argument arrays dqe passes to `swift sft` and `swift infer` (ms-swift 4.x flag names), built
// from the trainer config and the job's paths; pure, so a resumed run gets the identical list.
import type { TrainerConfig } from '../../../core/input.js';

export type SwiftConfig = Extract<TrainerConfig, { name: 'swift' }>;

/** Rows per write of `swift infer`'s result file: how often predict progress can be seen. */
export const INFER_WRITE_BATCH_ROWS = 256;

/** Characters per token assumed when `maxTextChars` is not set: below any real tokenizer's average on text. */
export const CHARS_PER_TOKEN_FLOOR = 2;

/** Characters of each text written for swift. */
export function maxTextChars(cfg: SwiftConfig): number {
  return cfg.maxTextChars ?? CHARS_PER_TOKEN_FLOOR * cfg.maxLength;
}

function modelFlags(cfg: SwiftConfig): string[] {
  return [...(cfg.modelType ? ['--model_type', cfg.modelType] : []), ...(cfg.template ? ['--template', cfg.template] : [])];
}

export interface SftPaths {
  /** The model to fine-tune: a hub id or an absolute local path. */
  model: string;
  /** Absolute path of the `messages` JSONL to train on. */
  dataset: string;
  /** Absolute, deterministic output folder of this run and phase. */
  outputDir: string;
  /** A complete `checkpoint-N` folder to continue from. */
  resumeFrom?: string | undefined;
}

/** `swift sft` arguments; a resumed run differs from the first only by `--resume_from_checkpoint`. */
export function sftArgs(cfg: SwiftConfig, seed: number, p: SftPaths): string[] {
  return [
    'sft',
    '--model', p.model,
    ...modelFlags(cfg),
    '--tuner_type', cfg.tunerType,
    '--dataset', p.dataset,
    // No evaluation split: the unsampled half is dqe's evaluation.
    '--split_dataset_ratio', '0',
    '--output_dir', p.outputDir,
    // Without this swift writes into a new timestamped sub-folder each time, and a retry would not find its checkpoints.
    '--add_version', 'false',
    '--num_train_epochs', String(cfg.epochs),
    '--per_device_train_batch_size', String(cfg.batchSize),
    '--gradient_accumulation_steps', String(cfg.gradientAccumulation),
    '--learning_rate', String(cfg.learningRate),
    '--max_length', String(cfg.maxLength),
    '--save_steps', String(cfg.saveSteps),
    '--save_total_limit', String(cfg.saveTotalLimit),
    // Every step in logging.jsonl: the heartbeat's progress and the evidence of where a resume started.
    '--logging_steps', '1',
    '--report_to', 'none',
    // Otherwise swift asks ModelScope whether a local model is the newest, even offline.
    '--check_model', 'false',
    '--seed', String(seed),
    '--data_seed', String(seed),
    ...(cfg.deepspeed ? ['--deepspeed', cfg.deepspeed] : []),
    ...cfg.extraArgs,
    ...(p.resumeFrom ? ['--resume_from_checkpoint', p.resumeFrom] : []),
  ];
}

export interface InferPaths {
  /** The fine-tuned model: a full checkpoint, or the LoRA adapter checkpoint. */
  modelPath: string;
  /** The base model (hub id or absolute path), loaded under a LoRA adapter. */
  baseModel: string;
  /** Absolute path of the `messages` JSONL to answer, one row per line. */
  dataset: string;
  /** Absolute result path; deleted before the call (swift appends to an existing file). */
  resultPath: string;
}

/** `swift infer` arguments: greedy, short answers, strict so no row is silently dropped. */
export function inferArgs(cfg: SwiftConfig, p: InferPaths): string[] {
  return [
    'infer',
    ...(cfg.tunerType === 'lora' ? ['--model', p.baseModel, '--adapters', p.modelPath] : ['--model', p.modelPath]),
    ...modelFlags(cfg),
    '--val_dataset', p.dataset,
    '--val_dataset_shuffle', 'false',
    '--infer_backend', cfg.inferBackend,
    '--temperature', '0',
    '--max_new_tokens', String(cfg.maxNewTokens),
    '--max_length', String(cfg.maxLength),
    // A prompt over maxLength loses its start rather than failing the whole batch (texts are cut before, so this is rare).
    '--truncation_strategy', 'left',
    // An invalid row fails the call instead of vanishing, which would shift every later answer onto the wrong row.
    '--strict', 'true',
    '--result_path', p.resultPath,
    '--write_batch_size', String(INFER_WRITE_BATCH_ROWS),
    ...(cfg.inferBackend === 'transformers' ? ['--max_batch_size', String(cfg.inferBatchSize)] : []),
    ...cfg.inferExtraArgs,
  ];
}
