import { describeSpec, sameSpec } from '../features/feature-spec.js';
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { EmoflowError } from '../core/errors.js';
import { lexicalInputNames, slotLayout } from './slot-inputs.js';
import { MODALITIES, type Modality } from '../core/labels.js';
import { Random } from '../core/random.js';
import type { FeatureDataset } from '../data/feature-dataset.js';
import { Moments } from '../features/speaker-norm.js';
import type { SessionFactory } from '../models/session-factory.js';
import { classificationMetrics, regressionMetrics } from '../eval/metrics.js';
import { predict, truthOf } from './evaluate.js';
import { encodeModel } from './onnx/proto.js';
import type { FloatArray } from './graph.js';
import { buildHead, paramShapes, type ParamStore } from './head-model.js';
import { taskWidth } from '../core/tasks.js';
import {
  contextOf,
  isAdversarial,
  taskSchema,
  type ContextSpec,
  type HeadDescription,
  type ModalitySlot,
  type TaskSpec,
} from './head-spec.js';
import { contextUnits, packUnits } from './context-graph.js';
import { AdamW, globalNorm, learningRate } from './optimizer.js';
import { BatchFeeder } from './batch-feeder.js';
import type { TrainConfig } from './train-config.js';

export interface TrainLogEntry {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  taskLosses: Record<string, number>;
  /** With uncertainty or DWA weighting: each task's loss factor during this epoch (uncertainty: exp(−s) at its end). */
  taskWeights?: Record<string, number>;
  devMetric?: number;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  devMetric?: number;
}

export interface TrainInput {
  train: FeatureDataset;
  dev?: FeatureDataset;
  config: TrainConfig;
  factory: SessionFactory;
  /** Fine-tuning: start from this head (its feature spec, statistics and label spaces are kept). */
  init?: { desc: HeadDescription; params: ParamStore };
  /** 'trunk': train only the heads of the tasks the training data labels. */
  freeze?: 'trunk';
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  desc: HeadDescription;
  params: ParamStore;
  log: TrainLogEntry[];
  /** Parameters that training updated. */
  trained: string[];
  steps: number;
  seconds: number;
}

/** Standardisation statistics of one modality over the rows where it is present. */
function slotStats(ds: FeatureDataset, m: Modality): { mean: number[]; std: number[]; present: number } {
  const f = ds.features[m]!;
  const col = MODALITIES.indexOf(m);
  const moments = new Moments(f.spec.dim);
  for (let i = 0; i < ds.size; i++) if (ds.mask[i * 3 + col] === 1) moments.add(f.data, i * f.spec.dim);
  if (moments.count === 0)
    return { mean: new Array(f.spec.dim).fill(0), std: new Array(f.spec.dim).fill(1), present: 0 };
  // Moments rounds through float32, so that head.json holds exactly what the graph uses.
  const st = moments.stats();
  // A lexical tail (ids and weights) is not standardised: mean 0, std 1 there.
  const dense = slotLayout({ modality: m, spec: f.spec }).dense;
  st.mean.fill(0, dense);
  st.std.fill(1, dense);
  return { ...st, present: moments.count };
}

