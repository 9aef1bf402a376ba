/**
 * Protobuf wire encoding of the ONNX subset in ./types.ts. Field numbers and types are those of
 * onnx/onnx.proto (checked against python3-onnx 1.12's copy); each message writer lists its fields in
 * field-number order, as protoc-generated serialisers do, so that the same object always gives the same
 * bytes. Map-like records (attributes, metadata_props) are written in sorted key order for the same reason.
 *
 * Repeated numeric fields are written packed (proto2 parsers must accept packed and unpacked alike) and
 * read in either form. Large byte fields (raw_data) are referenced, not copied, until the single final
 * concatenation.
 */
import type {
  AttributeValue,
  DataTypeCode,
  Dim,
  GraphProto,
  ModelProto,
  NodeProto,
  TensorProto,
  ValueInfoProto,
} from './types.js';
import { DataType } from './types.js';

// raw_data is little-endian (onnx.proto, TensorProto.raw_data); typed-array bytes are copied as they are.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('emoflow ONNX serialisation assumes a little-endian host');
}

/** Protobuf wire types. */
const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

/** AttributeProto.AttributeType values (onnx.proto). */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** Bytes per element of the data types in ./types.ts. */
function elementSize(dataType: DataTypeCode): number {
  switch (dataType) {
    case DataType.FLOAT:
      return 4;
    case DataType.INT64:
    case DataType.DOUBLE:
      return 8;
    case DataType.BOOL:
      return 1;
  }
}

function isDataTypeCode(v: number): v is DataTypeCode {
  return v === DataType.FLOAT || v === DataType.INT64 || v === DataType.BOOL || v === DataType.DOUBLE;
}

function elementCount(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`${what}: bad dimension ${d}`);
    n *= d;
  }
  return n;
}

/** Names what is being written, for error messages; a function so that nothing is built on success. */
type What = () => string;

function checkInteger(v: number, what: What): void {
  if (!Number.isInteger(v)) throw new TypeError(`${what()}: ${v} is not an integer`);
}

// ---------------------------------------------------------------------------------------------------
// Writing

const BLOCK = 1 << 16;

/**
 * Scratch space shared by all writers of one (synchronous) encodeModel call, so that the many small
 * messages of a graph do not each allocate a buffer. Whichever writer appends owns the open run at the
 * end of the block; another writer appending first closes that run into its owner's chunk list.
 */
const arena = {
  buf: new Uint8Array(BLOCK),
  view: new DataView(new ArrayBuffer(0)),
  pos: 0,
  owner: null as Writer | null,
};
arena.view = new DataView(arena.buf.buffer);

