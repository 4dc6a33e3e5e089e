// The one catalogue of dqe's failure types: every `Dqe*` ApplicationFailure type with whether a retry
// can fix it. Pure data, free of Node built-ins and I/O, so workflows, activities, adapters and
// clients all import it; the workflow's non-retryable list and the README's table are derived from it.

/** What the catalogue says about one failure type. */
export interface FailureInfo {
  /** Whether a later attempt can succeed (a network fault, a worker shutdown); false for bad input and misconfiguration. */
  retryable: boolean;
  /** When it is thrown, in one line (the README's table repeats it). */
  when: string;
}

/** Every failure type dqe throws, by name. */
export const DQE_FAILURES = {
  // Input and run directory (activities/load.ts, clean.ts, sample.ts, run-dir.ts, confine.ts; the workflow)
  DqeInvalidInput: { retryable: false, when: 'the workflow input (every bad field named), or a judge label description outside the label set' },
  DqeDatasetNotFound: { retryable: false, when: 'the dataset file does not exist' },
  DqeDatasetNotAFile: { retryable: false, when: 'the dataset is a directory, a named pipe or a device' },
  DqeDatasetUnreadable: { retryable: false, when: 'the dataset cannot be read (EACCES, ELOOP), or its CSV quoting is broken' },
  DqeDatasetMissingColumn: { retryable: false, when: 'the CSV header lacks the text or label column' },
  DqeDatasetWrongFormat: { retryable: false, when: 'the file is a JSON array, gzip, zip, UTF-16 or has CR-only line ends: the message names the likely cause' },
  DqeUnknownFormat: { retryable: false, when: 'the extension says neither JSONL nor CSV and `format` is not set' },
  DqeTooFewRows: { retryable: false, when: 'fewer than 4 rows kept after validation and cleaning (rejects.jsonl is written first)' },
  DqeTooFewLabels: { retryable: false, when: 'the kept rows carry fewer than 2 labels' },
  DqeRatioTooHigh: { retryable: false, when: '`ratio` × kept rows leaves no unsampled row to predict' },
  DqeOutputNotWritable: { retryable: false, when: 'the run directory cannot be created or written' },
  DqeOutputHoldsDataset: { retryable: false, when: 'the run directory is the dataset\'s own folder (its outputs could overwrite it)' },
  DqeOutputInUse: { retryable: false, when: 'another run holds the run directory (its lock names the holder)' },
  DqeOutputNotEmpty: { retryable: false, when: 'the run directory holds another run\'s outputs; set `overwrite: true` (`--overwrite`) to replace them' },
  DqePathNotAllowed: { retryable: false, when: 'the dataset or run directory is outside the worker\'s DQE_ALLOWED_ROOTS' },
  // Review (workflows/dqe.ts, activities/review.ts)
  DqeInvalidReview: { retryable: false, when: 'a review submission names an unknown row, label or verdict' },
  DqeNotAwaitingReview: { retryable: false, when: 'a review was submitted to a run that is not waiting for one' },
  // Remote endpoints (activities/preflight.ts, adapters/http-retry.ts, adapters/openai-client.ts)
  DqeEndpointUnreachable: { retryable: true, when: 'the preflight could not connect to an OpenAI-compatible endpoint or Qdrant (tried 3 times)' },
  DqeEndpointNotConfigured: { retryable: false, when: 'a component needs a URL and none is set, or it is not http(s)' },
  DqeRemoteUnauthorized: { retryable: false, when: 'the endpoint refused the API key (401), or OpenAI\'s endpoint is used without OPENAI_API_KEY' },
  DqeRemoteForbidden: { retryable: false, when: 'the key may not use this model or endpoint (403)' },
  DqeRemoteNotFound: { retryable: false, when: 'no such model or path (404): check the model name and base URL' },
  DqeRemoteBadRequest: { retryable: false, when: 'the endpoint rejected the request (another 4xx)' },
  DqeRemoteUnavailable: { retryable: true, when: '429, 5xx, network faults or malformed bodies outlasted the in-activity retries' },
  DqeEmbedderDimensionMismatch: { retryable: false, when: 'the embedding endpoint returned vectors of another width than asked or than before' },
  // Vector stores (adapters/vector-stores/)
  DqeVectorDimensionMismatch: { retryable: false, when: 'the collection or matrix holds vectors of another width than the run\'s embeddings' },
  DqeAnnIndexNeedsWorkDir: { retryable: false, when: 'ANN search was asked for without a work directory to keep the index in' },
  DqeQdrantCollectionMismatch: { retryable: false, when: 'the Qdrant collection exists with another distance or named vectors' },
  DqeQdrantNotConfigured: { retryable: false, when: 'neither vectorStore.url nor QDRANT_URL is set, or it is not http(s)' },
  DqeQdrantUnauthorized: { retryable: false, when: 'Qdrant refused the API key (check QDRANT_API_KEY)' },
  DqeQdrantRejected: { retryable: false, when: 'Qdrant rejected a request as malformed (a server older than 1.10 answers 404)' },
  DqeQdrantCollectionMissing: { retryable: false, when: 'a query ran against a collection that was dropped' },
  DqeQdrantUnavailable: { retryable: true, when: 'transient Qdrant faults outlasted the in-activity retries' },
  // Trainers (adapters/trainers/)
  DqeWrongWorker: { retryable: false, when: 'a swift job reached a CPU worker (check gpuTaskQueue)' },
  DqeSwiftNotInstalled: { retryable: false, when: 'no swift executable, or its Python environment lacks swift or torch' },
  DqeSwiftModelNotFound: { retryable: false, when: '`trainer.model` is a path that does not exist on the GPU worker' },
  DqeSwiftInvalidConfig: { retryable: false, when: 'swift rejected its arguments, or the device cannot run the model\'s dtype (bf16 without a GPU that has it): the message says the fix' },
  DqeCudaOutOfMemory: { retryable: false, when: 'CUDA ran out of memory; the message suggests smaller batches, LoRA, DeepSpeed' },
  DqeSwiftFailed: { retryable: true, when: 'any other non-zero exit or signal of swift' },
  DqeEncoderInvalidConfig: { retryable: false, when: 'the encoder trainer rejected its arguments or data (exit code 2)' },
  DqeEncoderFailed: { retryable: true, when: 'any other non-zero exit or signal of the encoder trainer, or no final summary after it exited 0' },
  DqeSwiftResultMismatch: { retryable: false, when: '`swift infer`\'s results do not match its input rows one to one' },
  DqeWorkerShutdown: { retryable: true, when: 'the GPU worker shut down during the job (it resumes from its checkpoint)' },
} as const satisfies Record<`Dqe${string}`, FailureInfo>;

export type DqeFailureType = keyof typeof DQE_FAILURES;

/** Every failure type, in catalogue order. */
export const DQE_FAILURE_TYPES = Object.keys(DQE_FAILURES) as DqeFailureType[];

/** The types no retry can fix: the workflow's `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_FAILURE_TYPES: readonly DqeFailureType[] = DQE_FAILURE_TYPES.filter((t) => !DQE_FAILURES[t].retryable);

export function isRetryableFailure(type: DqeFailureType): boolean {
  return DQE_FAILURES[type].retryable;
}
