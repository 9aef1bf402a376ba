import { NUM_EMOTIONS } from '../core/labels.js';
import { DEFAULT_MAX_TEXT_BYTES } from '../io/text.js';
import { EmoflowError } from '../core/errors.js';
import { DEFAULT_LEXICAL_BUCKETS } from '../features/text/lexical.js';
import { parsePriorChoice, type PriorChoice } from '../head/label-prior.js';
import { DEVICE_CHOICES, SessionFactory, type Device, type DeviceChoice } from '../models/session-factory.js';
import { chooseDevice } from '../models/auto-device.js';
import * as ort from 'onnxruntime-node';
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
  device: deviceFlag('where models run'),
  threads: {
    type: 'int',
    description: 'onnxruntime intra-op threads (0: onnxruntime decides)',
    default: 0,
    min: 0,
    max: 1024,
  },
  ...modelsDirFlag,
} as const;

/** `--device`, as every command that runs a model takes it; `what` starts its help line. */
export function deviceFlag(what: string) {
  return {
    type: 'string',
    description: `${what}: 'auto' takes the first of cuda, webgpu (on a machine with a GPU), cpu that works; a device that is not available falls back to CPU with one DEVICE_FALLBACK warning`,
    choices: DEVICE_CHOICES,
    default: 'cpu',
  } as const;
}

/**
 * The device of a `--device` value: itself, or for `auto` the first of cuda, webgpu, cpu that
 * creates and runs a small session here (src/models/auto-device.ts), said once on stderr.
 */
export async function resolveDevice(choice: DeviceChoice, io: CliIO): Promise<Device> {
  if (choice !== 'auto') return choice;
  const { device, passed } = await chooseDevice({ probe: probeSession });
  const why = passed.map((p) => `${p.device}: ${p.why}`).join('; ');
  io.err(`device auto: ${device}${why === '' ? '' : ` (passed over ${why})`}
`);
  return device;
}

/** A 4x4 MatMul + Relu, created and run once on the factory's device. */
async function probeSession(factory: SessionFactory): Promise<void> {
  // Loaded here, on use: every command imports this module, few take --device auto.
  const { Graph } = await import('../head/graph.js');
  const { encodeModel } = await import('../head/onnx/proto.js');
  const g = new Graph('float32');
  const x = g.input('x', [1, 4]);
  g.output(
    'y',
    g.relu(
      g.matmul(
        x,
        g.constant(
          Array.from({ length: 16 }, (_, i) => i - 8),
          [4, 4],
        ),
      ),
    ),
  );
  const session = await factory.session(
    'probe:auto-device',
    encodeModel(g.toModel({ params: 'initializers' })),
  );
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) });
  const y = out['y']?.data as Float32Array | undefined;
  // [1,2,3,4] times the 4x4 matrix of -8..7 laid out row-major is [0, 10, 20, 30] (Relu keeps it).
  if (y === undefined || y[1] !== 10 || y[3] !== 30)
    throw new Error(`the probe session ran but gave [${y?.join(', ')}]`);
}

export interface ModelRuntime {
  store: ModelStore;
  factory: SessionFactory;
}

export async function modelRuntime(
  flags: { device: DeviceChoice; threads: number; 'models-dir': string | undefined },
  io: CliIO,
  options: { recordModels?: boolean } = {},
): Promise<ModelRuntime> {
  const store = openModelStore(flags['models-dir']);
  const factory = new SessionFactory({
    ...options,
    device: await resolveDevice(flags.device, io),
    intraOpThreads: flags.threads,
    interOpThreads: 1,
    onWarning: warningPrinter(io),
  });
  return { store, factory };
}

/** `--prior`: the class prior applied to the head's emotion scores (src/head/label-prior.ts). */
export const priorFlag = {
  type: 'string',
  value: 'prior',
  description:
    "class prior of the emotion scores: 'uniform', 'training' (the training mix's), 'training^a' (its shares to the power a), 'corpus:<name>' (a training corpus's, head.json priors), or 7 weights anger..surprise (comma-separated or a JSON array) [default: the head's, head.json priors.emotion.default]",
} as const;

/** The `--prior` flag as an option of the runtimes (validated here, at the edge). */
export function priorOption(text: string | undefined): { prior?: PriorChoice } {
  return text === undefined ? {} : { prior: parsePriorChoice(text, NUM_EMOTIONS) };
}

/** The text byte cap of `ingest` and `features` (src/io/text.ts). */
export const maxTextBytesFlag = {
  'max-text-bytes': {
    type: 'int',
    value: 'n',
    description:
      'the most bytes of a text read (files and inline texts); a longer text is cut at a character boundary with a TEXT_TRUNCATED warning',
    default: DEFAULT_MAX_TEXT_BYTES,
    min: 1,
    max: 1 << 30,
  },
} as const;

/** The lexical text channel's flags (train, features, eval --cv): part of the text feature spec. */
export const lexicalFlags = {
  lexical: {
    type: 'boolean',
    description: `append the hashed word and character n-gram bag to the text features, for the head's learned lexical channel (part of the text feature spec; ${DEFAULT_LEXICAL_BUCKETS} buckets)`,
  },
  'lexical-buckets': {
    type: 'int',
    value: 'n',
    description: 'with --lexical: the bucket count of its hash (part of the text feature spec)',
    min: 16,
    max: 1 << 24,
  },
} as const;

/** `{ lexicalBuckets }` for an options object when the channel is on, else nothing. */
export function lexicalOption(buckets: number | undefined): { lexicalBuckets?: number } {
  return buckets === undefined ? {} : { lexicalBuckets: buckets };
}

/** The bucket count the lexical flags ask for, undefined without --lexical. */
export function lexicalBucketsOf(flags: {
  lexical: boolean;
  'lexical-buckets': number | undefined;
}): number | undefined {
  if (!flags.lexical) {
    if (flags['lexical-buckets'] !== undefined)
      throw new EmoflowError('CONFIG_INVALID', '--lexical-buckets needs --lexical');
    return undefined;
  }
  return flags['lexical-buckets'] ?? DEFAULT_LEXICAL_BUCKETS;
}