/**
 * An append-only protobuf writer. Its bytes are a list of chunks: runs of the shared scratch block and
 * large byte fields by reference. Nested messages are built bottom-up (their length is known when they
 * are embedded) and nothing is copied until `finish`.
 */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  /** Start of this writer's open run in `arena.buf`, while it is the owner. */
  private start = 0;
  /** Total bytes written so far. */
  length = 0;

  /** Ends this writer's open run, if it has one. */
  private close(): void {
    if (arena.owner !== this) return;
    if (arena.pos > this.start) this.chunks.push(arena.buf.subarray(this.start, arena.pos));
    arena.owner = null;
  }

  /** Makes room for `n` bytes at `arena.pos`, in a run owned by this writer. */
  private reserve(n: number): void {
    if (arena.owner !== this) {
      arena.owner?.close();
      arena.owner = this;
      this.start = arena.pos;
    }
    if (arena.pos + n > arena.buf.length) {
      this.close();
      // Chunks keep views of the old block, so a new one is started rather than grown in place.
      arena.buf = new Uint8Array(Math.max(n, BLOCK));
      arena.view = new DataView(arena.buf.buffer);
      arena.pos = this.start = 0;
      arena.owner = this;
    }
  }

  /** A varint of an int64 value: negatives as 10-byte two's complement, out-of-range values clamped. */
  private varint(v: number): void {
    this.reserve(10);
    const buf = arena.buf;
    const start = arena.pos;
    let pos = start;
    if (v >= 0 && v <= 0x7f) {
      buf[pos++] = v;
    } else if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      while (v > 0x7fffffff) {
        buf[pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      while (v > 0x7f) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[pos++] = v;
    } else {
      // Beyond 2^53 a double is not an exact int64; values such as Slice's INT64_MAX end decode to
      // 2^63, which is clamped back here.
      let b = BigInt(v);
      b = b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
      let u = BigInt.asUintN(64, b);
      while (u > 0x7fn) {
        buf[pos++] = Number(u & 0x7fn) | 0x80;
        u >>= 7n;
      }
      buf[pos++] = Number(u);
    }
    this.length += pos - start;
    arena.pos = pos;
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  int64(field: number, v: number, what: () => string): void {
    checkInteger(v, what);
    this.tag(field, WT_VARINT);
    this.varint(v);
  }

  float32(field: number, v: number): void {
    this.tag(field, WT_I32);
    this.reserve(4);
    arena.view.setFloat32(arena.pos, v, true);
    arena.pos += 4;
    this.length += 4;
  }

  /** Copies small byte strings into the run; larger ones (raw_data) are kept by reference. */
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WT_LEN);
    this.varint(data.length);
    if (data.length <= 256) {
      this.reserve(data.length);
      arena.buf.set(data, arena.pos);
      arena.pos += data.length;
    } else {
      this.close();
      this.chunks.push(data);
    }
    this.length += data.length;
  }

  string(field: number, s: string): void {
    // ASCII fast path: TextEncoder.encode costs an allocation and a native call per (short) name.
    const n = s.length;
    if (n <= 256) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        this.tag(field, WT_LEN);
        this.varint(n);
        this.reserve(n);
        const buf = arena.buf;
        const pos = arena.pos;
        for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
        arena.pos += n;
        this.length += n;
        return;
      }
    }
    this.bytes(field, utf8.encode(s));
  }

  message(field: number, sub: Writer): void {
    sub.close();
    this.tag(field, WT_LEN);
    this.varint(sub.length);
    this.close();
    for (const c of sub.chunks) this.chunks.push(c);
    this.length += sub.length;
  }

  /** A packed repeated int64 field; nothing for an empty list. */
  packedInt64(field: number, values: readonly number[], what: () => string): void {
    if (values.length === 0) return;
    const sub = new Writer();
    for (const v of values) {
      checkInteger(v, what);
      sub.varint(v);
    }
    this.message(field, sub);
  }

  /** A packed repeated float field (float32, little-endian); nothing for an empty list. */
  packedFloat32(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.tag(field, WT_LEN);
    this.varint(values.length * 4);
    this.reserve(values.length * 4);
    for (const v of values) {
      arena.view.setFloat32(arena.pos, v, true);
      arena.pos += 4;
    }
    this.length += values.length * 4;
  }

  /** The whole message in one new buffer; the shared scratch block is free for reuse afterwards. */
  finish(): Uint8Array {
    this.close();
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    arena.pos = 0;
    arena.owner = null;
    return out;
  }
}

/** TensorProto: dims=1, data_type=2, name=8, raw_data=9. */
function writeTensor(t: TensorProto): Writer {
  const what = `tensor '${t.name}'`;
  if (!isDataTypeCode(t.dataType)) throw new RangeError(`${what}: unsupported data type ${t.dataType}`);
  const expected = elementCount(t.dims, what) * elementSize(t.dataType);
  if (t.rawData.length !== expected) {
    throw new RangeError(
      `${what}: raw data has ${t.rawData.length} bytes, dims [${t.dims}] need ${expected}`,
    );
  }
  const w = new Writer();
  w.packedInt64(1, t.dims, () => `${what} dims`);
  w.int64(2, t.dataType, () => `${what} data type`);
  w.string(8, t.name);
  w.bytes(9, t.rawData);
  return w;
}

/** AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20. */
function writeAttribute(name: string, a: AttributeValue, where: What): Writer {
  const what = (): string => `${where()} attribute '${name}'`;
  const w = new Writer();
  w.string(1, name);
  let type: number;
  switch (a.type) {
    case 'float':
      w.float32(2, a.value);
      type = ATTR.FLOAT;
      break;
    case 'int':
      w.int64(3, a.value, what);
      type = ATTR.INT;
      break;
    case 'string':
      w.string(4, a.value);
      type = ATTR.STRING;
      break;
    case 'tensor':
      w.message(5, writeTensor(a.value));
      type = ATTR.TENSOR;
      break;
    case 'floats':
      w.packedFloat32(7, a.value);
      type = ATTR.FLOATS;
      break;
    case 'ints':
      w.packedInt64(8, a.value, what);
      type = ATTR.INTS;
      break;
    default:
      throw new TypeError(`${what()}: unknown kind ${(a as { type: unknown }).type}`);
  }
  w.int64(20, type, what);
  return w;
}

function sortedKeys(record: Record<string, unknown>): string[] {
  // Default sort: UTF-16 code-unit order, independent of locale and insertion order.
  return Object.keys(record).sort();
}

/** NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7. */
function writeNode(n: NodeProto, index: number): Writer {
  const where = (): string => `node ${index} (${n.opType}${n.name === undefined ? '' : ` '${n.name}'`})`;
  const w = new Writer();
  for (const s of n.inputs) w.string(1, s);
  for (const s of n.outputs) w.string(2, s);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  if (n.attributes !== undefined) {
    for (const key of sortedKeys(n.attributes)) {
      const a = n.attributes[key];
      if (a !== undefined) w.message(5, writeAttribute(key, a, where));
    }
  }
  if (n.domain !== undefined) w.string(7, n.domain);
  return w;
}

/**
 * ValueInfoProto: name=1, type=2; TypeProto: tensor_type=1; TypeProto.Tensor: elem_type=1, shape=2;
 * TensorShapeProto: dim=1; Dimension: dim_value=1, dim_param=2. An empty-string dim is written as a
 * Dimension with neither field (an unnamed unknown size).
 */
function writeValueInfo(v: ValueInfoProto): Writer {
  const what = `value '${v.name}'`;
  if (!isDataTypeCode(v.elemType)) throw new RangeError(`${what}: unsupported element type ${v.elemType}`);
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') {
      if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`${what}: bad dimension ${d}`);
      dim.int64(1, d, () => what);
    } else if (d !== '') {
      dim.string(2, d);
    }
    shape.message(1, dim);
  }
  const tensorType = new Writer();
  tensorType.int64(1, v.elemType, () => what);
  tensorType.message(2, shape);
  const type = new Writer();
  type.message(1, tensorType);
  const w = new Writer();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

/** GraphProto: node=1, name=2, initializer=5, input=11, output=12, value_info=13. */
function writeGraph(g: GraphProto): Writer {
  const w = new Writer();
  g.nodes.forEach((n, i) => w.message(1, writeNode(n, i)));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, writeTensor(t));
  for (const v of g.inputs) w.message(11, writeValueInfo(v));
  for (const v of g.outputs) w.message(12, writeValueInfo(v));
  for (const v of g.valueInfo ?? []) w.message(13, writeValueInfo(v));
  return w;
}

/**
 * ModelProto: ir_version=1, producer_name=2, producer_version=3, graph=7, opset_import=8
 * (OperatorSetIdProto: domain=1, version=2), metadata_props=14 (StringStringEntryProto: key=1, value=2).
 */
