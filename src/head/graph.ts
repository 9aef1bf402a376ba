import {
  DataType,
  type AttributeValue,
  type DataTypeCode,
  type Dim,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx/types.js';

/** Element type of a graph's floating-point values. float64 serves gradient checks. */
export type FloatType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;

/** A value of the graph: its name and static shape ('N' is the batch dimension). */
export interface Value {
  readonly name: string;
  readonly shape: readonly Dim[];
}

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttributeValue>;
  /** Reverse-mode rule: given d(loss)/d(outputs[0]), returns d(loss)/d(each input) (undefined: none). */
  grad?: (g: Graph, dy: Value) => (Value | undefined)[];
}

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

function elemType(t: FloatType): DataTypeCode {
  return t === 'float32' ? DataType.FLOAT : DataType.DOUBLE;
}

function tensor(name: string, data: FloatArray | BigInt64Array, dims: readonly number[]): TensorProto {
  const type: DataTypeCode =
    data instanceof BigInt64Array
      ? DataType.INT64
      : data instanceof Float64Array
        ? DataType.DOUBLE
        : DataType.FLOAT;
  return {
    name,
    dataType: type,
    dims: [...dims],
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  };
}

/** Broadcast shape of two shapes (numpy rules; 'N' only meets 'N' or 1). */
function broadcastShape(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new Error(`cannot broadcast [${a.join(',')}] with [${b.join(',')}]`);
  }
  return out;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A small ONNX graph builder with reverse-mode differentiation. Each forward op records how to
 * differentiate itself, written out as ONNX ops (Gemm with transposes for MatMul, masks for
 * ReLU, the softmax Jacobian-vector product, …), so that one head description yields the
 * inference graph and a training-step graph that outputs the loss and every parameter's gradient.
 * Everything is generic over float32 and float64; only ops that onnxruntime's CPU provider
 * implements in both are used (no Erf, Elu, Softplus).
 */
export class Graph {
  readonly type: FloatType;
  private readonly nodes: Node[] = [];
  private readonly inputs: Value[] = [];
  /** Graph inputs of integer type (token ids), by name. */
  private readonly intInputs = new Set<string>();
  private readonly outputs: Value[] = [];
  private readonly params = new Map<string, { value: Value; data: FloatArray }>();
  private readonly constants = new Map<string, TensorProto>();
  private readonly shapes = new Map<string, readonly Dim[]>();
  private readonly producer = new Map<string, number>();
  private counter = 0;

  constructor(type: FloatType) {
    this.type = type;
  }

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  private value(name: string, shape: readonly Dim[]): Value {
    this.shapes.set(name, shape);
    return { name, shape };
  }

  private emit(
    op: string,
    inputs: Value[],
    shape: readonly Dim[],
    attrs: Record<string, AttributeValue> = {},
    grad?: Node['grad'],
  ): Value {
    const out = this.value(this.fresh(op.toLowerCase()), shape);
    const node: Node = { op, inputs: inputs.map((v) => v.name), outputs: [out.name], attrs };
    if (grad !== undefined) node.grad = grad;
    this.producer.set(out.name, this.nodes.length);
    this.nodes.push(node);
    return out;
  }

  /** Element array of this graph's float type. */
  array(data: ArrayLike<number> | number): FloatArray {
    const src = typeof data === 'number' ? [data] : data;
    return this.type === 'float32' ? Float32Array.from(src) : Float64Array.from(src);
  }

  input(name: string, shape: readonly Dim[]): Value {
    const v = this.value(name, shape);
    this.inputs.push(v);
    return v;
  }

  /** An int64 input (ids); no gradient flows into it. */
  intInput(name: string, shape: readonly Dim[]): Value {
    this.intInputs.add(name);
    return this.input(name, shape);
  }

  /** A trainable parameter; `data` holds its current values (shared with the caller, not copied). */
  param(name: string, shape: readonly number[], data: FloatArray): Value {
    if (data.length !== sizeOf(shape))
      throw new Error(`param ${name}: ${data.length} values for shape [${shape.join(',')}]`);
    const v = this.value(name, shape);
    this.params.set(name, { value: v, data });
    return v;
  }

