// WebAssembly SIMD kernels, assembled here byte by byte, that compute the sampler's exact float64 dot products and squared distances of float32 rows four at a time.
//
// Exactness: every result is summed per row in index order with one f64 mul
// and one f64 add per element (WebAssembly has no fused multiply-add and
// promotes f32 to f64 exactly), so each lane performs the very same IEEE
// operations as the scalar loops in core/sampling/kernels.ts and the results are
// bit-identical. SIMD lanes hold different rows, never different elements of
// one sum. The speed comes from doing two rows per instruction and from
// having no bounds checks.
//
// The rows must live in the kernel's own WasmMemory: either the
// caller allocated them with allocateVectors (no copy), or the sampler copies
// them in when that is affordable (see kernelSpaceFor).

/** Scratch after the matrix: the float64 sum vector (dim values) and four float64 results. */
interface Layout {
  readonly matrixBytes: number;
  readonly sumOffset: number;
  readonly outOffset: number;
  readonly totalBytes: number;
}

export interface KernelSpace {
  /** The rows, a view into the kernel memory (the caller's own array when allocated with allocateVectors). */
  readonly vectors: Float32Array;
  /** float64 vector the dot kernel multiplies rows with; the caller keeps it up to date. */
  readonly sum: Float64Array;
  /** Results of the last dot4/dist4 call. */
  readonly out: Float64Array;
  /** out[q] = dot64(row at element offset o_q, sum). */
  readonly dot4: (o0: number, o1: number, o2: number, o3: number) => void;
  /** out[q] = squaredDistance64(row at o, row at o_q). */
  readonly dist4: (o: number, o0: number, o1: number, o2: number, o3: number) => void;
}

// The project's TypeScript libs (ES2023 + node) do not declare WebAssembly, so the few members used are typed here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmModule {
  readonly kind?: never;
}
interface WasmApi {
  readonly Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB

interface Registered {
  readonly memory: WasmMemory;
  readonly layout: Layout;
}

// Matrices handed out by allocateVectors, by their buffer, with the scratch space reserved after them.
const registry = new WeakMap<ArrayBufferLike, Registered>();

function layoutFor(length: number, dim: number): Layout | null {
  const matrixBytes = length * 4;
  const sumOffset = Math.ceil(matrixBytes / 16) * 16;
  const outOffset = sumOffset + dim * 8;
  const totalBytes = outOffset + 4 * 8;
  if (totalBytes > MAX_PAGES * PAGE) return null;
  return { matrixBytes, sumOffset, outOffset, totalBytes };
}

function newMemory(api: WasmApi, bytes: number): WasmMemory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  return new api.Memory({ initial: pages, maximum: pages });
}

/**
 * A zeroed Float32Array for an n×dim matrix that the sampler can use without
 * copying it (it lives in a WasmMemory with room for the kernels'
 * scratch). Falls back to a plain Float32Array where that is impossible
 * (no WebAssembly SIMD, or more than 4 GiB).
 */
export function allocateVectors(n: number, dim: number): Float32Array {
  const length = n * dim;
  const layout = simdModule() === null || wasmApi === undefined ? null : layoutFor(length, dim);
  if (layout === null || wasmApi === undefined) return new Float32Array(length);
  const memory = newMemory(wasmApi, layout.totalBytes);
  registry.set(memory.buffer, { memory, layout });
  return new Float32Array(memory.buffer, 0, length);
}

/**
 * Kernels over `vectors`: zero-copy when it came from allocateVectors, else
 * a copy when it is at most `copyLimitBytes`, else null (use the scalar loops).
 */
export function kernelSpaceFor(vectors: Float32Array, dim: number, copyLimitBytes: number): KernelSpace | null {
  const module = simdModule();
  if (module === null || wasmApi === undefined) return null;
  const registered = registry.get(vectors.buffer);
  if (registered !== undefined && vectors.byteOffset === 0 && registered.layout.sumOffset + dim * 8 <= registered.layout.outOffset) {
    return makeSpace(wasmApi, module, registered.memory, registered.layout, vectors, dim);
  }
  if (vectors.byteLength > copyLimitBytes) return null;
  const layout = layoutFor(vectors.length, dim);
  if (layout === null) return null;
  const memory = newMemory(wasmApi, layout.totalBytes);
  const copy = new Float32Array(memory.buffer, 0, vectors.length);
  copy.set(vectors);
  return makeSpace(wasmApi, module, memory, layout, copy, dim);
}

