import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseDevice, hasGpuDevice } from '../src/models/auto-device.js';
import { nodePlacement, parsePlacement } from '../src/models/placement.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { emoflow } from './support/cli.js';
import { repoRoot } from './support/paths.js';
import { webgpuAdapter } from './support/webgpu.js';

const FER = join(repoRoot, 'models', 'fer_mini_xception_emb.onnx');

// Lines as onnxruntime 1.30 writes them (session_state.cc, VerifyEachNodeIsAssignedToAnEp),
// from the Silero VAD (a main graph and an If subgraph) and the FER CNN on WebGPU.
const LOG = `2026-12-06 01:12:13.583819100 [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements
2026-12-06 01:12:13.583826221 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 185
2026-12-06 01:12:13.583829566 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   If (If_0)
2026-12-06 01:12:13.584362889 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 51
2026-12-06 01:12:13.584362889 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]   Shape (If_0_then_branch__Shape)
2026-12-06 01:12:09.372783305 [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements
2026-12-06 01:12:09.372787141 [V:onnxruntime:, session_state.cc:1380 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 39
`;

describe('node placement', () => {
  it('sums the nodes of every graph block per provider, named as our devices', () => {
    expect(parsePlacement(LOG)).toEqual({ webgpu: 224, cpu: 51 });
    expect(parsePlacement('no placement lines')).toEqual({});
  });

  it('asks a child process: on CPU every node is on cpu; cuda here falls back to cpu', async () => {
    const cpu = await nodePlacement(FER, 'cpu');
    expect(cpu.device).toBe('cpu');
    expect(Object.keys(cpu.nodes)).toEqual(['cpu']);
    expect(cpu.nodes.cpu).toBeGreaterThan(10);
    const cuda = await nodePlacement(FER, 'cuda');
    expect(cuda).toEqual(cpu);
  }, 60_000);

  it('takes in-memory bytes too, and leaves no temporary file', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('emoflow-placement-')).length;
    const bytes = await nodePlacement(new Uint8Array(await readFile(FER)), 'cpu');
    expect(bytes).toEqual(await nodePlacement(FER, 'cpu'));
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('emoflow-placement-'))).toHaveLength(before);
  }, 60_000);
});

describe('--device auto', () => {
  const probe = async (f: SessionFactory) => {
    await f.session(FER);
  };

  it('passes over cuda (not installed here) and, without a GPU device, webgpu, and says why', async () => {
    const r = await chooseDevice({ probe, gpu: false });
    expect(r.device).toBe('cpu');
    expect(r.passed.map((p) => p.device)).toEqual(['cuda', 'webgpu']);
    expect(r.passed[0]!.why).toMatch(/Cuda|CUDA|shared library/);
    expect(r.passed[1]!.why).toMatch(/no GPU device/);
  }, 60_000);

  it('with a GPU device, takes webgpu exactly when an adapter is found', async () => {
    const adapter = await webgpuAdapter();
    const r = await chooseDevice({ probe, gpu: true });
    expect(r.device).toBe(adapter.present ? 'webgpu' : 'cpu');
    expect(r.passed.map((p) => p.device)).toEqual(adapter.present ? ['cuda'] : ['cuda', 'webgpu']);
  }, 60_000);

  it('ingest --device auto says once on stderr what it chose, and the summary agrees', async () => {
    const out = join(tmpdir(), `emoflow-auto-${process.pid}.jsonl`);
    const run = await emoflow([
      'ingest',
      'examples/posts',
      '--out',
      out,
      '--force',
      '--device',
      'auto',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('device auto: '));
    expect(lines).toHaveLength(1);
    const chosen = /^device auto: (\w+)/.exec(lines[0]!)![1];
    expect(run.json<{ device: string }>().device).toBe(chosen);
    // Without a GPU device node (this machine, CI) auto ends on the CPU (docs/gpu.md).
    if (!hasGpuDevice())
      expect(lines[0]).toMatch(/^device auto: cpu \(passed over cuda: .*; webgpu: no GPU device/);
    expect(run.stderr).not.toMatch(/DEVICE_FALLBACK/);
  }, 120_000);
});

describe('SessionFactory.exclusive', () => {
  /** Two calls of `exclusive` at once: did their bodies overlap? */
  async function overlapped(factory: SessionFactory): Promise<boolean> {
    let inside = 0;
    let overlap = false;
    const body = async () => {
      if (++inside > 1) overlap = true;
      await new Promise((r) => setTimeout(r, 20));
      inside--;
    };
    await Promise.all([factory.exclusive(body), factory.exclusive(body)]);
    return overlap;
  }

  it('serialises on webgpu (one context per process) and not on cpu', async () => {
    expect(await overlapped(new SessionFactory({ device: 'webgpu' }))).toBe(false);
    expect(await overlapped(new SessionFactory({ device: 'cpu' }))).toBe(true);
  });
});
