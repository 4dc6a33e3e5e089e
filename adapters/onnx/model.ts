// A minimal writer of ONNX models (protocol-buffer encoded ModelProto) for the fixed graphs dqe runs on
// onnxruntime: the vector scan's small kernels and the sentence encoder built from its weights. Graph
// inputs, nodes (standard or onnxruntime's `com.microsoft` contrib ops) with integer or float
// attributes, initializers, graph outputs. Field numbers are those of onnx/onnx.proto3 (IR version 8,
// default opset 17).

/**
 * The largest |code| the int8 operand of every uint8 × int8 product here may hold. On x86 CPUs without VNNI
 * (AVX2 only, e.g. some AMD EPYC) onnxruntime's MLAS multiplies with vpmaddubsw, which adds two adjacent uint8 × int8
 * products in 16 bits and saturates above 32,767: with int8 codes up to 127 the "exact" integer products came
 * out wrong there (2,279 of 2,400 entries on a worst-case 8 × 64 × 300 test; cosine 0.985 for the int8 MiniLM).
 * With |code| ≤ 64, 2 · 255 · 64 = 32,640 fits, so the products are exact on every CPU (VNNI or not). The
 * uint8 operand keeps its full range.
 */
export const INT8_CODE_MAX = 64;

/** ONNX TensorProto.DataType values used here. */
export const ElemType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;
export type ElemTypeName = keyof typeof ElemType;

export interface ValueInfo {
  readonly name: string;
  readonly type: ElemTypeName;
  /** A number for a fixed size, a string for a symbolic one (e.g. 'rows'). */
  readonly shape: readonly (number | string)[];
}

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Integer attributes (e.g. TopK's axis, Cast's to). */
  readonly attributes?: Readonly<Record<string, number>>;
  /** Float attributes (e.g. LayerNormalization's epsilon). */
  readonly floatAttributes?: Readonly<Record<string, number>>;
  /** Operator set domain: '' for standard ONNX, 'com.microsoft' for onnxruntime's contrib ops. @default '' */
  readonly domain?: '' | 'com.microsoft';
}

/** A constant tensor stored in the model (weights). */
export interface Initializer {
  readonly name: string;
  readonly type: ElemTypeName;
  readonly dims: readonly number[];
  /** Little-endian element bytes, row-major. */
  readonly data: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
}

export interface GraphSpec {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly Initializer[];
  readonly opset?: number;
}

class Writer {
  // Small fields go to `parts`; byte fields (weights of megabytes) are kept as chunks, not copied per byte.
  private parts: number[] = [];
  private readonly chunks: Uint8Array[] = [];

  private flush(): void {
    if (this.parts.length > 0) this.chunks.push(Uint8Array.from(this.parts));
    this.parts = [];
  }

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
    return this;
  }

  int(field: number, value: number): this {
    return this.varint(field << 3).varint(value);
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2).varint(value.length);
    this.flush();
    this.chunks.push(value);
    return this;
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.varint((field << 3) | 5);
    for (const x of b) this.parts.push(x);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function valueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, ElemType[v.type]).message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      }),
    ),
  );
}

const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const CONTRIB_OPSET = 1;

function tensor(w: Writer, t: Initializer): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, ElemType[t.type]).string(8, t.name).bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** The serialised ModelProto of `graph`, ready for `InferenceSession.create`. */
export function onnxModel(graph: GraphSpec): Uint8Array {
  return new Writer()
    .int(1, 8)
    .string(2, 'dqe')
    .message(7, (g) => {
      graph.nodes.forEach((node, i) =>
        g.message(1, (n) => {
          for (const input of node.inputs) n.string(1, input);
          for (const output of node.outputs) n.string(2, output);
          n.string(3, `${node.op}_${i}`).string(4, node.op);
          for (const [name, value] of Object.entries(node.attributes ?? {})) n.message(5, (a) => a.string(1, name).int(3, value).int(20, ATTRIBUTE_INT));
          for (const [name, value] of Object.entries(node.floatAttributes ?? {})) n.message(5, (a) => a.string(1, name).float(2, value).int(20, ATTRIBUTE_FLOAT));
          if (node.domain) n.string(7, node.domain);
        }),
      );
      g.string(2, graph.name);
      for (const t of graph.initializers ?? []) g.message(5, (x) => tensor(x, t));
      for (const input of graph.inputs) g.message(11, (x) => valueInfo(x, input));
      for (const output of graph.outputs) g.message(12, (x) => valueInfo(x, output));
    })
    .message(8, (o) => o.string(1, '').int(2, graph.opset ?? 17))
    .message(8, (o) => o.string(1, 'com.microsoft').int(2, CONTRIB_OPSET))
    .finish();
}