export function encodeModel(model: ModelProto): Uint8Array {
  // Left over by an encoding that threw, if any.
  arena.pos = 0;
  arena.owner = null;
  const w = new Writer();
  w.int64(1, model.irVersion, () => 'ir_version');
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  w.message(7, writeGraph(model.graph));
  for (const o of model.opsetImports) {
    const op = new Writer();
    op.string(1, o.domain);
    op.int64(2, o.version, () => `opset '${o.domain}'`);
    w.message(8, op);
  }
  if (model.metadataProps !== undefined) {
    for (const key of sortedKeys(model.metadataProps)) {
      const value = model.metadataProps[key];
      if (value === undefined) continue;
      const e = new Writer();
      e.string(1, key);
      e.string(2, value);
      w.message(14, e);
    }
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------
// Reading

class Reader {
  /** The halves of the last varint read. */
  private lo = 0;
  private hi = 0;

  /** Reads `bytes` from `pos` to `end`; sub-message readers share their parent's `view`. */
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    private readonly view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new RangeError('ONNX protobuf: truncated message');
    return this.bytes[this.pos++] as number;
  }

  private readVarintParts(): void {
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    b = this.byte(); // bits 28..34
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) throw new RangeError('ONNX protobuf: malformed varint');
        b = this.byte();
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** An int64 varint as a number (exact up to 2^53, nearest double beyond). */
  int64(): number {
    this.readVarintParts();
    return (this.hi & 0x80000000 ? this.hi | 0 : this.hi) * 4294967296 + this.lo;
  }

  int64Big(): bigint {
    this.readVarintParts();
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }

  /** A tag as [field number, wire type]. */
  tag(): [number, number] {
    this.readVarintParts();
    const field = this.lo >>> 3;
    if (this.hi !== 0 || field === 0) throw new RangeError('ONNX protobuf: bad field tag');
    return [field, this.lo & 7];
  }

  /** The byte range of a length-delimited field, as a reader. */
  sub(): Reader {
    const len = this.int64();
    if (len < 0 || len > this.end - this.pos) throw new RangeError('ONNX protobuf: truncated message');
    const r = new Reader(this.bytes, this.pos, this.pos + len, this.view);
    this.pos += len;
    return r;
  }

  /** The contents of a length-delimited field, copied. */
  bytesCopy(): Uint8Array {
    const r = this.sub();
    return this.bytes.slice(r.pos, r.end);
  }

  string(): string {
    const r = this.sub();
    const bytes = this.bytes;
    // ASCII fast path: short names are most strings, and TextDecoder costs a native call each.
    if (r.end - r.pos <= 64) {
      let s = '';
      for (let i = r.pos; i < r.end; i++) {
        const b = bytes[i] as number;
        if (b > 0x7f) return utf8Decoder.decode(bytes.subarray(r.pos, r.end));
        s += String.fromCharCode(b);
      }
      return s;
    }
    return utf8Decoder.decode(bytes.subarray(r.pos, r.end));
  }

  /** `n` raw bytes, copied. */
  fixedBytes(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new RangeError('ONNX protobuf: truncated message');
    this.pos += n;
    return this.bytes.slice(this.pos - n, this.pos);
  }

  float32(): number {
    if (this.end - this.pos < 4) throw new RangeError('ONNX protobuf: truncated message');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WT_VARINT:
        this.readVarintParts();
        return;
      case WT_I64:
        this.fixedBytes(8);
        return;
      case WT_LEN:
        this.sub();
        return;
      case WT_I32:
        this.fixedBytes(4);
        return;
      default:
        throw new RangeError(`ONNX protobuf: unsupported wire type ${wireType}`);
    }
  }

  expect(wireType: number, want: number, what: string): void {
    if (wireType !== want) throw new RangeError(`ONNX protobuf: ${what} has wire type ${wireType}`);
  }

  /** Repeated int64, packed or not. */
  int64s(wireType: number, out: number[]): void {
    if (wireType === WT_LEN) {
      const r = this.sub();
      while (!r.done) out.push(r.int64());
    } else {
      this.expect(wireType, WT_VARINT, 'repeated int64');
      out.push(this.int64());
    }
  }

  /** Repeated float, packed or not. */
  floats(wireType: number, out: number[]): void {
    if (wireType === WT_LEN) {
      const r = this.sub();
      while (!r.done) out.push(r.float32());
    } else {
      this.expect(wireType, WT_I32, 'repeated float');
      out.push(this.float32());
    }
  }

  /** Repeated fixed-width values (float, double), packed or not, as their little-endian bytes. */
  fixedRaw(wireType: number, width: 4 | 8, out: Uint8Array[]): void {
    if (wireType === WT_LEN) {
      const r = this.sub();
      if ((r.end - r.pos) % width !== 0) throw new RangeError('ONNX protobuf: ragged packed field');
      out.push(this.bytes.slice(r.pos, r.end));
    } else {
      this.expect(wireType, width === 4 ? WT_I32 : WT_I64, 'repeated fixed-width value');
      out.push(this.fixedBytes(width));
    }
  }

  /** Repeated int64 (packed or not), exactly. */
  int64sBig(wireType: number, out: bigint[]): void {
    if (wireType === WT_LEN) {
      const r = this.sub();
      while (!r.done) out.push(r.int64Big());
    } else {
      this.expect(wireType, WT_VARINT, 'repeated int64');
      out.push(this.int64Big());
    }
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * TensorProto. Data comes from raw_data (9), or else from float_data (4), int32_data (5, for BOOL),
 * int64_data (7) or double_data (10), converted to raw little-endian bytes.
 */
function readTensor(r: Reader): TensorProto {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let rawData: Uint8Array | undefined;
  const floatParts: Uint8Array[] = [];
  const doubleParts: Uint8Array[] = [];
  const int32s: number[] = [];
  const int64s: bigint[] = [];
  let external = false;
  while (!r.done) {
    const [field, wt] = r.tag();
    switch (field) {
      case 1:
        r.int64s(wt, dims);
        break;
      case 2:
        r.expect(wt, WT_VARINT, 'data_type');
        dataType = r.int64();
        break;
      case 4:
        r.fixedRaw(wt, 4, floatParts);
        break;
      case 5:
        r.int64s(wt, int32s);
        break;
      case 7:
        r.int64sBig(wt, int64s);
        break;
      case 8:
        r.expect(wt, WT_LEN, 'name');
        name = r.string();
        break;
      case 9:
        r.expect(wt, WT_LEN, 'raw_data');
        rawData = r.bytesCopy();
        break;
      case 10:
        r.fixedRaw(wt, 8, doubleParts);
        break;
      case 14:
        r.expect(wt, WT_VARINT, 'data_location');
        external = r.int64() === 1; // DataLocation.EXTERNAL
        break;
      default:
        r.skip(wt);
    }
  }
  const what = `tensor '${name}'`;
  if (external) throw new RangeError(`${what}: external data is not supported`);
  if (!isDataTypeCode(dataType)) throw new RangeError(`${what}: unsupported data type ${dataType}`);
  if (rawData === undefined) {
    switch (dataType) {
      case DataType.FLOAT:
        rawData = concat(floatParts);
        break;
      case DataType.DOUBLE:
        rawData = concat(doubleParts);
        break;
      case DataType.INT64:
        rawData = new Uint8Array(BigInt64Array.from(int64s).buffer);
        break;
      case DataType.BOOL:
        rawData = Uint8Array.from(int32s, (v) => (v !== 0 ? 1 : 0));
        break;
    }
  }
  const expected = elementCount(dims, what) * elementSize(dataType);
  if (rawData.length !== expected) {
    throw new RangeError(`${what}: ${rawData.length} data bytes, dims [${dims}] need ${expected}`);
  }
  return { name, dataType, dims, rawData };
}

/** AttributeProto; kinds other than those in AttributeValue (graphs, lists of strings/tensors) throw. */
function readAttribute(r: Reader, where: string): [string, AttributeValue] {
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: string | undefined;
  let t: TensorProto | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  while (!r.done) {
    const [field, wt] = r.tag();
    switch (field) {
      case 1:
        r.expect(wt, WT_LEN, 'attribute name');
        name = r.string();
        break;
      case 2:
        r.expect(wt, WT_I32, 'attribute f');
        f = r.float32();
        break;
      case 3:
        r.expect(wt, WT_VARINT, 'attribute i');
        i = r.int64();
        break;
      case 4:
        r.expect(wt, WT_LEN, 'attribute s');
        s = r.string();
        break;
      case 5:
        r.expect(wt, WT_LEN, 'attribute t');
        t = readTensor(r.sub());
        break;
      case 7:
        r.floats(wt, floats);
        break;
      case 8:
        r.int64s(wt, ints);
        break;
      case 20:
        r.expect(wt, WT_VARINT, 'attribute type');
        type = r.int64();
        break;
      default:
        r.skip(wt);
    }
  }
  if (type === 0) {
    // Writers before IR version 3 may omit `type`: infer it from the field that is set.
    type =
      t !== undefined
        ? ATTR.TENSOR
        : s !== undefined
          ? ATTR.STRING
          : floats.length > 0
            ? ATTR.FLOATS
            : ints.length > 0
              ? ATTR.INTS
              : i !== undefined
                ? ATTR.INT
                : f !== undefined
                  ? ATTR.FLOAT
                  : 0;
  }
  // Absent scalar fields take their proto2 defaults (0, empty string).
  switch (type) {
    case ATTR.FLOAT:
      return [name, { type: 'float', value: f ?? 0 }];
    case ATTR.INT:
      return [name, { type: 'int', value: i ?? 0 }];
    case ATTR.STRING:
      return [name, { type: 'string', value: s ?? '' }];
    case ATTR.TENSOR:
      if (t === undefined) throw new RangeError(`${where} attribute '${name}': TENSOR without t`);
      return [name, { type: 'tensor', value: t }];
    case ATTR.FLOATS:
      return [name, { type: 'floats', value: floats }];
    case ATTR.INTS:
      return [name, { type: 'ints', value: ints }];
    default:
      throw new RangeError(`${where} attribute '${name}': unsupported attribute type ${type}`);
  }
}

function readNode(r: Reader, index: number): NodeProto {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let name: string | undefined;
  let opType = '';
  let domain: string | undefined;
  const attributes: [string, AttributeValue][] = [];
  while (!r.done) {
    const [field, wt] = r.tag();
    switch (field) {
      case 1:
        r.expect(wt, WT_LEN, 'node input');
        inputs.push(r.string());
        break;
      case 2:
        r.expect(wt, WT_LEN, 'node output');
        outputs.push(r.string());
        break;
      case 3:
        r.expect(wt, WT_LEN, 'node name');
        name = r.string();
        break;
      case 4:
        r.expect(wt, WT_LEN, 'op_type');
        opType = r.string();
        break;
      case 5:
        r.expect(wt, WT_LEN, 'attribute');
        attributes.push(readAttribute(r.sub(), `node ${index}`));
        break;
      case 7:
        r.expect(wt, WT_LEN, 'node domain');
        domain = r.string();
        break;
      default:
        r.skip(wt);
    }
  }
  const node: NodeProto = { opType, inputs, outputs };
  if (name !== undefined) node.name = name;
  if (domain !== undefined) node.domain = domain;
  // fromEntries defines own properties, so a key such as "__proto__" stays data.
  if (attributes.length > 0) node.attributes = Object.fromEntries(attributes);
  return node;
}

type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

function readShape(r: Reader): Dim[] {
  const shape: Dim[] = [];
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field !== 1) {
      r.skip(wt);
      continue;
    }
    r.expect(wt, WT_LEN, 'dim');
    const d = r.sub();
    let dim: Dim = '';
    while (!d.done) {
      const [f, w] = d.tag();
      if (f === 1) {
        d.expect(w, WT_VARINT, 'dim_value');
        dim = d.int64();
      } else if (f === 2) {
        d.expect(w, WT_LEN, 'dim_param');
        dim = d.string();
      } else {
        d.skip(w);
      }
    }
    shape.push(dim);
  }
  return shape;
}

