import * as ort from 'onnxruntime-node';
import { Random } from '../core/random.js';
import type { FeatureDataset } from '../data/feature-dataset.js';
import { Graph } from '../head/graph.js';
import { paramShapes } from '../head/head-model.js';
import { encodeModel } from '../head/onnx/proto.js';
import { parseTrainConfig } from '../head/train-config.js';
import { describeHead, trainHead } from '../head/trainer.js';
import type { SessionFactory } from '../models/session-factory.js';
import { cpuModel, median, timeIt } from './timing.js';

export interface HeadTrainBench {
  stage: 'head-train';
  gflops: number;
  matmulPeakGflops: number;
  ratio: number;
  stepsPerSecond: number;
  samplesPerSecond: number;
  batch: number;
  threads: number;
  cpu: string;
}

/** The fixed synthetic problem of the head issue: 16384 samples of 1024 inputs, 7 classes + 2 regressions. */
export function syntheticProblem(samples = 16384, inputs = 1024, seed = 1): FeatureDataset {
  const r = new Random(seed);
  const x = new Float32Array(samples * inputs);
  for (let i = 0; i < x.length; i++) x[i] = r.normal();
  const cls = new Float32Array(samples * 7);
  const v = new Float32Array(samples);
  const a = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    cls[i * 7 + r.int(7)] = 1;
    v[i] = r.next() * 2 - 1;
    a[i] = r.next() * 2 - 1;
  }
  const all = new Uint8Array(samples).fill(1);
  return {
    name: 'synthetic',
    size: samples,
    ids: Array.from({ length: samples }, (_, i) => String(i)),
    features: { text: { spec: { name: 'synthetic', version: '1', dim: inputs }, data: x } },
    mask: Uint8Array.from({ length: samples * 3 }, (_, k) => (k % 3 === 0 ? 1 : 0)),
    tasks: {
      emotion: {
        spec: {
          name: 'emotion',
          type: 'classification',
          labels: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
          weight: 1,
          labelSmoothing: 0,
          classWeights: 'none',
        },
        targets: cls,
        has: all,
      },
      valence: {
        spec: { name: 'valence', type: 'regression', range: [-1, 1], loss: 'mse', weight: 1 },
        targets: v,
        has: all,
      },
      arousal: {
        spec: { name: 'arousal', type: 'regression', range: [-1, 1], loss: 'mse', weight: 1 },
        targets: a,
        has: all,
      },
    },
    source: { corpus: 'synthetic', path: '-', licence: 'none' },
  };
}

/** onnxruntime's rate on a lone [256, 1024] x [1024, 512] MatMul, same thread count. */
async function matmulPeak(factory: SessionFactory, m = 256, k = 1024, n = 512, runs = 30): Promise<number> {
  const g = new Graph('float32');
  const a = g.input('a', [m, k]);
  const b = g.input('b', [k, n]);
  g.output('y', g.matmul(a, b));
  const session = await factory.session('bench:matmul', encodeModel(g.toModel({ params: 'inputs' })));
  const r = new Random(3);
  const feeds = {
    a: new ort.Tensor(
      'float32',
      Float32Array.from({ length: m * k }, () => r.next()),
      [m, k],
    ),
    b: new ort.Tensor(
      'float32',
      Float32Array.from({ length: k * n }, () => r.next()),
      [k, n],
    ),
  };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeIt(async () => void (await session.run(feeds))));
  return (2 * m * k * n) / median(times) / 1e9;
}

/**
 * Training throughput of the head engine on the synthetic problem, as GFLOP/s counting 6 FLOPs
 * per dense weight per sample (forward 2, backward 4), against a lone MatMul's rate in the same run.
 */
export async function benchHeadTrain(factory: SessionFactory, epochs = 2): Promise<HeadTrainBench> {
  const data = syntheticProblem();
  const batch = 256;
  const config = parseTrainConfig({
    architecture: { hidden: 512, gate: 32, trunk: [512], activation: 'relu', fusion: 'gated' },
    epochs,
    batchSize: batch,
    threads: factory.threads,
    modalityDropout: 0,
    inputNoise: 0,
  });
  const desc = describeHead({ train: data, config, factory });
  const denseWeights = paramShapes(desc)
    .filter((s) => s.kind === 'weight')
    .reduce((a, s) => a + s.shape[0]! * s.shape[1]!, 0);
  const stepsPerEpoch = Math.ceil(data.size / batch);
  let start = 0n;
  let end = 0n;
  await trainHead({
    train: data,
    config,
    factory,
    onProgress: (p) => {
      // Time the epochs after the first (session creation and warm-up fall in epoch 1).
      if (p.step === stepsPerEpoch && start === 0n) start = process.hrtime.bigint();
      if (p.step === p.steps) end = process.hrtime.bigint();
    },
  });
  const seconds = Number(end - start) / 1e9;
  const steps = stepsPerEpoch * (epochs - 1);
  const samplesPerSecond = (steps * batch) / seconds;
  const gflops = (6 * denseWeights * samplesPerSecond) / 1e9;
  const peak = await matmulPeak(factory);
  return {
    stage: 'head-train',
    gflops,
    matmulPeakGflops: peak,
    ratio: gflops / peak,
    stepsPerSecond: steps / seconds,
    samplesPerSecond,
    batch,
    threads: factory.threads,
    cpu: cpuModel(),
  };
}
