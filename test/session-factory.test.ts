import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { EmoflowWarning } from '../src/core/errors.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory, type FallbackNotice } from '../src/models/session-factory.js';

// This machine (and CI) has no CUDA / TensorRT libraries: onnxruntime-node throws for them
// even when the list also names cpu, and the factory must fall back.
describe('SessionFactory', () => {
  const store = new ModelStore();

  it('falls back from cuda to CPU with exactly one DEVICE_FALLBACK warning per notice', async () => {
    // The process's factories share one notice by default; this test's own notice starts unwarned
    // whatever other tests of this process did.
    const notice: FallbackNotice = { warned: false };
    const warnings: EmoflowWarning[] = [];
    const factory = new SessionFactory({
      device: 'cuda',
      intraOpThreads: 1,
      onWarning: (w) => warnings.push(w),
      fallbackNotice: notice,
    });
    const fer = await factory.session(await store.path('fer_mini_xception_emb'));
    const det = await factory.session(await store.path('ultraface_rfb320'));
    expect(factory.effectiveDevice).toBe('cpu');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.code).toBe('DEVICE_FALLBACK');
    expect(warnings[0]!.message).toMatch(/cuda/);
    // A second factory sharing the notice does not warn again; one with a notice of its own does.
    const other = new SessionFactory({
      device: 'tensorrt',
      onWarning: (w) => warnings.push(w),
      fallbackNotice: notice,
    });
    await other.session(await store.path('silero_vad_v5'));
    expect(warnings).toHaveLength(1);
    const apart = new SessionFactory({
      device: 'cuda',
      onWarning: (w) => warnings.push(w),
      fallbackNotice: { warned: false },
    });
    await apart.session(await store.path('silero_vad_v5'));
    expect(warnings).toHaveLength(2);
    expect(notice.warned).toBe(true);
    // The sessions really run: a constant input gives a probability vector.
    const out = await fer.run({
      input: new ort.Tensor('float32', new Float32Array(64 * 64), [1, 1, 64, 64]),
    });
    const probs = out['probs']!.data as Float32Array;
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(det.inputNames).toEqual(['input']);
  });

  it('creates each session once and reuses it', async () => {
    const factory = new SessionFactory({ intraOpThreads: 1 });
    const path = await store.path('fer_mini_xception_emb');
    const [a, b] = await Promise.all([factory.session(path), factory.session(path)]);
    expect(a).toBe(b);
    expect(await factory.session(path)).toBe(a);
  });

  it('passes thread counts and providers to every session', () => {
    const factory = new SessionFactory({ device: 'webgpu', intraOpThreads: 3, interOpThreads: 2 });
    const o = factory.sessionOptions();
    expect(o.executionProviders).toEqual(['webgpu', 'cpu']);
    expect(o.intraOpNumThreads).toBe(3);
    expect(o.interOpNumThreads).toBe(2);
  });

  it('does not mistake a broken model for a missing provider', async () => {
    const factory = new SessionFactory({ device: 'cuda', onWarning: () => undefined });
    await expect(factory.session('broken', new Uint8Array([1, 2, 3, 4]))).rejects.toThrow();
  });
});