function makeSpace(
  api: WasmApi,
  module: WasmModule, memory: WasmMemory, layout: Layout, vectors: Float32Array, dim: number): KernelSpace {
  const instance = new api.Instance(module, { env: { memory } });
  const exports = instance.exports as {
    dot4: (o0: number, o1: number, o2: number, o3: number, s: number, dim: number, out: number) => void;
    dist4: (o: number, o0: number, o1: number, o2: number, o3: number, dim: number, out: number) => void;
  };
  const sum = new Float64Array(memory.buffer, layout.sumOffset, dim);
  const out = new Float64Array(memory.buffer, layout.outOffset, 4);
  const { sumOffset, outOffset } = layout;
  const wasmDot4 = exports.dot4;
  const wasmDist4 = exports.dist4;
  return {
    vectors,
    sum,
    out,
    // Element offsets to byte offsets (<< 2 is exact: the matrix is below 4 GiB).
    dot4: (o0, o1, o2, o3) => wasmDot4(o0 * 4, o1 * 4, o2 * 4, o3 * 4, sumOffset, dim, outOffset),
    dist4: (o, o0, o1, o2, o3) => wasmDist4(o * 4, o0 * 4, o1 * 4, o2 * 4, o3 * 4, dim, outOffset),
  };
}

/**
 * The blocked centroid sampler's per-row state in kernel memory, so that its pass over every row per pick runs as a
 * SIMD kernel: estimates f and squared norms (float64, n each), the candidate columns (float32, `columns` × n,
 * column-major) and the list of rows near the top (int32, n).
 */
export interface EstimateSpace {
  readonly f: Float64Array;
  readonly norms: Float64Array;
  readonly columns: Float32Array;
  readonly near: Int32Array;
  /**
   * f[i] += norms[i] − 2·columns[column·n + i] for i < rows, then the rows whose estimate is within `width` of the
   * largest into near[0 ..), in row order; returns how many.
   */
  readonly addAndCollect: (column: number, rows: number, width: number) => number;
}

/** An EstimateSpace for n rows and `columns` columns, or null without WebAssembly SIMD or beyond 4 GiB. */
export function estimateSpace(n: number, columns: number): EstimateSpace | null {
  const module = simdModule();
  if (module === null || wasmApi === undefined) return null;
  const normsOffset = n * 8;
  const columnsOffset = 2 * n * 8;
  const nearOffset = columnsOffset + Math.ceil((columns * n * 4) / 8) * 8;
  const totalBytes = nearOffset + n * 4;
  if (totalBytes > MAX_PAGES * PAGE) return null;
  const memory = newMemory(wasmApi, totalBytes);
  const exports = new wasmApi.Instance(module, { env: { memory } }).exports as {
    addCollect: (f: number, norms: number, col: number, rows: number, width: number, near: number) => number;
  };
  const wasmAddCollect = exports.addCollect;
  return {
    f: new Float64Array(memory.buffer, 0, n),
    norms: new Float64Array(memory.buffer, normsOffset, n),
    columns: new Float32Array(memory.buffer, columnsOffset, columns * n),
    near: new Int32Array(memory.buffer, nearOffset, n),
    addAndCollect: (column, rows, width) => wasmAddCollect(0, normsOffset, columnsOffset + column * n * 4, rows, width, nearOffset),
  };
}

let compiled: WasmModule | null | undefined;

/** The compiled kernel module, or null where WebAssembly SIMD is unavailable. */
function simdModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = wasmApi === undefined ? null : new wasmApi.Module(assembleKernels());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

// ---------------------------------------------------------------------------
// A minimal assembler for the two functions.

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: readonly (readonly number[])[]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: readonly number[]): number[] => [id, ...uleb(body.length), ...body];

