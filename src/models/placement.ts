import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../core/package-root.js';
import type { Device } from './session-factory.js';

const execFileAsync = promisify(execFile);

/** Where a model's nodes run: node counts per provider (our device names), and the device asked. */
export interface Placement {
  /** Nodes per provider, e.g. `{ webgpu: 37, cpu: 2 }` (subgraphs of If/Loop counted too). */
  nodes: Partial<Record<Device, number>>;
  /** The device the session was created on (after any DEVICE_FALLBACK). */
  device: Device;
}

/** onnxruntime's provider names, as emoflow's devices. */
const PROVIDER_DEVICE: Record<string, Device> = {
  CPUExecutionProvider: 'cpu',
  CUDAExecutionProvider: 'cuda',
  TensorrtExecutionProvider: 'tensorrt',
  WebGpuExecutionProvider: 'webgpu',
  DmlExecutionProvider: 'dml',
  CoreMLExecutionProvider: 'coreml',
};

/**
 * Node counts per provider from onnxruntime's verbose log of a session's creation: the lines
 * after "Node placements", "All nodes placed on [P]. Number of nodes: N" or "Node(s) placed on
 * [P]. Number of nodes: N" (one block per graph and subgraph).
 */
export function parsePlacement(log: string): Partial<Record<Device, number>> {
  const nodes: Partial<Record<Device, number>> = {};
  for (const m of log.matchAll(/(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/g)) {
    const device = PROVIDER_DEVICE[m[1]!];
    if (device === undefined) continue;
    nodes[device] = (nodes[device] ?? 0) + Number(m[2]);
  }
  return nodes;
}

/**
 * Where onnxruntime places the nodes of `model` (a file, or bytes) on `device`: asked of a child
 * process that creates the session with verbose logging, because onnxruntime writes that log to
 * the process's own stderr, which Node cannot capture in-process. Used by the benchmarks to say
 * what actually ran on the device (a provider without a kernel leaves that node to the CPU).
 */
export async function nodePlacement(model: string | Uint8Array, device: Device): Promise<Placement> {
  let dir: string | undefined;
  let path: string;
  if (typeof model === 'string') path = model;
  else {
    dir = await mkdtemp(join(tmpdir(), 'emoflow-placement-'));
    path = join(dir, 'model.onnx');
    await writeFile(path, model);
  }
  try {
    let out: { stdout: string; stderr: string };
    try {
      // The verbose log of a large model runs to megabytes.
      out = await execFileAsync(process.execPath, [probeEntry(), path, device], { maxBuffer: 256 << 20 });
    } catch (e) {
      const err = e as { code?: unknown; stderr?: string };
      const last = (err.stderr ?? '').split('\n').filter(Boolean).pop() ?? '';
      throw new Error(`the placement probe failed (exit ${String(err.code)}): ${last}`);
    }
    return { nodes: parsePlacement(out.stderr), device: out.stdout.trim() as Device };
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** The compiled probe: beside this module when built, else dist/ (tests run the sources). */
function probeEntry(): string {
  const here = fileURLToPath(new URL('./placement-probe.js', import.meta.url));
  if (existsSync(here)) return here;
  return join(packageRoot(), 'dist', 'src', 'models', 'placement-probe.js');
}
