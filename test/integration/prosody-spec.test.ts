import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIO_FEATURE_SPEC,
  AudioExtractor,
  audioOptionsOfSpec,
} from '../../src/features/audio/audio-extractor.js';
import { CLIP_STATS_DIM } from '../../src/features/audio/clip-stats.js';
import { SAMPLE_RATE } from '../../src/features/audio/mfcc.js';
import { PROSODY_DIM, prosodyVector } from '../../src/features/audio/prosody.js';
import { resample } from '../../src/features/audio/resample.js';
import { decodeWav } from '../../src/io/wav.js';
import { ModelStore } from '../../src/models/model-store.js';
import { SessionFactory } from '../../src/models/session-factory.js';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { emoflow } from '../support/cli.js';
import { encodeWav } from '../support/odd-inputs.js';
import { repoRoot } from '../support/paths.js';

/**
 * Speech prosody as an opt-in part of the audio features (`--prosody`, as `--vad`): the spec, the
 * extractor's vector, and a head trained with it through `emoflow train` and `emoflow ingest`.
 */

const store = new ModelStore();
const factory = new SessionFactory({ intraOpThreads: 1 });
afterAll(() => factory.release());

describe('the audio spec with prosody', () => {
  it('appends +prosody after the VAD part, 78 + 19 values, version unchanged; the defaults are as before', () => {
    expect(CLIP_STATS_DIM).toBe(78);
    expect(PROSODY_DIM).toBe(19);
    expect(AUDIO_FEATURE_SPEC(false)).toEqual({
      name: 'audio-mfcc-stats',
      version: '1',
      dim: 78,
      options: { vad: false },
    });
    expect(AUDIO_FEATURE_SPEC(false, false)).toStrictEqual(AUDIO_FEATURE_SPEC(false));
    expect(AUDIO_FEATURE_SPEC(true, false)).toStrictEqual(AUDIO_FEATURE_SPEC(true));
    expect(AUDIO_FEATURE_SPEC(false, true)).toEqual({
      name: 'audio-mfcc-stats+prosody',
      version: '1',
      dim: 97,
      options: { vad: false, prosody: true },
    });
    expect(AUDIO_FEATURE_SPEC(true, true)).toEqual({
      name: 'audio-mfcc-stats-vad+prosody',
      version: '1',
      dim: 97,
      options: { vad: true, prosody: true },
    });
  });

  it('parses a spec name back into its options', () => {
    expect(audioOptionsOfSpec(undefined)).toEqual({ vad: false, prosody: false });
    for (const vad of [false, true])
      for (const prosody of [false, true])
        expect(audioOptionsOfSpec(AUDIO_FEATURE_SPEC(vad, prosody).name)).toEqual({ vad, prosody });
    // Not fooled by a '-vad' after the '+' part or a prosody-like base name.
    expect(audioOptionsOfSpec('audio-mfcc-stats+prosody-vad')).toEqual({ vad: false, prosody: false });
    expect(audioOptionsOfSpec('audio-prosody')).toEqual({ vad: false, prosody: false });
  });
});

