// The ONNX graph of a BERT sentence encoder (all-MiniLM-L6-v2's architecture) built from its weights,
// with mean pooling over the attention mask and L2 normalisation inside the graph, so one run turns
// token ids into unit sentence vectors. Written with onnxruntime's fused CPU operators (Attention,
// MultiHeadAttention, BiasGelu) and, in the int8 variant, dynamically quantised matrix products:
// int8 weights with one scale per output column, activations quantised per token (one scale per row,
// from that row's own largest magnitude), so a text's vector does not depend on the other texts of its
// batch and a short text's few tokens are not quantised on the range of a long one's.
// Two variants of each graph: `padded` masks padding keys in attention; `unpadded` takes batches whose
// rows all have the same length, with no mask, which lets onnxruntime use its flash-attention kernel.
import { INT8_CODE_MAX, type GraphSpec, type Initializer, type NodeSpec } from './model.js';

/** A tensor read from a safetensors file: dims as stored, float32 data. */
export interface Weight {
  dims: readonly number[];
  data: Float32Array;
}

export interface BertShape {
  layers: number;
  hidden: number;
  heads: number;
  /** Epsilon of every LayerNorm (config.json's `layer_norm_eps`). */
  layerNormEps: number;
  /** Width of the feed-forward layer (config.json's `intermediate_size`). @default 4 × hidden */
  intermediate?: number;
}

/** `f32`: weights as shipped; `int8`: the dense layers' weights quantised per output column. */
export type BertPrecision = 'f32' | 'int8';

/** The dense layers of a BERT block, for choosing which of them stay float in the int8 variant. */
export type DenseKind = 'qkv' | 'attentionOutput' | 'intermediate' | 'output';

/** Per-channel statistics for SmoothQuant's scale migration (see `smoothed` in bertSentenceGraph). */
export interface Smoothing {
  /** Migration strength α in [0, 1]: 0 leaves activations as they are, 1 moves all their range into the weights. */
  alpha: number;
  /** Per quantised product (the dense layer's weight prefix, or `encoder.layer.N.qkv`): each input channel's largest |activation|. */
  activationMax: ReadonlyMap<string, Float32Array>;
}

/**
 * The largest int8 magnitude used for weights (symmetric quantisation, zero point 0): INT8_CODE_MAX, so that the
 * u8 × s8 products are exact on CPUs without VNNI too (see adapters/onnx/model.ts). Activations use 127.
 */
const WEIGHT_MAX = INT8_CODE_MAX;
const ACTIVATION_MAX = 127;
/** Activations are quantised symmetrically to uint8 around this zero point (MatMulInteger's u8 × s8 kernel). */
const UINT8_ZERO = 128;
/** ONNX TensorProto type ids for Cast's `to`. */
const CAST_TO = { float: 1, int32: 6 } as const;

export interface BertGraphOptions {
  /** Dense layers left in float in the int8 variant (for measuring what each costs in accuracy). */
  keepFloat?: ReadonlySet<DenseKind>;
  /** SmoothQuant statistics for the int8 variant; without them no migration. */
  smoothing?: Smoothing;
  /**
   * false: attention takes no padding mask, so every row of a batch must have the batch's full length
   * (onnxruntime then runs its flash-attention kernel). @default true
   */
  padded?: boolean;
}

function need(weights: ReadonlyMap<string, Weight>, name: string): Weight {
  const w = weights.get(name);
  if (!w) throw new Error(`BERT weights: tensor ${name} is missing`);
  return w;
}

/** A PyTorch Linear weight (out × in) transposed to the in × out layout MatMul takes. */
function transposed(w: Weight): Weight {
  const [rows, cols] = w.dims as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w.data[r * cols + c]!;
  return { dims: [cols, rows], data: out };
}

/** Symmetric per-column int8 quantisation of an in × out matrix: w ≈ q · scale[column]. */
export function quantisePerColumn(w: Weight): { q: Int8Array; scale: Float32Array } {
  const [rows, cols] = w.dims as [number, number];
  const scale = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scale[c] = Math.max(scale[c]!, Math.abs(w.data[r * cols + c]!));
  for (let c = 0; c < cols; c++) scale[c] = scale[c]! > 0 ? scale[c]! / WEIGHT_MAX : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) q[r * cols + c] = Math.round(w.data[r * cols + c]! / scale[c]!);
  return { q, scale };
}

/**
 * Each quantised product of the int8 graph (named as `Smoothing.activationMax` keys them) and the f32
 * graph's tensor that is its input: what a calibration run reads to measure activation ranges.
 */