/** ValueInfoProto with a TypeProto.Tensor of known rank; anything else is reported, not decoded. */
function readValueInfo(r: Reader): Decoded<ValueInfoProto> {
  let name = '';
  let elemType = 0;
  let shape: Dim[] | undefined;
  let typeKind = 'no type';
  while (!r.done) {
    const [field, wt] = r.tag();
    if (field === 1) {
      r.expect(wt, WT_LEN, 'value name');
      name = r.string();
    } else if (field === 2) {
      r.expect(wt, WT_LEN, 'value type');
      const t = r.sub();
      while (!t.done) {
        const [f, w] = t.tag();
        if (f === 1) {
          typeKind = 'tensor';
          t.expect(w, WT_LEN, 'tensor_type');
          const tt = t.sub();
          while (!tt.done) {
            const [g, x] = tt.tag();
            if (g === 1) {
              tt.expect(x, WT_VARINT, 'elem_type');
              elemType = tt.int64();
            } else if (g === 2) {
              tt.expect(x, WT_LEN, 'shape');
              shape = readShape(tt.sub());
            } else {
              tt.skip(x);
            }
          }
        } else {
          if ([4, 5, 8, 9].includes(f)) typeKind = `TypeProto field ${f} (not a tensor)`;
          t.skip(w);
        }
      }
    } else {
      r.skip(wt);
    }
  }
  if (typeKind !== 'tensor') return { ok: false, reason: `value '${name}': ${typeKind}` };
  if (!isDataTypeCode(elemType)) {
    return { ok: false, reason: `value '${name}': unsupported element type ${elemType}` };
  }
  if (shape === undefined) return { ok: false, reason: `value '${name}': unknown rank` };
  return { ok: true, value: { name, elemType, shape } };
}

