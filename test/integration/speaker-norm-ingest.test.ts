import { audioOptionsOfSpec } from '../../src/features/audio/audio-extractor.js';
import { slotFeeds } from '../../src/head/slot-inputs.js';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../../src/core/labels.js';
import { extractSamples } from '../../src/pipeline/extract.js';
import { buildExtractors } from '../../src/features/extractors.js';
import { ModelStore } from '../../src/models/model-store.js';
import { SessionFactory } from '../../src/models/session-factory.js';
import { Moments } from '../../src/features/speaker-norm.js';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { temperByModality } from '../../src/head/calibration.js';
import { emoflow } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

/**
 * A head trained with per-speaker standardisation, through `emoflow ingest`: the records must be
 * what the head gives for audio standardised by hand, with each speaker's own statistics where
 * the manifest has at least minSamples clips of that speaker, and the head's fallback otherwise.
 */
let dir: string;
let headDir: string;
const CLIPS = [
  { id: 'a1', file: 'calls/0001.wav', speaker: 'ann' },
  { id: 'a2', file: 'calls/0002.wav', speaker: 'ann' },
  { id: 'a3', file: 'calls/0003.wav', speaker: 'ann' },
  { id: 'b1', file: 'mixed/complaint.wav', speaker: 'bob' },
  { id: 'n1', file: 'mixed/launch.wav', speaker: '' },
];
let raw: Float32Array[];
let fallback: { mean: number[]; std: number[] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-sn-'));
  for (const c of CLIPS) {
    await mkdir(join(dir, c.file, '..'), { recursive: true });
    await copyFile(join(repoRoot, 'examples', c.file), join(dir, c.file));
  }
  await writeFile(
    join(dir, 'manifest.csv'),
    'id,audio,speaker\n' + CLIPS.map((c) => `${c.id},${c.file},${c.speaker}`).join('\n') + '\n',
  );
  // The default head's bytes with a speakerNorm plan in head.json (the plan is what eval and
  // ingest read; head.onnx and its sha256 are untouched). Fallback: made-up global statistics.
  headDir = join(dir, 'head');
  await mkdir(headDir);
  const src = join(repoRoot, 'models', 'heads', 'default');
  await copyFile(join(src, 'head.onnx'), join(headDir, 'head.onnx'));
  const json = JSON.parse(await readFile(join(src, 'head.json'), 'utf8')) as Record<string, unknown>;
  const dim = (json['features'] as { audio: { dim: number } }).audio.dim;
  // Near the identity, so that fallback rows stay in the range the head was trained on and
  // z-scored rows visibly differ from them.
  fallback = {
    mean: Array.from({ length: dim }, (_, d) => ((d % 3) - 1) * 0.5),
    std: Array.from({ length: dim }, (_, d) => 1 + (d % 2) * 0.25),
  };
  json['speakerNorm'] = { modalities: ['audio'], minSamples: 2, fallback: { audio: fallback } };
  await writeFile(join(headDir, 'head.json'), JSON.stringify(json));

  const factory = new SessionFactory({ intraOpThreads: 1 });
  const extractors = await buildExtractors({
    factory,
    store: new ModelStore(),
    modalities: ['audio'],
    // Extracted as the head's audio spec says (the default head's includes prosody).
    ...audioOptionsOfSpec((json['features'] as { audio: { name: string } }).audio.name),
  });
  const feats = await extractSamples(
    CLIPS.map((c) => ({ id: c.id, root: dir, audio: c.file, labels: {} })),
    extractors,
  );
  raw = feats.map((f) => {
    const a = f.modalities.audio!;
    if (a.status !== 'ok') throw new Error(`${f.id}: ${a.error.message}`);
    return Float32Array.from(a.vector);
  });
  await factory.release();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The head's emotion scores for audio-only rows standardised with `stats(i)`. */
async function expected(stats: (i: number) => { mean: number[]; std: number[] }): Promise<number[][]> {
  const json = JSON.parse(await readFile(join(headDir, 'head.json'), 'utf8')) as {
    features: Record<string, { name: string; version: string; dim: number }>;
    context: unknown;
    modalityTemperature?: { audio?: number };
  };
  const n = CLIPS.length;
  const feeds: Record<string, ort.Tensor> = {};
  // Absent text and image: zeros (the text's lexical inputs too, where the head has them).
  for (const m of ['text', 'image'] as const) {
    const spec = json.features[m]!;
    Object.assign(feeds, slotFeeds({ modality: m, spec }, new Float32Array(n * spec.dim), n));
  }
  const dim = raw[0]!.length;
  const audio = new Float32Array(n * dim);
  raw.forEach((x, i) => {
    const s = stats(i);
    for (let d = 0; d < dim; d++)
      audio[i * dim + d] = s.std[d]! > 1e-8 ? (x[d]! - s.mean[d]!) / s.std[d]! : 0;
  });
  feeds['audio'] = new ort.Tensor('float32', audio, [n, dim]);
  feeds['mask'] = new ort.Tensor(
    'float32',
    Float32Array.from({ length: n * 3 }, (_, k) => (k % 3 === 2 ? 1 : 0)),
    [n, 3],
  );
  // The manifest has no groups: for a head with dialogue context every sample is a one-node graph.
  if (json.context !== null)
    feeds['adj'] = new ort.Tensor(
      'float32',
      Float32Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)),
      [n, n],
    );
  const session = await ort.InferenceSession.create(join(headDir, 'head.onnx'));
  const y = (await session.run(feeds))['emotion']!.data as Float32Array;
  await session.release();
  // The head's speech temperature (head.json modalityTemperature): audio-only rows, so by its factor.
  const mask = feeds['mask'].data as Float32Array;
  if (json.modalityTemperature !== undefined) temperByModality(y, mask, 7, json.modalityTemperature);
  return Array.from({ length: n }, (_, i) => Array.from(y.subarray(i * 7, (i + 1) * 7)));
}

async function ingest(extra: string[]): Promise<PredictionRecord[]> {
  const out = join(dir, `out-${extra.join('-') || 'auto'}.jsonl`);
  const run = await emoflow([
    'ingest',
    join(dir, 'manifest.csv'),
    '--out',
    out,
    '--head',
    headDir,
    '--concurrency',
    '1',
    '--json',
    ...extra,
  ]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PredictionRecord);
}

describe('ingest with a head trained with per-speaker standardisation', () => {
  it("standardises a speaker with enough clips by that speaker's statistics, the others by the head's fallback", async () => {
    const ann = new Moments(raw[0]!.length);
    for (const i of [0, 1, 2]) ann.add(raw[i]!);
    const annStats = ann.stats();
    const want = await expected((i) => (i <= 2 ? annStats : fallback));
    const records = await ingest([]);
    expect(records.map((r) => r.id)).toEqual(CLIPS.map((c) => c.id));
    // Records carry scores rounded to 4 decimals.
    records.forEach((r, i) => {
      expect(r.status).toBe('ok');
      EMOTIONS.forEach((e, k) => expect(r.scores![e]).toBeCloseTo(want[i]![k]!, 3));
    });
    // Ann's own statistics matter: with them off, her clips score differently.
    const off = await ingest(['--speaker-norm', 'off']);
    const wantOff = await expected(() => fallback);
    off.forEach((r, i) => EMOTIONS.forEach((e, k) => expect(r.scores![e]).toBeCloseTo(wantOff[i]![k]!, 3)));
    const moved = EMOTIONS.some((e) => Math.abs(off[0]!.scores![e] - records[0]!.scores![e]) > 0.01);
    expect(moved).toBe(true);
  });
});
