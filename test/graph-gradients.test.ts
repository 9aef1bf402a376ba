import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Random } from '../src/core/random.js';
import { contextAdjacency } from '../src/head/context-graph.js';
import { Graph, type Value } from '../src/head/graph.js';
import { buildHead, paramShapes, type ParamStore } from '../src/head/head-model.js';
import type { HeadDescription } from '../src/head/head-spec.js';
import { encodeModel } from '../src/head/onnx/proto.js';

/**
 * Every gradient rule of the graph builder, and whole heads, against central finite differences
 * in float64 (h = 1e-6). Relative error |a − n| / max(1, |a|, |n|) below 1e-6.
 */

type Feeds = Record<string, ort.Tensor>;

async function check(
  build: (g: Graph) => Value,
  params: Record<string, { shape: number[]; data: Float64Array }>,
  feeds: Feeds = {},
  samplesPerParam = 40,
  /** The analytic gradient is expected to be this multiple of the finite difference (gradient reversal). */
  scale = 1,
): Promise<number> {
  const g = new Graph('float64');
  for (const [name, p] of Object.entries(params)) g.param(name, p.shape, p.data);
  const loss = build(g);
  g.output('loss', loss);
  const names = Object.keys(params);
  const grads = g.gradients(loss, names);
  for (const [n, v] of grads) g.output(`grad.${n}`, v);
  const session = await ort.InferenceSession.create(encodeModel(g.toModel({ params: 'inputs' })));
  const run = async () => {
    const f: Feeds = { ...feeds };
    for (const [n, p] of Object.entries(params)) f[n] = new ort.Tensor('float64', p.data, p.shape);
    return session.run(f);
  };
  const res = await run();
  let worst = 0;
  const rnd = new Random(7);
  for (const [n, p] of Object.entries(params)) {
    const analytic = res[`grad.${n}`]!.data as Float64Array;
    expect(analytic.length).toBe(p.data.length);
    const picks =
      p.data.length <= samplesPerParam
        ? p.data.map((_, i) => i)
        : Array.from({ length: samplesPerParam }, () => rnd.int(p.data.length));
    for (const i of picks) {
      const x = p.data[i]!;
      const h = 1e-6;
      p.data[i] = x + h;
      const up = ((await run())['loss']!.data as Float64Array)[0]!;
      p.data[i] = x - h;
      const down = ((await run())['loss']!.data as Float64Array)[0]!;
      p.data[i] = x;
      const numeric = scale * ((up - down) / (2 * h));
      const a = analytic[i]!;
      worst = Math.max(worst, Math.abs(a - numeric) / Math.max(1, Math.abs(a), Math.abs(numeric)));
    }
  }
  await session.release();
  return worst;
}

function rand(shape: number[], seed: number, lo = -1, hi = 1): { shape: number[]; data: Float64Array } {
  const r = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => lo + (hi - lo) * r.next()) };
}

/** Σ y ⊙ R with a fixed random R: a scalar whose gradient exercises every element of y. */
function probe(g: Graph, y: Value, seed = 3): Value {
  const n = y.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
  const r = new Random(seed);
  const R = g.constant(
    Array.from({ length: n }, () => r.next() * 2 - 1),
    y.shape as number[],
  );
  return g.reduceSum(
    g.mul(y, R),
    y.shape.map((_, i) => i),
    false,
  );
}

const TOL = 1e-6;