function required<T>(d: Decoded<T>, where: string): T {
  if (!d.ok) throw new RangeError(`${where} ${d.reason}`);
  return d.value;
}

function readGraph(r: Reader): GraphProto {
  const g: GraphProto = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
  const valueInfo: ValueInfoProto[] = [];
  while (!r.done) {
    const [field, wt] = r.tag();
    switch (field) {
      case 1:
        r.expect(wt, WT_LEN, 'node');
        g.nodes.push(readNode(r.sub(), g.nodes.length));
        break;
      case 2:
        r.expect(wt, WT_LEN, 'graph name');
        g.name = r.string();
        break;
      case 5:
        r.expect(wt, WT_LEN, 'initializer');
        g.initializers.push(readTensor(r.sub()));
        break;
      case 11:
        r.expect(wt, WT_LEN, 'graph input');
        g.inputs.push(required(readValueInfo(r.sub()), 'graph input'));
        break;
      case 12:
        r.expect(wt, WT_LEN, 'graph output');
        g.outputs.push(required(readValueInfo(r.sub()), 'graph output'));
        break;
      case 13: {
        r.expect(wt, WT_LEN, 'value_info');
        // value_info entries are optional hints: ones these types cannot hold are dropped.
        const v = readValueInfo(r.sub());
        if (v.ok) valueInfo.push(v.value);
        break;
      }
      case 15:
        throw new RangeError('ONNX graph: sparse initializers are not supported');
      default:
        r.skip(wt);
    }
  }
  if (valueInfo.length > 0) g.valueInfo = valueInfo;
  return g;
}