const op = {
  get: (i: number): number[] => [0x20, ...uleb(i)],
  set: (i: number): number[] => [0x21, ...uleb(i)],
  tee: (i: number): number[] => [0x22, ...uleb(i)],
  i32: (v: number): number[] => [0x41, ...sleb(v)],
  f64: (v: number): number[] => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, v, true);
    return [0x44, ...bytes];
  },
  i32Add: [0x6a],
  i32Eqz: [0x45],
  i32LtU: [0x49],
  i32And: [0x71],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  block: [0x02, 0x40],
  if: [0x04, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number): number[] => [0x0c, ...uleb(depth)],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
  i32Load: [0x28, 2, 0],
  i32Store: [0x36, 2, 0],
  f32Load: [0x2a, 2, 0],
  f64Load: [0x2b, 3, 0],
  f64Lt: [0x63],
  f64Gt: [0x64],
  f64Ge: [0x66],
  f64Store: (offset: number): number[] => [0x39, 3, ...uleb(offset)],
  f64Promote: [0xbb],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  v128Load: [0xfd, 0x00, 4, 0],
  /** v128.load / v128.store of two float64 at an address only known to be 8-byte aligned. */
  v128Load8: [0xfd, 0x00, 3, 0],
  v128Store8: [0xfd, 0x0b, 3, 0],
  v128Load64Zero: [0xfd, 0x5d, 3, 0],
  f64x2Splat: [0xfd, 0x14],
  f64x2Lt: [0xfd, 0x49],
  i64x2AllTrue: [0xfd, 0xc3, 0x01],
  v128Load64Splat: (offset: number): number[] => [0xfd, 0x0a, 3, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  shuffle: (lanes: readonly number[]): number[] => [0xfd, 0x0d, ...lanes],
  f64x2Extract: (lane: number): number[] => [0xfd, 0x21, lane],
  f64x2PromoteLow: [0xfd, 0x5f],
  f64x2Add: [0xfd, 0xf0, 0x01],
  f64x2Sub: [0xfd, 0xf1, 0x01],
  f64x2Mul: [0xfd, 0xf2, 0x01],
};

/** i8x16.shuffle lanes putting float q of the first operand and float q of the second in f32 lanes 0 and 1. */
function pairLanes(q: number): number[] {
  const a = [4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3];
  const b = a.map((x) => x + 16);
  return [...a, ...b, ...a, ...b];
}

/** i8x16.shuffle lanes putting float q of the first operand in f32 lanes 0 and 1. */
function splatLanes(q: number): number[] {
  const a = [4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3];
  return [...a, ...a, ...a, ...a];
}

interface FunctionDef {
  readonly exportName: string;
  readonly params: readonly number[];
  readonly results?: readonly number[];
  readonly locals: readonly number[];
  readonly body: readonly number[];
}

/** Byte address of element j (local) of an array of 2^shift-byte elements at byte offset `base` (local). */
const elementAddr = (base: number, j: number, shift: number): number[] => [...op.get(base), ...op.get(j), ...op.i32(shift), ...op.i32Shl, ...op.i32Add];
const f32Addr = (base: number, j: number): number[] => elementAddr(base, j, 2);
const f64Addr = (base: number, j: number): number[] => elementAddr(base, j, 3);
const i32Addr = f32Addr;

/**
 * dot4(o0, o1, o2, o3, s, dim, out): out[q] = sum_j row_q[j] * s[j] (f64, j in order).
 * Lanes: acc01 = (row0, row1), acc23 = (row2, row3).
 */
