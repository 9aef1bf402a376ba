import { existsSync, readdirSync } from 'node:fs';
import { firstLine } from '../core/errors.js';
import { SessionFactory, type Device } from './session-factory.js';

/** The devices `--device auto` tries, in order: the first that creates and runs a session wins. */
export const AUTO_ORDER: readonly Device[] = ['cuda', 'webgpu', 'cpu'];

export interface AutoDevice {
  device: Device;
  /** The devices tried before it, each with why it was passed over. */
  passed: { device: Device; why: string }[];
}

export interface ChooseDeviceOptions {
  /** Creates and runs a small session on the factory it is given; throws when the device cannot. */
  probe: (factory: SessionFactory) => Promise<void>;
  /** Whether the machine has a GPU at all [default: hasGpuDevice()]. */
  gpu?: boolean;
  intraOpThreads?: number;
}

/**
 * Picks the device of `--device auto`: CUDA when its provider loads and runs, else WebGPU when
 * the machine has a GPU and an adapter runs, else CPU. Nothing is reported as a fallback: the
 * caller says once which device was chosen and why the others were passed over.
 *
 * WebGPU is passed over on a machine without a GPU device: there its only adapter is a software
 * renderer (Mesa's lavapipe), which runs our models slower than the CPU provider (docs/gpu.md).
 * `--device webgpu` still uses it when asked by name.
 */
export async function chooseDevice(options: ChooseDeviceOptions): Promise<AutoDevice> {
  const gpu = options.gpu ?? hasGpuDevice();
  const passed: AutoDevice['passed'] = [];
  for (const device of AUTO_ORDER) {
    if (device === 'cpu') break;
    if (device === 'webgpu' && !gpu) {
      passed.push({ device, why: 'no GPU device on this machine (a WebGPU adapter would be a software renderer)' });
      continue;
    }
    const factory = new SessionFactory({
      device,
      fallback: false,
      ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
    });
    try {
      await options.probe(factory);
      return { device, passed };
    } catch (e) {
      passed.push({ device, why: firstLine(e) });
    } finally {
      await factory.release();
    }
  }
  return { device: 'cpu', passed };
}

/**
 * Whether this machine has a GPU device: on Linux a DRM render node (/dev/dri/renderD*, any
 * vendor's GPU) or an NVIDIA device (/dev/nvidia0); elsewhere (macOS, Windows) assumed.
 */
export function hasGpuDevice(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}