describe('gradient rules (float64, central differences)', () => {
  const P = {
    a: rand([3, 4], 1),
    b: rand([4], 2),
    c: rand([3, 1], 4),
    w: rand([4, 5], 5),
    pos: rand([3, 4], 6, 0.5, 2),
    v: rand([3, 5], 8),
    s: rand([3, 1], 9),
    d: rand([3, 1], 10),
  };
  const cases: [string, (g: Graph) => Value, Record<string, { shape: number[]; data: Float64Array }>][] = [
    [
      'add with broadcasting',
      (g) => probe(g, g.add(g.param('a', [3, 4], P.a.data), g.param('b', [4], P.b.data))),
      {},
    ],
    [
      'sub with broadcasting',
      (g) => probe(g, g.sub(g.param('a', [3, 4], P.a.data), g.param('c', [3, 1], P.c.data))),
      {},
    ],
    [
      'mul with broadcasting',
      (g) => probe(g, g.mul(g.param('a', [3, 4], P.a.data), g.param('b', [4], P.b.data))),
      {},
    ],
    ['div', (g) => probe(g, g.div(g.param('a', [3, 4], P.a.data), g.param('pos', [3, 4], P.pos.data))), {}],
    ['neg', (g) => probe(g, g.neg(g.param('a', [3, 4], P.a.data))), {}],
    ['relu', (g) => probe(g, g.relu(g.param('a', [3, 4], P.a.data))), {}],
    ['tanh', (g) => probe(g, g.tanh(g.param('a', [3, 4], P.a.data))), {}],
    ['sigmoid', (g) => probe(g, g.sigmoid(g.param('a', [3, 4], P.a.data))), {}],
    ['exp', (g) => probe(g, g.exp(g.param('a', [3, 4], P.a.data))), {}],
    ['log', (g) => probe(g, g.log(g.param('pos', [3, 4], P.pos.data))), {}],
    ['abs', (g) => probe(g, g.abs(g.param('a', [3, 4], P.a.data))), {}],
    ['gelu (tanh form)', (g) => probe(g, g.gelu(g.param('a', [3, 4], P.a.data))), {}],
    ['matmul', (g) => probe(g, g.matmul(g.param('a', [3, 4], P.a.data), g.param('w', [4, 5], P.w.data))), {}],
    ['reduceSum keepdims', (g) => probe(g, g.reduceSum(g.param('a', [3, 4], P.a.data), [1], true)), {}],
    ['reduceSum dropped axis', (g) => probe(g, g.reduceSum(g.param('a', [3, 4], P.a.data), [0], false)), {}],
    [
      'concat',
      (g) => probe(g, g.concat([g.param('a', [3, 4], P.a.data), g.param('c', [3, 1], P.c.data)], 1)),
      {},
    ],
    ['slice', (g) => probe(g, g.slice(g.param('a', [3, 4], P.a.data), 1, 1, 3)), {}],
    ['softmax', (g) => probe(g, g.softmax(g.param('a', [3, 4], P.a.data), 1)), {}],
    ['logSoftmax', (g) => probe(g, g.logSoftmax(g.param('a', [3, 4], P.a.data), 1)), {}],
    [
      'unsqueeze and squeeze',
      (g) => probe(g, g.squeeze(g.unsqueeze(g.param('b', [4], P.b.data), [0]), [0])),
      {},
    ],
    [
      'expandLike',
      (g) => probe(g, g.expandLike(g.param('c', [3, 1], P.c.data), g.param('a', [3, 4], P.a.data))),
      {},
    ],
    ['transpose', (g) => probe(g, g.transpose(g.param('a', [3, 4], P.a.data))), {}],
    ['leakyRelu', (g) => probe(g, g.leakyRelu(g.param('a', [3, 4], P.a.data), 0.2)), {}],
    [
      'matmul [N, N]·[N, H] (attention weights times values)',
      (g) => probe(g, g.matmul(g.softmax(g.param('a', [3, 4], P.a.data), 1), g.param('w', [4, 5], P.w.data))),
      {},
    ],
    [
      'graph-attention scores: [N, 1] + [N, 1]ᵀ, LeakyReLU, masked softmax, times values',
      (g) => {
        const e = g.leakyRelu(
          g.add(g.param('s', [3, 1], P.s.data), g.transpose(g.param('d', [3, 1], P.d.data))),
          0.2,
        );
        // Row 0 may not see node 2: the mask adds −1e4 there, as the head does for non-edges.
        const off = g.constant([0, 0, -1e4, 0, 0, 0, -1e4, 0, 0], [3, 3]);
        return probe(g, g.matmul(g.softmax(g.add(e, off), 1), g.param('v', [3, 5], P.v.data)));
      },
      {},
    ],
    [
      'a value used twice (gradient sums)',
      (g) => {
        const a = g.param('a', [3, 4], P.a.data);
        return probe(g, g.mul(g.tanh(a), a));
      },
      {},
    ],
  ];

  it('reverseGradient: the identity forward, −factor times the gradient backward', async () => {
    const build = (g: Graph) =>
      probe(g, g.tanh(g.reverseGradient(g.mul(g.param('a', [3, 4], P.a.data), g.constant(1.5)), 0.7)));
    expect(await check(build, { a: P.a }, {}, 40, -0.7)).toBeLessThan(TOL);
    // And not merely its sign: the plain finite difference disagrees.
    expect(await check(build, { a: P.a })).toBeGreaterThan(0.1);
  });

  it('gather (embedding lookup): repeated ids sum their gradients; an embedding bag through it', async () => {
    // Ids 1 and 4 occur twice, 0 and 2 never: their rows' gradients must be sums and zeros.
    const ids = new ort.Tensor('int64', BigInt64Array.from([1n, 4n, 3n, 1n, 4n, 5n]), [2, 3]);
    const table = rand([6, 4], 11);
    const bagWeights = [0.5, 0.25, 0.25, 0.2, 0.3, 0.5];
    const build = (g: Graph) => {
      const rows = g.gather(g.param('table', [6, 4], table.data), g.intInput('ids', [2, 3]));
      const w = g.unsqueeze(g.constant(bagWeights, [2, 3]), [2]);
      // Σ_l w[n, l]·E[ids[n, l]] then a non-linearity, as the head's lexical channel uses it.
      return probe(g, g.tanh(g.reduceSum(g.mul(rows, w), [1], false)));
    };
    expect(await check(build, { table }, { ids })).toBeLessThan(TOL);
    // The rows no id names get exactly zero gradient.
    const g = new Graph('float64');
    const loss = build(g);
    g.output('loss', loss);
    g.output('grad', g.gradients(loss, ['table']).get('table')!);
    const session = await ort.InferenceSession.create(encodeModel(g.toModel({ params: 'inputs' })));
    const res = await session.run({ ids, table: new ort.Tensor('float64', table.data, [6, 4]) });
    const grad = res['grad']!.data as Float64Array;
    for (const row of [0, 2]) expect(Array.from(grad.subarray(row * 4, row * 4 + 4))).toEqual([0, 0, 0, 0]);
    expect(Math.abs(grad[4]!)).toBeGreaterThan(1e-3);
    await session.release();
  });

  it.each(cases)('%s', async (_name, build) => {
    // Each case declares the params it uses through g.param; collect them by running the builder once.
    const probeGraph = new Graph('float64');
    build(probeGraph);
    const used = Object.fromEntries(probeGraph.paramNames().map((n) => [n, P[n as keyof typeof P]]));
    const worst = await check((g) => build(g), used);
    expect(worst).toBeLessThan(TOL);
  });
});