/** The head's description: from `init`, or from the data's features and tasks. */
export function describeHead(input: TrainInput): HeadDescription {
  const { train, config, init } = input;
  let slots: ModalitySlot[];
  if (init !== undefined) {
    slots = init.desc.slots.map((slot) => {
      if (!config.refitStatistics || train.features[slot.modality] === undefined) return slot;
      const st = slotStats(train, slot.modality);
      return st.present > 0 ? { ...slot, mean: st.mean, std: st.std } : slot;
    });
    for (const m of MODALITIES) {
      const f = train.features[m];
      if (f === undefined) continue;
      const slot = slots.find((s) => s.modality === m);
      if (slot === undefined || !sameSpec(f.spec, slot.spec)) {
        throw new EmoflowError(
          'HEAD_INCOMPATIBLE',
          `the data's ${m} features are ${describeSpec(f.spec)} but the initial head ${slot ? `expects ${describeSpec(slot.spec)}` : `has no ${m} input`}`,
        );
      }
    }
  } else {
    slots = [];
    for (const m of MODALITIES) {
      const f = train.features[m];
      if (f === undefined) continue;
      const st = slotStats(train, m);
      if (st.present === 0) continue;
      slots.push({ modality: m, spec: { ...f.spec }, mean: st.mean, std: st.std });
    }
    if (slots.length === 0) throw new EmoflowError('CONFIG_INVALID', 'the training data has no features');
  }
  const tasks: TaskSpec[] = init !== undefined ? init.desc.tasks.map((t) => ({ ...t })) : [];
  for (const [name, labels] of Object.entries(train.tasks)) {
    const existing = tasks.find((t) => t.name === name);
    if (existing !== undefined) {
      const sameLabels =
        existing.type === labels.spec.type &&
        (existing.type === 'regression' ||
          JSON.stringify(existing.labels) === JSON.stringify((labels.spec as { labels: string[] }).labels));
      if (!sameLabels) {
        throw new EmoflowError(
          'HEAD_INCOMPATIBLE',
          `task '${name}' of the data differs from the initial head's (type or labels)`,
        );
      }
      continue;
    }
    tasks.push({ ...labels.spec });
  }
  const withOverrides = tasks.map((t) => {
    const o = config.tasks[t.name];
    if (o === undefined) return t;
    const r = taskSchema.safeParse({ ...t, ...o });
    if (!r.success)
      throw new EmoflowError('CONFIG_INVALID', `config tasks.${t.name}: ${r.error.issues[0]!.message}`);
    return r.data;
  });
  for (const name of Object.keys(config.tasks)) {
    if (!withOverrides.some((t) => t.name === name))
      throw new EmoflowError(
        'CONFIG_INVALID',
        `config tasks.${name}: no such task in the data or the initial head`,
      );
  }
  const temperature: Record<string, number> = {};
  for (const t of withOverrides)
    if (t.type === 'classification') temperature[t.name] = init?.desc.temperature[t.name] ?? 1;
  return {
    slots,
    architecture: init?.desc.architecture ?? config.architecture,
    tasks: withOverrides,
    temperature,
  };
}

/** He-normal weights (zero for task heads) and zero biases from a seeded RNG, for every parameter not given. */
export function initParams(desc: HeadDescription, seed: number, given?: ParamStore): ParamStore {
  const rnd = new Random(seed);
  const out: ParamStore = new Map();
  for (const s of paramShapes(desc)) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const old = given?.get(s.name);
    if (old !== undefined && old.length === size) {
      out.set(s.name, Float32Array.from(old));
      continue;
    }
    const data = new Float32Array(size);
    // Task heads start at zero: every task begins at its prior-free output (uniform classes,
    // the middle of a regression range), which keeps a task added by fine-tuning from starting
    // with confident nonsense; gradients still reach them through the trunk's activations.
    if (s.kind === 'weight' && !s.name.startsWith('task.')) {
      const sd = Math.sqrt(2 / s.fanIn);
      for (let i = 0; i < size; i++) data[i] = rnd.normal() * sd;
    }
    out.set(s.name, data);
  }
  return out;
}

export function paramFeeds(
  params: ParamStore,
  names: readonly string[],
  shapes: Map<string, number[]>,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const n of names) feeds[n] = new ort.Tensor('float32', params.get(n) as Float32Array, shapes.get(n)!);
  return feeds;
}

/**
 * A training step's lexical feeds: for each table, the rows that the batch's ids with a non-zero
 * weight name (ascending), gathered into a compact [U, d] table under the parameter's name, and
 * the ids renumbered into it (ids of weight 0, the padding, point at row 0: they add nothing).
 * `rows` says which table row each compact row is, for the optimizer's sparse update; a batch
 * without text feeds one row of the table and updates none.
 */
