import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { readMosi } from '../src/data/adapters/mosi.js';
import { loadHead, type LoadedHead } from '../src/head/artifact.js';
import { predict } from '../src/head/evaluate.js';
import { fitHead, prepareTrainingSets } from '../src/head/fit-head.js';
import { subset } from '../src/data/dataset-rows.js';
import { mergeDatasets } from '../src/data/datasets.js';
import { decodeModel } from '../src/head/onnx/proto.js';
import { parseTrainConfig } from '../src/head/train-config.js';
import { describeHead, graphSession, dwaWeights } from '../src/head/trainer.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { sharedNeed } from './support/paths.js';
import {
  checkWithPythonOnnx,
  skipPythonReference,
  skipPythonReferenceMessage,
} from './support/python-onnx.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-head-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const factory = new SessionFactory({ intraOpThreads: 1 });
const config = parseTrainConfig({ epochs: 4 });
let train: FeatureDataset;
let dev: FeatureDataset;

const MOSI = sharedNeed('data/multimodal/mosi');

beforeAll(async () => {
  if (MOSI.missing) return; // the suites that train on MOSI skip
  train = await readMosi(join(MOSI.path, 'train.jsonl.gz'));
  dev = await readMosi(join(MOSI.path, 'valid.jsonl.gz'));
});

async function fit(out: string, extra: Partial<Parameters<typeof fitHead>[0]> = {}): Promise<LoadedHead> {
  await fitHead({ datasets: [train], train, dev, config, factory, name: 'test', out, ...extra });
  return loadHead(out);
}

/** A user's own task on MOSI: is the opinion clearly positive (score >= 1)? Labels only for it. */
function strengthTask(ds: FeatureDataset): FeatureDataset {
  const score = ds.tasks['sentiment_score']!.targets;
  const targets = new Float32Array(ds.size * 2);
  for (let i = 0; i < ds.size; i++) targets[i * 2 + (score[i]! >= 1 ? 1 : 0)] = 1;
  return {
    ...ds,
    tasks: {
      strength: {
        spec: {
          name: 'strength',
          type: 'classification',
          labels: ['no', 'yes'],
          weight: 1,
          labelSmoothing: 0,
          classWeights: 'none',
        },
        targets,
        has: new Uint8Array(ds.size).fill(1),
      },
    },
  };
}

