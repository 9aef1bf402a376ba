import { noTraining, smallContextHead } from './support/heads.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../src/core/labels.js';
import { Random } from '../src/core/random.js';
import type { Sample } from '../src/core/sample.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { saveHead } from '../src/head/artifact.js';
import { predict } from '../src/head/evaluate.js';
import { paramShapes, type ParamStore } from '../src/head/head-model.js';
import { graphSession } from '../src/head/trainer.js';
import { SessionFactory } from '../src/models/session-factory.js';
import type { SampleFeatures } from '../src/pipeline/extract.js';
import { HeadRunner } from '../src/pipeline/head-runner.js';
import { continuesGroup } from '../src/runtime/embedded/ingest.js';
import { checkWithPythonOnnx, skipPythonReference } from './support/python-onnx.js';

/**
 * A context head outside training: `emoflow eval` (predict over a dataset, batched by group)
 * and ingestion (HeadRunner over a micro-batch) must build the same graphs and give the same
 * scores; a lone sample is a one-node graph.
 */

const work = mkdtempSync(join(tmpdir(), 'emoflow-context-head-'));
const factory = new SessionFactory({ intraOpThreads: 1 });
afterAll(async () => {
  await factory.release();
  rmSync(work, { recursive: true, force: true });
});

const desc = smallContextHead(
  [
    { modality: 'text', spec: { name: 't', version: '1', dim: 4 }, mean: [0, 0, 0, 0], std: [1, 1, 1, 1] },
    { modality: 'image', spec: { name: 'i', version: '1', dim: 3 }, mean: [0, 0, 0], std: [1, 1, 1] },
  ],
  8,
  2,
);

// Samples 0–2: one dialogue (0 and 2 share a speaker, 2 is two turns after 1); 3 alone; 4 another dialogue.
const rows = [
  { group: 'd1', order: 0, speaker: 'A', image: true },
  { group: 'd1', order: 1, speaker: 'B', image: false },
  { group: 'd1', order: 3, speaker: 'A', image: true },
  { group: undefined, order: undefined, speaker: undefined, image: true },
  { group: 'd2', order: 0, speaker: 'A', image: false },
];
const rnd = new Random(3);
const text = Float32Array.from({ length: rows.length * 4 }, () => rnd.normal());
const image = Float32Array.from({ length: rows.length * 3 }, () => rnd.normal());
let runner: HeadRunner;
let dir: string;

beforeAll(async () => {
  const params: ParamStore = new Map();
  for (const s of paramShapes(desc))
    params.set(
      s.name,
      Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => rnd.normal()),
    );
  dir = join(work, 'head');
  await saveHead(dir, desc, params, {
    name: 'context-test',
    thresholds: {},
    metrics: {},
    taskModalities: { emotion: ['text', 'image'] },
    training: noTraining(),
  });
  runner = await HeadRunner.load(dir, factory);
});

function features(i: number): SampleFeatures {
  const r = rows[i]!;
  const f: SampleFeatures = {
    id: `s${i}`,
    inputs: {},
    modalities: { text: { status: 'ok', vector: text.slice(i * 4, i * 4 + 4), meta: {} } },
    warnings: [],
  };
  if (r.image) f.modalities.image = { status: 'ok', vector: image.slice(i * 3, i * 3 + 3), meta: {} };
  if (r.group !== undefined) Object.assign(f, { group: r.group, order: r.order, speaker: r.speaker });
  return f;
}

function scores(recordScores: Record<string, number> | null): number[] {
  return EMOTIONS.map((e) => recordScores![e]!);
}

describe('a context head in eval and ingestion', () => {
  it('records the context in head.json and scores a micro-batch as eval scores the dataset', async () => {
    expect(runner.head.json.context).toEqual(desc.architecture.context);
    expect(runner.groupCap).toBe(64);
    const ds: FeatureDataset = {
      name: 'ctx',
      size: rows.length,
      ids: rows.map((_, i) => `s${i}`),
      // As corpus datasets give them: a sample without a group is its own.
      groups: rows.map((r, i) => r.group ?? `s${i}`),
      speakers: rows.map((r) => r.speaker ?? ''),
      order: Int32Array.from(rows, (r) => r.order ?? 0),
      features: {
        text: { spec: { name: 't', version: '1', dim: 4 }, data: text },
        image: { spec: { name: 'i', version: '1', dim: 3 }, data: image },
      },
      mask: Uint8Array.from(rows.flatMap((r) => [1, r.image ? 1 : 0, 0])),
      tasks: {},
      source: { corpus: 'ctx', path: '-', licence: '-' },
    };
    const session = await graphSession(factory, runner.head.onnx);
    const evalOut = (await predict(session, desc, ds)).get('emotion')!;
    const records = await runner.predict(rows.map((_, i) => features(i)));
    records.forEach((r, i) => {
      const got = scores(r.scores);
      got.forEach((p, k) => expect(p).toBeCloseTo(evalOut[i * 7 + k]!, 5));
    });
    // Context changes a dialogue's scores (sample 1 scored alone differs) but not a lone sample's.
    const alone1 = scores((await runner.predict([features(1)]))[0]!.scores);
    expect(Math.max(...alone1.map((p, k) => Math.abs(p - evalOut[7 + k]!)))).toBeGreaterThan(1e-4);
    const alone3 = scores((await runner.predict([features(3)]))[0]!.scores);
    alone3.forEach((p, k) => expect(p).toBeCloseTo(evalOut[3 * 7 + k]!, 6));
  });

  it.skipIf(skipPythonReference)(
    'writes a head.onnx with the adj input that passes onnx.checker',
    async () => {
      const check = await checkWithPythonOnnx(runner.head.onnx);
      expect(check.message).toBe('');
      expect(check.ok).toBe(true);
    },
  );

  it('keeps a contiguous group in one micro-batch, up to the cap', () => {
    const s = (id: string, group?: string): Sample => ({
      id,
      root: '/',
      labels: {},
      ...(group === undefined ? {} : { group }),
    });
    const part = [s('a'), s('b', 'g'), s('c', 'g')];
    expect(continuesGroup(part, s('d', 'g'), 3)).toBe(true); // run of 2 < 3
    expect(continuesGroup(part, s('d', 'g'), 2)).toBe(false); // run reached the cap
    expect(continuesGroup(part, s('d', 'h'), 3)).toBe(false);
    expect(continuesGroup(part, s('d'), 3)).toBe(false);
    expect(continuesGroup([s('a')], s('b'), 3)).toBe(false);
  });
});
