// A minimal writer of ONNX models (protocol-buffer encoded ModelProto) for the small fixed graphs the
// vector scan runs on onnxruntime: graph inputs, nodes with integer attributes, graph outputs; no
// initializers. Field numbers are those of onnx/onnx.proto3 (IR version 8, default opset 17).

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
}

export interface GraphSpec {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly nodes: readonly NodeSpec[];
  readonly opset?: number;
}

class Writer {
  private readonly parts: number[] = [];

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
    for (const b of value) this.parts.push(b);
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
    return Uint8Array.from(this.parts);
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

const ATTRIBUTE_INT = 2;

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
        }),
      );
      g.string(2, graph.name);
      for (const input of graph.inputs) g.message(11, (x) => valueInfo(x, input));
      for (const output of graph.outputs) g.message(12, (x) => valueInfo(x, output));
    })
    .message(8, (o) => o.string(1, '').int(2, graph.opset ?? 17))
    .finish();
}
