import { SAMPLE_RATE } from '../features/audio/mfcc.js';
import { TextEncoder, textModelOnnx } from '../features/text/text-encoder.js';
import { IMAGE_MODELS, TEXT_MODEL } from '../runtime/embedded/extract-pool.js';
import { benchImage } from '../bench/image-bench.js';
import { benchMfcc } from '../bench/mfcc-bench.js';
import { benchProsody } from '../bench/prosody-bench.js';
import { benchText } from '../bench/text-bench.js';
import { benchHeadTrain } from '../bench/head-train-bench.js';
import { benchE2e } from '../bench/e2e-bench.js';
import { benchRss } from '../bench/rss-bench.js';
import { benchStartup } from '../bench/startup-bench.js';
import { benchQueueCapacity } from '../bench/queue-bench.js';
import { FORMATS, type Format } from '../export/writers.js';
import { cpuModel } from '../bench/timing.js';
import { audioBenchInput, imageBenchInput, textBenchInput } from '../bench/bench-inputs.js';
import { defineCommand, printJson, type CliIO } from './command.js';
import { modelFlags, modelRuntime, openModelStore, resolveDevice } from './runtime-flags.js';
import { nodePlacement, type Placement } from '../models/placement.js';
import type { Device } from '../models/session-factory.js';
import type { ModelStore } from '../models/model-store.js';
import { VAD_MODEL } from '../features/audio/audio-extractor.js';
import { defaultHeadDir } from './ingest.js';
import { basename, isAbsolute, join } from 'node:path';
import { SUMMARIES } from './command-summaries.js';
import { benchTimeline } from '../bench/timeline-bench.js';

const benchModelFlags = {
  ...modelFlags,
  threads: { type: 'int', description: 'onnxruntime intra-op threads', default: 1, min: 1, max: 1024 },
  json: { type: 'boolean', description: 'print the result as one JSON line' },
} as const;

/**
 * Where onnxruntime placed each model's nodes on `device` (src/models/placement.ts): what the
 * benchmark's figures were measured on, not only what was asked. Keys are model names.
 */
async function placementOf(
  models: Iterable<[string, string | Uint8Array]>,
  device: Device,
): Promise<Record<string, Placement['nodes']>> {
  const out: Record<string, Placement['nodes']> = {};
  for (const [key, source] of models) out[modelName(key)] = (await nodePlacement(source, device)).nodes;
  return out;
}

/** A model's name in reports: a file's stem, or the factory's key of in-memory bytes. */
function modelName(key: string): string {
  return isAbsolute(key) ? basename(key).replace(/\.onnx$/, '') : key;
}

/** The models of the default pipeline (every extractor, and the shipped head). */
async function pipelineModels(store: ModelStore): Promise<[string, string][]> {
  const models: [string, string][] = [[TEXT_MODEL, textModelOnnx(await store.folder(TEXT_MODEL))]];
  for (const name of [...IMAGE_MODELS, VAD_MODEL]) models.push([name, await store.path(name)]);
  models.push(['head:default', join(defaultHeadDir(), 'head.onnx')]);
  return models;
}

function report(io: CliIO, json: boolean, result: Record<string, unknown>): void {
  if (json) printJson(io, result);
  else
    for (const [k, v] of Object.entries(result))
      io.out(
        `${k.padEnd(34)}${typeof v === 'number' ? v.toFixed(3) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`,
      );
}

/** The clip of the audio benches (mfcc, prosody). */
const wavInputFlag = {
  input: {
    type: 'string',
    value: 'wav',
    description:
      "WAV clip [default: ../shared/fixtures/mfcc/bench/speech60s.wav where present, else a generated 60 s speech-like signal; the JSON's input says which]",
  },
} as const;

