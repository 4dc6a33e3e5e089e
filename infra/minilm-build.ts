// Builds the `minilm` ONNX graph file from the original weights (adapters/onnx/bert.ts); for int8 it first
// measures the activation ranges SmoothQuant's migration needs on the fixed calibration texts. Run by
// infra/minilm.ts as a process of its own:
//
//   node --import tsx infra/minilm-build.ts <f32|int8> <weights folder> <out.onnx> <out-unpadded.onnx>
//
// Deterministic: the same weights, texts and builder version give the same bytes, written atomically
// (workers on one machine may build at once).
import { join } from 'node:path';
import { createBertTokenizer } from '../adapters/embedders/bert-tokenizer.js';
import { writeFileAtomic } from '../adapters/files.js';
import { bertSentenceGraph, type BertPrecision, type Smoothing, type Weight } from '../adapters/onnx/bert.js';
import { activationRanges } from '../adapters/onnx/calibration.js';
import { onnxModel } from '../adapters/onnx/model.js';
import { readSafetensors } from '../adapters/onnx/safetensors.js';
import { calibrationTexts, MINILM_CALIBRATION } from './minilm-calibration.js';
import { MINILM_SHAPE, MINILM_SMOOTHING_ALPHA, readTokenizerFiles } from './minilm.js';

/** The int8 graph's SmoothQuant statistics: each quantised product's per-channel largest |activation|. */
export async function calibrateMinilm(weights: ReadonlyMap<string, Weight>, dir: string): Promise<Smoothing> {
  const { tokenizer, config } = await readTokenizerFiles({ tokenizer: join(dir, 'tokenizer.json'), tokenizerConfig: join(dir, 'tokenizer_config.json') });
  const tok = createBertTokenizer(tokenizer, config, MINILM_CALIBRATION.window);
  return { alpha: MINILM_SMOOTHING_ALPHA, activationMax: await activationRanges(weights, MINILM_SHAPE, calibrationTexts().map((t) => tok.encode(t))) };
}

/** Both variants of the graph (padded, unpadded) from one calibration. */
export async function buildMinilmGraphs(precision: BertPrecision, dir: string, out: string, unpaddedOut: string): Promise<void> {
  const weights = await readSafetensors(join(dir, 'model.safetensors'));
  const smoothing = precision === 'int8' ? await calibrateMinilm(weights, dir) : undefined;
  for (const [file, padded] of [[out, true], [unpaddedOut, false]] as const) {
    await writeFileAtomic(file, onnxModel(bertSentenceGraph(weights, MINILM_SHAPE, precision, { padded, ...(smoothing ? { smoothing } : {}) })));
  }
}

const [precision, dir, out, unpaddedOut] = process.argv.slice(2);
if (process.argv[1]?.endsWith('minilm-build.ts') && dir && out && unpaddedOut) {
  if (precision !== 'f32' && precision !== 'int8') throw new Error(`minilm-build: precision must be f32 or int8, got ${precision}`);
  await buildMinilmGraphs(precision, dir, out, unpaddedOut);
}
