// The BERT graph's inputs for one planned batch (core/token-batches.ts): token ids and attention mask,
// int64, rows × width, each row's ids then zero padding (mask 1 over the ids, 0 over the padding).
import ort from 'onnxruntime-node';
import type { TokenBatch } from '../../core/token-batches.js';

export function bertFeeds(ids: readonly (readonly number[])[], { rows, width }: TokenBatch): Record<'input_ids' | 'attention_mask', ort.Tensor> {
  const inputIds = new BigInt64Array(rows.length * width);
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    const x = ids[row]!;
    for (let j = 0; j < x.length; j++) {
      inputIds[r * width + j] = BigInt(x[j]!);
      mask[r * width + j] = 1n;
    }
  });
  const shape = [rows.length, width];
  return { input_ids: new ort.Tensor('int64', inputIds, shape), attention_mask: new ort.Tensor('int64', mask, shape) };
}