  /** A constant of the float type (not trained). */
  constant(data: ArrayLike<number> | number, shape: readonly number[] = [], hint = 'const'): Value {
    const name = this.fresh(hint);
    this.constants.set(name, tensor(name, this.array(data), shape));
    return this.value(name, shape);
  }

  /** An int64 constant (axes, shapes). */
  ints(values: readonly number[], hint = 'ints'): Value {
    const name = this.fresh(hint);
    this.constants.set(name, tensor(name, BigInt64Array.from(values.map(BigInt)), [values.length]));
    return this.value(name, [values.length]);
  }

  output(name: string, v: Value): Value {
    const out = this.emit('Identity', [v], v.shape, {}, (_g, dy) => [dy]);
    // Rename the identity's output to the requested name.
    const node = this.nodes[this.nodes.length - 1]!;
    this.producer.delete(out.name);
    node.outputs[0] = name;
    this.producer.set(name, this.nodes.length - 1);
    const named = this.value(name, v.shape);
    this.outputs.push(named);
    return named;
  }

  paramNames(): string[] {
    return [...this.params.keys()];
  }

  paramData(name: string): FloatArray {
    const p = this.params.get(name);
    if (p === undefined) throw new Error(`no param ${name}`);
    return p.data;
  }

  // ---------------------------------------------------------------- elementwise

  /** Sums `dy` down to `shape` (undoing numpy broadcasting). */
  unbroadcast(dy: Value, shape: readonly Dim[]): Value {
    const r = dy.shape.length;
    const lead = r - shape.length;
    let out = dy;
    if (lead > 0) {
      const axes = Array.from({ length: lead }, (_, i) => i);
      out = this.reduceSum(out, axes, false);
    }
    const keep: number[] = [];
    shape.forEach((d, i) => {
      if (d === 1 && out.shape[i] !== 1) keep.push(i);
    });
    if (keep.length > 0) out = this.reduceSum(out, keep, true);
    return out;
  }

  add(a: Value, b: Value): Value {
    return this.emit('Add', [a, b], broadcastShape(a.shape, b.shape), {}, (g, dy) => [
      g.unbroadcast(dy, a.shape),
      g.unbroadcast(dy, b.shape),
    ]);
  }

  sub(a: Value, b: Value): Value {
    return this.emit('Sub', [a, b], broadcastShape(a.shape, b.shape), {}, (g, dy) => [
      g.unbroadcast(dy, a.shape),
      g.unbroadcast(g.neg(dy), b.shape),
    ]);
  }

  mul(a: Value, b: Value): Value {
    return this.emit('Mul', [a, b], broadcastShape(a.shape, b.shape), {}, (g, dy) => [
      g.unbroadcast(g.mul(dy, b), a.shape),
      g.unbroadcast(g.mul(dy, a), b.shape),
    ]);
  }

  div(a: Value, b: Value): Value {
    return this.emit('Div', [a, b], broadcastShape(a.shape, b.shape), {}, (g, dy) => {
      const da = g.div(dy, b);
      // d(a/b)/db = -a/b^2 = -(a/b)/b
      const db = g.neg(g.div(g.mul(dy, g.div(a, b)), b));
      return [g.unbroadcast(da, a.shape), g.unbroadcast(db, b.shape)];
    });
  }

  neg(x: Value): Value {
    return this.emit('Neg', [x], x.shape, {}, (g, dy) => [g.neg(dy)]);
  }

  scale(x: Value, c: number): Value {
    return this.mul(x, this.constant(c));
  }

  addScalar(x: Value, c: number): Value {
    return this.add(x, this.constant(c));
  }

  relu(x: Value): Value {
    return this.emit('Relu', [x], x.shape, {}, (g, dy) => [g.mul(dy, g.positiveMask(x))]);
  }

  /** 1 where x > 0, else 0, in the float type (no gradient flows through it). */
  positiveMask(x: Value): Value {
    const zero = this.constant(0);
    const gt = this.emit('Greater', [x, zero], x.shape);
    return this.emit('Cast', [gt], x.shape, { to: { type: 'int', value: elemType(this.type) } });
  }

  tanh(x: Value): Value {
    const y = this.emit('Tanh', [x], x.shape, {}, (g, dy) => [g.mul(dy, g.sub(g.constant(1), g.mul(y, y)))]);
    return y;
  }