function dot4(): FunctionDef {
  const [o0, o1, o2, o3, s, dim, out] = [0, 1, 2, 3, 4, 5, 6];
  const [acc01, acc23, va, vb, vc, vd, sq] = [7, 8, 9, 10, 11, 12, 13];
  const [j, end4, sp] = [14, 15, 16];
  const [a0, a1, a2, a3, sv] = [17, 18, 19, 20, 21];
  const b: number[] = [];
  b.push(...op.v128Zero, ...op.set(acc01), ...op.v128Zero, ...op.set(acc23));
  b.push(...op.get(dim), ...op.i32(-4), ...op.i32And, ...op.set(end4), ...op.i32(0), ...op.set(j));
  b.push(...op.block, ...op.loop, ...op.get(j), ...op.get(end4), ...op.i32GeU, ...op.brIf(1));
  b.push(...f32Addr(o0, j), ...op.v128Load, ...op.set(va));
  b.push(...f32Addr(o1, j), ...op.v128Load, ...op.set(vb));
  b.push(...f32Addr(o2, j), ...op.v128Load, ...op.set(vc));
  b.push(...f32Addr(o3, j), ...op.v128Load, ...op.set(vd));
  b.push(...f64Addr(s, j), ...op.set(sp));
  for (let q = 0; q < 4; q++) {
    b.push(...op.get(sp), ...op.v128Load64Splat(8 * q), ...op.set(sq));
    for (const [acc, x, y] of [[acc01, va, vb], [acc23, vc, vd]] as const) {
      b.push(...op.get(acc), ...op.get(x), ...op.get(y), ...op.shuffle(pairLanes(q)), ...op.f64x2PromoteLow);
      b.push(...op.get(sq), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(acc));
    }
  }
  b.push(...op.get(j), ...op.i32(4), ...op.i32Add, ...op.set(j), ...op.br(0), ...op.end, ...op.end);
  b.push(...op.get(acc01), ...op.f64x2Extract(0), ...op.set(a0), ...op.get(acc01), ...op.f64x2Extract(1), ...op.set(a1));
  b.push(...op.get(acc23), ...op.f64x2Extract(0), ...op.set(a2), ...op.get(acc23), ...op.f64x2Extract(1), ...op.set(a3));
  // The last dim % 4 elements, continuing each row's sum in order.
  b.push(...op.block, ...op.loop, ...op.get(j), ...op.get(dim), ...op.i32GeU, ...op.brIf(1));
  b.push(...f64Addr(s, j), ...op.f64Load, ...op.set(sv));
  for (const [row, acc] of [[o0, a0], [o1, a1], [o2, a2], [o3, a3]] as const) {
    b.push(...op.get(acc), ...f32Addr(row, j), ...op.f32Load, ...op.f64Promote, ...op.get(sv), ...op.f64Mul, ...op.f64Add, ...op.set(acc));
  }
  b.push(...op.get(j), ...op.i32(1), ...op.i32Add, ...op.set(j), ...op.br(0), ...op.end, ...op.end);
  for (const [q, acc] of [a0, a1, a2, a3].entries()) b.push(...op.get(out), ...op.get(acc), ...op.f64Store(8 * q));
  return {
    exportName: 'dot4',
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [V128, V128, V128, V128, V128, V128, V128, I32, I32, I32, F64, F64, F64, F64, F64],
    body: b,
  };
}

/**
 * dist4(o, o0, o1, o2, o3, dim, out): out[q] = sum_j (row[j] - row_q[j])^2 (f64, j in order).
 * Lanes: acc01 = (row0, row1), acc23 = (row2, row3); the shared row is splatted.
 */
