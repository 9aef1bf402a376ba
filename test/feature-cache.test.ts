import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FeatureCache } from '../src/data/feature-cache.js';

const root = mkdtempSync(join(tmpdir(), 'emoflow-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const spec = { name: 'toy', version: '1', dim: 3 };
const sha = (i: number) => i.toString(16).padStart(64, '0');

describe('FeatureCache', () => {
  it('round-trips vectors, metadata and input errors across reopen', async () => {
    const c = await FeatureCache.open(root, spec);
    await c.put(sha(1), { status: 'ok', vector: Float32Array.of(1, 2, 3), meta: { frames: 7 } });
    await c.put(sha(2), { status: 'error', error: { code: 'AUDIO_EMPTY', message: 'silent' } });
    await c.put(sha(3), { status: 'ok', vector: Float32Array.of(-1, 0.5, 1e-8), meta: {} });
    expect(c.get(sha(3))).toEqual({ status: 'ok', vector: Float32Array.of(-1, 0.5, 1e-8), meta: {} });
    await c.close();
    const again = await FeatureCache.open(root, spec);
    expect(again.size).toBe(3);
    expect(again.get(sha(1))).toEqual({
      status: 'ok',
      vector: Float32Array.of(1, 2, 3),
      meta: { frames: 7 },
    });
    expect(again.get(sha(2))).toEqual({ status: 'error', error: { code: 'AUDIO_EMPTY', message: 'silent' } });
    expect(again.get(sha(4))).toBeUndefined();
    await again.close();
  });

  it('keys by name and version: another version is another folder', async () => {
    const v2 = await FeatureCache.open(root, { ...spec, version: '2' });
    expect(v2.size).toBe(0);
    expect(v2.dir).toBe(join(root, 'toy@2'));
    await v2.close();
  });

  it('recovers from a torn tail: a half-written vector and index line are cut off', async () => {
    const dir = join(root, 'toy@1');
    appendFileSync(join(dir, 'vectors.f32'), new Uint8Array(5)); // 5 stray bytes of a 12-byte row
    appendFileSync(join(dir, 'index.jsonl'), '{"sha256":"' + sha(9) + '","ro');
    const c = await FeatureCache.open(root, spec);
    expect(c.size).toBe(3);
    expect(statSync(join(dir, 'vectors.f32')).size).toBe(2 * 12);
    await c.put(sha(5), { status: 'ok', vector: Float32Array.of(5, 5, 5), meta: {} });
    await c.close();
    const d = await FeatureCache.open(root, spec);
    expect(d.get(sha(5))).toEqual({ status: 'ok', vector: Float32Array.of(5, 5, 5), meta: {} });
    expect(d.get(sha(3))).toEqual({ status: 'ok', vector: Float32Array.of(-1, 0.5, 1e-8), meta: {} });
    expect(readFileSync(join(dir, 'index.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
    await d.close();
  });

  it('refuses a folder whose dimension disagrees with the spec', async () => {
    const c = await FeatureCache.open(root, { name: 'odd', version: '1', dim: 4 });
    await c.close();
    await expect(FeatureCache.open(root, { name: 'odd', version: '1', dim: 5 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