export function productInputs(shape: BertShape): Map<string, { tensor: string; width: number }> {
  const m = new Map<string, { tensor: string; width: number }>();
  const inner = shape.intermediate ?? 4 * shape.hidden;
  for (let l = 0; l < shape.layers; l++) {
    const p = `encoder.layer.${l}`;
    m.set(`${p}.qkv`, { tensor: l === 0 ? 'h0' : `encoder.layer.${l - 1}.h`, width: shape.hidden });
    m.set(`${p}.attention.output.dense`, { tensor: `${p}.att`, width: shape.hidden });
    m.set(`${p}.intermediate.dense`, { tensor: `${p}.mid`, width: shape.hidden });
    m.set(`${p}.output.dense`, { tensor: `${p}.gelu`, width: inner });
  }
  return m;
}

/** The f32 graph with every quantised product's input as an extra output (batch × tokens × width). */
export function bertCalibrationGraph(weights: ReadonlyMap<string, Weight>, shape: BertShape): GraphSpec {
  const g = bertSentenceGraph(weights, shape, 'f32');
  const extra = [...productInputs(shape).values()].map(({ tensor, width }) => ({ name: tensor, type: 'float' as const, shape: ['batch', 'tokens', width] }));
  return { ...g, outputs: [...g.outputs, ...extra] };
}

/**
 * The graph: inputs `input_ids` and `attention_mask` (int64, batch × tokens; token type 0 throughout,
 * as sentence-transformers encodes single texts), output `embedding` (float, batch × hidden, unit length).
 */
