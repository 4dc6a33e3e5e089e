// Blocked matrix products with a top-k per row, run by onnxruntime's CPU kernels (MLAS: AVX-512 float GEMM,
// VNNI uint8 × int8 GEMM, alone or scaled to float32 per column). JavaScript loops reach about 1 G multiply-adds
// per second here; these graphs reach ~30 G (float) and ~150 G (int8) per CPU second on the 2-core benchmark
// machine (bench/ann.ts).
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import { INT8_CODE_MAX, onnxModel, type GraphSpec } from './model.js';

export { INT8_CODE_MAX };

/** onnxruntime-node's version, for summaries and reports. */
export const ORT_VERSION = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;

export interface TopK<V> {
  /** m × k scores, best first (ties: the lower column first, as ONNX TopK specifies). */
  values: V;
  /** m × k column indices. */
  indices: BigInt64Array;
}

const TOPK = { op: 'TopK', inputs: ['scores', 'k'], outputs: ['values', 'indices'], attributes: { axis: -1, largest: 1, sorted: 1 } };
const K_INPUT = { name: 'k', type: 'int64', shape: [1] } as const;
const OUTPUTS = (type: 'float' | 'int32'): GraphSpec['outputs'] => [
  { name: 'values', type, shape: ['m', 'k'] },
  { name: 'indices', type: 'int64', shape: ['m', 'k'] },
];

/** scores = a · bᵀ + bias (float32; a: m × d, b: n × d row-major, bias: 1 × n), then the top k per row. */
const floatGraph = (d: number): GraphSpec => ({
  name: 'float_topk',
  inputs: [
    { name: 'a', type: 'float', shape: ['m', d] },
    { name: 'b', type: 'float', shape: ['n', d] },
    { name: 'bias', type: 'float', shape: [1, 'n'] },
    K_INPUT,
  ],
  nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'bias'], outputs: ['scores'], attributes: { transB: 1 } }, TOPK],
  outputs: OUTPUTS('float'),
});


/** scores = (a - 128) · b exactly in int32 (a: m × d uint8, b: d × n int8 within ±INT8_CODE_MAX), then the top k per row. */
const int8Graph = (d: number): GraphSpec => ({
  name: 'int8_topk',
  inputs: [
    { name: 'a', type: 'uint8', shape: ['m', d] },
    { name: 'b', type: 'int8', shape: [d, 'n'] },
    { name: 'zero', type: 'uint8', shape: [] },
    K_INPUT,
  ],
  nodes: [{ op: 'MatMulInteger', inputs: ['a', 'b', 'zero'], outputs: ['scores'] }, TOPK],
  outputs: OUTPUTS('int32'),
});

/** scores = scale · ((a - 128) · b) + bias (a: m × d uint8, b: d × n int8 within ±INT8_CODE_MAX, bias: 1 × n), then the top k. */
const int8BiasGraph = (d: number): GraphSpec => ({
  name: 'int8_bias_topk',
  inputs: [
    { name: 'a', type: 'uint8', shape: ['m', d] },
    { name: 'b', type: 'int8', shape: [d, 'n'] },
    { name: 'zero', type: 'uint8', shape: [] },
    { name: 'scale', type: 'float', shape: [] },
    { name: 'bias', type: 'float', shape: [1, 'n'] },
    K_INPUT,
  ],
  nodes: [
    { op: 'MatMulInteger', inputs: ['a', 'b', 'zero'], outputs: ['dots'] },
    { op: 'Cast', inputs: ['dots'], outputs: ['real'], attributes: { to: 1 } },
    { op: 'Mul', inputs: ['real', 'scale'], outputs: ['scaled'] },
    { op: 'Add', inputs: ['scaled', 'bias'], outputs: ['scores'] },
    TOPK,
  ],
  outputs: OUTPUTS('float'),
});