describe('the audio extractor with prosody', () => {
  const plain = new AudioExtractor({ factory, store, vad: false });
  const withProsody = new AudioExtractor({ factory, store, vad: false, prosody: true });

  it('keeps the default extractor spec', () => {
    expect(plain.spec).toEqual(AUDIO_FEATURE_SPEC(false));
    expect(withProsody.spec).toEqual(AUDIO_FEATURE_SPEC(false, true));
  });

  it.each([
    ['examples/calls/0001.wav (16 kHz)', () => readFile(join(repoRoot, 'examples', 'calls', '0001.wav'))],
    [
      'a synthetic 44.1 kHz stereo vowel',
      () => {
        const rate = 44_100;
        const n = Math.round(rate * 1.2);
        const x = Float64Array.from({ length: n }, (_, i) => {
          const t = i / rate;
          const f0 = 140 + 30 * t;
          return 0.3 * Math.sin(2 * Math.PI * f0 * t) + 0.1 * Math.sin(4 * Math.PI * f0 * t);
        });
        return Promise.resolve(encodeWav(x, { rate, kind: 's16', channels: 2 }));
      },
    ],
  ])('%s: the MFCC statistics, then prosodyVector of the same 16 kHz signal', async (_, load) => {
    const bytes = new Uint8Array(await load());
    const a = await plain.extract(bytes);
    const b = await withProsody.extract(bytes);
    expect(b.vector).toHaveLength(97);
    expect(Array.from(b.vector.subarray(0, 78))).toEqual(Array.from(a.vector));
    expect(b.frames).toBe(a.frames);
    const wav = decodeWav(bytes);
    const x = resample(wav.mono, wav.sampleRate, SAMPLE_RATE);
    const want = prosodyVector(x);
    expect(Array.from(b.vector.subarray(78))).toEqual(Array.from(want));
    // A speech-like signal is voiced: the prosody part says something.
    expect(want[6]).toBeGreaterThan(0.2);
  });
});

describe('emoflow train --prosody, then ingest with that head', () => {
  const CLIPS = [
    { id: 'c1', file: 'calls/0001.wav', emotion: 'joy' },
    { id: 'c2', file: 'calls/0002.wav', emotion: 'anger' },
    { id: 'c3', file: 'calls/0003.wav', emotion: 'sadness' },
    { id: 'm1', file: 'mixed/complaint.wav', emotion: 'anger' },
    { id: 'm2', file: 'mixed/launch.wav', emotion: 'joy' },
  ];
  let dir: string;
  let head: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emoflow-prosody-'));
    for (const c of CLIPS) {
      await mkdir(join(dir, c.file, '..'), { recursive: true });
      await copyFile(join(repoRoot, 'examples', c.file), join(dir, c.file));
    }
    await writeFile(
      join(dir, 'manifest.csv'),
      'id,audio,emotion\n' + CLIPS.map((c) => `${c.id},${c.file},${c.emotion}`).join('\n') + '\n',
    );
    await writeFile(join(dir, 'config.json'), JSON.stringify({ epochs: 3, batchSize: 4 }));
    head = join(dir, 'head');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a head whose audio spec is audio-mfcc-stats+prosody (97-d)', async () => {
    const r = await emoflow([
      'train',
      '--data',
      `manifest:${join(dir, 'manifest.csv')}`,
      '--config',
      join(dir, 'config.json'),
      '--prosody',
      '--cache',
      join(dir, 'cache'),
      '--out',
      head,
      '--json',
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(await readFile(join(head, 'head.json'), 'utf8')) as {
      features: Record<string, { name: string; version: string; dim: number; mean: number[] }>;
    };
    expect(json.features['audio']).toMatchObject({ name: 'audio-mfcc-stats+prosody', version: '1', dim: 97 });
    expect(json.features['audio']!.mean).toHaveLength(97);
  });

  async function ingest(concurrency: number): Promise<PredictionRecord[]> {
    const out = join(dir, `out-${concurrency}.jsonl`);
    const r = await emoflow([
      'ingest',
      join(dir, 'manifest.csv'),
      '--out',
      out,
      '--head',
      head,
      '--concurrency',
      String(concurrency),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    return (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PredictionRecord);
  }

  it('ingests with that head in process and in two threads, with identical scores', async () => {
    const inProcess = await ingest(0);
    const threads = await ingest(2);
    for (const records of [inProcess, threads]) {
      expect(records.map((r) => r.id).sort()).toEqual(CLIPS.map((c) => c.id).sort());
      for (const r of records) expect(r.status, JSON.stringify(r)).toBe('ok');
    }
    const scores = (rs: PredictionRecord[]) => Object.fromEntries(rs.map((r) => [r.id, r.scores] as const));
    expect(scores(threads)).toEqual(scores(inProcess));
  });
});
