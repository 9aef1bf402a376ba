import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emoflow } from '../support/cli.js';
import { sharedNeed } from '../support/paths.js';
import { readRecords } from '../support/records.js';
import { webgpuAdapter } from '../support/webgpu.js';
import { cleanPrefix, REDIS_URL, startWorker, stopWorker, uniquePrefix } from '../support/queue.js';

/**
 * The WebGPU execution provider end to end, on whatever adapter this machine has (in CI: Mesa's
 * lavapipe, a Vulkan driver on the CPU; .ci/run installs it). Without an adapter the suite is
 * skipped, and its name and a line on stdout say why.
 *
 * Before the process-wide device lock (src/models/device-lock.ts), one run in three of
 * `ingest examples --device webgpu` died natively (double free, segmentation fault): two
 * extraction threads ran sessions on onnxruntime's one WebGPU context at once. With the lock
 * but with the text model's session left to the garbage collector and the threads ending
 * together, about one run in thirty with `--concurrency 3 --batch 4` still did.
 */
const ADAPTER = await webgpuAdapter();
const SKIP = ADAPTER.present ? '' : ` (skipped: ${ADAPTER.why})`;
if (!ADAPTER.present) console.log(`webgpu tests skipped: ${ADAPTER.why}`);

/** The numbers of a record that must agree across devices: emotion scores, valence, arousal, per modality too. */
function numbers(r: Record<string, unknown>, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(r)) {
    if (k === 'head' || k === 'inputs' || k === 'warnings') continue;
    if (typeof v === 'number') out.set(prefix + k, v);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v))
      for (const [kk, vv] of numbers(v as Record<string, unknown>, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}

let dir: string;
let cpuRun: Promise<string> | undefined;

/** The records of `ingest examples` on the CPU (run once). */
function cpuRecords(): Promise<string> {
  cpuRun ??= emoflow(['ingest', 'examples', '--out', join(dir, 'cpu.jsonl')]).then((r) => {
    expect(r.code, r.stderr).toBe(0);
    return join(dir, 'cpu.jsonl');
  });
  return cpuRun;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoflow-webgpu-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!ADAPTER.present)(`emoflow ingest examples --device webgpu${SKIP}`, () => {
  it('ten runs in a row (half of them with 3 threads): each exits 0, with the CPU labels and scores within 1e-3', async () => {
    const reference = await readRecords(await cpuRecords());
    expect(reference.length).toBeGreaterThan(5);
    for (let i = 0; i < 10; i++) {
      const out = join(dir, `webgpu-${i}.jsonl`);
      // Every other run with three threads and micro-batches of 4: more sessions, more overlap.
      const busier = i % 2 === 1 ? ['--concurrency', '3', '--batch', '4'] : [];
      const run = await emoflow([
        'ingest',
        'examples',
        '--out',
        out,
        '--device',
        'webgpu',
        '--json',
        ...busier,
      ]);
      expect(run.code, `run ${i + 1}: ${run.stderr.slice(-400)}`).toBe(0);
      expect(run.json<{ device: string }>().device).toBe('webgpu');
      expect(run.stderr).not.toMatch(/DEVICE_FALLBACK/);
      const records = await readRecords(out);
      expect(records.map((r) => [r.id, r.status, r.label])).toEqual(
        reference.map((r) => [r.id, r.status, r.label]),
      );
      let worst = 0;
      records.forEach((r, j) => {
        const a = numbers(reference[j] as unknown as Record<string, unknown>);
        const b = numbers(r as unknown as Record<string, unknown>);
        expect([...b.keys()]).toEqual([...a.keys()]);
        for (const [k, v] of a) worst = Math.max(worst, Math.abs(v - b.get(k)!));
      });
      expect(worst, `run ${i + 1}`).toBeLessThanOrEqual(1e-3);
    }
  }, 600_000);

  it('a queue worker on webgpu (two extraction threads and the head) gives the CPU labels', async () => {
    const prefix = uniquePrefix('webgpu');
    const worker = await startWorker([
      ...['--redis', REDIS_URL, '--prefix', prefix, '--device', 'webgpu', '--concurrency', '2'],
      ...['--input-root', 'examples'],
    ]);
    try {
      const cpu = await readRecords(await cpuRecords());
      const out = join(dir, 'queue-webgpu.jsonl');
      const queue = ['--redis', REDIS_URL, '--prefix', prefix];
      const run = await emoflow(['ingest', 'examples', '--out', out, ...queue]);
      expect(run.code, run.stderr.slice(-400)).toBe(0);
      const records = await readRecords(out);
      expect(records.map((r) => [r.id, r.label]).sort()).toEqual(cpu.map((r) => [r.id, r.label]).sort());
    } finally {
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 300_000);

  it('bench image reports where each model ran: every node of both image models on webgpu', async () => {
    const run = await emoflow([
      'bench',
      'image',
      '--device',
      'webgpu',
      '--count',
      '4',
      '--batch',
      '4',
      '--json',
    ]);
    expect(run.code, run.stderr.slice(-400)).toBe(0);
    const r = run.json<{ device: string; placement: Record<string, Record<string, number>> }>();
    expect(r.device).toBe('webgpu');
    expect(Object.keys(r.placement).sort()).toEqual(['fer_mini_xception_emb', 'ultraface_rfb320']);
    for (const nodes of Object.values(r.placement)) {
      expect(nodes['webgpu']).toBeGreaterThan(0);
      expect(nodes['cpu'] ?? 0).toBe(0);
    }
  }, 300_000);
});

const MOSI = sharedNeed('data/multimodal/mosi');
describe.skipIf(!ADAPTER.present || MOSI.missing)(`emoflow train --device webgpu${SKIP} ${MOSI.tag}`, () => {
  it('trains a MOSI head whose validation accuracy is within 0.01 of the CPU-trained head', async () => {
    const train = `mosi:${join(MOSI.path, 'train.jsonl.gz')}`;
    const valid = `mosi:${join(MOSI.path, 'valid.jsonl.gz')}`;
    const accuracy = async (device: string): Promise<number> => {
      const head = join(dir, `mosi-${device}`);
      const t = await emoflow(['train', '--data', train, '--out', head, '--device', device, '--no-progress']);
      expect(t.code, t.stderr.slice(-400)).toBe(0);
      // Both heads are scored the same way (on the CPU), so only their training differs.
      const e = await emoflow(['eval', '--head', head, '--data', valid, '--no-progress']);
      expect(e.code, e.stderr.slice(-400)).toBe(0);
      return e.json<{ tasks: Record<string, { accuracy: number }> }>().tasks['sentiment']!.accuracy;
    };
    const cpu = await accuracy('cpu');
    const webgpu = await accuracy('webgpu');
    expect(cpu).toBeGreaterThan(0.9);
    expect(Math.abs(webgpu - cpu)).toBeLessThanOrEqual(0.01);
    // eval --device webgpu scores the same head as the CPU does.
    const e = await emoflow([
      'eval',
      '--head',
      join(dir, 'mosi-webgpu'),
      '--data',
      valid,
      '--device',
      'webgpu',
      '--no-progress',
    ]);
    expect(e.code, e.stderr.slice(-400)).toBe(0);
    expect(e.json<{ tasks: Record<string, { accuracy: number }> }>().tasks['sentiment']!.accuracy).toBe(
      webgpu,
    );
  }, 600_000);
});
