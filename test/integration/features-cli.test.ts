import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureCache } from '../../src/data/feature-cache.js';
import { emoflow } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-features-'));
const data = join(work, 'data');
const out = join(work, 'cache');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The repository's example files (examples/README.md): a face, a photo, espeak-ng speech. */
const EXAMPLES = join(repoRoot, 'examples');

beforeAll(async () => {
  mkdirSync(join(data, 'img'), { recursive: true });
  mkdirSync(join(data, 'wav'), { recursive: true });
  copyFileSync(join(EXAMPLES, 'photos', 'astronaut-face.png'), join(data, 'img', 'a.png'));
  await sharp(join(EXAMPLES, 'mixed', 'launch.jpg'))
    .png()
    .toFile(join(data, 'img', 'b.png'));
  copyFileSync(join(EXAMPLES, 'photos', 'astronaut-face.png'), join(data, 'img', 'a-copy.png')); // same bytes: extracted once
  const png = await sharp(join(EXAMPLES, 'photos', 'astronaut.jpg'))
    .resize(64, 64)
    .png()
    .toBuffer();
  writeFileSync(join(data, 'img', 'cut.png'), png.subarray(0, png.length >> 1));
  copyFileSync(join(EXAMPLES, 'calls', '0003.wav'), join(data, 'wav', 'angry.wav')); // 44.1 kHz stereo
  copyFileSync(join(EXAMPLES, 'calls', '0001.wav'), join(data, 'wav', 'happy.wav'));
  copyFileSync(join(EXAMPLES, 'calls', '0002.wav'), join(data, 'wav', 'emodb.wav'));
  writeFileSync(join(work, 'outside.wav'), 'RIFF');
  writeFileSync(join(data, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  const rows = [
    'id,text,text_path,image,audio,emotion',
    'u1,"Oh my God, he\u2019s lost it.",,img/a.png,wav/angry.wav,sadness',
    'u2,What?,,img/b.png,wav/happy.wav,surprise',
    'u3,"No, I\'m fine, totally fine.",,img/a-copy.png,wav/emodb.wav,anger',
    'u4,,latin1.txt,img/cut.png,../outside.wav,neutral',
    'u5,   ,,img/missing.png,,joy',
  ];
  writeFileSync(join(data, 'samples.csv'), rows.join('\r\n') + '\r\n');
});

interface Summary {
  samples: number;
  modalities: Record<string, { extracted: number; cached: number; errors: number }>;
  errorCodes: Record<string, number>;
  specs: Record<string, string>;
  index: string;
  device: string;
}

describe("emoflow features (manifest adapter, the repository's example files)", () => {
  it('extracts every modality into the cache, records input errors, and falls back from cuda once', async () => {
    const r = await emoflow([
      'features',
      join(data, 'samples.csv'),
      '--out',
      out,
      '--device',
      'cuda',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/DEVICE_FALLBACK/g)).toHaveLength(1);
    const s = r.json<Summary>();
    expect(s.samples).toBe(5);
    expect(s.device).toBe('cpu');
    // Input errors found by an extractor (blank text, bad UTF-8) are extracted and cached like features.
    expect(s.modalities['text']).toEqual({ extracted: 5, cached: 0, errors: 2 });
    expect(s.modalities['image']).toEqual({ extracted: 3, cached: 0, errors: 2 }); // a.png and a-copy.png share one extraction
    expect(s.modalities['audio']).toEqual({ extracted: 3, cached: 0, errors: 1 });
    expect(s.errorCodes).toEqual({
      TEXT_ENCODING: 1,
      TEXT_EMPTY: 1,
      IMAGE_DECODE_FAILED: 1,
      FILE_NOT_FOUND: 1,
      PATH_OUTSIDE_ROOT: 1,
    });

    const lines = readFileSync(s.index, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['id'])).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect(lines[0]!['labels']).toEqual({ emotion: 'sadness' });
    expect(lines[3]!['audio']).toMatchObject({ status: 'error', error: { code: 'PATH_OUTSIDE_ROOT' } });
    expect(lines[3]!['text']).toMatchObject({
      status: 'error',
      error: { code: 'TEXT_ENCODING', message: expect.stringContaining('byte offset 3') },
    });
    expect((lines[0]!['image'] as { sha256: string }).sha256).toBe(
      (lines[2]!['image'] as { sha256: string }).sha256,
    );

    const dims: Record<string, number> = { text: 512, image: 135, audio: 78 };
    for (const [m, folder] of Object.entries(s.specs)) {
      const [name, version] = folder.split('@') as [string, string];
      const cache = await FeatureCache.open(out, { name, version, dim: dims[m]! });
      const ref = lines[0]![m] as { sha256: string };
      const got = cache.get(ref.sha256);
      expect(got?.status).toBe('ok');
      if (got?.status === 'ok') {
        expect(got.vector).toHaveLength(dims[m]!);
        expect(got.vector.every(Number.isFinite)).toBe(true);
      }
      await cache.close();
    }
  });

  it('extracts nothing again on a second run', async () => {
    const r = await emoflow(['features', `manifest:${join(data, 'samples.csv')}`, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<Summary>();
    expect(s.modalities['text']).toEqual({ extracted: 0, cached: 5, errors: 2 });
    expect(s.modalities['image']).toEqual({ extracted: 0, cached: 4, errors: 2 });
    expect(s.modalities['audio']).toEqual({ extracted: 0, cached: 3, errors: 1 });
  });

  it('puts VAD trimming into the audio spec, so it is cached apart', async () => {
    const r = await emoflow([
      'features',
      join(data, 'samples.csv'),
      '--out',
      out,
      '--modalities',
      'audio',
      '--vad',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<Summary>();
    expect(s.specs['audio']).not.toBe('audio-mfcc-stats@1');
    expect(s.modalities['audio']).toEqual({ extracted: 3, cached: 0, errors: 1 });
  });
});

describe('--device cuda on the model benchmarks', () => {
  it.each([
    ['image', ['bench', 'image', '--count', '8', '--batch', '4']],
    ['text', ['bench', 'text', '--count', '16', '--rounds', '1']],
  ])('bench %s runs on CPU with exactly one DEVICE_FALLBACK warning', async (stage, args) => {
    const r = await emoflow([...args, '--device', 'cuda', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/warning DEVICE_FALLBACK/g)).toHaveLength(1);
    const j = r.json<{
      device: string;
      threads: number;
      perSecond: number;
      rawOrtPerSecond: number;
      lexical?: { perSecond: number; shareOfExtractor: number; buckets: number };
    }>();
    expect(j.device).toBe('cpu');
    expect(j.threads).toBe(1);
    expect(j.perSecond).toBeGreaterThan(0);
    expect(j.rawOrtPerSecond).toBeGreaterThan(0);
    if (stage !== 'text') return;
    // The lexical bag alone: faster than the whole extractor (it has no model), measured beside it.
    expect(j.lexical!.perSecond).toBeGreaterThan(j.perSecond);
    expect(j.lexical!.shareOfExtractor).toBeGreaterThan(0);
    expect(j.lexical!.shareOfExtractor).toBeLessThan(1);
    expect(j.lexical!.buckets).toBe(131072);
  });
});