  sigmoid(x: Value): Value {
    const y = this.emit('Sigmoid', [x], x.shape, {}, (g, dy) => [
      g.mul(dy, g.mul(y, g.sub(g.constant(1), y))),
    ]);
    return y;
  }

  exp(x: Value): Value {
    const y = this.emit('Exp', [x], x.shape, {}, (g, dy) => [g.mul(dy, y)]);
    return y;
  }

  log(x: Value): Value {
    return this.emit('Log', [x], x.shape, {}, (g, dy) => [g.div(dy, x)]);
  }

  abs(x: Value): Value {
    return this.emit('Abs', [x], x.shape, {}, (g, dy) => [g.mul(dy, g.emit('Sign', [x], x.shape))]);
  }

  /**
   * LeakyReLU as (1 − α)·relu(x) + α·x, from ops that already differentiate: onnxruntime's CPU
   * LeakyRelu has no float64 kernel, which the gradient checks need.
   */
  leakyRelu(x: Value, alpha: number): Value {
    return this.add(this.scale(this.relu(x), 1 - alpha), this.scale(x, alpha));
  }

  /**
   * Gradient reversal (Ganin and Lempitsky 2015): the identity forward, −factor·dy backward. What
   * follows it learns to minimise its loss while everything before it learns to maximise it (a
   * domain classifier behind it makes the shared features hide the domain).
   */
  reverseGradient(x: Value, factor: number): Value {
    return this.emit('Identity', [x], x.shape, {}, (g, dy) => [g.scale(dy, -factor)]);
  }

  /** GELU, tanh approximation (Hendrycks & Gimpel 2016, eq. in §2): onnxruntime has no float64 Erf. */
  gelu(x: Value): Value {
    const c = Math.sqrt(2 / Math.PI);
    const inner = this.scale(this.add(x, this.scale(this.mul(this.mul(x, x), x), 0.044715)), c);
    return this.mul(this.scale(x, 0.5), this.addScalar(this.tanh(inner), 1));
  }

  // ---------------------------------------------------------------- linear algebra

  /** [.., D] x [D, H] (2-D operands). Backward: dA = dY·Bᵀ, dB = Aᵀ·dY as Gemm with transposes. */
  matmul(a: Value, b: Value): Value {
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error('matmul takes 2-D operands');
    return this.emit('MatMul', [a, b], [a.shape[0]!, b.shape[1]!], {}, (g, dy) => [
      g.emit('Gemm', [dy, b], a.shape, { transB: { type: 'int', value: 1 } }),
      g.emit('Gemm', [a, dy], b.shape, { transA: { type: 'int', value: 1 } }),
    ]);
  }

  /**
   * Rows of a table: `table` [V, D] gathered at int64 `ids` [N, L] gives [N, L, D] (an embedding
   * lookup). Backward: the table's gradient is dy scattered back with additions (ScatterND,
   * reduction 'add', opset 16+) into zeros of the table's shape, so an id that appears several
   * times gets the sum of its rows' gradients; the ids get none.
   */
  gather(table: Value, ids: Value): Value {
    if (table.shape.length !== 2 || ids.shape.length !== 2) throw new Error('gather takes [V, D] and [N, L]');
    const shape: Dim[] = [...ids.shape, table.shape[1]!];
    return this.emit('Gather', [table, ids], shape, { axis: { type: 'int', value: 0 } }, (g, dy) => {
      const zeros = g.emit('Expand', [g.constant(0), g.emit('Shape', [table], [2])], table.shape);
      const index = g.emit('Unsqueeze', [ids, g.ints([2], 'axes')], [...ids.shape, 1]);
      const reduction = { reduction: { type: 'string' as const, value: 'add' } };
      return [g.emit('ScatterND', [zeros, index, dy], table.shape, reduction), undefined];
    });
  }

  /** Swaps the two axes of a 2-D value ([N, 1] scores to [1, N]). Backward: the same swap of dy. */
  transpose(x: Value): Value {
    if (x.shape.length !== 2) throw new Error('transpose takes a 2-D operand');
    const perm = { perm: { type: 'ints' as const, value: [1, 0] } };
    return this.emit('Transpose', [x], [x.shape[1]!, x.shape[0]!], perm, (g, dy) => [g.transpose(dy)]);
  }