describe.skipIf(MOSI.missing)(`training a head inside onnxruntime ${MOSI.tag}`, () => {
  let base: LoadedHead;
  beforeAll(async () => {
    base = await fit(join(work, 'base'));
  });

  it('writes head.onnx that passes onnx.checker full_check and head.json that describes it', async () => {
    expect(base.json.formatVersion).toBe(1);
    expect(Object.keys(base.json.features)).toEqual(['text', 'image', 'audio']);
    expect(base.json.features.audio!.mean).toHaveLength(73);
    expect(base.json.tasks.map((t) => [t.name, t.type, t.modalities])).toEqual([
      ['sentiment', 'classification', ['text', 'image', 'audio']],
      ['sentiment_score', 'regression', ['text', 'image', 'audio']],
    ]);
    expect(base.json.temperature['sentiment']).toBeGreaterThan(0);
    expect(base.json.training.corpora[0]!.samples).toBe(1337);
    expect(base.json.training.log).toHaveLength(4);
    if (skipPythonReference) {
      console.warn(skipPythonReferenceMessage);
      return;
    }
    const check = await checkWithPythonOnnx(base.onnx);
    expect(check.message).toBe('');
    expect(check.ok).toBe(true);
  });

  it('gives identical head.onnx bytes for the same seed and data, and different bytes for another seed', async () => {
    const again = await fit(join(work, 'again'));
    expect(Buffer.compare(Buffer.from(again.onnx), Buffer.from(base.onnx))).toBe(0);
    expect(again.json.sha256).toBe(base.json.sha256);
    const other = await fit(join(work, 'seed2'), { config: { ...config, seed: 2 } });
    expect(other.json.sha256).not.toBe(base.json.sha256);
  });

  it('trains a context head over whole videos: same seed, same bytes; head.json records the context', async () => {
    const context = { layers: 1, window: 2, speakerEdges: true, maxGroup: 64 };
    const ctxConfig = { ...config, epochs: 2, architecture: { ...config.architecture, context } };
    const a = await fit(join(work, 'ctx-a'), { config: ctxConfig });
    const b = await fit(join(work, 'ctx-b'), { config: ctxConfig });
    expect(Buffer.compare(Buffer.from(a.onnx), Buffer.from(b.onnx))).toBe(0);
    expect(a.json.context).toEqual(context);
    expect(a.json.architecture.context).toEqual(context);
    expect([...a.params.keys()].filter((k) => k.startsWith('context.'))).toEqual([
      'context.0.W',
      'context.0.b',
      'context.0.src',
      'context.0.dst',
    ]);
    // Without context the head is as before: no context key, null in head.json.
    expect(base.json.context).toBeNull();
    expect('context' in base.json.architecture).toBe(false);
    expect(a.json.training.log[0]!['devMetric']).toBeGreaterThan(0.5);
  });

  it('predicts through the session factory: probabilities, bounded scores, contributions summing to 1', async () => {
    const session = await graphSession(factory, base.onnx);
    const out = await predict(session, base.desc, dev);
    const p = out.get('sentiment')!;
    const s = out.get('sentiment_score')!;
    const c = out.get('contribution')!;
    for (let i = 0; i < dev.size; i++) {
      expect(p[i * 2]! + p[i * 2 + 1]!).toBeCloseTo(1, 5);
      expect(Math.abs(s[i]!)).toBeLessThanOrEqual(3);
      expect(c[i * 3]! + c[i * 3 + 1]! + c[i * 3 + 2]!).toBeCloseTo(1, 5);
    }
    // An absent modality gets no weight.
    const textOnly = { ...dev, mask: Uint8Array.from(dev.mask, (_, k) => (k % 3 === 0 ? 1 : 0)) };
    const c1 = (await predict(session, base.desc, textOnly)).get('contribution')!;
    for (let i = 0; i < dev.size; i++) expect([c1[i * 3], c1[i * 3 + 1], c1[i * 3 + 2]]).toEqual([1, 0, 0]);
  });

  it('--init with --freeze trunk changes only the trained task heads', async () => {
    const tuned = await fit(join(work, 'tuned'), { init: base, freeze: 'trunk' });
    expect(tuned.json.training.trained.sort()).toEqual([
      'task.sentiment.W',
      'task.sentiment.b',
      'task.sentiment_score.W',
      'task.sentiment_score.b',
    ]);
    let changed = 0;
    for (const [name, before] of base.params) {
      const after = tuned.params.get(name)!;
      const same = Buffer.compare(Buffer.from(after.buffer), Buffer.from(before.buffer)) === 0;
      if (name.startsWith('task.')) changed += same ? 0 : 1;
      else expect(same, name).toBe(true);
    }
    expect(changed).toBe(4);
    expect(tuned.json.features).toEqual(base.json.features); // statistics kept
    expect(tuned.json.training.init).toEqual({ name: 'test', sha256: base.json.sha256 });
  });

  it("adds a user task under a frozen trunk and leaves the old tasks' outputs unchanged", async () => {
    const mine = strengthTask(train);
    const out = join(work, 'mine');
    await fitHead({
      datasets: [mine],
      train: mine,
      dev: strengthTask(dev),
      config: { ...config, epochs: 15, lr: 3e-3 },
      factory,
      name: 'mine',
      out,
      init: base,
      freeze: 'trunk',
    });
    const tuned = await loadHead(out);
    expect(tuned.json.tasks.map((t) => t.name)).toEqual(['sentiment', 'sentiment_score', 'strength']);
    expect(tuned.json.training.trained.sort()).toEqual(['task.strength.W', 'task.strength.b']);
    const before = await predict(await graphSession(factory, base.onnx), base.desc, dev);
    const after = await predict(await graphSession(factory, tuned.onnx), tuned.desc, dev);
    for (const task of ['sentiment', 'sentiment_score', 'contribution']) {
      expect(Array.from(after.get(task)!), task).toEqual(Array.from(before.get(task)!));
    }
    const strength = after.get('strength')!;
    expect(strength).toHaveLength(dev.size * 2);
    // The new task's head learned: its training loss fell from the first epoch to the last.
    const log = tuned.json.training.log as { taskLosses: Record<string, number> }[];
    expect(log.at(-1)!.taskLosses['strength']!).toBeLessThan(log[0]!.taskLosses['strength']! * 0.95);
  });

  it('refits the standardisation statistics on the new data when asked (refitStatistics)', () => {
    const shifted = {
      ...train,
      features: {
        ...train.features,
        audio: { spec: train.features.audio!.spec, data: train.features.audio!.data.map((v) => v * 2 + 1) },
      },
    };
    const kept = describeHead({
      train: shifted,
      config,
      factory,
      init: { desc: base.desc, params: base.params },
    });
    expect(kept.slots).toEqual(base.desc.slots);
    const refit = describeHead({
      train: shifted,
      config: { ...config, refitStatistics: true },
      factory,
      init: { desc: base.desc, params: base.params },
    });
    const audio = refit.slots.find((s) => s.modality === 'audio')!;
    const old = base.desc.slots.find((s) => s.modality === 'audio')!;
    audio.mean.forEach((m, d) => expect(m).toBeCloseTo(old.mean[d]! * 2 + 1, 1));
    audio.std.forEach((sd, d) => expect(sd).toBeCloseTo(old.std[d]! * 2, 1));
    // Text is refitted too, from the same training rows the base head used: the same statistics.
    expect(refit.slots.find((s) => s.modality === 'text')).toEqual(
      base.desc.slots.find((s) => s.modality === 'text'),
    );
  });

  it.each(['uncertainty', 'dwa'] as const)(
    'trains with %s loss weighting, logs each epoch’s task weights, and ships no training-only parameter',
    async (lossWeighting) => {
      const out = join(work, `lw-${lossWeighting}`);
      await fitHead({
        datasets: [train],
        train,
        dev,
        config: { ...config, lossWeighting },
        factory,
        name: 'lw',
        out,
      });
      const head = await loadHead(out);
      expect([...head.params.keys()].some((k) => k.startsWith('uw.'))).toBe(false);
      const log = head.json.training.log as { epoch: number; taskWeights?: Record<string, number> }[];
      const w = log.map((e) => e.taskWeights!);
      expect(Object.keys(w[0]!).sort()).toEqual(['sentiment', 'sentiment_score']);
      if (lossWeighting === 'dwa') {
        // Epochs 1 and 2 have no loss history: factor 1; later ones average to 1 over the tasks.
        expect(w[0]).toEqual({ sentiment: 1, sentiment_score: 1 });
        expect(w[1]).toEqual({ sentiment: 1, sentiment_score: 1 });
        const third = Object.values(w[2]!);
        expect(third.reduce((a, b) => a + b, 0)).toBeCloseTo(2, 5);
        expect(third.every((x) => x !== 1)).toBe(true);
      } else {
        // The learned weights move away from 1 as the log-variances train.
        for (const x of Object.values(w.at(-1)!)) expect(Math.abs(x - 1)).toBeGreaterThan(1e-3);
      }
      expect(head.json.metrics['dev']).toBeDefined();
    },
  );

  it('refuses an initial head whose features differ (HEAD_INCOMPATIBLE)', async () => {
    const wrong = {
      ...train,
      features: {
        ...train.features,
        audio: { spec: { name: 'other', version: '1', dim: 73 }, data: train.features.audio!.data },
      },
    };
    await expect(
      fitHead({
        datasets: [wrong],
        train: wrong,
        config,
        factory,
        name: 'x',
        out: join(work, 'x'),
        init: base,
      }),
    ).rejects.toMatchObject({
      code: 'HEAD_INCOMPATIBLE',
    });
  });

  it('trains a domain classifier behind gradient reversal and leaves it out of the written head', async () => {
    // Two "corpora": the first and second half of MOSI's training videos.
    const rows = Array.from({ length: train.size }, (_, i) => i);
    const half = Math.floor(train.size / 2);
    const a = { ...subset(train, rows.slice(0, half)), source: { ...train.source, corpus: 'mosi-a' } };
    const b = { ...subset(train, rows.slice(half)), source: { ...train.source, corpus: 'mosi-b' } };
    const adv = { ...config, domainAdversarial: 0.5 };
    const prepared = prepareTrainingSets([a, b], adv);
    expect(prepared.sets[1]!.tasks['corpus']!.spec).toMatchObject({ labels: ['mosi-a', 'mosi-b'] });
    const out = join(work, 'adversarial');
    await fitHead({
      datasets: [a, b],
      train: mergeDatasets(prepared.sets),
      dev,
      config: adv,
      factory,
      name: 'adv',
      out,
    });
    const head = await loadHead(out);
    expect(head.desc.tasks.map((t) => t.name)).toEqual(base.desc.tasks.map((t) => t.name));
    expect(head.json.temperature['corpus']).toBeUndefined();
    const log = head.json.training.log as { taskLosses: Record<string, number> }[];
    expect(log[0]!.taskLosses['corpus']).toBeGreaterThan(0);
    const names = decodeModel(head.onnx).graph.initializers.map((t) => t.name);
    expect(names.some((n) => n.startsWith('task.corpus'))).toBe(false);
  });

  it('records per-speaker standardisation in head.json; fine-tuning keeps the plan or refuses to add one', async () => {
    // MOSI's videos each show one speaker.
    const withSpeakers = { ...train, speakers: train.groups! };
    const cfg = { ...config, speakerNorm: { modalities: ['audio' as const], minSamples: 8 } };
    const prepared = prepareTrainingSets([withSpeakers], cfg);
    const plan = prepared.speakerNorm!;
    expect(plan.fallback.audio!.mean).toHaveLength(train.features.audio!.spec.dim);
    const out = join(work, 'speaker-norm');
    await fitHead({
      datasets: [withSpeakers],
      train: prepared.sets[0]!,
      config: cfg,
      factory,
      name: 'sn',
      out,
      speakerNorm: plan,
    });
    const head = await loadHead(out);
    expect(head.json.speakerNorm).toEqual(plan);
    expect(base.json.speakerNorm).toBeNull();
    // The head's slot statistics are those of the standardised audio: about 0 and 1.
    const slot = head.desc.slots.find((s) => s.modality === 'audio')!;
    expect(Math.max(...slot.mean.map(Math.abs))).toBeLessThan(0.05);
    const again = prepareTrainingSets([withSpeakers], config, head);
    expect(again.speakerNorm).toBe(head.json.speakerNorm);
    expect(() => prepareTrainingSets([withSpeakers], cfg, base)).toThrow(/without speakerNorm/);
  });

  it('refuses a head folder whose head.onnx does not match head.json (HEAD_INVALID)', async () => {
    const dir = join(work, 'broken');
    mkdirSync(dir);
    copyFileSync(join(work, 'base', 'head.json'), join(dir, 'head.json'));
    const bytes = readFileSync(join(work, 'base', 'head.onnx'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(join(dir, 'head.onnx'), bytes);
    await expect(loadHead(dir)).rejects.toMatchObject({
      code: 'HEAD_INVALID',
      message: expect.stringContaining('sha256') as string,
    });
  });
});

describe('dwaWeights (Dynamic Weight Average)', () => {
  it('is 1 before two epochs, then K·softmax(r/2) of the loss ratios', () => {
    expect(dwaWeights([]).size).toBe(0);
    expect(dwaWeights([{ a: 1, b: 1 }]).size).toBe(0);
    const w = dwaWeights([
      { a: 1, b: 2 },
      { a: 0.5, b: 2 },
    ]);
    // r = (0.5, 1): weights 2·e^{0.25} / (e^{0.25} + e^{0.5}) and 2·e^{0.5} / (…)
    const z = Math.exp(0.25) + Math.exp(0.5);
    expect(w.get('a')).toBeCloseTo((2 * Math.exp(0.25)) / z, 12);
    expect(w.get('b')).toBeCloseTo((2 * Math.exp(0.5)) / z, 12);
  });
});
