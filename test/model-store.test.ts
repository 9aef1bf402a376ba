import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelStore, sha256File } from '../src/models/model-store.js';
import { defaultModelsDir } from '../src/core/package-root.js';
import { modelMirror } from './support/paths.js';

const temps: string[] = [];
function tempStore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'emoflow-store-'));
  temps.push(dir);
  writeFileSync(join(dir, 'manifest.json'), readFileSync(join(defaultModelsDir(), 'manifest.json')));
  return dir;
}
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ModelStore', () => {
  it('verifies every committed model file against its sha256', async () => {
    const store = new ModelStore();
    const checks = await store.verifyAll();
    expect(checks.length).toBeGreaterThanOrEqual(11);
    expect(checks.filter((c) => c.state !== 'ok')).toEqual([]);
    expect(store.manifest.models.map((m) => m.name)).toEqual([
      'fer_mini_xception_emb',
      'ultraface_rfb320',
      'silero_vad_v5',
      'universal-sentence-encoder-lite',
    ]);
  });

  it('says MODEL_NOT_FOUND with the file and the fixing command when a file is missing', async () => {
    const store = new ModelStore(tempStore());
    await expect(store.path('fer_mini_xception_emb')).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringMatching(
        /fer_mini_xception_emb\.onnx.*emoflow models fetch fer_mini_xception_emb/,
      ) as string,
    });
  });

  it('says MODEL_CHECKSUM when a file is corrupt', async () => {
    const dir = tempStore();
    cpSync(join(defaultModelsDir(), 'licenses'), join(dir, 'licenses'), { recursive: true });
    const bytes = readFileSync(join(defaultModelsDir(), 'silero_vad_v5.onnx'));
    bytes[1000] = bytes[1000]! ^ 0xff;
    writeFileSync(join(dir, 'silero_vad_v5.onnx'), bytes);
    const store = new ModelStore(dir);
    await expect(store.path('silero_vad_v5')).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM',
      message: expect.stringMatching(
        /silero_vad_v5\.onnx.*expected 2623a295.*emoflow models fetch silero_vad_v5/,
      ) as string,
    });
  });

  it('fetches from a mirror folder, checking each file', async () => {
    const dir = tempStore();
    const store = new ModelStore(dir);
    const results = await store.fetch(['ultraface_rfb320', 'fer_mini_xception_emb'], {
      from: modelMirror,
    });
    expect(results.map((r) => r.action)).toEqual(['copied', 'copied', 'copied', 'copied']);
    expect(await sha256File(join(dir, 'ultraface_rfb320.onnx'))).toBe(
      store.entry('ultraface_rfb320').files[0]!.sha256,
    );
    // A second fetch finds everything present.
    expect((await store.fetch(['ultraface_rfb320'], { from: modelMirror })).map((r) => r.action)).toEqual([
      'present',
      'present',
    ]);
    expect(await store.path('ultraface_rfb320')).toBe(join(dir, 'ultraface_rfb320.onnx'));
  });

  it('refuses mirror or downloaded bytes whose sha256 is wrong and installs nothing', async () => {
    const dir = tempStore();
    const mirror = mkdtempSync(join(tmpdir(), 'emoflow-mirror-'));
    temps.push(mirror);
    writeFileSync(join(mirror, 'silero_vad_v5.onnx'), 'not a model');
    const store = new ModelStore(dir);
    await expect(store.fetch(['silero_vad_v5'], { from: mirror })).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM',
    });
    await expect(
      store.fetch(['silero_vad_v5'], { download: async () => new Uint8Array([1, 2, 3]) }),
    ).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM',
    });
    const checks = await store.verifyAll(['silero_vad_v5']);
    expect(checks[0]!.state).toBe('missing');
  });

  it('downloads from the upstream URL where the manifest has one', async () => {
    const dir = tempStore();
    cpSync(join(defaultModelsDir(), 'licenses'), join(dir, 'licenses'), { recursive: true });
    const store = new ModelStore(dir);
    const urls: string[] = [];
    const real = readFileSync(join(defaultModelsDir(), 'silero_vad_v5.onnx'));
    const results = await store.fetch(['silero_vad_v5'], {
      download: async (url) => {
        urls.push(url);
        return new Uint8Array(real);
      },
    });
    expect(urls).toEqual([store.entry('silero_vad_v5').files[0]!.url]);
    expect(results[0]!.action).toBe('downloaded');
    expect((await store.verifyAll(['silero_vad_v5'])).every((c) => c.state === 'ok')).toBe(true);
  });

  it('names the converted models that have no download URL', async () => {
    const store = new ModelStore(tempStore());
    await expect(store.fetch(['fer_mini_xception_emb'])).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringContaining('--from') as string,
    });
  });
});
