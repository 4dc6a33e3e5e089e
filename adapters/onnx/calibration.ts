// Activation ranges for the int8 sentence encoder's SmoothQuant migration: the f32 graph runs on
// calibration texts with every quantised product's input as an extra output, and each input channel's
// largest |activation| over the real tokens (padding excluded) is kept.
import ort from 'onnxruntime-node';
import { bertFeeds } from './bert-feeds.js';
import { planTokenBatches } from '../../core/token-batches.js';
import { bertCalibrationGraph, productInputs, type BertShape, type Weight } from './bert.js';
import { onnxModel } from './model.js';

/** Padded tokens per calibration run. */
const CALIBRATION_BATCH_TOKENS = 4096;

/** Per quantised product, each input channel's largest |activation| over the tokens of `ids`. */
export async function activationRanges(weights: ReadonlyMap<string, Weight>, shape: BertShape, ids: readonly (readonly number[])[]): Promise<Map<string, Float32Array>> {
  const inputs = productInputs(shape);
  const session = await ort.InferenceSession.create(onnxModel(bertCalibrationGraph(weights, shape)), { graphOptimizationLevel: 'all' });
  const ranges = new Map([...inputs].map(([name, { width }]) => [name, new Float32Array(width)]));
  try {
    for (const batch of planTokenBatches(ids.map((x) => x.length), CALIBRATION_BATCH_TOKENS)) {
      const { rows, width } = batch;
      const out = await session.run(bertFeeds(ids, batch));
      for (const [name, { tensor, width: channels }] of inputs) {
        const data = out[tensor]!.data as Float32Array;
        const max = ranges.get(name)!;
        rows.forEach((row, r) => {
          for (let t = 0; t < ids[row]!.length; t++) {
            const base = (r * width + t) * channels;
            for (let c = 0; c < channels; c++) max[c] = Math.max(max[c]!, Math.abs(data[base + c]!));
          }
        });
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}