describe('whole heads (float64, central differences)', () => {
  const desc: HeadDescription = {
    slots: [
      {
        modality: 'text',
        spec: { name: 't', version: '1', dim: 5 },
        mean: [0.1, 0, 0, 0, -0.2],
        std: [1, 2, 0.5, 1, 1],
      },
      { modality: 'image', spec: { name: 'i', version: '1', dim: 4 }, mean: [0, 0, 0, 0], std: [1, 1, 1, 1] },
      { modality: 'audio', spec: { name: 'a', version: '1', dim: 3 }, mean: [0, 0, 0], std: [1, 1, 1] },
    ],
    architecture: { hidden: 6, gate: 4, trunk: [5], activation: 'gelu', fusion: 'gated' },
    tasks: [
      {
        name: 'emotion',
        type: 'classification',
        labels: ['a', 'b', 'c'],
        weight: 1,
        labelSmoothing: 0,
        classWeights: 'none',
      },
      { name: 'tags', type: 'multilabel', labels: ['x', 'y'], weight: 0.5 },
      { name: 'valence', type: 'regression', range: [-1, 1], loss: 'mse', weight: 1 },
      { name: 'arousal', type: 'regression', range: [-1, 1], loss: 'ccc', weight: 0.7 },
    ],
    temperature: { emotion: 1 },
  };
  const N = 4;

  function headCase(
    activation: 'gelu' | 'relu',
    fusion: 'gated' | 'concat' | 'late' = 'gated',
    context?: { layers: number; slots?: number },
  ) {
    const d: HeadDescription = {
      ...desc,
      slots: desc.slots.slice(0, context?.slots ?? 3),
      architecture: {
        ...desc.architecture,
        activation,
        fusion,
        ...(context === undefined
          ? {}
          : { context: { layers: context.layers, window: 1, speakerEdges: true, maxGroup: 64 } }),
      },
    };
    const params: ParamStore = new Map();
    const r = new Random(11);
    for (const s of paramShapes(d))
      params.set(
        s.name,
        Float64Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * 0.8),
      );
    const built = buildHead(d, params, 'train', { type: 'float64' });
    const feeds: Feeds = {};
    const t = (name: string, shape: number[], data: number[]) =>
      (feeds[name] = new ort.Tensor('float64', Float64Array.from(data), shape));
    const fill = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
    t(
      'text',
      [N, 5],
      fill(N * 5, () => r.next() * 2 - 1),
    );
    t(
      'image',
      [N, 4],
      fill(N * 4, () => r.next() * 2 - 1),
    );
    t(
      'audio',
      [N, 3],
      fill(N * 3, () => r.next() * 2 - 1),
    );
    t('mask', [N, 3], [1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0]);
    if (context !== undefined) {
      // Rows 0–2 one dialogue (0 and 2 joined by their speaker, 1 between them), row 3 alone.
      const nodes = [
        { group: 'g', order: 0, speaker: 'A' },
        { group: 'g', order: 1, speaker: 'B' },
        { group: 'g', order: 3, speaker: 'A' },
        { group: 'h', order: 0 },
      ];
      t('adj', [N, N], Array.from(contextAdjacency(nodes, { window: 1, speakerEdges: true })));
    }
    for (const dd of built.dropout)
      t(
        dd.name,
        [N, dd.width],
        fill(N * dd.width, () => (r.next() < 0.8 ? 1.25 : 0)),
      );
    t('target.emotion', [N, 3], [0.7, 0.2, 0.1, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0]);
    t('weight.emotion', [N], [0.25, 0.25, 0.5, 0]);
    t('lambda.emotion', [], [1]);
    t('target.tags', [N, 2], [1, 0, 0, 1, 1, 1, 0, 0]);
    t('weight.tags', [N], [0.25, 0.25, 0.25, 0.25]);
    t('lambda.tags', [], [0.5]);
    t('target.valence', [N, 1], [0.3, -0.5, 0.9, 0]);
    t('weight.valence', [N], [0.4, 0.3, 0.3, 0]);
    t('lambda.valence', [], [1]);
    t('target.arousal', [N, 1], [-0.2, 0.4, 0.1, 0.8]);
    t('weight.arousal', [N], [0.25, 0.25, 0.25, 0.25]);
    t('lambda.arousal', [], [0.7]);
    return { d, params, feeds };
  }

  it.each(['gelu', 'relu'] as const)(
    'every parameter of a 3-modality, 4-task head (%s)',
    async (activation) => {
      const { d, params, feeds } = headCase(activation);
      expect(await checkHead(d, params, feeds)).toBeLessThan(TOL);
    },
  );

  it('every parameter of the head with uncertainty loss weighting, the log-variances included', async () => {
    const { d, params, feeds } = headCase('gelu');
    for (const [k, v] of [
      ['emotion', 0.3],
      ['tags', -0.2],
      ['valence', 0.5],
      ['arousal', -0.4],
    ] as const)
      params.set(`uw.${k}`, Float64Array.of(v));
    expect(await checkHead(d, params, feeds, { uncertainty: true })).toBeLessThan(TOL);
  });

  it.each(['concat', 'late'] as const)('every parameter of the head with %s fusion', async (fusion) => {
    const { d, params, feeds } = headCase('gelu', fusion);
    expect(await checkHead(d, params, feeds)).toBeLessThan(TOL);
  });

  it.each([
    ['gated', 1, 3],
    ['gated', 2, 3],
    ['concat', 1, 3],
    ['gated', 2, 1],
  ] as const)(
    'every parameter of a context head (%s fusion, %i graph-attention layers, %i modalities)',
    async (fusion, layers, slots) => {
      const { d, params, feeds } = headCase('gelu', fusion, { layers, slots });
      expect(paramShapes(d).filter((s) => s.name.startsWith('context.')).length).toBe(4 * layers);
      expect(await checkHead(d, params, feeds)).toBeLessThan(TOL);
    },
  );

  it('context: a lone row is unaffected by the other rows; a row of a dialogue depends on its neighbours only', async () => {
    const { d, params, feeds } = headCase('gelu', 'gated', { layers: 2 });
    const session = await inferSession(d, params);
    const f = inferFeeds(feeds, true);
    const before = Array.from((await session.run(f))['emotion']!.data as Float64Array);
    // Change row 1's text: rows 0–2 (its dialogue) move, row 3 (alone) does not.
    const text = Float64Array.from(feeds['text']!.data as Float64Array);
    for (let k = 5; k < 10; k++) text[k] = text[k]! + 0.5;
    f['text'] = new ort.Tensor('float64', text, [N, 5]);
    const after = Array.from((await session.run(f))['emotion']!.data as Float64Array);
    await session.release();
    for (let r = 0; r < N; r++) {
      const moved = Math.max(...[0, 1, 2].map((k) => Math.abs(after[r * 3 + k]! - before[r * 3 + k]!)));
      if (r === 3) expect(moved).toBe(0);
      else expect(moved).toBeGreaterThan(1e-6);
    }
  });

  it('context: a lone row gets exactly what the head without context gives it', async () => {
    const { d, params, feeds } = headCase('gelu', 'gated', { layers: 2 });
    const plain = { ...d, architecture: { ...d.architecture } };
    delete plain.architecture.context;
    const run = async (desc: HeadDescription, withAdj: boolean) => {
      const session = await inferSession(desc, params);
      const y = Array.from((await session.run(inferFeeds(feeds, withAdj)))['emotion']!.data as Float64Array);
      await session.release();
      return y;
    };
    const ctx = await run(d, true);
    const none = await run(plain, false);
    // Row 3 is alone: the same to 12 decimals; rows 0–2 (a dialogue) differ.
    for (let k = 0; k < 3; k++) expect(ctx[3 * 3 + k]).toBeCloseTo(none[3 * 3 + k]!, 12);
    expect(Math.max(...[0, 1, 2].map((k) => Math.abs(ctx[k]! - none[k]!)))).toBeGreaterThan(1e-6);
  });

  it('context with late fusion over several modalities is CONFIG_INVALID', () => {
    const d: HeadDescription = {
      ...desc,
      architecture: {
        ...desc.architecture,
        fusion: 'late',
        context: { layers: 1, window: 2, speakerEdges: true, maxGroup: 64 },
      },
    };
    expect(() => paramShapes(d)).toThrow(/CONFIG_INVALID|late fusion/);
  });

  it.each(['gated', 'late'] as const)(
    'every parameter of the head with a domain classifier behind gradient reversal (%s)',
    async (fusion) => {
      const { d, params, feeds } = headCase('gelu', fusion);
      const factor = 0.6;
      const adv: HeadDescription = {
        ...d,
        tasks: [
          ...d.tasks,
          {
            name: 'corpus',
            type: 'classification',
            labels: ['p', 'q'],
            weight: 1,
            labelSmoothing: 0,
            classWeights: 'none',
            reverseGradient: factor,
          },
        ],
      };
      const r = new Random(13);
      for (const s of paramShapes(adv))
        if (!params.has(s.name))
          params.set(
            s.name,
            Float64Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * 0.8),
          );
      feeds['target.corpus'] = new ort.Tensor('float64', Float64Array.of(1, 0, 0, 1, 1, 0, 0, 1), [N, 2]);
      feeds['weight.corpus'] = new ort.Tensor('float64', Float64Array.of(0.25, 0.25, 0.25, 0.25), [N]);
      feeds['lambda.corpus'] = new ort.Tensor('float64', Float64Array.of(0.8), []);
      expect(await checkHead(adv, params, feeds, {}, { task: 'corpus', factor, lambda: 0.8 })).toBeLessThan(
        TOL,
      );
    },
  );

  it('reports fusion weights over the present modalities only: learned (late), equal shares (concat)', async () => {
    for (const fusion of ['late', 'concat'] as const) {
      const { d, params, feeds } = headCase('gelu', fusion);
      if (fusion === 'late') params.set('late.logit', Float64Array.of(0.5, -1, 2));
      const session = await inferSession(d, params);
      const c = Array.from(
        (await session.run(inferFeeds(feeds, false)))['contribution']!.data as Float64Array,
      );
      await session.release();
      const mask = [1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0];
      const logits = fusion === 'late' ? [0.5, -1, 2] : [0, 0, 0];
      for (let r = 0; r < N; r++) {
        const e = [0, 1, 2].map((k) => (mask[r * 3 + k] === 1 ? Math.exp(logits[k]!) : 0));
        const z = e.reduce((a, b) => a + b, 0);
        for (let k = 0; k < 3; k++) expect(c[r * 3 + k]).toBeCloseTo(e[k]! / z, 9);
      }
    }
  });
});

