/**
 * The ONNX subset of ./types.ts to and from protobuf bytes. The wire codec is protobufjs, driven by
 * ONNX's own schema (./onnx-schema.ts, generated from onnx/onnx.proto by scripts/onnx-schema.ts);
 * this module only maps between the plain objects of ./types.ts and onnx.proto's messages, and
 * checks what the mapping cannot hold.
 *
 * Writing is deterministic: protobufjs writes fields in field-number order, and map-like records
 * (attributes, metadata_props) are written in sorted key order. Repeated numeric fields are packed.
 * Reading accepts what other writers produce (unpacked or packed lists, float_data / int64_data /
 * double_data / int32_data instead of raw_data, attributes without `type`).
 */
import protobuf from 'protobufjs/light.js';
import Long from 'long';
import { ONNX_SCHEMA } from './onnx-schema.js';
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

// int64 fields decode as Long (exact), converted to numbers where they are read.
protobuf.util.Long = Long;
protobuf.configure();

const root = protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace);
const MODEL = root.lookupType('onnx.ModelProto');

/** AttributeProto.AttributeType values (onnx.proto). */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

const DATA_LOCATION_EXTERNAL = 1;

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

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * An int64 field's value: the number itself within ±2^53; beyond, as an exact Long, clamped to
 * the int64 range (a double such as Slice's "to the end" INT64_MAX reads back as 2^63).
 */
function integer(v: number, what: What): number | Long {
  if (!Number.isInteger(v)) throw new TypeError(`${what()}: ${v} is not an integer`);
  if (Number.isSafeInteger(v)) return v;
  let b = BigInt(v);
  b = b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
  return Long.fromString(b.toString());
}

function integers(vs: readonly number[], what: What): (number | Long)[] {
  return vs.map((v) => integer(v, what));
}

// ---------------------------------------------------------------------------------------------------
// Writing: ./types.ts objects as onnx.proto messages (protobufjs's plain-object form).

type Message = Record<string, unknown>;

const utf8Encoder = new TextEncoder();

function tensorMessage(t: TensorProto): Message {
  const what = `tensor '${t.name}'`;
  if (!isDataTypeCode(t.dataType)) throw new RangeError(`${what}: unsupported data type ${t.dataType}`);
  const expected = elementCount(t.dims, what) * elementSize(t.dataType);
  if (t.rawData.length !== expected) {
    throw new RangeError(
      `${what}: raw data has ${t.rawData.length} bytes, dims [${t.dims}] need ${expected}`,
    );
  }
  return {
    dims: integers(t.dims, () => `${what} dims`),
    dataType: t.dataType,
    name: t.name,
    rawData: t.rawData,
  };
}

function attributeMessage(name: string, a: AttributeValue, where: What): Message {
  const what = (): string => `${where()} attribute '${name}'`;
  switch (a.type) {
    case 'float':
      return { name, f: a.value, type: ATTR.FLOAT };
    case 'int':
      return { name, i: integer(a.value, what), type: ATTR.INT };
    case 'string':
      return { name, s: utf8Encoder.encode(a.value), type: ATTR.STRING };
    case 'tensor':
      return { name, t: tensorMessage(a.value), type: ATTR.TENSOR };
    case 'floats':
      return { name, floats: [...a.value], type: ATTR.FLOATS };
    case 'ints':
      return { name, ints: integers(a.value, what), type: ATTR.INTS };
    default:
      throw new TypeError(`${what()}: unknown kind ${(a as { type: unknown }).type}`);
  }
}

function sortedKeys(record: Record<string, unknown>): string[] {
  // Default sort: UTF-16 code-unit order, independent of locale and insertion order.
  return Object.keys(record).sort();
}

function nodeMessage(n: NodeProto, index: number): Message {
  const where = (): string => `node ${index} (${n.opType}${n.name === undefined ? '' : ` '${n.name}'`})`;
  const m: Message = { input: n.inputs, output: n.outputs, opType: n.opType };
  if (n.name !== undefined) m['name'] = n.name;
  if (n.attributes !== undefined) {
    const attrs = n.attributes;
    m['attribute'] = sortedKeys(attrs)
      .filter((k) => attrs[k] !== undefined)
      .map((k) => attributeMessage(k, attrs[k]!, where));
  }
  if (n.domain !== undefined) m['domain'] = n.domain;
  return m;
}

/** An empty-string dim is a Dimension with neither field (an unnamed unknown size). */
function valueInfoMessage(v: ValueInfoProto): Message {
  const what = `value '${v.name}'`;
  if (!isDataTypeCode(v.elemType)) throw new RangeError(`${what}: unsupported element type ${v.elemType}`);
  const dim = v.shape.map((d): Message => {
    if (typeof d === 'number') {
      if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`${what}: bad dimension ${d}`);
      return { dimValue: d };
    }
    return d === '' ? {} : { dimParam: d };
  });
  return { name: v.name, type: { tensorType: { elemType: v.elemType, shape: { dim } } } };
}