/**
 * scores = aScale · bScale[c] · ((a - 128) · b)[r, c] + bias[c] (onnxruntime's MatMulIntegerToFloat: the exact int32
 * product scaled per column in float32; a: m × d uint8, b: d × n int8 within ±INT8_CODE_MAX, bScale and bias: n),
 * then the top k per row.
 */
const int8ScaledGraph = (d: number): GraphSpec => ({
  name: 'int8_scaled_topk',
  inputs: [
    { name: 'a', type: 'uint8', shape: ['m', d] },
    { name: 'b', type: 'int8', shape: [d, 'n'] },
    { name: 'aScale', type: 'float', shape: [] },
    { name: 'bScale', type: 'float', shape: ['n'] },
    { name: 'zero', type: 'uint8', shape: [] },
    { name: 'bias', type: 'float', shape: ['n'] },
    K_INPUT,
  ],
  nodes: [{ op: 'MatMulIntegerToFloat', domain: 'com.microsoft', inputs: ['a', 'b', 'aScale', 'bScale', 'zero', '', 'bias'], outputs: ['scores'] }, TOPK],
  outputs: OUTPUTS('float'),
});

/** products = a · bᵀ (float32; a: m × d, b: n × d row-major). */
const productGraph = (d: number): GraphSpec => ({
  name: 'float_products',
  inputs: [
    { name: 'a', type: 'float', shape: ['m', d] },
    { name: 'b', type: 'float', shape: ['n', d] },
  ],
  nodes: [{ op: 'Gemm', inputs: ['a', 'b'], outputs: ['products'], attributes: { transB: 1 } }],
  outputs: [{ name: 'products', type: 'float', shape: ['m', 'n'] }],
});

/** A cached session and the runs in flight on it (a released session is disposed when its last run ends). */
interface Cached {
  readonly session: Promise<ort.InferenceSession>;
  running: number;
  released: boolean;
}

const sessions = new Map<string, Cached>();

async function dispose(c: Cached): Promise<void> {
  try {
    await (await c.session).release();
  } catch {
    // A session that failed to build, or is gone already: nothing to free.
  }
}

/**
 * Releases every cached session. A session keeps native memory from its runs until it is released (measured:
 * the IVF build and 5,000 queries over 100k × 384 rows left ~170 MB resident that releasing returned), so a
 * worker releases them whenever it falls idle between activities; the next call builds them again (tens of
 * ms). A session with runs in flight is disposed when they end.
 */
export async function releaseSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const c of all) {
    c.released = true;
    if (c.running === 0) await dispose(c);
  }
}

/** Runs `graph` on `feeds` through the cached session for it and `threads`. */
async function run(graph: GraphSpec, threads: number, feeds: ort.InferenceSession.FeedsType): Promise<ort.InferenceSession.ReturnType> {
  const key = `${graph.name}:${JSON.stringify(graph.inputs)}:${threads}`;
  let c = sessions.get(key);
  if (!c) {
    const session = ort.InferenceSession.create(onnxModel(graph), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    c = { session, running: 0, released: false };
    sessions.set(key, c);
  }
  c.running++;
  try {
    return await (await c.session).run(feeds);
  } finally {
    c.running--;
    if (c.released && c.running === 0) await dispose(c);
  }
}

const kTensor = (k: number): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]);
const ZERO_POINT = new Uint8Array([128]);

function check(what: string, array: { length: number }, expected: number): void {
  if (array.length !== expected) throw new RangeError(`${what}: ${array.length} elements, expected ${expected}`);
}

/** Top `k` (≤ n) of a · bᵀ + bias per row of a, in float32. */
export async function floatTopK(a: Float32Array, m: number, b: Float32Array, n: number, d: number, bias: Float32Array, k: number, threads: number): Promise<TopK<Float32Array>> {
  check('floatTopK a', a, m * d);
  check('floatTopK b', b, n * d);
  check('floatTopK bias', bias, n);
  const out = await run(floatGraph(d), threads, {
    a: new ort.Tensor('float32', a, [m, d]),
    b: new ort.Tensor('float32', b, [n, d]),
    bias: new ort.Tensor('float32', bias, [1, n]),
    k: kTensor(k),
  });
  return { values: out.values!.data as Float32Array, indices: out.indices!.data as BigInt64Array };
}