export function lexicalRows(
  feeds: Record<string, ort.Tensor>,
  tables: readonly { param: string; ids: string; weights: string; width: number }[],
  params: ParamStore,
): { feeds: Record<string, ort.Tensor>; rows: Map<string, { rows: Int32Array; width: number }> } {
  const out: Record<string, ort.Tensor> = {};
  const rows = new Map<string, { rows: Int32Array; width: number }>();
  for (const t of tables) {
    const ids = feeds[t.ids]!.data as BigInt64Array;
    const w = feeds[t.weights]!.data as Float32Array;
    const used = new Set<number>();
    for (let i = 0; i < ids.length; i++) if (w[i] !== 0) used.add(Number(ids[i]));
    const touched = Int32Array.from(used).sort();
    const index = new Map<number, number>();
    touched.forEach((r, k) => index.set(r, k));
    const renumbered = new BigInt64Array(ids.length);
    for (let i = 0; i < ids.length; i++) if (w[i] !== 0) renumbered[i] = BigInt(index.get(Number(ids[i]))!);
    const table = params.get(t.param) as Float32Array;
    const fed = touched.length > 0 ? touched : Int32Array.of(0);
    const compact = new Float32Array(fed.length * t.width);
    fed.forEach((r, k) => compact.set(table.subarray(r * t.width, (r + 1) * t.width), k * t.width));
    out[t.ids] = new ort.Tensor('int64', renumbered, feeds[t.ids]!.dims);
    out[t.param] = new ort.Tensor('float32', compact, [fed.length, t.width]);
    rows.set(t.param, { rows: touched, width: t.width });
  }
  return { feeds: out, rows };
}

/** A session over ONNX bytes built in memory, keyed by their hash so that identical graphs share one. */
export async function graphSession(
  factory: SessionFactory,
  bytes: Uint8Array,
): Promise<ort.InferenceSession> {
  return factory.session(`graph:${createHash('sha256').update(bytes).digest('hex')}`, bytes);
}

/** Task outputs of the eval graph (logits / values, and the contribution) over a whole dataset. */
export async function evalOutputs(
  session: ort.InferenceSession,
  desc: HeadDescription,
  params: ParamStore,
  ds: FeatureDataset,
  batch = 1024,
): Promise<Map<string, Float32Array>> {
  const shapes = new Map(paramShapes(desc).map((s) => [s.name, s.shape]));
  return predict(session, desc, ds, batch, paramFeeds(params, [...shapes.keys()], shapes));
}

/** The single figure the progress bar and early stopping follow: the first labelled task's accuracy, or its CCC. */
export function devMetricOf(
  desc: HeadDescription,
  outputs: Map<string, Float32Array>,
  ds: FeatureDataset,
): number | undefined {
  const t = desc.tasks.find(
    (x) => ds.tasks[x.name] !== undefined && x.type !== 'multilabel' && !isAdversarial(x),
  );
  if (t === undefined) return undefined;
  const labels = ds.tasks[t.name]!;
  const y = outputs.get(t.name)!;
  const m =
    t.type === 'regression'
      ? regressionMetrics(y, labels.targets, labels.has).ccc
      : classificationMetrics(y, truthOf(labels, taskWidth(t)), t.labels).accuracy;
  return Number.isFinite(m) ? m : undefined;
}

/**
 * Trains a head inside onnxruntime: one training-step graph (forward, losses, and every
 * trainable parameter's gradient, emitted by our graph builder) run per batch, AdamW with
 * gradient clipping and a warm-up + cosine schedule in JavaScript, dropout through masks drawn
 * from a seeded RNG. The same seed and data give the same parameters.
 */
