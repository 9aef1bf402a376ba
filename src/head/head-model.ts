import { EmoflowError } from '../core/errors.js';
import { MODALITIES, type Modality } from '../core/labels.js';
import { Graph, type FloatArray, type FloatType, type Value } from './graph.js';
import { LEXICAL_DIM, contextOf, isAdversarial, type HeadDescription, type TaskSpec } from './head-spec.js';
import { taskWidth } from '../core/tasks.js';
import { lexicalInputNames, slotLayout } from './slot-inputs.js';

/** Parameter values by name: the head's trainable state. */
export type ParamStore = Map<string, FloatArray>;

/** Shapes of every parameter of a head, in a fixed order (initialisation and AdamW use it). */
export function paramShapes(
  desc: HeadDescription,
): { name: string; shape: number[]; fanIn: number; kind: 'weight' | 'bias' }[] {
  const h = desc.architecture.hidden;
  const out: { name: string; shape: number[]; fanIn: number; kind: 'weight' | 'bias' }[] = [];
  const dense = (name: string, inDim: number, outDim: number) => {
    out.push({ name: `${name}.W`, shape: [inDim, outDim], fanIn: inDim, kind: 'weight' });
    out.push({ name: `${name}.b`, shape: [outDim], fanIn: inDim, kind: 'bias' });
  };
  for (const s of desc.slots) {
    const layout = slotLayout(s);
    dense(`${s.modality}.proj`, layout.dense, h);
    if (layout.lexical !== undefined) {
      const d = desc.architecture.lexicalDim ?? LEXICAL_DIM;
      // The table starts as a He-initialised weight of fan-in d: its bag (a mean of rows) starts small.
      out.push({ name: `${s.modality}.lex.E`, shape: [layout.lexical.buckets, d], fanIn: d, kind: 'weight' });
      out.push({ name: `${s.modality}.lex.W`, shape: [d, h], fanIn: d, kind: 'weight' });
    }
  }
  const fusion = desc.architecture.fusion;
  if (desc.slots.length > 1 && fusion === 'gated') {
    dense('gate.hidden', h, desc.architecture.gate);
    out.push({
      name: 'gate.score.W',
      shape: [desc.architecture.gate, 1],
      fanIn: desc.architecture.gate,
      kind: 'weight',
    });
  }
  // Late fusion's learned modality weights: logits, zero at the start (equal weights).
  if (desc.slots.length > 1 && fusion === 'late')
    out.push({ name: 'late.logit', shape: [1, desc.slots.length], fanIn: 1, kind: 'bias' });
  let width = fusion === 'concat' ? h * desc.slots.length : h;
  // Graph attention over the fused vector keeps its width (the residual adds them).
  for (let i = 0; i < contextLayers(desc); i++) {
    dense(`context.${i}`, width, width);
    for (const side of ['src', 'dst'])
      out.push({ name: `context.${i}.${side}`, shape: [width, 1], fanIn: width, kind: 'weight' });
  }
  desc.architecture.trunk.forEach((w, i) => {
    dense(`trunk.${i}`, width, w);
    width = w;
  });
  for (const t of desc.tasks) dense(`task.${t.name}`, width, taskWidth(t));
  return out;
}

/**
 * Graph-attention layers of the head (0 without context). Late fusion with several modalities
 * has no single fused vector to attend over: CONFIG_INVALID rather than a silent choice.
 */
export function contextLayers(desc: HeadDescription): number {
  const context = contextOf(desc.architecture);
  if (context === undefined) return 0;
  if (desc.architecture.fusion === 'late' && desc.slots.length > 1)
    throw new EmoflowError(
      'CONFIG_INVALID',
      'architecture.context needs gated or concat fusion (late fusion has no fused vector to attend over)',
    );
  return context.layers;
}

export type GraphMode = 'infer' | 'eval' | 'train';

export interface BuiltHead {
  graph: Graph;
  /** train mode: the total loss and each task's loss. */
  loss?: Value;
  taskLosses?: Map<string, Value>;
  /** Names of the dropout-mask inputs and their widths (train mode). */
  dropout: { name: string; width: number }[];
}

export interface BuildOptions {
  type?: FloatType;
  /** Dropout probability of projections and trunk layers (train mode). */
  dropout?: boolean;
  /**
   * Train mode: weight each task's loss by a learned log-variance s (parameter `uw.<task>`,
   * shape [1]): exp(−s)·L + s/2 for classification, exp(−s)·L/2 + s/2 for regression (Kendall
   * et al. 2018, with s = log σ²). The parameters serve training only; head.onnx has none.
   */
  uncertainty?: boolean;
  /**
   * Train mode: each classification task (adversarial ones aside) takes an input
   * `logprior.<task>` [N, C], the log prior of each row's corpus, added to the logits inside the
   * loss only (logit adjustment, label-prior.ts); the outputs stay the evidence alone.
   */
  logitAdjustment?: boolean;
  /**
   * Train mode: each lexical table is an input `<m>.lex.E` of shape [U, d] holding only the rows
   * a batch uses (the trainer gathers them and renumbers the batch's ids), so that a step moves
   * U·d values in and out of onnxruntime instead of the whole table (lexicalRows in trainer.ts).
   */
  compactTables?: boolean;
}