function graphMessage(g: GraphProto): Message {
  return {
    node: g.nodes.map(nodeMessage),
    name: g.name,
    initializer: g.initializers.map(tensorMessage),
    input: g.inputs.map(valueInfoMessage),
    output: g.outputs.map(valueInfoMessage),
    valueInfo: (g.valueInfo ?? []).map(valueInfoMessage),
  };
}

export function encodeModel(model: ModelProto): Uint8Array {
  const metadata = model.metadataProps;
  const message: Message = {
    irVersion: integer(model.irVersion, () => 'ir_version'),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    graph: graphMessage(model.graph),
    opsetImport: model.opsetImports.map((o) => ({
      domain: o.domain,
      version: integer(o.version, () => `opset '${o.domain}'`),
    })),
    metadataProps:
      metadata === undefined
        ? []
        : sortedKeys(metadata)
            .filter((k) => metadata[k] !== undefined)
            .map((key) => ({ key, value: metadata[key] })),
  };
  return MODEL.encode(message).finish();
}

// ---------------------------------------------------------------------------------------------------
// Reading: onnx.proto messages (as protobufjs decodes them) into ./types.ts objects.

/** A decoded message: fields absent from the bytes read as their defaults (own properties absent). */
interface Decoded {
  [field: string]: unknown;
}

function has(m: Decoded, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(m, field);
}

/** An int64/int32 field (Long or number) as a number: exact within ±2^53, the nearest double beyond. */
function num(v: unknown): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : (v as Long).toNumber();
}