export async function trainHead(input: TrainInput): Promise<TrainResult> {
  const t0 = Date.now();
  const { train, dev, config, factory } = input;
  const desc = describeHead(input);
  const params = initParams(desc, config.seed, input.init?.params);
  const shapes = new Map(paramShapes(desc).map((s) => [s.name, s.shape]));
  const uncertainty = config.lossWeighting === 'uncertainty';
  if (uncertainty) {
    // Training-only parameters: each task's log-variance, starting at 0 (weight 1).
    for (const t of desc.tasks) {
      params.set(`uw.${t.name}`, new Float32Array(1));
      shapes.set(`uw.${t.name}`, [1]);
    }
  }
  const all = [...shapes.keys()];
  const labelled = new Set(Object.keys(train.tasks));
  const trainable =
    input.freeze === 'trunk'
      ? all.filter((n) => n.startsWith('task.') && labelled.has(n.split('.')[1]!))
      : all;
  if (trainable.length === 0)
    throw new EmoflowError(
      'CONFIG_INVALID',
      "--freeze trunk leaves nothing to train: the data labels none of the head's tasks",
    );

  const built = buildHead(desc, params, 'train', {
    uncertainty,
    logitAdjustment: config.logitAdjustment,
    compactTables: true,
  });
  const grads = built.graph.gradients(built.loss!, trainable);
  for (const [name, g] of grads) built.graph.output(`grad.${name}`, g);
  const trainSession = await graphSession(
    factory,
    encodeModel(built.graph.toModel({ params: 'inputs', name: 'emoflow-head-train' })),
  );
  const evalBuilt = buildHead(desc, params, 'eval');
  const evalSession = await graphSession(
    factory,
    encodeModel(evalBuilt.graph.toModel({ params: 'inputs', name: 'emoflow-head-eval' })),
  );

  const feeder = new BatchFeeder(train, desc, config, config.seed + 1, config.logitAdjustment);
  const order = new Random(config.seed + 2);
  const opt = new AdamW({ lr: config.lr, weightDecay: config.weightDecay });
  const stepsPerEpoch = Math.ceil(train.size / config.batchSize);
  const context = contextOf(desc.architecture);
  const plan = context === undefined ? undefined : groupBatchPlan(train, config, context, order);
  const total = plan === undefined ? stepsPerEpoch * config.epochs : plan.reduce((a, e) => a + e.length, 0);
  const warmup = Math.round(total * config.warmup);
  const log: TrainLogEntry[] = [];
  const idx = Int32Array.from({ length: train.size }, (_, i) => i);
  const decay = (name: string) => name.endsWith('.W');
  // Lexical tables: fed as the rows each batch uses, and updated only there (lexicalRows).
  const tables = desc.slots.flatMap((slot) => {
    const param = `${slot.modality}.lex.E`;
    if (slotLayout(slot).lexical === undefined) return [];
    return [{ ...lexicalInputNames(slot), param, width: shapes.get(param)![1]! }];
  });
  const denseParams = all.filter((n) => !tables.some((t) => t.param === n));
  let best: { metric: number; params: ParamStore } | undefined;
  let sinceBest = 0;
  let step = 0;
  const history: Record<string, number>[] = [];
  for (let epoch = 1; epoch <= config.epochs; epoch++) {
    if (config.lossWeighting === 'dwa') for (const [k, v] of dwaWeights(history)) feeder.taskScale.set(k, v);
    if (plan === undefined) order.shuffle(idx);
    const steps = plan?.[epoch - 1]!.length ?? stepsPerEpoch;
    let lossSum = 0;
    const taskSums: Record<string, number> = {};
    for (let s = 0; s < steps; s++) {
      const rows =
        plan?.[epoch - 1]![s] ??
        idx.subarray(s * config.batchSize, Math.min(train.size, (s + 1) * config.batchSize));
      const batchFeeds = feeder.feeds(rows, true, built.dropout);
      const lexical = lexicalRows(batchFeeds, tables, params);
      const res = await trainSession.run({
        ...paramFeeds(params, denseParams, shapes),
        ...batchFeeds,
        ...lexical.feeds,
      });
      const g = new Map<string, FloatArray>();
      for (const name of trainable) g.set(name, res[`grad.${name}`]!.data as Float32Array);
      const sparse = lexical.rows;
      const norm = globalNorm(g);
      const scale = config.clip > 0 && norm > config.clip ? config.clip / norm : 1;
      const lr = learningRate(step, total, warmup, config.lr);
      opt.step(params, g, lr, decay, scale, sparse);
      const loss = (res['loss']!.data as Float32Array)[0]!;
      if (!Number.isFinite(loss))
        throw new Error(`training diverged at step ${step} (loss ${loss}); lower lr in the config`);
      lossSum += loss;
      for (const t of desc.tasks)
        taskSums[t.name] = (taskSums[t.name] ?? 0) + (res[`loss.${t.name}`]!.data as Float32Array)[0]!;
      step++;
      input.onProgress?.({ epoch, epochs: config.epochs, step, steps: total, loss });
    }
    const entry: TrainLogEntry = {
      epoch,
      step,
      loss: lossSum / steps,
      lr: learningRate(step - 1, total, warmup, config.lr),
      taskLosses: Object.fromEntries(Object.entries(taskSums).map(([k, v]) => [k, v / steps])),
    };
    history.push(entry.taskLosses);
    if (config.lossWeighting !== 'static') {
      entry.taskWeights = Object.fromEntries(
        desc.tasks.map((t) => [
          t.name,
          uncertainty ? Math.exp(-params.get(`uw.${t.name}`)![0]!) : (feeder.taskScale.get(t.name) ?? 1),
        ]),
      );
    }
    if (dev !== undefined) {
      const m = devMetricOf(desc, await evalOutputs(evalSession, desc, params, dev), dev);
      if (m !== undefined) entry.devMetric = m;
    }
    log.push(entry);
    input.onProgress?.({
      epoch,
      epochs: config.epochs,
      step,
      steps: total,
      loss: entry.loss,
      ...(entry.devMetric === undefined ? {} : { devMetric: entry.devMetric }),
    });
    if (config.patience > 0 && entry.devMetric !== undefined) {
      if (best === undefined || entry.devMetric > best.metric) {
        best = { metric: entry.devMetric, params: new Map([...params].map(([k, v]) => [k, v.slice()])) };
        sinceBest = 0;
      } else if (++sinceBest >= config.patience) break;
    }
  }
  const finalParams = best !== undefined ? best.params : params;
  // Training-only: the log-variances, and adversarial tasks with their heads.
  for (const t of desc.tasks) finalParams.delete(`uw.${t.name}`);
  for (const t of desc.tasks.filter(isAdversarial)) {
    finalParams.delete(`task.${t.name}.W`);
    finalParams.delete(`task.${t.name}.b`);
    delete desc.temperature[t.name];
  }
  desc.tasks = desc.tasks.filter((t) => !isAdversarial(t));
  return {
    desc,
    params: finalParams,
    log,
    trained: trainable,
    steps: step,
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Every epoch's batches for a context head, drawn up front so that the schedule knows the
 * number of steps: the data's graph units (whole groups, or windows of `maxGroup` rows) are
 * shuffled with the run's order RNG each epoch and packed into batches of about `batchSize`
 * rows, so each batch holds whole graphs and the same seed gives the same batches.
 */
function groupBatchPlan(
  train: FeatureDataset,
  config: TrainConfig,
  context: ContextSpec,
  order: Random,
): Int32Array[][] {
  const units = contextUnits(train.size, train.groups, train.order, context.maxGroup);
  const visit = Int32Array.from(units, (_, k) => k);
  return Array.from({ length: config.epochs }, () => {
    order.shuffle(visit);
    return packUnits(units, visit, config.batchSize);
  });
}

/**
 * Dynamic Weight Average (Liu, Johns and Davison 2019): from the third epoch, task k gets
 * K·exp(r_k/T) / Σ exp(r_j/T), where r_k is its loss of the last epoch over the one before and
 * T = 2; tasks whose loss fell fastest get less weight. Before that, and for tasks without two
 * finite, positive losses yet, the factor is 1.
 */
export function dwaWeights(history: readonly Record<string, number>[], temperature = 2): Map<string, number> {
  const out = new Map<string, number>();
  if (history.length < 2) return out;
  const last = history[history.length - 1]!;
  const before = history[history.length - 2]!;
  const rates = Object.keys(last)
    .filter((k) => last[k]! > 0 && before[k]! > 0 && Number.isFinite(last[k]! / before[k]!))
    .map((k) => [k, last[k]! / before[k]!] as const);
  if (rates.length === 0) return out;
  const e = rates.map(([, r]) => Math.exp(r / temperature));
  const z = e.reduce((a, b) => a + b, 0);
  rates.forEach(([k], i) => out.set(k, (rates.length * e[i]!) / z));
  return out;
}