export const benchMfccCommand = defineCommand({
  spec: {
    name: 'bench mfcc',
    summary: SUMMARIES['bench mfcc'],
    positionals: [],
    flags: {
      ...wavInputFlag,
      repeats: {
        type: 'int',
        description: 'timed runs per measurement (median)',
        default: 7,
        min: 1,
        max: 1000,
      },
      'no-torchaudio': { type: 'boolean', description: 'skip the torchaudio reference' },
      json: { type: 'boolean', description: 'print the result as one JSON line' },
    },
    examples: ['emoflow bench mfcc --json', 'emoflow bench mfcc --input speech.wav --json'],
  },
  async run({ flags }, io) {
    const { x16k: x, path, input } = await audioBenchInput(flags.input);
    const r = await benchMfcc(x, {
      repeats: flags.repeats,
      torchaudio: !flags['no-torchaudio'],
      ...(path === undefined ? {} : { wavPath: path }),
    });
    report(io, flags.json, { ...r, input, audioSeconds: x.length / SAMPLE_RATE });
    return 0;
  },
});

export const benchProsodyCommand = defineCommand({
  spec: {
    name: 'bench prosody',
    summary: SUMMARIES['bench prosody'],
    positionals: [],
    flags: {
      ...wavInputFlag,
      repeats: {
        type: 'int',
        description: 'timed runs (median)',
        default: 7,
        min: 1,
        max: 1000,
      },
      json: { type: 'boolean', description: 'print the result as one JSON line' },
    },
    examples: ['emoflow bench prosody --json', 'emoflow bench prosody --input speech.wav --json'],
  },
  async run({ flags }, io) {
    const { x16k: x, input } = await audioBenchInput(flags.input);
    const r = benchProsody(x, flags.repeats);
    report(io, flags.json, { ...r, input, audioSeconds: x.length / SAMPLE_RATE });
    return 0;
  },
});

export const benchTextCommand = defineCommand({
  spec: {
    name: 'bench text',
    summary: SUMMARIES['bench text'],
    positionals: [],
    flags: {
      input: {
        type: 'string',
        value: 'file',
        description:
          "CSV with an Utterance or text column, or a text file [default: MELD dev in ../shared where present, else generated sentences; the JSON's input says which]",
      },
      count: { type: 'int', description: 'sentences', default: 1024, min: 1, max: 10_000_000 },
      batch: { type: 'int', description: 'sentences per ONNX call', default: 32, min: 1, max: 4096 },
      'text-model': {
        type: 'string',
        value: 'dir',
        description: 'transformers.js model folder [default: the committed USE-lite]',
      },
      rounds: {
        type: 'int',
        description: 'alternating timing rounds (median)',
        default: 5,
        min: 1,
        max: 100,
      },
      ...benchModelFlags,
    },
  },
  async run({ flags }, io) {
    const { sentences, input } = await textBenchInput(flags.input, flags.count);
    const { store, factory } = await modelRuntime(flags, io);
    const encoder = await TextEncoder.load({
      model: flags['text-model'] ?? (await store.folder('universal-sentence-encoder-lite')),
      factory,
      batchSize: flags.batch,
    });
    const r = await benchText(sentences, encoder, factory, flags.rounds);
    await encoder.dispose();
    await factory.release();
    const placement =
      encoder.onnxPath === undefined
        ? {}
        : await placementOf([[encoder.modelId, encoder.onnxPath]], factory.effectiveDevice);
    report(io, flags.json, { ...r, input, placement });
    return 0;
  },
});

export const benchImageCommand = defineCommand({
  spec: {
    name: 'bench image',
    summary: SUMMARIES['bench image'],
    positionals: [],
    flags: {
      input: {
        type: 'string',
        value: 'dir',
        description:
          "folder of images [default: FER+ Valid in ../shared where present, else the repository's example photos, repeated; the JSON's input says which]",
      },
      count: {
        type: 'int',
        description: 'images (first in name order)',
        default: 256,
        min: 1,
        max: 10_000_000,
      },
      batch: { type: 'int', description: 'images per CNN call', default: 64, min: 1, max: 4096 },
      ...benchModelFlags,
    },
  },
  async run({ flags }, io) {
    const { files, input } = await imageBenchInput(flags.input, flags.count);
    const { store, factory } = await modelRuntime(flags, io, { recordModels: true });
    const r = await benchImage(files, { factory, store, batch: flags.batch });
    await factory.release();
    report(io, flags.json, {
      ...r,
      ratio: r.perSecond / r.rawOrtPerSecond,
      device: factory.effectiveDevice,
      placement: await placementOf(factory.models(), factory.effectiveDevice),
      cpu: cpuModel(),
      input,
    });
    return 0;
  },
});