/** Top `k` (≤ n) of (a - 128) · b per row of a, exact int32 (a: m × d uint8, b: d × n int8). */
export async function int8TopK(a: Uint8Array, m: number, b: Int8Array, n: number, d: number, k: number, threads: number): Promise<TopK<Int32Array>> {
  check('int8TopK a', a, m * d);
  check('int8TopK b', b, n * d);
  const out = await run(int8Graph(d), threads, {
    a: new ort.Tensor('uint8', a, [m, d]),
    b: new ort.Tensor('int8', b, [d, n]),
    zero: new ort.Tensor('uint8', ZERO_POINT, []),
    k: kTensor(k),
  });
  return { values: out.values!.data as Int32Array, indices: out.indices!.data as BigInt64Array };
}

/** Top `k` (≤ n) of scale · ((a - 128) · b) + bias per row of a (float32 after the exact int32 product). */
export async function int8BiasTopK(
  a: Uint8Array,
  m: number,
  b: Int8Array,
  n: number,
  d: number,
  scale: number,
  bias: Float32Array,
  k: number,
  threads: number,
): Promise<TopK<Float32Array>> {
  check('int8BiasTopK a', a, m * d);
  check('int8BiasTopK b', b, n * d);
  check('int8BiasTopK bias', bias, n);
  const out = await run(int8BiasGraph(d), threads, {
    a: new ort.Tensor('uint8', a, [m, d]),
    b: new ort.Tensor('int8', b, [d, n]),
    zero: new ort.Tensor('uint8', ZERO_POINT, []),
    scale: new ort.Tensor('float32', Float32Array.from([scale]), []),
    bias: new ort.Tensor('float32', bias, [1, n]),
    k: kTensor(k),
  });
  return { values: out.values!.data as Float32Array, indices: out.indices!.data as BigInt64Array };
}

/** Top `k` (≤ n) of aScale · bScale[c] · ((a - 128) · b)[r, c] + bias[c] per row r of a (float32 after the exact int32 product). */
export async function int8ScaledTopK(
  a: Uint8Array,
  m: number,
  b: Int8Array,
  n: number,
  d: number,
  aScale: number,
  bScale: Float32Array,
  bias: Float32Array,
  k: number,
  threads: number,
): Promise<TopK<Float32Array>> {
  check('int8ScaledTopK a', a, m * d);
  check('int8ScaledTopK b', b, n * d);
  check('int8ScaledTopK bScale', bScale, n);
  check('int8ScaledTopK bias', bias, n);
  const out = await run(int8ScaledGraph(d), threads, {
    a: new ort.Tensor('uint8', a, [m, d]),
    b: new ort.Tensor('int8', b, [d, n]),
    aScale: new ort.Tensor('float32', Float32Array.from([aScale]), []),
    bScale: new ort.Tensor('float32', bScale, [n]),
    zero: new ort.Tensor('uint8', ZERO_POINT, []),
    bias: new ort.Tensor('float32', bias, [n]),
    k: kTensor(k),
  });
  return { values: out.values!.data as Float32Array, indices: out.indices!.data as BigInt64Array };
}

/** a · bᵀ in float32 (a: m × d, b: n × d row-major), as a row-major m × n array. */
export async function floatProducts(a: Float32Array, m: number, b: Float32Array, n: number, d: number, threads: number): Promise<Float32Array> {
  check('floatProducts a', a, m * d);
  check('floatProducts b', b, n * d);
  const out = await run(productGraph(d), threads, { a: new ort.Tensor('float32', a, [m, d]), b: new ort.Tensor('float32', b, [n, d]) });
  return out.products!.data as Float32Array;
}