/**
 * Decodes a ModelProto. Fields outside ./types.ts (doc strings, model_version, training_info, ...) are
 * skipped; things whose loss would change the model's meaning (graph attributes, other data types,
 * sparse initializers, external data, model-local functions) throw. Optional value_info hints that the
 * types cannot hold are dropped. Empty `attributes`, `valueInfo` and `metadataProps` decode as absent.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const r = new Reader(bytes, 0, bytes.length);
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  let graph: GraphProto | undefined;
  const opsetImports: { domain: string; version: number }[] = [];
  const metadata: [string, string][] = [];
  while (!r.done) {
    const [field, wt] = r.tag();
    switch (field) {
      case 1:
        r.expect(wt, WT_VARINT, 'ir_version');
        irVersion = r.int64();
        break;
      case 2:
        r.expect(wt, WT_LEN, 'producer_name');
        producerName = r.string();
        break;
      case 3:
        r.expect(wt, WT_LEN, 'producer_version');
        producerVersion = r.string();
        break;
      case 7:
        r.expect(wt, WT_LEN, 'graph');
        graph = readGraph(r.sub());
        break;
      case 8: {
        r.expect(wt, WT_LEN, 'opset_import');
        const o = r.sub();
        const op = { domain: '', version: 0 };
        while (!o.done) {
          const [f, w] = o.tag();
          if (f === 1) {
            o.expect(w, WT_LEN, 'opset domain');
            op.domain = o.string();
          } else if (f === 2) {
            o.expect(w, WT_VARINT, 'opset version');
            op.version = o.int64();
          } else {
            o.skip(w);
          }
        }
        opsetImports.push(op);
        break;
      }
      case 14: {
        r.expect(wt, WT_LEN, 'metadata_props');
        const e = r.sub();
        let key = '';
        let value = '';
        while (!e.done) {
          const [f, w] = e.tag();
          if (f === 1) {
            e.expect(w, WT_LEN, 'metadata key');
            key = e.string();
          } else if (f === 2) {
            e.expect(w, WT_LEN, 'metadata value');
            value = e.string();
          } else {
            e.skip(w);
          }
        }
        metadata.push([key, value]);
        break;
      }
      case 25:
        throw new RangeError('ONNX model: model-local functions are not supported');
      default:
        r.skip(wt);
    }
  }
  if (graph === undefined) throw new RangeError('ONNX model: no graph');
  const model: ModelProto = { irVersion, opsetImports, producerName, producerVersion, graph };
  if (metadata.length > 0) model.metadataProps = Object.fromEntries(metadata);
  return model;
}

// ---------------------------------------------------------------------------------------------------
// Tensors from and to typed arrays

/** A FLOAT, DOUBLE or INT64 tensor holding a copy of `data`; `dims` must match its length. */
export function tensorFromArray(
  name: string,
  data: Float32Array | Float64Array | BigInt64Array,
  dims: number[],
): TensorProto {
  const n = elementCount(dims, `tensor '${name}'`);
  if (n !== data.length) {
    throw new RangeError(`tensor '${name}': ${data.length} values, dims [${dims}] hold ${n}`);
  }
  const dataType: DataTypeCode =
    data instanceof Float32Array
      ? DataType.FLOAT
      : data instanceof Float64Array
        ? DataType.DOUBLE
        : DataType.INT64;
  const rawData = new Uint8Array(data.byteLength);
  rawData.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { name, dataType, dims: [...dims], rawData };
}

/** A copy of a FLOAT, DOUBLE or INT64 tensor's values (rawData may sit at any byte offset). */
export function tensorToArray(t: TensorProto): Float32Array | Float64Array | BigInt64Array {
  const what = `tensor '${t.name}'`;
  const n = elementCount(t.dims, what);
  let out: Float32Array | Float64Array | BigInt64Array;
  switch (t.dataType) {
    case DataType.FLOAT:
      out = new Float32Array(n);
      break;
    case DataType.DOUBLE:
      out = new Float64Array(n);
      break;
    case DataType.INT64:
      out = new BigInt64Array(n);
      break;
    default:
      throw new RangeError(`${what}: data type ${t.dataType} has no typed-array form here; read rawData`);
  }
  if (t.rawData.length !== out.byteLength) {
    throw new RangeError(
      `${what}: raw data has ${t.rawData.length} bytes, dims [${t.dims}] need ${out.byteLength}`,
    );
  }
  new Uint8Array(out.buffer).set(t.rawData);
  return out;
}