export const benchHeadTrainCommand = defineCommand({
  spec: {
    name: 'bench head-train',
    summary: SUMMARIES['bench head-train'],
    positionals: [],
    flags: {
      epochs: {
        type: 'int',
        description: 'epochs (the first is warm-up and not timed)',
        default: 3,
        min: 2,
        max: 100,
      },
      ...benchModelFlags,
    },
  },
  async run({ flags }, io) {
    const { factory } = await modelRuntime(flags, io, { recordModels: true });
    const r = await benchHeadTrain(factory, flags.epochs);
    await factory.release();
    report(io, flags.json, {
      ...r,
      device: factory.effectiveDevice,
      placement: await placementOf(factory.models(), factory.effectiveDevice),
    });
    return 0;
  },
});

export const benchE2eCommand = defineCommand({
  spec: {
    name: 'bench e2e',
    summary: SUMMARIES['bench e2e'],
    positionals: [],
    flags: {
      'per-combo': {
        type: 'int',
        description: 'samples of each of the 7 modality subsets',
        default: 60,
        min: 1,
        max: 100000,
      },
      concurrency: {
        type: 'int',
        description: "extraction worker threads [default: the machine's cores]",
        min: 0,
        max: 256,
      },
      batch: { type: 'int', description: 'samples per micro-batch', default: 32, min: 1, max: 4096 },
      redis: {
        type: 'string',
        value: 'url',
        description:
          'also measure the queue runtime on this Redis (worker processes started by the benchmark); `env`: the URL in $EMOFLOW_REDIS_URL',
      },
      rounds: {
        type: 'int',
        description: 'alternating measurements of the stages and the embedded run (medians)',
        default: 3,
        min: 1,
        max: 100,
      },
      device: benchModelFlags.device,
      json: benchModelFlags.json,
    },
    examples: ['emoflow bench e2e --json'],
  },
  async run({ flags }, io) {
    const device = await resolveDevice(flags.device, io);
    const result = await benchE2e({
      perCombo: flags['per-combo'],
      device,
      batch: flags.batch,
      ...(flags.concurrency === undefined ? {} : { workers: flags.concurrency }),
      ...(flags.redis === undefined ? {} : { redis: flags.redis }),
      rounds: flags.rounds,
    });
    const placement = await placementOf(await pipelineModels(openModelStore(undefined)), device);
    if (flags.json) printJson(io, { ...result, placement, cpu: cpuModel() });
    else {
      const e = result.embedded;
      io.out(
        `embedded: ${e.samples} samples, ${e.samplesPerSecond.toFixed(1)}/s against a bound of ${e.boundSamplesPerSecond.toFixed(1)}/s (ratio ${e.ratio.toFixed(2)}), peak RSS ${e.peakRssMb.toFixed(0)} MB, ${e.workers} workers\n`,
      );
      for (const [k, v] of Object.entries(result.stages))
        io.out(`  ${k.padEnd(8)}${(v * 1000).toFixed(2)} ms/sample\n`);
      io.out(`placement (nodes per provider): ${JSON.stringify(placement)}\n`);
    }
    return 0;
  },
});

