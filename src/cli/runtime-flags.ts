import { DEVICES, SessionFactory, type Device } from '../models/session-factory.js';
import { ModelStore } from '../models/model-store.js';
import { warningPrinter, type CliIO } from './command.js';

/** The model store folder flag, shared by every command that opens the store. */
export const modelsDirFlag = {
  'models-dir': {
    type: 'string',
    value: 'dir',
    description: 'model store folder [default: the package models/]',
  },
} as const;

export function openModelStore(dir: string | undefined): ModelStore {
  return dir === undefined ? new ModelStore() : new ModelStore(dir);
}

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
  ...modelsDirFlag,
} as const;

export interface ModelRuntime {
  store: ModelStore;
  factory: SessionFactory;
}

export function modelRuntime(
  flags: { device: string; threads: number; 'models-dir': string | undefined },
  io: CliIO,
): ModelRuntime {
  const store = openModelStore(flags['models-dir']);
  const factory = new SessionFactory({
    device: flags.device as Device,
    intraOpThreads: flags.threads,
    interOpThreads: 1,
    onWarning: warningPrinter(io),
  });
  return { store, factory };
}