function dist4(): FunctionDef {
  const [o, o0, o1, o2, o3, dim, out] = [0, 1, 2, 3, 4, 5, 6];
  const [acc01, acc23, vx, va, vb, vc, vd, xq, t] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const [j, end4] = [16, 17];
  const [a0, a1, a2, a3, xv, d] = [18, 19, 20, 21, 22, 23];
  const b: number[] = [];
  b.push(...op.v128Zero, ...op.set(acc01), ...op.v128Zero, ...op.set(acc23));
  b.push(...op.get(dim), ...op.i32(-4), ...op.i32And, ...op.set(end4), ...op.i32(0), ...op.set(j));
  b.push(...op.block, ...op.loop, ...op.get(j), ...op.get(end4), ...op.i32GeU, ...op.brIf(1));
  b.push(...f32Addr(o, j), ...op.v128Load, ...op.set(vx));
  b.push(...f32Addr(o0, j), ...op.v128Load, ...op.set(va));
  b.push(...f32Addr(o1, j), ...op.v128Load, ...op.set(vb));
  b.push(...f32Addr(o2, j), ...op.v128Load, ...op.set(vc));
  b.push(...f32Addr(o3, j), ...op.v128Load, ...op.set(vd));
  for (let q = 0; q < 4; q++) {
    b.push(...op.get(vx), ...op.get(vx), ...op.shuffle(splatLanes(q)), ...op.f64x2PromoteLow, ...op.set(xq));
    for (const [acc, x, y] of [[acc01, va, vb], [acc23, vc, vd]] as const) {
      b.push(...op.get(xq), ...op.get(x), ...op.get(y), ...op.shuffle(pairLanes(q)), ...op.f64x2PromoteLow, ...op.f64x2Sub, ...op.set(t));
      b.push(...op.get(acc), ...op.get(t), ...op.get(t), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(acc));
    }
  }
  b.push(...op.get(j), ...op.i32(4), ...op.i32Add, ...op.set(j), ...op.br(0), ...op.end, ...op.end);
  b.push(...op.get(acc01), ...op.f64x2Extract(0), ...op.set(a0), ...op.get(acc01), ...op.f64x2Extract(1), ...op.set(a1));
  b.push(...op.get(acc23), ...op.f64x2Extract(0), ...op.set(a2), ...op.get(acc23), ...op.f64x2Extract(1), ...op.set(a3));
  b.push(...op.block, ...op.loop, ...op.get(j), ...op.get(dim), ...op.i32GeU, ...op.brIf(1));
  b.push(...f32Addr(o, j), ...op.f32Load, ...op.f64Promote, ...op.set(xv));
  for (const [row, acc] of [[o0, a0], [o1, a1], [o2, a2], [o3, a3]] as const) {
    b.push(...op.get(xv), ...f32Addr(row, j), ...op.f32Load, ...op.f64Promote, ...op.f64Sub, ...op.set(d));
    b.push(...op.get(acc), ...op.get(d), ...op.get(d), ...op.f64Mul, ...op.f64Add, ...op.set(acc));
  }
  b.push(...op.get(j), ...op.i32(1), ...op.i32Add, ...op.set(j), ...op.br(0), ...op.end, ...op.end);
  for (const [q, acc] of [a0, a1, a2, a3].entries()) b.push(...op.get(out), ...op.get(acc), ...op.f64Store(8 * q));
  return {
    exportName: 'dist4',
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [V128, V128, V128, V128, V128, V128, V128, V128, V128, I32, I32, F64, F64, F64, F64, F64, F64],
    body: b,
  };
}

/**
 * addCollect(f, norms, col, rows, width, near) → count: f[i] += norms[i] − 2·col[i] for i < rows (float64 f and
 * norms, float32 col), and the rows whose new f is within `width` of the largest into near[0 ..), in row order.
 * The same IEEE operations per row as the sampler's scalar loop (2·c is computed as c + c, the same value), two
 * rows per instruction; a pair of rows both below the running threshold (the usual case) costs no branch per row.
 */
