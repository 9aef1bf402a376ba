import { DEVICES, SessionFactory, type Device } from '../models/session-factory.js';
import { ModelStore } from '../models/model-store.js';
import { warningPrinter, type CliIO } from './command.js';

/** Flags shared by every command that runs a model. */
export const modelFlags = {
  device: {
    type: 'string',
    description: 'where models run; falls back to CPU with one DEVICE_FALLBACK warning',
    choices: DEVICES,
    default: 'cpu',
  },
  threads: {
    type: 'int',
    description: 'onnxruntime intra-op threads (0: onnxruntime decides)',
    default: 0,
    min: 0,
    max: 1024,
  },
  'models-dir': {
    type: 'string',
    value: 'dir',
    description: 'model store folder [default: the package models/]',
  },
} as const;

export interface ModelRuntime {
  store: ModelStore;
  factory: SessionFactory;
}

export function modelRuntime(
  flags: { device: string; threads: number; 'models-dir': string | undefined },
  io: CliIO,
  threadsOverride?: number,
): ModelRuntime {
  const store = flags['models-dir'] === undefined ? new ModelStore() : new ModelStore(flags['models-dir']);
  const factory = new SessionFactory({
    device: flags.device as Device,
    intraOpThreads: threadsOverride ?? flags.threads,
    interOpThreads: 1,
    onWarning: warningPrinter(io),
  });
  return { store, factory };
}
