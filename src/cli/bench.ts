import { readFile } from 'node:fs/promises';
import { decodeWav } from '../io/wav.js';
import { resample } from '../features/audio/resample.js';
import { SAMPLE_RATE } from '../features/audio/mfcc.js';
import { TextEncoder } from '../features/text/text-encoder.js';
import { benchImage } from '../bench/image-bench.js';
import { benchMfcc } from '../bench/mfcc-bench.js';
import { benchText } from '../bench/text-bench.js';
import { benchHeadTrain } from '../bench/head-train-bench.js';
import { cpuModel } from '../bench/timing.js';
import {
  DEFAULT_AUDIO_INPUT,
  DEFAULT_IMAGE_INPUT,
  DEFAULT_TEXT_INPUT,
  listImages,
  readSentences,
  requireInput,
} from '../bench/bench-inputs.js';
import { defineCommand, printJson, type CliIO } from './command.js';
import { modelFlags, modelRuntime } from './runtime-flags.js';

const benchModelFlags = {
  ...modelFlags,
  threads: { type: 'int', description: 'onnxruntime intra-op threads', default: 1, min: 1, max: 1024 },
  json: { type: 'boolean', description: 'print the result as one JSON line' },
} as const;

function report(io: CliIO, json: boolean, result: Record<string, unknown>): void {
  if (json) printJson(io, result);
  else
    for (const [k, v] of Object.entries(result))
      io.out(`${k.padEnd(34)}${typeof v === 'number' ? v.toFixed(3) : String(v)}\n`);
}

export const benchMfccCommand = defineCommand({
  spec: {
    name: 'bench mfcc',
    summary:
      'Seconds of audio per second of compute for MFCC + delta + delta2 on one thread (decoding and resampling excluded), and torchaudio on the same clip in the same run when Debian python3-torchaudio is installed.',
    positionals: [],
    flags: {
      input: {
        type: 'string',
        value: 'wav',
        description: 'WAV clip [default: ../shared/fixtures/mfcc/bench/speech60s.wav]',
      },
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
    examples: ['emoflow bench mfcc --input ../shared/fixtures/mfcc/bench/speech60s.wav --json'],
  },
  async run({ flags }, io) {
    const path = requireInput(flags.input ?? DEFAULT_AUDIO_INPUT());
    const wav = decodeWav(new Uint8Array(await readFile(path)), path);
    const x = resample(wav.mono, wav.sampleRate, SAMPLE_RATE);
    const r = await benchMfcc(x, {
      repeats: flags.repeats,
      torchaudio: !flags['no-torchaudio'],
      wavPath: path,
    });
    report(io, flags.json, { ...r, input: path, audioSeconds: x.length / SAMPLE_RATE });
    return 0;
  },
});

export const benchTextCommand = defineCommand({
  spec: {
    name: 'bench text',
    summary:
      'Sentences per second through the text extractor (normalise, tokenise, bucket, model, pool) against bare onnxruntime on the same batches already tokenised, in one run.',
    positionals: [],
    flags: {
      input: {
        type: 'string',
        value: 'file',
        description: 'CSV with an Utterance or text column, or a text file [default: MELD dev]',
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
    const sentences = await readSentences(requireInput(flags.input ?? DEFAULT_TEXT_INPUT()), flags.count);
    const { store, factory } = modelRuntime(flags, io);
    const encoder = await TextEncoder.load({
      model: flags['text-model'] ?? (await store.folder('universal-sentence-encoder-lite')),
      factory,
      batchSize: flags.batch,
    });
    const r = await benchText(sentences, encoder, factory, flags.rounds);
    await encoder.dispose();
    await factory.release();
    report(io, flags.json, { ...r });
    return 0;
  },
});

export const benchImageCommand = defineCommand({
  spec: {
    name: 'bench image',
    summary:
      'Images per second through the image extractor (decode, detect, crop, CNN) against bare onnxruntime on the same inputs already decoded and resized, same batches, in one run.',
    positionals: [],
    flags: {
      input: { type: 'string', value: 'dir', description: 'folder of images [default: FER+ Valid]' },
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
    const files = await listImages(requireInput(flags.input ?? DEFAULT_IMAGE_INPUT()), flags.count);
    const { store, factory } = modelRuntime(flags, io);
    const r = await benchImage(files, { factory, store, batch: flags.batch });
    await factory.release();
    report(io, flags.json, {
      ...r,
      ratio: r.perSecond / r.rawOrtPerSecond,
      device: factory.effectiveDevice,
      cpu: cpuModel(),
    });
    return 0;
  },
});

export const benchHeadTrainCommand = defineCommand({
  spec: {
    name: 'bench head-train',
    summary:
      'Training throughput of the head engine on a fixed synthetic problem (16384 samples, 1024 inputs, hidden 512, a 7-class and two regression tasks, batch 256) as GFLOP/s, against a lone onnxruntime MatMul [256,1024]x[1024,512] in the same run.',
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
    const { factory } = modelRuntime(flags, io);
    const r = await benchHeadTrain(factory, flags.epochs);
    await factory.release();
    report(io, flags.json, { ...r, device: factory.effectiveDevice });
    return 0;
  },
});