  /** x·W + b. */
  linear(x: Value, w: Value, b: Value): Value {
    return this.add(this.matmul(x, w), b);
  }

  // ---------------------------------------------------------------- reductions and shapes

  reduceSum(x: Value, axes: readonly number[], keepdims: boolean): Value {
    const r = x.shape.length;
    const norm = axes.map((a) => (a < 0 ? a + r : a));
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (norm.includes(i)) {
        if (keepdims) shape.push(1);
      } else shape.push(d);
    });
    return this.emit(
      'ReduceSum',
      [x, this.ints(norm, 'axes')],
      shape,
      { keepdims: { type: 'int', value: keepdims ? 1 : 0 } },
      (g, dy) => {
        // Put the reduced axes back as 1s, then broadcast to x's shape.
        let d = dy;
        if (!keepdims) d = g.unsqueeze(dy, norm);
        return [g.expandLike(d, x), undefined];
      },
    );
  }

  /** Broadcasts `x` to the shape of `like` (Expand to Shape(like)). */
  expandLike(x: Value, like: Value): Value {
    const shape = this.emit('Shape', [like], [like.shape.length]);
    return this.emit('Expand', [x, shape], like.shape, {}, (g, dy) => [
      g.unbroadcast(dy, x.shape),
      undefined,
    ]);
  }

  unsqueeze(x: Value, axes: readonly number[]): Value {
    const shape: Dim[] = [...x.shape];
    for (const a of [...axes].sort((p, q) => p - q)) shape.splice(a, 0, 1);
    return this.emit('Unsqueeze', [x, this.ints(axes, 'axes')], shape, {}, (g, dy) => [
      g.squeeze(dy, axes),
      undefined,
    ]);
  }

  squeeze(x: Value, axes: readonly number[]): Value {
    const shape = x.shape.filter((_, i) => !axes.includes(i));
    return this.emit('Squeeze', [x, this.ints(axes, 'axes')], shape, {}, (g, dy) => [
      g.unsqueeze(dy, axes),
      undefined,
    ]);
  }

  /** Concatenation along `axis`; backward slices dy back apart. */
  concat(xs: readonly Value[], axis: number): Value {
    const r = xs[0]!.shape.length;
    const ax = axis < 0 ? axis + r : axis;
    const widths = xs.map((x) => x.shape[ax]);
    if (widths.some((w) => typeof w !== 'number')) throw new Error('concat along a symbolic axis');
    const total = (widths as number[]).reduce((p, q) => p + q, 0);
    const shape = [...xs[0]!.shape];
    shape[ax] = total;
    return this.emit('Concat', [...xs], shape, { axis: { type: 'int', value: ax } }, (g, dy) => {
      let start = 0;
      return xs.map((x) => {
        const w = x.shape[ax] as number;
        const part = g.slice(dy, ax, start, start + w);
        start += w;
        return part;
      });
    });
  }

  slice(x: Value, axis: number, start: number, end: number): Value {
    const shape = [...x.shape];
    shape[axis] = end - start;
    const inputs = [x, this.ints([start], 'starts'), this.ints([end], 'ends'), this.ints([axis], 'axes')];
    return this.emit('Slice', inputs, shape, {}, (g, dy) => {
      // The slice's gradient is dy padded with zeros back to x's extent along `axis`.
      const r = x.shape.length;
      const pads = new Array<number>(2 * r).fill(0);
      pads[axis] = start;
      pads[r + axis] = (x.shape[axis] as number) - end;
      return [g.emit('Pad', [dy, g.ints(pads, 'pads')], x.shape), undefined, undefined, undefined];
    });
  }

  softmax(x: Value, axis = -1): Value {
    const y = this.emit('Softmax', [x], x.shape, { axis: { type: 'int', value: axis } }, (g, dy) => {
      // dx = y ⊙ (dy − Σ(dy ⊙ y))
      const s = g.reduceSum(g.mul(dy, y), [axis], true);
      return [g.mul(y, g.sub(dy, s))];
    });
    return y;
  }

  logSoftmax(x: Value, axis = -1): Value {
    const y = this.emit('LogSoftmax', [x], x.shape, { axis: { type: 'int', value: axis } }, (g, dy) => {
      // dx = dy − softmax(x) ⊙ Σ dy
      const s = g.reduceSum(dy, [axis], true);
      return [g.sub(dy, g.mul(g.exp(y), s))];
    });
    return y;
  }

  // ---------------------------------------------------------------- differentiation

  /**
   * Appends the backward pass of scalar `loss` and returns the gradient value of each named
   * parameter (a zero-free graph: parameters that do not reach the loss get an explicit zero).
   */
  gradients(loss: Value, wrt: readonly string[]): Map<string, Value> {
    if (loss.shape.length !== 0) throw new Error('loss must be a scalar');
    // Values that depend on a parameter: only they need gradients.
    const needs = new Set<string>(wrt);
    const forward = this.nodes.length;
    for (let i = 0; i < forward; i++) {
      const n = this.nodes[i]!;
      if (n.inputs.some((x) => needs.has(x))) for (const o of n.outputs) needs.add(o);
    }
    const grads = new Map<string, Value[]>();
    grads.set(loss.name, [this.constant(1, [], 'dloss')]);
    for (let i = forward - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      const out = n.outputs[0]!;
      const gs = grads.get(out);
      if (gs === undefined || !needs.has(out)) continue;
      if (n.grad === undefined) throw new Error(`no gradient rule for ${n.op}`);
      const dy = this.sumAll(gs, this.shapes.get(out)!);
      const dxs = n.grad(this, dy);
      n.inputs.forEach((name, k) => {
        const dx = dxs[k];
        if (dx === undefined || !needs.has(name)) return;
        const list = grads.get(name);
        if (list === undefined) grads.set(name, [dx]);
        else list.push(dx);
      });
    }
    const result = new Map<string, Value>();
    for (const p of wrt) {
      const shape = this.params.get(p)?.value.shape ?? this.shapes.get(p)!;
      const gs = grads.get(p);
      result.set(
        p,
        gs === undefined
          ? this.constant(new Array(sizeOf(shape as number[])).fill(0), shape as number[], 'zero_grad')
          : this.sumAll(gs, shape),
      );
    }
    return result;
  }

  private sumAll(gs: Value[], shape: readonly Dim[]): Value {
    if (gs.length === 1) return gs[0]!;
    return this.emit('Sum', gs, shape);
  }

  // ---------------------------------------------------------------- export

  /**
   * The ONNX model. `params: 'initializers'` bakes the current parameter values in (the
   * artifact); `'inputs'` makes each parameter a graph input (training and evaluation graphs,
   * fed new values every step).
   */
  toModel(options: {
    params: 'initializers' | 'inputs';
    name?: string;
    metadata?: Record<string, string>;
  }): ModelProto {
    const et = elemType(this.type);
    const vi = (v: Value): ValueInfoProto => ({ name: v.name, elemType: et, shape: [...v.shape] });
    const initializers: TensorProto[] = [...this.constants.values()];
    const inputs: ValueInfoProto[] = this.inputs.map((v) =>
      this.intInputs.has(v.name) ? { name: v.name, elemType: DataType.INT64, shape: [...v.shape] } : vi(v),
    );
    for (const [name, p] of this.params) {
      if (options.params === 'initializers')
        initializers.push(tensor(name, p.data, p.value.shape as number[]));
      else inputs.push(vi(p.value));
    }
    const nodes: NodeProto[] = this.nodes.map((n, i) => ({
      opType: n.op,
      inputs: n.inputs,
      outputs: n.outputs,
      name: `${n.op.toLowerCase()}_${i}`,
      ...(Object.keys(n.attrs).length > 0 ? { attributes: n.attrs } : {}),
    }));
    const model: ModelProto = {
      irVersion: ONNX_IR_VERSION,
      opsetImports: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'emoflow',
      producerVersion: '1',
      graph: { name: options.name ?? 'emoflow', nodes, initializers, inputs, outputs: this.outputs.map(vi) },
    };
    if (options.metadata !== undefined) model.metadataProps = options.metadata;
    return model;
  }
}