export const benchQueueCommand = defineCommand({
  spec: {
    name: 'bench queue',
    summary: SUMMARIES['bench queue'],
    positionals: [],
    flags: {
      redis: {
        type: 'string',
        value: 'url',
        description: 'the Redis to measure (everything on it counts)',
        default: 'redis://127.0.0.1:6379',
      },
      'per-combo': {
        type: 'int',
        description: 'samples of each of the 7 modality subsets',
        default: 30,
        min: 1,
        max: 100000,
      },
      workers: { type: 'int', description: 'worker processes', default: 1, min: 1, max: 64 },
      concurrency: {
        type: 'int',
        description: "extraction threads per worker [default: the machine's cores]",
        min: 0,
        max: 256,
      },
      batch: { type: 'int', description: 'micro-batch size of the workers', default: 32, min: 1, max: 4096 },
      device: benchModelFlags.device,
      json: benchModelFlags.json,
    },
    examples: ['emoflow bench queue --redis redis://127.0.0.1:6390 --json'],
  },
  async run({ flags }, io) {
    const device = await resolveDevice(flags.device, io);
    const r = await benchQueueCapacity({
      redis: flags.redis,
      perCombo: flags['per-combo'],
      workers: flags.workers,
      device,
      batch: flags.batch,
      ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
    });
    const placement = await placementOf(await pipelineModels(openModelStore(undefined)), device);
    if (flags.json) printJson(io, { ...r, placement, cpu: cpuModel() });
    else
      report(io, false, {
        samples: r.samples,
        samplesPerSecond: r.samplesPerSecond,
        redisCommandsPerSample: r.redis.commandsPerSample,
        redisCpuMsPerSample: r.redis.cpuMsPerSample,
        redisBytesPerSample: r.redis.bytesPerSample,
        redisCeilingSamplesPerSecond: r.redis.ceilingSamplesPerSecond,
        placement,
      });
    return 0;
  },
});

export const benchRssCommand = defineCommand({
  spec: {
    name: 'bench rss',
    summary: SUMMARIES['bench rss'],
    positionals: [],
    flags: {
      samples: { type: 'int', description: 'generated samples', default: 20000, min: 100, max: 10_000_000 },
      format: { type: 'string', description: 'output format', default: 'jsonl', choices: FORMATS },
      device: benchModelFlags.device,
      json: benchModelFlags.json,
    },
    examples: ['emoflow bench rss --samples 20000 --json'],
  },
  async run({ flags }, io) {
    const device = await resolveDevice(flags.device, io);
    const result = await benchRss({
      samples: flags.samples,
      device,
      format: flags.format as Format,
    });
    const placement = await placementOf(await pipelineModels(openModelStore(undefined)), device);
    if (flags.json) printJson(io, { ...result, placement, cpu: cpuModel() });
    else
      report(io, false, {
        ...result,
        placement,
      });
    return 0;
  },
});

export const benchStartupCommand = defineCommand({
  spec: {
    name: 'bench startup',
    summary: SUMMARIES['bench startup'],
    positionals: [],
    flags: {
      runs: { type: 'int', description: 'runs of each command (median)', default: 5, min: 1, max: 100 },
      json: { type: 'boolean', description: 'print the result as one JSON line' },
    },
    examples: ['emoflow bench startup --json'],
  },
  async run({ flags }, io) {
    const r = await benchStartup(flags.runs);
    if (flags.json) printJson(io, { ...r, cpu: cpuModel() });
    else
      report(io, false, {
        ...r.seconds,
        ...Object.fromEntries(Object.entries(r.ratio).map(([k, v]) => [`${k}/node`, v])),
      });
    return 0;
  },
});

export const benchTimelineCommand = defineCommand({
  spec: {
    name: 'bench timeline',
    summary: SUMMARIES['bench timeline'],
    positionals: [],
    flags: {
      minutes: {
        type: 'int',
        description: 'length of the generated recording',
        default: 60,
        min: 1,
        max: 360,
      },
      head: { type: 'string', value: 'dir', description: 'head folder [default: the shipped head]' },
      device: benchModelFlags.device,
      'models-dir': benchModelFlags['models-dir'],
      json: benchModelFlags.json,
    },
    examples: ['emoflow bench timeline --minutes 60 --json'],
  },
  async run({ flags }, io) {
    const device = await resolveDevice(flags.device, io);
    const result = await benchTimeline({
      minutes: flags.minutes,
      device,
      head: flags.head ?? defaultHeadDir(),
      ...(flags['models-dir'] === undefined ? {} : { modelsDir: flags['models-dir'] }),
    });
    report(io, flags.json, { ...result, device, cpu: cpuModel() });
    return 0;
  },
});