/**
 * The head of docs/head.md as a graph: per-modality standardisation with training statistics
 * (absent modalities zeroed by the mask), projection, gated-attention fusion over the present
 * modalities (its weights are the `contribution` output), optional graph attention over the
 * `adj [N, N]` input (architecture.context; context-graph.ts builds adj), a shared trunk, one
 * head per task.
 *
 * - `infer`: parameters are initializers; outputs each task (`<task>` probabilities after the
 *   task's temperature, or regression values [N]) and `contribution` [N, 3].
 * - `eval`: the same with parameters as inputs, and classification logits as `<task>` instead
 *   of probabilities (calibration and metrics during training).
 * - `train`: parameters, dropout masks, targets, per-sample weights and per-task loss weights
 *   in; outputs `loss` and `loss.<task>` (gradients are appended by the trainer).
 */
export function buildHead(
  desc: HeadDescription,
  params: ParamStore,
  mode: GraphMode,
  options: BuildOptions = {},
): BuiltHead {
  const g = new Graph(options.type ?? 'float32');
  const p = (name: string, shape: number[]): Value => {
    const data = params.get(name);
    if (data === undefined) throw new Error(`head parameter ${name} is missing`);
    return g.param(name, shape, data);
  };
  const dropouts: { name: string; width: number }[] = [];
  const drop = (x: Value, name: string): Value => {
    if (mode !== 'train' || options.dropout === false) return x;
    const width = x.shape[1] as number;
    dropouts.push({ name: `drop.${name}`, width });
    return g.mul(x, g.input(`drop.${name}`, ['N', width]));
  };
  const act = (x: Value): Value => (desc.architecture.activation === 'gelu' ? g.gelu(x) : g.relu(x));
  const shapes = new Map(paramShapes(desc).map((s) => [s.name, s.shape]));
  const dense = (x: Value, name: string): Value =>
    g.linear(x, p(`${name}.W`, shapes.get(`${name}.W`)!), p(`${name}.b`, shapes.get(`${name}.b`)!));

  const mask = g.input('mask', ['N', 3]);
  const layers = contextLayers(desc);
  const adj = layers > 0 ? g.input('adj', ['N', 'N']) : undefined;
  const projected: Value[] = [];
  const maskCols: Value[] = [];
  for (const slot of desc.slots) {
    const col = MODALITIES.indexOf(slot.modality);
    const layout = slotLayout(slot);
    const dim = layout.dense;
    const x = g.input(slot.modality, ['N', dim]);
    const m = g.slice(mask, 1, col, col + 1);
    const std = slot.std.slice(0, dim).map((s) => (s > 1e-8 ? 1 / s : 1));
    const standardised = g.mul(
      g.mul(
        g.sub(x, g.constant(slot.mean.slice(0, dim), [dim], `${slot.modality}_mean`)),
        g.constant(std, [dim], `${slot.modality}_inv_std`),
      ),
      m,
    );
    let pre = dense(standardised, `${slot.modality}.proj`);
    if (layout.lexical !== undefined) {
      // The lexical channel: an embedding bag (Σ weight·row of the table at each id; a text's
      // weights have unit L2 norm, lexical.ts), zeroed where the modality is absent, projected
      // to `hidden` and added to the sentence embedding's projection before the activation.
      const names = lexicalInputNames(slot);
      const k = layout.lexical.maxIds;
      const d = desc.architecture.lexicalDim ?? LEXICAL_DIM;
      const ids = g.intInput(names.ids, ['N', k]);
      const weights = g.unsqueeze(g.input(names.weights, ['N', k]), [2]);
      const tableName = `${slot.modality}.lex.E`;
      const table =
        mode === 'train' && options.compactTables === true
          ? g.input(tableName, ['U', d])
          : p(tableName, [layout.lexical.buckets, d]);
      const bag = g.mul(g.reduceSum(g.mul(g.gather(table, ids), weights), [1], false), m);
      pre = g.add(pre, g.matmul(bag, p(`${slot.modality}.lex.W`, [d, desc.architecture.hidden])));
    }
    projected.push(drop(act(pre), `${slot.modality}`));
    maskCols.push(m);
  }

  const fusion = desc.architecture.fusion;
  const trunkOf = (x: Value, suffix: string): Value => {
    let t = x;
    desc.architecture.trunk.forEach((_, i) => {
      t = drop(act(dense(t, `trunk.${i}`)), `trunk.${i}${suffix}`);
    });
    return t;
  };
  // A softmax over the present modalities: absent ones get -1e4 first, so exp gives exactly 0.
  const maskedSoftmax = (scores: Value[]): Value[] => {
    const masked = scores.map((sc, i) => g.add(sc, g.scale(g.addScalar(maskCols[i]!, -1), 1e4)));
    const alpha = g.softmax(g.concat(masked, 1), 1);
    return scores.map((_, i) => g.slice(alpha, 1, i, i + 1));
  };
  /**
   * What reaches a task's head: for an adversarial task, through a gradient-reversal layer, so
   * every shared value before it (trunk, and late fusion's weights) learns against that task.
   */
  const shared = (t: TaskSpec, x: Value): Value =>
    isAdversarial(t) ? g.reverseGradient(x, t.reverseGradient) : x;
  const taskHead = (t: TaskSpec, trunk: Value): Value => dense(shared(t, trunk), `task.${t.name}`);
  // Dialogue context: `layers` graph-attention layers (Veličković et al. 2018, eqs. 1–4, one
  // head) over the rows of the batch, each row attending to its neighbours in `adj` (itself
  // included), added to the row's own vector (a residual) for rows with a neighbour; a lone row
  // passes unchanged.
  // Non-edges get −1e4 before the softmax, so exp gives exactly 0 there, as in maskedSoftmax.
  const withContext = (x: Value): Value => {
    if (adj === undefined) return x;
    const offEdge = g.scale(g.addScalar(g.positiveMask(adj), -1), 1e4);
    // 1 for a sample with a neighbour besides itself, 0 for a one-node graph: a lone sample
    // (every sample of a corpus without groups) passes the context layers unchanged, so
    // context cannot shift what the head says about it.
    const connected = g.positiveMask(g.addScalar(g.reduceSum(g.positiveMask(adj), [1], true), -1.5));
    let hx = x;
    for (let i = 0; i < layers; i++) {
      const name = `context.${i}`;
      const wh = g.matmul(hx, p(`${name}.W`, shapes.get(`${name}.W`)!));
      const src = g.matmul(wh, p(`${name}.src`, shapes.get(`${name}.src`)!));
      const dst = g.transpose(g.matmul(wh, p(`${name}.dst`, shapes.get(`${name}.dst`)!)));
      const alpha = g.softmax(g.add(g.leakyRelu(g.add(src, dst), 0.2), offEdge), 1);
      const mixed = g.add(g.matmul(alpha, wh), p(`${name}.b`, shapes.get(`${name}.b`)!));
      hx = g.add(hx, g.mul(drop(act(mixed), name), connected));
    }
    return hx;
  };
  const taskOutput = (t: TaskSpec, z: Value): Value => {
    if (t.type !== 'regression') return z;
    const [lo, hi] = t.range;
    return g.addScalar(g.scale(g.tanh(z), (hi - lo) / 2), (hi + lo) / 2);
  };

  let weights: Value[];
  const outputs = new Map<string, Value>();
  if (projected.length === 1) {
    weights = [g.div(maskCols[0]!, g.addScalar(maskCols[0]!, 1e-12))];
    const trunk = trunkOf(withContext(projected[0]!), '');
    for (const t of desc.tasks) outputs.set(t.name, taskOutput(t, taskHead(t, trunk)));
  } else if (fusion === 'late') {
    // Each modality through the shared trunk and task heads alone; task logits (regression:
    // pre-tanh values) averaged with learned weights over the present modalities.
    const logit = p('late.logit', shapes.get('late.logit')!);
    weights = maskedSoftmax(projected.map((_, i) => g.slice(logit, 1, i, i + 1)));
    const trunks = projected.map((h, i) => trunkOf(h, `.${desc.slots[i]!.modality}`));
    for (const t of desc.tasks) {
      const z = trunks
        .map((tr, i) => g.mul(taskHead(t, tr), shared(t, weights[i]!)))
        .reduce((a, b) => g.add(a, b));
      outputs.set(t.name, taskOutput(t, z));
    }
  } else {
    let fused: Value;
    if (fusion === 'concat') {
      // Side by side, each projection zeroed where its modality is absent; the contribution
      // reported is an equal share of the present modalities.
      fused = g.concat(
        projected.map((h, i) => g.mul(h, maskCols[i]!)),
        1,
      );
      const present = g.addScalar(
        maskCols.reduce((a, b) => g.add(a, b)),
        1e-12,
      );
      weights = maskCols.map((m) => g.div(m, present));
    } else {
      // Gated attention: score each present modality, softmax over the present ones.
      const gw = p('gate.score.W', shapes.get('gate.score.W')!);
      weights = maskedSoftmax(projected.map((h) => g.matmul(g.tanh(dense(h, 'gate.hidden')), gw)));
      fused = projected.map((h, i) => g.mul(h, weights[i]!)).reduce((a, b) => g.add(a, b));
    }
    const trunk = trunkOf(withContext(fused), '');
    for (const t of desc.tasks) outputs.set(t.name, taskOutput(t, taskHead(t, trunk)));
  }
  const built: BuiltHead = { graph: g, dropout: dropouts };

  if (mode === 'train') {
    const losses = new Map<string, Value>();
    let total: Value | undefined;
    for (const t of desc.tasks) {
      const y = outputs.get(t.name)!;
      const w = g.input(`weight.${t.name}`, ['N']);
      const lambda = g.input(`lambda.${t.name}`, []);
      let loss: Value;
      if (t.type === 'classification') {
        const target = g.input(`target.${t.name}`, ['N', t.labels.length]);
        const z =
          options.logitAdjustment === true && !isAdversarial(t)
            ? g.add(y, g.input(`logprior.${t.name}`, ['N', t.labels.length]))
            : y;
        const nll = g.neg(g.reduceSum(g.mul(target, g.logSoftmax(z, 1)), [1], false));
        loss = g.reduceSum(g.mul(nll, w), [0], false);
      } else if (t.type === 'multilabel') {
        const target = g.input(`target.${t.name}`, ['N', t.labels.length]);
        // BCE with logits: max(z,0) − z·t + log(1 + exp(−|z|)), mean over labels.
        const bce = g.add(g.sub(g.relu(y), g.mul(y, target)), g.log(g.addScalar(g.exp(g.neg(g.abs(y))), 1)));
        loss = g.reduceSum(g.mul(g.scale(g.reduceSum(bce, [1], false), 1 / t.labels.length), w), [0], false);
      } else {
        const target = g.input(`target.${t.name}`, ['N', 1]);
        const pred = y; // [N, 1]
        const wcol = g.unsqueeze(w, [1]);
        if (t.loss === 'mse') {
          const d = g.sub(pred, target);
          loss = g.reduceSum(g.mul(g.mul(d, d), wcol), [0, 1], false);
        } else {
          // 1 − Lin's concordance correlation, with the per-sample weights as the distribution.
          const mp = g.reduceSum(g.mul(pred, wcol), [0], true);
          const mt = g.reduceSum(g.mul(target, wcol), [0], true);
          const dp = g.sub(pred, mp);
          const dt = g.sub(target, mt);
          const vp = g.reduceSum(g.mul(g.mul(dp, dp), wcol), [0, 1], false);
          const vt = g.reduceSum(g.mul(g.mul(dt, dt), wcol), [0, 1], false);
          const cov = g.reduceSum(g.mul(g.mul(dp, dt), wcol), [0, 1], false);
          const dm = g.reduceSum(g.sub(mp, mt), [0, 1], false);
          const denom = g.addScalar(g.add(g.add(vp, vt), g.mul(dm, dm)), 1e-8);
          loss = g.sub(g.constant(1), g.div(g.scale(cov, 2), denom));
        }
      }
      losses.set(t.name, loss);
      let term = loss;
      if (options.uncertainty === true) {
        const logVar = g.reduceSum(p(`uw.${t.name}`, [1]), [0], false);
        const precision = g.exp(g.neg(logVar));
        term = g.add(
          g.scale(g.mul(precision, loss), t.type === 'regression' ? 0.5 : 1),
          g.scale(logVar, 0.5),
        );
      }
      const weighted = g.mul(term, lambda);
      total = total === undefined ? weighted : g.add(total, weighted);
    }
    built.loss = total!;
    built.taskLosses = losses;
    g.output('loss', total!);
    for (const [name, l] of losses) g.output(`loss.${name}`, l);
    return built;
  }

  for (const t of desc.tasks) {
    const y = outputs.get(t.name)!;
    if (t.type === 'regression') g.output(t.name, g.squeeze(y, [1]));
    else if (mode === 'eval') g.output(t.name, y);
    else if (t.type === 'classification')
      g.output(t.name, g.softmax(g.scale(y, 1 / (desc.temperature[t.name] ?? 1)), 1));
    else g.output(t.name, g.sigmoid(y));
  }
  // contribution [N, 3]: the fusion weights in modality order, 0 for modalities the head lacks.
  const cols = MODALITIES.map((m: Modality) => {
    const i = desc.slots.findIndex((s) => s.modality === m);
    return i >= 0
      ? weights[i]!
      : g.scale(g.slice(mask, 1, MODALITIES.indexOf(m), MODALITIES.indexOf(m) + 1), 0);
  });
  g.output('contribution', g.concat(cols, 1));
  return built;
}
