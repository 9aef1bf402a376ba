import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, tensorFromArray, tensorToArray } from '../src/head/onnx/proto.js';
import type { ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../src/head/onnx/types.js';
import { DataType } from '../src/head/onnx/types.js';
import { repoRoot } from './support/paths.js';
import {
  checkWithPythonOnnx,
  runPythonOnnx,
  skipPythonReference,
  skipPythonReferenceMessage,
} from './support/python-onnx.js';

const ferPath = join(repoRoot, 'models', 'fer_mini_xception_emb.onnx');

function model(name: string, graph: Omit<ModelProto['graph'], 'name'>): ModelProto {
  return {
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    producerName: 'emoflow-test',
    producerVersion: '0.1.0',
    graph: { name, ...graph },
  };
}

function vi(
  name: string,
  elemType: ValueInfoProto['elemType'],
  shape: ValueInfoProto['shape'],
): ValueInfoProto {
  return { name, elemType, shape };
}

/** A model that uses every attribute kind, symbolic, fixed and unnamed dims, metadata and all data types. */
function everythingModel(): ModelProto {
  const m = model('roundtrip', {
    nodes: [
      {
        opType: 'Everything',
        domain: 'com.emoflow.test',
        name: 'every attribute kind',
        inputs: ['x', '', 'w64'],
        outputs: ['y'],
        attributes: {
          int: { type: 'int', value: 7 },
          neg: { type: 'int', value: -1 },
          big: { type: 'int', value: Number.MAX_SAFE_INTEGER },
          int64max: { type: 'int', value: 2 ** 63 }, // how INT64_MAX decodes; clamped when written
          float: { type: 'float', value: 0.25 },
          fround: { type: 'float', value: Math.fround(0.1) },
          string: { type: 'string', value: 'héllo ✓' },
          empty: { type: 'string', value: '' },
          ints: { type: 'ints', value: [1, -1, 0, 2 ** 33, -(2 ** 40), -(2 ** 63)] },
          noInts: { type: 'ints', value: [] },
          floats: { type: 'floats', value: [1.5, -2, Math.fround(1 / 3)] },
          tensor: { type: 'tensor', value: tensorFromArray('', new Float32Array([1, 2, 3, 4]), [2, 2]) },
        },
      },
      { opType: 'Relu', inputs: ['y'], outputs: ['z'] },
      { opType: 'Identity', inputs: ['z'], outputs: ['z2'], name: '', domain: '' },
    ],
    initializers: [
      tensorFromArray('w32', new Float32Array([0.5, -1, 2, 3.25, 1e-8, -0]), [2, 3]),
      tensorFromArray('w64', new Float64Array([0.1, -1e300, 5e-324]), [3]),
      tensorFromArray('idx', new BigInt64Array([-1n, 0n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n]), [5]),
      tensorFromArray('scalar', new Float32Array([3]), []),
      tensorFromArray('none', new Float32Array(0), [0, 4]),
      { name: 'flags', dataType: DataType.BOOL, dims: [3], rawData: new Uint8Array([1, 0, 1]) },
    ],
    inputs: [vi('x', DataType.FLOAT, ['N', 3, ''])],
    outputs: [vi('z2', DataType.DOUBLE, ['N', 'M'])],
    valueInfo: [vi('y', DataType.INT64, []), vi('z', DataType.BOOL, [0, 1])],
  });
  m.opsetImports.push({ domain: 'com.emoflow.test', version: 1 });
  m.metadataProps = { b: '2', a: 'ünï', '': 'empty key', __proto__key: 'x' };
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Small graphs that run in onnxruntime-node, with reference values computed here.

const X = [
  [1, 2, 3],
  [-1, 0.5, 2],
];
const W = [
  [0.1, -0.2, 0.3, 0.4],
  [0.5, 0.6, -0.7, 0.8],
  [-0.9, 1.0, 1.1, -1.2],
];
const B = [0.1, 0.2, -0.3, 0.4];

function softmax(row: number[]): number[] {
  const max = Math.max(...row);
  const e = row.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** softmax(relu(X·W + B)) row by row, in float64. */
function mlpReference(): number[][] {
  return X.map((x) =>
    softmax(B.map((b, j) => Math.max(0, b + x.reduce((acc, xi, i) => acc + xi * W[i]![j]!, 0)))),
  );
}

function mlpModel(float64: boolean): ModelProto {
  const T = float64 ? Float64Array : Float32Array;
  const elem = float64 ? DataType.DOUBLE : DataType.FLOAT;
  return model(float64 ? 'mlp64' : 'mlp32', {
    nodes: [
      { opType: 'MatMul', inputs: ['X', 'W'], outputs: ['H'] },
      { opType: 'Add', inputs: ['H', 'B'], outputs: ['A'] },
      { opType: 'Relu', inputs: ['A'], outputs: ['R'] },
      { opType: 'Softmax', inputs: ['R'], outputs: ['Y'] }, // axis defaults to -1 (opset 13+)
    ],
    initializers: [tensorFromArray('W', T.from(W.flat()), [3, 4]), tensorFromArray('B', T.from(B), [4])],
    inputs: [vi('X', elem, ['N', 3])],
    outputs: [vi('Y', elem, ['N', 4])],
    valueInfo: [vi('H', elem, ['N', 4])],
  });
}

// Gemm(transB, alpha) → ReduceSum(axes input) → Concat(axis -1) → Add(Constant floats) → Cast(to DOUBLE)
// → Softmax(axis 1) → Mul(Constant tensor); and Pad(mode 'edge') → Transpose(perm).
const GW = [
  [1, 0, -1],
  [0.5, 0.5, 0.5],
  [2, -1, 0],
  [0, 0, 1],
];
const GC = [0.5, -0.5, 1, 0];
const K = [0.1, 0.2, 0.3, 0.4, 0.5];
const T5 = [1, 2, 3, 4, 5];

function attributeModel(): ModelProto {
  const nodes: NodeProto[] = [
    {
      opType: 'Gemm',
      inputs: ['X', 'GW', 'GC'],
      outputs: ['G'],
      attributes: { transB: { type: 'int', value: 1 }, alpha: { type: 'float', value: 0.5 } },
    },
    {
      opType: 'ReduceSum',
      inputs: ['G', 'axes'],
      outputs: ['S'],
      attributes: { keepdims: { type: 'int', value: 1 } },
    },
    {
      opType: 'Concat',
      inputs: ['G', 'S'],
      outputs: ['Cc'],
      attributes: { axis: { type: 'int', value: -1 } },
    },
    {
      opType: 'Constant',
      inputs: [],
      outputs: ['K'],
      attributes: { value_floats: { type: 'floats', value: K } },
    },
    { opType: 'Add', inputs: ['Cc', 'K'], outputs: ['A'] },
    {
      opType: 'Cast',
      inputs: ['A'],
      outputs: ['D'],
      attributes: { to: { type: 'int', value: DataType.DOUBLE } },
    },
    { opType: 'Softmax', inputs: ['D'], outputs: ['P'], attributes: { axis: { type: 'int', value: 1 } } },
    {
      opType: 'Constant',
      inputs: [],
      outputs: ['T'],
      attributes: { value: { type: 'tensor', value: tensorFromArray('', Float64Array.from(T5), [5]) } },
    },
    { opType: 'Mul', inputs: ['P', 'T'], outputs: ['Y'] },
    {
      opType: 'Pad',
      inputs: ['S', 'pads'],
      outputs: ['E'],
      attributes: { mode: { type: 'string', value: 'edge' } },
    },
    {
      opType: 'Transpose',
      inputs: ['E'],
      outputs: ['Et'],
      attributes: { perm: { type: 'ints', value: [1, 0] } },
    },
  ];
  return model('attributes', {
    nodes,
    initializers: [
      tensorFromArray('GW', Float32Array.from(GW.flat()), [4, 3]),
      tensorFromArray('GC', Float32Array.from(GC), [4]),
      tensorFromArray('axes', new BigInt64Array([1n]), [1]),
      tensorFromArray('pads', new BigInt64Array([0n, 0n, 0n, 1n]), [4]),
    ],
    inputs: [vi('X', DataType.FLOAT, ['N', 3])],
    outputs: [vi('Y', DataType.DOUBLE, ['N', 5]), vi('Et', DataType.FLOAT, [2, 'N'])],
  });
}

function attributeReference(): { Y: number[][]; Et: number[][] } {
  const g = X.map((x) => GC.map((c, j) => 0.5 * x.reduce((acc, xi, i) => acc + xi * GW[j]![i]!, 0) + c));
  const s = g.map((row) => row.reduce((a, b) => a + b, 0));
  const Y = g.map((row, n) => softmax([...row, s[n]!].map((v, j) => v + K[j]!)).map((p, j) => p * T5[j]!));
  return { Y, Et: [s, s] };
}

async function run(m: ModelProto, feeds: Record<string, ort.Tensor>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(encodeModel(m));
  try {
    const out = await session.run(feeds);
    const result: Record<string, number[]> = {};
    for (const [name, t] of Object.entries(out))
      result[name] = Array.from(t.data as Float32Array | Float64Array);
    return result;
  } finally {
    await session.release();
  }
}

function expectClose(actual: number[] | undefined, expected: number[], tol: number): void {
  expect(actual).toBeDefined();
  expect(actual!.length).toBe(expected.length);
  actual!.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tol));
}

describe('ONNX protobuf encoding', () => {
  it('round-trips every attribute kind, dims, metadata and initializer type', () => {
    const m = everythingModel();
    const back = decodeModel(encodeModel(m));
    expect(back).toStrictEqual(m);
    expect(tensorToArray(back.graph.initializers[2]!)).toEqual(
      new BigInt64Array([-1n, 0n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n]),
    );
  });

  it('writes negative int64 as 10-byte two’s-complement varints and floats as float32', () => {
    const bytes = Buffer.from(encodeModel(everythingModel()));
    // AttributeProto.i (field 3, varint) = -1
    expect(
      bytes.includes(Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    ).toBe(true);
    // AttributeProto.f (field 2, fixed32) = 0.25
    expect(bytes.includes(Buffer.from([0x15, 0x00, 0x00, 0x80, 0x3e]))).toBe(true);
    // INT64_MAX (from 2^63, clamped): 0x18 then 8 × 0xff and 0x7f
    expect(bytes.includes(Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toBe(
      true,
    );
  });

  it('is deterministic: same bytes twice, whatever the key insertion order', () => {
    const m = everythingModel();
    const a = encodeModel(m);
    expect(encodeModel(m)).toEqual(a);
    const node = m.graph.nodes[0]!;
    node.attributes = Object.fromEntries(Object.entries(node.attributes!).reverse());
    m.metadataProps = Object.fromEntries(Object.entries(m.metadataProps!).reverse());
    expect(Buffer.from(encodeModel(m)).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(encodeModel(decodeModel(a))).equals(Buffer.from(a))).toBe(true);
  });

  it('round-trips graphs larger than the 64 KiB scratch block, and long attribute lists', () => {
    const nodes: NodeProto[] = [];
    for (let i = 0; i < 5000; i++) {
      nodes.push({
        opType: 'Gemm',
        inputs: [`a${i}`, `w${i % 7}`, ''],
        outputs: [`a${i + 1}`],
        name: `gemm_${i}_ü`,
        attributes: { transB: { type: 'int', value: i % 2 }, alpha: { type: 'float', value: i / 4 } },
      });
    }
    nodes.push({
      opType: 'Constant',
      inputs: [],
      outputs: ['c'],
      attributes: {
        value_floats: { type: 'floats', value: Array.from({ length: 20_000 }, (_, i) => i - 0.5) },
        value_ints: { type: 'ints', value: Array.from({ length: 20_000 }, (_, i) => 7 - i) },
        value_string: { type: 'string', value: 'x'.repeat(100_000) },
      },
    });
    const m = model('large', { nodes, initializers: [], inputs: [], outputs: [] });
    const bytes = encodeModel(m);
    expect(bytes.length).toBeGreaterThan(4 << 16);
    expect(decodeModel(bytes)).toStrictEqual(m);
    expect(Buffer.from(encodeModel(m)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('rejects malformed input', () => {
    const m = everythingModel();
    m.graph.initializers[0]!.dims = [2, 2];
    expect(() => encodeModel(m)).toThrow(/w32.*24 bytes/);
    const n = everythingModel();
    n.graph.nodes[0]!.attributes!['int'] = { type: 'int', value: 1.5 };
    expect(() => encodeModel(n)).toThrow(/not an integer/);
    const bytes = encodeModel(everythingModel());
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
  });

  it('copies typed arrays in and out of tensors, at any byte offset', () => {
    const t = tensorFromArray('t', new Float64Array([1.5, -2, Math.PI]), [3]);
    const shifted = new Uint8Array(t.rawData.length + 3);
    shifted.set(t.rawData, 3);
    const back = tensorToArray({ ...t, rawData: shifted.subarray(3) });
    expect(back).toEqual(new Float64Array([1.5, -2, Math.PI]));
    const src = new Float32Array([1, 2, 3, 4]);
    const view = tensorFromArray('v', src.subarray(1), [3]);
    src[2] = 99;
    expect(tensorToArray(view)).toEqual(new Float32Array([2, 3, 4]));
    expect(() => tensorFromArray('bad', new Float32Array(5), [2, 2])).toThrow(/5 values/);
    expect(() =>
      tensorToArray({ name: 'b', dataType: DataType.BOOL, dims: [1], rawData: new Uint8Array(1) }),
    ).toThrow(/rawData/);
  });

  it('reads unpacked float_data and skips unknown fields', () => {
    // Hand-built: ModelProto { ir_version 8, graph { initializer { dims 2 (unpacked), data_type FLOAT,
    // float_data 1.5, float_data -2 (unpacked fixed32), name "u", doc_string "?" (field 12, unknown) },
    // doc_string (field 10, unknown) } , model_version (field 5, unknown) }.
    const f32 = (v: number): number[] => [...new Uint8Array(new Float32Array([v]).buffer)];
    const tensor = [0x08, 2, 0x10, 1, 0x25, ...f32(1.5), 0x25, ...f32(-2), 0x42, 1, 0x75, 0x62, 1, 0x3f];
    const graph = [0x2a, tensor.length, ...tensor, 0x52, 2, 0x68, 0x69];
    const bytes = new Uint8Array([0x08, 8, 0x28, 0x80, 0x01, 0x3a, graph.length, ...graph]);
    const m = decodeModel(bytes);
    expect(m.irVersion).toBe(8);
    expect(m.graph.initializers).toHaveLength(1);
    expect(m.graph.initializers[0]!.name).toBe('u');
    expect(tensorToArray(m.graph.initializers[0]!)).toEqual(new Float32Array([1.5, -2]));
  });

  it('encodes a 4 MB initializer quickly', () => {
    const data = new Float32Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i);
    const m = model('big', {
      nodes: [{ opType: 'Identity', inputs: ['w'], outputs: ['y'] }],
      initializers: [tensorFromArray('w', data, [1024, 1024])],
      inputs: [],
      outputs: [vi('y', DataType.FLOAT, [1024, 1024])],
    });
    encodeModel(m); // warm-up
    const t0 = performance.now();
    const bytes = encodeModel(m);
    const t1 = performance.now();
    const back = decodeModel(bytes);
    const t2 = performance.now();
    console.info(
      `4 MB initializer: encode ${(t1 - t0).toFixed(2)} ms, decode ${(t2 - t1).toFixed(2)} ms, ${bytes.length} bytes`,
    );
    expect(bytes.length).toBeLessThan(data.byteLength + 200);
    // (Buffer comparison: a deep equal of 2^20 elements takes seconds.)
    const decoded = tensorToArray(back.graph.initializers[0]!) as Float32Array;
    expect(Buffer.from(decoded.buffer).equals(Buffer.from(data.buffer))).toBe(true);
  });
});

describe('models written here run in onnxruntime-node', () => {
  const x32 = (): ort.Tensor => new ort.Tensor('float32', Float32Array.from(X.flat()), [2, 3]);

  it('MatMul + Add + Relu + Softmax, float32', async () => {
    const out = await run(mlpModel(false), { X: x32() });
    expectClose(out['Y'], mlpReference().flat(), 1e-6);
  });

  it('MatMul + Add + Relu + Softmax, float64', async () => {
    const out = await run(mlpModel(true), {
      X: new ort.Tensor('float64', Float64Array.from(X.flat()), [2, 3]),
    });
    expectClose(out['Y'], mlpReference().flat(), 1e-12);
  });

  it('Gemm transB/alpha, ReduceSum axes input, Concat axis -1, Constant, Cast, Softmax, Pad, Transpose', async () => {
    const out = await run(attributeModel(), { X: x32() });
    const ref = attributeReference();
    expectClose(out['Y'], ref.Y.flat(), 1e-6);
    expectClose(out['Et'], ref.Et.flat(), 1e-5);
    // By hand: G row 0 = 0.5·[1-3, 0.5·6, 2-2, 3] + GC = [-0.5, 1, 1, 1.5], S = 3;
    // G row 1 = 0.5·[-1-2, 0.5·1.5, -2-0.5, 2] + GC = [-1, -0.125, -0.25, 1], S = -0.375.
    expect(out['Et']).toEqual([3, -0.375, 3, -0.375]);
  });

  it('decodes models/fer_mini_xception_emb.onnx, and re-encodes it to a model giving identical outputs', async () => {
    const original = new Uint8Array(readFileSync(ferPath));
    const m = decodeModel(original);
    expect(m.graph.inputs).toEqual([vi('input', DataType.FLOAT, ['N', 1, 64, 64])]);
    expect(m.graph.outputs.map((o) => o.name)).toEqual(['probs', 'embedding']);
    expect(m.graph.outputs.map((o) => o.shape)).toEqual([
      ['N', 7],
      ['N', 128],
    ]);
    // Figures from python3-onnx 1.12 (onnx.load): 42 nodes, 38 initializers, 56215 elements, opset 13.
    expect(m.graph.nodes).toHaveLength(42);
    expect(m.graph.initializers).toHaveLength(38);
    expect(m.graph.initializers.reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0)).toBe(56215);
    expect(m.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expect(m.metadataProps?.['labels']).toBe('angry,disgust,fear,happy,sad,surprise,neutral');

    const input = new Float32Array(2 * 64 * 64).map((_, i) => Math.sin(i * 0.01));
    const feeds = (): Record<string, ort.Tensor> => ({
      input: new ort.Tensor('float32', input, [2, 1, 64, 64]),
    });
    const a = await ort.InferenceSession.create(original);
    const b = await ort.InferenceSession.create(encodeModel(m));
    const [oa, ob] = [await a.run(feeds()), await b.run(feeds())];
    expect(ob['probs']!.data).toEqual(oa['probs']!.data);
    expect(ob['embedding']!.data).toEqual(oa['embedding']!.data);
    await a.release();
    await b.release();
  });
});

describe.skipIf(skipPythonReference)('python3-onnx reference (onnx.checker, onnx.load)', () => {
  const checked: [string, () => ModelProto][] = [
    ['mlp32', () => mlpModel(false)],
    ['mlp64', () => mlpModel(true)],
    ['attributes', attributeModel],
  ];
  for (const [name, make] of checked) {
    it(`check_model(full_check=True) passes on ${name}, and onnx.load sees the same graph`, async () => {
      const m = make();
      const r = await checkWithPythonOnnx(encodeModel(m));
      expect(r.message).toBe('');
      expect(r.ok).toBe(true);
      expect(r.nodes).toBe(m.graph.nodes.length);
      expect(r.ops).toEqual(m.graph.nodes.map((n) => n.opType));
      expect(r.initializers).toEqual(m.graph.initializers.map((t) => t.name));
    });
  }

  it('check_model passes on the re-encoded FER model; element counts agree with python', async () => {
    const original = new Uint8Array(readFileSync(ferPath));
    const m = decodeModel(original);
    const ref = await checkWithPythonOnnx(original);
    const r = await checkWithPythonOnnx(encodeModel(m));
    expect(r.message).toBe('');
    expect(r.ok).toBe(true);
    expect(r).toEqual(ref);
    expect(m.graph.initializers.reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0)).toBe(
      ref.initializerElements,
    );
    expect(m.graph.initializers.map((t) => t.name)).toEqual(ref.initializers);
  });

  it('onnx.load reads back every value of the round-trip model', async () => {
    const m = everythingModel();
    const seen = await runPythonOnnx(
      `
def val(a):
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes): return v.decode()
    if isinstance(v, onnx.TensorProto): return onnx.numpy_helper.to_array(v).tolist()
    return list(v) if not isinstance(v, (int, float)) else v
def dim(d):
    return d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value") else ""
def info(v):
    return [v.name, v.type.tensor_type.elem_type, [dim(d) for d in v.type.tensor_type.shape.dim]]
g = m.graph
out = {
    "ir": m.ir_version,
    "opsets": [[o.domain, o.version] for o in m.opset_import],
    "producer": [m.producer_name, m.producer_version],
    "meta": [[p.key, p.value] for p in m.metadata_props],
    "nodes": [[n.op_type, n.domain, n.name, list(n.input), list(n.output),
               {a.name: val(a) for a in n.attribute}] for n in g.node],
    "inits": [[t.name, t.data_type, list(t.dims), onnx.numpy_helper.to_array(t).tolist()] for t in g.initializer],
    "io": [[info(v) for v in g.input], [info(v) for v in g.output], [info(v) for v in g.value_info]],
}
`,
      encodeModel(m),
    );
    const attrs = Object.fromEntries(
      Object.entries(m.graph.nodes[0]!.attributes!).map(([k, a]) => [
        k,
        a.type === 'tensor'
          ? [
              [1, 2],
              [3, 4],
            ]
          : a.value, // the tensor attribute is [2, 2]
      ]),
    );
    attrs['int64max'] = 2 ** 63 - 1; // INT64_MAX, as JSON reads it: 2^63
    const bool = (t: TensorProto): boolean[] => [...t.rawData].map((b) => b === 1);
    expect(seen).toEqual({
      ir: 8,
      opsets: [
        ['', 17],
        ['com.emoflow.test', 1],
      ],
      producer: ['emoflow-test', '0.1.0'],
      meta: Object.entries(m.metadataProps!).sort(([a], [b]) => (a < b ? -1 : 1)),
      nodes: [
        ['Everything', 'com.emoflow.test', 'every attribute kind', ['x', '', 'w64'], ['y'], attrs],
        ['Relu', '', '', ['y'], ['z'], {}],
        ['Identity', '', '', ['z'], ['z2'], {}],
      ],
      inits: [
        [
          'w32',
          1,
          [2, 3],
          [
            [0.5, -1, 2],
            [3.25, Math.fround(1e-8), -0],
          ],
        ],
        ['w64', 11, [3], [0.1, -1e300, 5e-324]],
        ['idx', 7, [5], [-1, 0, 2 ** 62, -(2 ** 63), 2 ** 63]],
        ['scalar', 1, [], 3],
        ['none', 1, [0, 4], []],
        ['flags', 9, [3], bool(m.graph.initializers[5]!)],
      ],
      io: [
        [['x', 1, ['N', 3, '']]],
        [['z2', 11, ['N', 'M']]],
        [
          ['y', 7, []],
          ['z', 9, [0, 1]],
        ],
      ],
    });
  });

  it('writes byte for byte what onnx.helper writes, for a model without repeated numeric fields', async () => {
    // Python serialises proto2 repeated int64/float unpacked and we pack them, so this model has none:
    // scalar initializers only, and int, float and string attributes.
    const m = model('plain', {
      nodes: [
        { opType: 'Mul', inputs: ['X', 'scale'], outputs: ['Z'], name: 'mul' },
        {
          opType: 'LeakyRelu',
          inputs: ['Z'],
          outputs: ['L'],
          attributes: { alpha: { type: 'float', value: 0.1 } },
        },
        {
          opType: 'Softmax',
          inputs: ['L'],
          outputs: ['S'],
          attributes: { axis: { type: 'int', value: -1 } },
        },
        {
          opType: 'DepthToSpace',
          inputs: ['S'],
          outputs: ['Y'],
          attributes: { mode: { type: 'string', value: 'CRD' }, blocksize: { type: 'int', value: 2 } },
        },
      ],
      initializers: [tensorFromArray('scale', new Float64Array([2]), [])],
      inputs: [vi('X', DataType.DOUBLE, ['N', 4, 1, 1])],
      outputs: [vi('Y', DataType.DOUBLE, ['N', 1, 2, 2])],
    });
    m.metadataProps = { source: 'test', license: 'MIT' };
    const theirs = await runPythonOnnx(`
import base64
from onnx import helper, TensorProto
g = helper.make_graph(
    [helper.make_node("Mul", ["X", "scale"], ["Z"], name="mul"),
     helper.make_node("LeakyRelu", ["Z"], ["L"], alpha=0.1),
     helper.make_node("Softmax", ["L"], ["S"], axis=-1),
     helper.make_node("DepthToSpace", ["S"], ["Y"], mode="CRD", blocksize=2)],
    "plain",
    [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["N", 4, 1, 1])],
    [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, ["N", 1, 2, 2])],
    initializer=[helper.make_tensor("scale", TensorProto.DOUBLE, [], np.array([2], np.float64).tobytes(), raw=True)])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="emoflow-test",
                      producer_version="0.1.0")
m.ir_version = 8
helper.set_model_props(m, {"license": "MIT", "source": "test"})
onnx.checker.check_model(m, full_check=True)
out = base64.b64encode(m.SerializeToString()).decode()
`);
    expect(Buffer.from(encodeModel(m)).toString('hex')).toBe(
      Buffer.from(theirs as string, 'base64').toString('hex'),
    );
  });

  it('reads float_data, int64_data, double_data and int32_data (BOOL) written by onnx.helper', async () => {
    const b64 = await runPythonOnnx(`
import base64
from onnx import helper, TensorProto
inits = [helper.make_tensor("f", TensorProto.FLOAT, [2, 2], [1.5, -2.0, 3.0, 0.25]),
         helper.make_tensor("i", TensorProto.INT64, [3], [-1, 0, 2**62]),
         helper.make_tensor("d", TensorProto.DOUBLE, [2], [0.1, -1e300]),
         helper.make_tensor("b", TensorProto.BOOL, [3], [True, False, True])]
node = helper.make_node("Transpose", ["f"], ["y"], perm=[1, 0], doc_string="unknown field")
g = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
                      initializer=inits, doc_string="unknown field")
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], doc_string="unknown", model_version=3)
assert not any(t.HasField("raw_data") for t in inits)
out = base64.b64encode(m.SerializeToString()).decode()
`);
    const m = decodeModel(new Uint8Array(Buffer.from(b64 as string, 'base64')));
    const [f, i, d, b] = m.graph.initializers;
    expect(tensorToArray(f!)).toEqual(new Float32Array([1.5, -2, 3, 0.25]));
    expect(f!.dims).toEqual([2, 2]);
    expect(tensorToArray(i!)).toEqual(new BigInt64Array([-1n, 0n, 2n ** 62n]));
    expect(tensorToArray(d!)).toEqual(new Float64Array([0.1, -1e300]));
    expect(b!.rawData).toEqual(new Uint8Array([1, 0, 1]));
    expect(m.graph.nodes[0]!.attributes).toEqual({ perm: { type: 'ints', value: [1, 0] } });
    const out = await run(m, {});
    expect(out['y']).toEqual([1.5, 3, -2, 0.25]);
  });
});

if (skipPythonReference) console.warn(skipPythonReferenceMessage);

describe('the protobuf schema and the shipped head', () => {
  const ONNX_PROTO = '/usr/lib/python3/dist-packages/onnx/onnx.proto';

  it('decodes the default head and encodes it again to the same bytes (same sha256)', async () => {
    const { createHash } = await import('node:crypto');
    const { join } = await import('node:path');
    const { repoRoot } = await import('./support/paths.js');
    const bytes = readFileSync(join(repoRoot, 'models', 'heads', 'default', 'head.onnx'));
    const again = encodeModel(decodeModel(bytes));
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(again)).toBe(sha(bytes));
  });

  it.skipIf(!existsSync(ONNX_PROTO))(
    `is onnx.proto as Debian's python3-onnx ships it, dims/ints/floats packed (skipped: no ${ONNX_PROTO})`,
    async () => {
      const protobuf = (await import('protobufjs')).default;
      const { ONNX_SCHEMA } = await import('../src/head/onnx/onnx-schema.js');
      const root = protobuf.loadSync(ONNX_PROTO);
      for (const [type, field] of [
        ['onnx.TensorProto', 'dims'],
        ['onnx.AttributeProto', 'ints'],
        ['onnx.AttributeProto', 'floats'],
      ] as const)
        root.lookupType(type).fields[field]!.setOption('packed', true);
      expect(ONNX_SCHEMA).toEqual(JSON.parse(JSON.stringify(root.toJSON())));
    },
  );
});