/** A head's float64 inference graph (parameters baked in) as a session. */
async function inferSession(desc: HeadDescription, params: ParamStore): Promise<ort.InferenceSession> {
  const built = buildHead(desc, params, 'infer', { type: 'float64' });
  return ort.InferenceSession.create(encodeModel(built.graph.toModel({ params: 'initializers' })));
}

/** The inference graph's inputs among a training case's feeds (`adj` for a context head). */
function inferFeeds(feeds: Feeds, adj: boolean): Feeds {
  const f: Feeds = {
    text: feeds['text']!,
    image: feeds['image']!,
    audio: feeds['audio']!,
    mask: feeds['mask']!,
  };
  if (adj) f['adj'] = feeds['adj']!;
  return f;
}

/** Finite-difference check of buildHead's own training graph. */
async function checkHead(
  desc: HeadDescription,
  params: ParamStore,
  feeds: Feeds,
  options: { uncertainty?: boolean } = {},
  /**
   * A task behind gradient reversal: the layers before it get d(loss)/dθ − (1 + factor)·λ·d(L_task)/dθ
   * (its loss counted once with −factor instead of +1); its own head gets d(loss)/dθ.
   */
  reversed?: { task: string; factor: number; lambda: number },
): Promise<number> {
  const built = buildHead(desc, params, 'train', { type: 'float64', ...options });
  const names = [...params.keys()];
  const grads = built.graph.gradients(built.loss!, names);
  for (const [n, v] of grads) built.graph.output(`grad.${n}`, v);
  const session = await ort.InferenceSession.create(encodeModel(built.graph.toModel({ params: 'inputs' })));
  const shapes = new Map(paramShapes(desc).map((s) => [s.name, s.shape]));
  for (const n of params.keys()) if (n.startsWith('uw.')) shapes.set(n, [1]);
  const run = async () => {
    const f: Feeds = { ...feeds };
    for (const [n, p] of params) f[n] = new ort.Tensor('float64', p as Float64Array, shapes.get(n)!);
    return session.run(f);
  };
  const res = await run();
  const rnd = new Random(5);
  let worst = 0;
  for (const [n, p] of params) {
    const analytic = res[`grad.${n}`]!.data as Float64Array;
    const picks = p.length <= 12 ? Array.from(p.keys()) : Array.from({ length: 12 }, () => rnd.int(p.length));
    for (const i of picks) {
      const x = p[i]!;
      const h = 1e-6;
      // The loss the analytic gradient belongs to.
      const own = reversed !== undefined && n.startsWith(`task.${reversed.task}.`);
      const target = (res2: Record<string, ort.Tensor>) => {
        const total = (res2['loss']!.data as Float64Array)[0]!;
        if (reversed === undefined || own) return total;
        const task = (res2[`loss.${reversed.task}`]!.data as Float64Array)[0]!;
        return total - (1 + reversed.factor) * reversed.lambda * task;
      };
      p[i] = x + h;
      const up = target(await run());
      p[i] = x - h;
      const down = target(await run());
      p[i] = x;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(
        worst,
        Math.abs(analytic[i]! - numeric) / Math.max(1, Math.abs(analytic[i]!), Math.abs(numeric)),
      );
    }
  }
  await session.release();
  return worst;
}