export function bertSentenceGraph(
  weights: ReadonlyMap<string, Weight>,
  shape: BertShape,
  precision: BertPrecision,
  options: BertGraphOptions = {},
): GraphSpec {
  const { keepFloat = new Set<DenseKind>(), smoothing, padded = true } = options;
  const { hidden: H, heads, layerNormEps } = shape;
  const init: Initializer[] = [];
  const nodes: NodeSpec[] = [];
  const f32 = (name: string, w: Weight) => {
    init.push({ name, type: 'float', dims: w.dims, data: w.data });
    return name;
  };
  const eps = { epsilon: layerNormEps };
  /**
   * SmoothQuant's scale migration before a quantised product: x · W = (x / s) · (s · W) with one s per
   * input channel, s = activationMax^α / weightMax^(1−α), so the few channels whose activations are
   * large in every token no longer set each token's quantisation step. Without statistics, unchanged.
   */
  const smoothing_scale = (name: string, w: Weight): Float32Array | undefined => {
    const actMax = smoothing?.activationMax.get(name);
    if (!smoothing || !actMax || precision !== 'int8') return undefined;
    const [rows, cols] = w.dims as [number, number];
    const s = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let wMax = 0;
      for (let c = 0; c < cols; c++) wMax = Math.max(wMax, Math.abs(w.data[r * cols + c]!));
      s[r] = actMax[r]! > 0 && wMax > 0 ? Math.pow(actMax[r]!, smoothing.alpha) / Math.pow(wMax, 1 - smoothing.alpha) : 1;
    }
    return s;
  };
  /** w with row r multiplied by s[r]: the weight side of the migration. */
  const rowsScaled = (w: Weight, s: Float32Array): Weight => {
    const cols = w.dims[1]!;
    return { dims: w.dims, data: w.data.map((v, i) => v * s[Math.floor(i / cols)]!) };
  };
  const smoothed = (x: string, name: string, w: Weight): [string, Weight] => {
    const s = smoothing_scale(name, w);
    if (!s) return [x, w];
    nodes.push({ op: 'Mul', inputs: [x, f32(`${name}.smooth`, { dims: [s.length], data: s.map((v) => 1 / v) })], outputs: [`${name}.smoothed`] });
    return [`${name}.smoothed`, rowsScaled(w, s)];
  };
  if (precision === 'int8') init.push(
    { name: 'q.int8_max', type: 'float', dims: [], data: Float32Array.of(ACTIVATION_MAX) },
    { name: 'q.tiny', type: 'float', dims: [], data: Float32Array.of(1e-30) },
    { name: 'q.zero_u8', type: 'uint8', dims: [], data: Uint8Array.of(UINT8_ZERO) },
    { name: 'q.one', type: 'float', dims: [], data: Float32Array.of(1) },
  );
  /** `batch, tokens, width` for each width a quantised product writes (its output goes back to 3-D). */
  const shape3d = (width: number): string => {
    const name = `shape.${width}`;
    if (!init.some((i) => i.name === `${name}.width`)) {
      init.push({ name: `${name}.width`, type: 'int64', dims: [1], data: BigInt64Array.of(BigInt(width)) });
      nodes.push({ op: 'Concat', inputs: ['batch_tokens', `${name}.width`], outputs: [name], attributes: { axis: 0 } });
    }
    return name;
  };

  /**
   * out = x · W with W quantised per output column (int8) and x per row (uint8 around 128):
   * scale_row = max|x_row| / 127, x_q = round(x / scale_row) + 128 (QuantizeLinear along the rows of x
   * as a matrix), then the integer product with the column scales applied in the same kernel
   * (MatMulIntegerToFloat) and the row scales after it. The caller adds the bias (its fused ops take it).
   */
  const quantisedProduct = (x0: string, name: string, w0: Weight, out: string, smooth = true): void => {
    const [x, w] = smooth ? smoothed(x0, name, w0) : [x0, w0];
    const [rows, cols] = w.dims as [number, number];
    const { q, scale } = quantisePerColumn(w);
    init.push({ name: `${name}.weight.q`, type: 'int8', dims: w.dims, data: q });
    init.push({ name: `${name}.weight.scale`, type: 'float', dims: [scale.length], data: scale });
    if (!init.some((i) => i.name === `shape.rows.${rows}`)) init.push({ name: `shape.rows.${rows}`, type: 'int64', dims: [2], data: BigInt64Array.of(-1n, BigInt(rows)) });
    const t = (s: string) => `${name}.${s}`;
    nodes.push(
      { op: 'Reshape', inputs: [x, `shape.rows.${rows}`], outputs: [t('x2d')] },
      // max |x| per row as max(max x, −min x): two reductions, no |x| written out.
      { op: 'ReduceMax', inputs: [t('x2d'), 'axis_last'], outputs: [t('max')], attributes: { keepdims: 0 } },
      { op: 'ReduceMin', inputs: [t('x2d'), 'axis_last'], outputs: [t('min')], attributes: { keepdims: 0 } },
      { op: 'Neg', inputs: [t('min')], outputs: [t('-min')] },
      { op: 'Max', inputs: [t('max'), t('-min'), 'q.tiny'], outputs: [t('amax+')] },
      { op: 'Div', inputs: [t('amax+'), 'q.int8_max'], outputs: [t('row_scale')] },
      { op: 'Shape', inputs: [t('row_scale')], outputs: [t('n')] },
      { op: 'Expand', inputs: ['q.zero_u8', t('n')], outputs: [t('row_zero')] },
      { op: 'QuantizeLinear', inputs: [t('x2d'), t('row_scale'), t('row_zero')], outputs: [t('xq')], attributes: { axis: 0 } },
      { op: 'MatMulIntegerToFloat', domain: 'com.microsoft', inputs: [t('xq'), `${name}.weight.q`, 'q.one', `${name}.weight.scale`, 'q.zero_u8'], outputs: [t('cols')] },
      { op: 'Unsqueeze', inputs: [t('row_scale'), 'axis_last'], outputs: [t('row_scale1')] },
      { op: 'Mul', inputs: [t('cols'), t('row_scale1')], outputs: [t('y2d')] },
      { op: 'Reshape', inputs: [t('y2d'), shape3d(cols)], outputs: [out] },
    );
  };

  /** out = x · W + b, with W given as PyTorch's out × in; the bias is added by the caller's fused op when `bias` is false. */
  const dense = (x: string, prefix: string, out: string, bias: boolean, kind: DenseKind, w: Weight = transposed(need(weights, `${prefix}.weight`))): string => {
    const b = bias ? [f32(`${prefix}.bias`, need(weights, `${prefix}.bias`))] : [];
    if (precision === 'f32' || keepFloat.has(kind)) {
      nodes.push({ op: 'MatMul', inputs: [x, f32(`${prefix}.weight.t`, w)], outputs: [bias ? `${out}.nobias` : out] });
      if (bias) nodes.push({ op: 'Add', inputs: [`${out}.nobias`, b[0]!], outputs: [out] });
      return out;
    }
    if (bias) {
      quantisedProduct(x, prefix, w, `${out}.nobias`);
      nodes.push({ op: 'Add', inputs: [`${out}.nobias`, b[0]!], outputs: [out] });
    } else quantisedProduct(x, prefix, w, out);
    return out;
  };

  // Embeddings: word + position (+ token type 0, folded into the position table), then LayerNorm.
  const pos = need(weights, 'embeddings.position_embeddings.weight');
  const type0 = need(weights, 'embeddings.token_type_embeddings.weight').data.subarray(0, H);
  const posType = new Float32Array(pos.data.length);
  for (let i = 0; i < pos.data.length; i++) posType[i] = pos.data[i]! + type0[i % H]!;
  f32('embeddings.position_type', { dims: pos.dims, data: posType });
  f32('embeddings.word', need(weights, 'embeddings.word_embeddings.weight'));
  init.push({ name: 'zero', type: 'int64', dims: [1], data: BigInt64Array.of(0n) });
  init.push({ name: 'axis1', type: 'int64', dims: [1], data: BigInt64Array.of(1n) });
  init.push({ name: 'axis_last', type: 'int64', dims: [1], data: BigInt64Array.of(-1n) });
  nodes.push(
    { op: 'Gather', inputs: ['embeddings.word', 'input_ids'], outputs: ['word'] },
    { op: 'Shape', inputs: ['input_ids'], outputs: ['tokens'], attributes: { start: 1, end: 2 } },
    { op: 'Slice', inputs: ['embeddings.position_type', 'zero', 'tokens', 'zero'], outputs: ['position'] },
    { op: 'Add', inputs: ['word', 'position'], outputs: ['embedded'] },
    {
      op: 'LayerNormalization',
      inputs: ['embedded', f32('embeddings.ln.w', need(weights, 'embeddings.LayerNorm.weight')), f32('embeddings.ln.b', need(weights, 'embeddings.LayerNorm.bias'))],
      outputs: ['h0'],
      attributes: { axis: -1 },
      floatAttributes: eps,
    },
    { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_i32'], attributes: { to: CAST_TO.int32 } },
    { op: 'Shape', inputs: ['input_ids'], outputs: ['batch_tokens'] },
  );
  const mask = padded ? ['mask_i32'] : [];

  /**
   * LayerNorm(input + bias + skip): what com.microsoft's SkipLayerNormalization computes, as two Adds and
   * the standard LayerNormalization, which onnxruntime's CPU kernels run about 4× faster (measured on
   * this model: 0.75 s against 2.8 s of 18 s; see bench/embedder.ts).
   */
  const residualNorm = (input: string, skip: string, bias: string, gamma: string, beta: string, out: string) => {
    nodes.push(
      { op: 'Add', inputs: [input, bias], outputs: [`${out}.biased`] },
      { op: 'Add', inputs: [`${out}.biased`, skip], outputs: [`${out}.sum`] },
      { op: 'LayerNormalization', inputs: [`${out}.sum`, gamma, beta], outputs: [out], attributes: { axis: -1 }, floatAttributes: eps },
    );
  };
  let x = 'h0';
  for (let l = 0; l < shape.layers; l++) {
    const p = `encoder.layer.${l}`;
    // Query, key and value weights side by side (hidden × 3·hidden), as the Attention operator takes them.
    const q = transposed(need(weights, `${p}.attention.self.query.weight`));
    const k = transposed(need(weights, `${p}.attention.self.key.weight`));
    const v = transposed(need(weights, `${p}.attention.self.value.weight`));
    const qkv = new Float32Array(H * 3 * H);
    for (let r = 0; r < H; r++) {
      qkv.set(q.data.subarray(r * H, (r + 1) * H), r * 3 * H);
      qkv.set(k.data.subarray(r * H, (r + 1) * H), r * 3 * H + H);
      qkv.set(v.data.subarray(r * H, (r + 1) * H), r * 3 * H + 2 * H);
    }
    const qkvBias = new Float32Array(3 * H);
    qkvBias.set(need(weights, `${p}.attention.self.query.bias`).data, 0);
    qkvBias.set(need(weights, `${p}.attention.self.key.bias`).data, H);
    qkvBias.set(need(weights, `${p}.attention.self.value.bias`).data, 2 * H);
    // The attention output's smoothing divides its input channels, which are the value projection's
    // output channels mixed by the attention weights: applied to the value weights and bias instead of
    // as a Mul on the activations (per-column quantisation of those columns is unchanged by it).
    let attOutWeight = transposed(need(weights, `${p}.attention.output.dense.weight`));
    const attS = keepFloat.has('qkv') || keepFloat.has('attentionOutput') ? undefined : smoothing_scale(`${p}.attention.output.dense`, attOutWeight);
    if (attS) {
      attOutWeight = rowsScaled(attOutWeight, attS);
      for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) qkv[r * 3 * H + 2 * H + c]! /= attS[c]!;
      for (let c = 0; c < H; c++) qkvBias[2 * H + c]! /= attS[c]!;
    }
    if (precision === 'f32' || keepFloat.has('qkv')) {
      nodes.push({
        op: 'Attention',
        domain: 'com.microsoft',
        inputs: [x, f32(`${p}.qkv.w`, { dims: [H, 3 * H], data: qkv }), f32(`${p}.qkv.b`, { dims: [3 * H], data: qkvBias }), ...mask],
        outputs: [`${p}.att`],
        attributes: { num_heads: heads },
      });
    } else {
      // The projection as one quantised product; then attention proper (bias, scores, softmax, mix) in float.
      quantisedProduct(x, `${p}.qkv`, { dims: [H, 3 * H], data: qkv }, `${p}.qkv`);
      nodes.push(
        { op: 'Split', inputs: [`${p}.qkv`], outputs: [`${p}.q`, `${p}.k`, `${p}.v`], attributes: { axis: -1, num_outputs: 3 } },
        {
          op: 'MultiHeadAttention',
          domain: 'com.microsoft',
          inputs: [`${p}.q`, `${p}.k`, `${p}.v`, f32(`${p}.qkv.b`, { dims: [3 * H], data: qkvBias }), ...mask],
          outputs: [`${p}.att`],
          attributes: { num_heads: heads },
        },
      );
    }
    const att = attS
      ? (quantisedProduct(`${p}.att`, `${p}.attention.output.dense`, attOutWeight, `${p}.att.out`, false), `${p}.att.out`)
      : dense(`${p}.att`, `${p}.attention.output.dense`, `${p}.att.out`, false, 'attentionOutput');
    residualNorm(
      att,
      x,
      f32(`${p}.att.out.b`, need(weights, `${p}.attention.output.dense.bias`)),
      f32(`${p}.att.ln.w`, need(weights, `${p}.attention.output.LayerNorm.weight`)),
      f32(`${p}.att.ln.b`, need(weights, `${p}.attention.output.LayerNorm.bias`)),
      `${p}.mid`,
    );
    const inter = dense(`${p}.mid`, `${p}.intermediate.dense`, `${p}.inter`, false, 'intermediate');
    nodes.push({ op: 'BiasGelu', domain: 'com.microsoft', inputs: [inter, f32(`${p}.inter.b`, need(weights, `${p}.intermediate.dense.bias`))], outputs: [`${p}.gelu`] });
    const ffn = dense(`${p}.gelu`, `${p}.output.dense`, `${p}.ffn`, false, 'output');
    residualNorm(
      ffn,
      `${p}.mid`,
      f32(`${p}.out.b`, need(weights, `${p}.output.dense.bias`)),
      f32(`${p}.out.ln.w`, need(weights, `${p}.output.LayerNorm.weight`)),
      f32(`${p}.out.ln.b`, need(weights, `${p}.output.LayerNorm.bias`)),
      `${p}.h`,
    );
    x = `${p}.h`;
  }

  // Mean over the real tokens (padding masked out), then unit length: sentence-transformers' Pooling + Normalize.
  nodes.push(
    { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attributes: { to: CAST_TO.float } },
    { op: 'Unsqueeze', inputs: ['mask_f', 'axis_last'], outputs: ['mask_f3'] },
    { op: 'Mul', inputs: [x, 'mask_f3'], outputs: ['masked'] },
    { op: 'ReduceSum', inputs: ['masked', 'axis1'], outputs: ['summed'], attributes: { keepdims: 0 } },
    { op: 'ReduceSum', inputs: ['mask_f', 'axis1'], outputs: ['count'], attributes: { keepdims: 1 } },
    { op: 'Div', inputs: ['summed', 'count'], outputs: ['mean'] },
    { op: 'LpNormalization', inputs: ['mean'], outputs: ['embedding'], attributes: { axis: -1, p: 2 } },
  );
  return {
    name: `bert_sentence_${precision}${padded ? '' : '_unpadded'}`,
    // ReduceMax takes its axes as an input from opset 18.
    opset: 18,
    inputs: [
      { name: 'input_ids', type: 'int64', shape: ['batch', 'tokens'] },
      { name: 'attention_mask', type: 'int64', shape: ['batch', 'tokens'] },
    ],
    outputs: [{ name: 'embedding', type: 'float', shape: ['batch', H] }],
    nodes,
    initializers: init,
  };
}