function nums(v: unknown): number[] {
  return ((v as unknown[] | undefined) ?? []).map(num);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function list(v: unknown): Decoded[] {
  return (v as Decoded[] | undefined) ?? [];
}

const utf8 = new TextDecoder('utf-8');

function readTensor(m: Decoded): TensorProto {
  const name = str(m['name']);
  const what = `tensor '${name}'`;
  if (num(m['dataLocation']) === DATA_LOCATION_EXTERNAL)
    throw new RangeError(`${what}: external data is not supported`);
  const dataType = num(m['dataType']);
  if (!isDataTypeCode(dataType)) throw new RangeError(`${what}: unsupported data type ${dataType}`);
  const dims = nums(m['dims']);
  let rawData: Uint8Array;
  if (has(m, 'rawData'))
    rawData = new Uint8Array(m['rawData'] as Uint8Array); // a copy: the decoded field is a view of `bytes`
  else {
    switch (dataType) {
      case DataType.FLOAT:
        rawData = new Uint8Array(Float32Array.from((m['floatData'] as number[] | undefined) ?? []).buffer);
        break;
      case DataType.DOUBLE:
        rawData = new Uint8Array(Float64Array.from((m['doubleData'] as number[] | undefined) ?? []).buffer);
        break;
      case DataType.INT64:
        rawData = new Uint8Array(
          BigInt64Array.from(
            ((m['int64Data'] as unknown[] | undefined) ?? []).map((v) =>
              typeof v === 'number' ? BigInt(v) : BigInt((v as Long).toString()),
            ),
          ).buffer,
        );
        break;
      case DataType.BOOL:
        rawData = Uint8Array.from(nums(m['int32Data']), (v) => (v !== 0 ? 1 : 0));
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
function readAttribute(m: Decoded, where: string): [string, AttributeValue] {
  const name = str(m['name']);
  const floats = (m['floats'] as number[] | undefined) ?? [];
  const ints = nums(m['ints']);
  let type = num(m['type']);
  if (type === 0) {
    // Writers before IR version 3 may omit `type`: infer it from the field that is set.
    type = has(m, 't')
      ? ATTR.TENSOR
      : has(m, 's')
        ? ATTR.STRING
        : floats.length > 0
          ? ATTR.FLOATS
          : ints.length > 0
            ? ATTR.INTS
            : has(m, 'i')
              ? ATTR.INT
              : has(m, 'f')
                ? ATTR.FLOAT
                : 0;
  }
  // Absent scalar fields take their proto2 defaults (0, empty string).
  switch (type) {
    case ATTR.FLOAT:
      return [name, { type: 'float', value: (m['f'] as number | undefined) ?? 0 }];
    case ATTR.INT:
      return [name, { type: 'int', value: num(m['i']) }];
    case ATTR.STRING:
      return [name, { type: 'string', value: has(m, 's') ? utf8.decode(m['s'] as Uint8Array) : '' }];
    case ATTR.TENSOR:
      if (!has(m, 't')) throw new RangeError(`${where} attribute '${name}': TENSOR without t`);
      return [name, { type: 'tensor', value: readTensor(m['t'] as Decoded) }];
    case ATTR.FLOATS:
      return [name, { type: 'floats', value: [...floats] }];
    case ATTR.INTS:
      return [name, { type: 'ints', value: ints }];
    default:
      throw new RangeError(`${where} attribute '${name}': unsupported attribute type ${type}`);
  }
}

function readNode(m: Decoded, index: number): NodeProto {
  const node: NodeProto = {
    opType: str(m['opType']),
    inputs: [...((m['input'] as string[] | undefined) ?? [])],
    outputs: [...((m['output'] as string[] | undefined) ?? [])],
  };
  if (has(m, 'name')) node.name = str(m['name']);
  if (has(m, 'domain')) node.domain = str(m['domain']);
  const attributes = list(m['attribute']).map((a) => readAttribute(a, `node ${index}`));
  // fromEntries defines own properties, so a key such as "__proto__" stays data.
  if (attributes.length > 0) node.attributes = Object.fromEntries(attributes);
  return node;
}

type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

/** ValueInfoProto with a TypeProto.Tensor of known rank; anything else is reported, not decoded. */
function readValueInfo(m: Decoded): Read<ValueInfoProto> {
  const name = str(m['name']);
  const type = m['type'] as Decoded | undefined;
  if (type === undefined) return { ok: false, reason: `value '${name}': no type` };
  if (!has(type, 'tensorType')) {
    const other = ['sequenceType', 'mapType', 'optionalType', 'sparseTensorType'].find((k) => has(type, k));
    return {
      ok: false,
      reason: `value '${name}': ${other === undefined ? 'no type' : `${other} (not a tensor)`}`,
    };
  }
  const tensor = type['tensorType'] as Decoded;
  const elemType = num(tensor['elemType']);
  if (!isDataTypeCode(elemType))
    return { ok: false, reason: `value '${name}': unsupported element type ${elemType}` };
  if (!has(tensor, 'shape')) return { ok: false, reason: `value '${name}': unknown rank` };
  const shape: Dim[] = list((tensor['shape'] as Decoded)['dim']).map((d) =>
    has(d, 'dimValue') ? num(d['dimValue']) : has(d, 'dimParam') ? str(d['dimParam']) : '',
  );
  return { ok: true, value: { name, elemType, shape } };
}

function required<T>(d: Read<T>, where: string): T {
  if (!d.ok) throw new RangeError(`${where} ${d.reason}`);
  return d.value;
}

function readGraph(m: Decoded): GraphProto {
  if (list(m['sparseInitializer']).length > 0)
    throw new RangeError('ONNX graph: sparse initializers are not supported');
  const g: GraphProto = {
    name: str(m['name']),
    nodes: list(m['node']).map(readNode),
    initializers: list(m['initializer']).map(readTensor),
    inputs: list(m['input']).map((v) => required(readValueInfo(v), 'graph input')),
    outputs: list(m['output']).map((v) => required(readValueInfo(v), 'graph output')),
  };
  // value_info entries are optional hints: ones these types cannot hold are dropped.
  const valueInfo = list(m['valueInfo'])
    .map(readValueInfo)
    .flatMap((v) => (v.ok ? [v.value] : []));
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
  let m: Decoded;
  try {
    m = MODEL.decode(bytes) as unknown as Decoded;
  } catch (e) {
    throw new RangeError(`ONNX model: truncated or malformed protobuf (${(e as Error).message})`);
  }
  if (list(m['functions']).length > 0)
    throw new RangeError('ONNX model: model-local functions are not supported');
  if (!has(m, 'graph')) throw new RangeError('ONNX model: no graph');
  const model: ModelProto = {
    irVersion: num(m['irVersion']),
    opsetImports: list(m['opsetImport']).map((o) => ({
      domain: str(o['domain']),
      version: num(o['version']),
    })),
    producerName: str(m['producerName']),
    producerVersion: str(m['producerVersion']),
    graph: readGraph(m['graph'] as Decoded),
  };
  const metadata = list(m['metadataProps']);
  if (metadata.length > 0)
    model.metadataProps = Object.fromEntries(metadata.map((e) => [str(e['key']), str(e['value'])]));
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