function addCollect(): FunctionDef {
  const [f, norms, col, rows, width, near] = [0, 1, 2, 3, 4, 5];
  const [i, end2, count, w, r, a] = [6, 7, 8, 9, 10, 11];
  const [fmax, thr, x] = [12, 13, 14];
  const [thrv, v, c] = [15, 16, 17];
  const b: number[] = [];
  /** With the row's new estimate in x: collects row `index` + `lane` unless it is below the threshold. */
  const check = (lane: number): number[] => [
    ...op.get(x), ...op.get(thr), ...op.f64Lt, ...op.i32Eqz, ...op.if,
    ...op.get(x), ...op.get(fmax), ...op.f64Gt, ...op.if, ...op.get(x), ...op.set(fmax), ...op.end,
    ...i32Addr(near, count), ...op.get(i), ...op.i32(lane), ...op.i32Add, ...op.i32Store,
    ...op.get(count), ...op.i32(1), ...op.i32Add, ...op.set(count),
    ...op.get(fmax), ...op.get(width), ...op.f64Sub, ...op.set(thr),
    ...op.end,
  ];
  b.push(...op.f64(-Infinity), ...op.set(fmax), ...op.f64(-Infinity), ...op.set(thr), ...op.get(thr), ...op.f64x2Splat, ...op.set(thrv));
  b.push(...op.i32(0), ...op.set(count), ...op.i32(0), ...op.set(i));
  b.push(...op.get(rows), ...op.i32(-2), ...op.i32And, ...op.set(end2));
  b.push(...op.block, ...op.loop, ...op.get(i), ...op.get(end2), ...op.i32GeU, ...op.brIf(1));
  b.push(...f32Addr(col, i), ...op.v128Load64Zero, ...op.f64x2PromoteLow, ...op.set(c));
  b.push(...f64Addr(f, i), ...op.set(a), ...op.get(a));
  b.push(...op.get(a), ...op.v128Load8, ...f64Addr(norms, i), ...op.v128Load8, ...op.get(c), ...op.get(c), ...op.f64x2Add);
  b.push(...op.f64x2Sub, ...op.f64x2Add, ...op.tee(v), ...op.v128Store8);
  b.push(...op.get(v), ...op.get(thrv), ...op.f64x2Lt, ...op.i64x2AllTrue, ...op.i32Eqz, ...op.if);
  b.push(...op.get(v), ...op.f64x2Extract(0), ...op.set(x), ...check(0));
  b.push(...op.get(v), ...op.f64x2Extract(1), ...op.set(x), ...check(1));
  b.push(...op.get(thr), ...op.f64x2Splat, ...op.set(thrv), ...op.end);
  b.push(...op.get(i), ...op.i32(2), ...op.i32Add, ...op.set(i), ...op.br(0), ...op.end, ...op.end);
  // An odd last row.
  b.push(...op.get(i), ...op.get(rows), ...op.i32LtU, ...op.if);
  b.push(...f64Addr(f, i), ...op.set(a), ...op.get(a));
  b.push(...op.get(a), ...op.f64Load, ...f64Addr(norms, i), ...op.f64Load);
  b.push(...f32Addr(col, i), ...op.f32Load, ...op.f64Promote, ...op.tee(x), ...op.get(x), ...op.f64Add);
  b.push(...op.f64Sub, ...op.f64Add, ...op.tee(x), ...op.f64Store(0), ...check(0), ...op.end);
  // Keep the collected rows at or above the final threshold (they were collected while the largest still rose).
  b.push(...op.get(fmax), ...op.get(width), ...op.f64Sub, ...op.set(thr), ...op.i32(0), ...op.set(w), ...op.i32(0), ...op.set(i));
  b.push(...op.block, ...op.loop, ...op.get(i), ...op.get(count), ...op.i32GeU, ...op.brIf(1));
  b.push(...i32Addr(near, i), ...op.i32Load, ...op.set(r));
  b.push(...f64Addr(f, r), ...op.f64Load, ...op.get(thr), ...op.f64Ge, ...op.if);
  b.push(...i32Addr(near, w), ...op.get(r), ...op.i32Store, ...op.get(w), ...op.i32(1), ...op.i32Add, ...op.set(w), ...op.end);
  b.push(...op.get(i), ...op.i32(1), ...op.i32Add, ...op.set(i), ...op.br(0), ...op.end, ...op.end);
  b.push(...op.get(w));
  return {
    exportName: 'addCollect',
    params: [I32, I32, I32, I32, F64, I32],
    results: [I32],
    locals: [I32, I32, I32, I32, I32, I32, F64, F64, F64, V128, V128, V128],
    body: b,
  };
}

function assembleKernels(): Uint8Array {
  const fns = [dot4(), dist4(), addCollect()];
  const types = section(1, vec(fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec((f.results ?? []).map((r) => [r]))])));
  // Imported memory, no declared maximum: each matrix brings its own memory of whatever size.
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]]));
  const functions = section(3, vec(fns.map((_, i) => uleb(i))));
  const exports = section(7, vec(fns.map((f, i) => [...name(f.exportName), 0x00, ...uleb(i)])));
  const code = section(
    10,
    vec(
      fns.map((f) => {
        const body = [...vec(f.locals.map((l) => [1, l])), ...f.body, 0x0b];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...functions, ...exports, ...code]);
}
