import { basename, resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { loadDataset, mergeDatasets } from '../data/datasets.js';
import { loadHead } from '../head/artifact.js';
import { audioOptionsOfSpec } from '../features/audio/audio-extractor.js';
import { lexicalBucketsOfSpec } from '../features/text/lexical.js';
import { devSet, fitHead, prepareTrainingSets } from '../head/fit-head.js';
import { withoutLabels } from '../data/domain-task.js';
import { applySpeakerNorm } from '../data/speaker-norm.js';
import { parseTrainConfig, readTrainConfig } from '../head/train-config.js';
import type { TrainProgress } from '../head/trainer.js';
import type { FeatureDataset } from '../data/feature-dataset.js';
import { cacheFlags, datasetContext } from './dataset-context.js';
import {
  deviceFlag,
  lexicalBucketsOf,
  lexicalFlags,
  modelsDirFlag,
  openModelStore,
  resolveDevice,
} from './runtime-flags.js';
import { defineCommand, printJson, warningPrinter, type CliIO } from './command.js';
import { SessionFactory } from '../models/session-factory.js';
import { SUMMARIES } from './command-summaries.js';

function trainProgress(io: CliIO, enabled: boolean): (p: TrainProgress) => void {
  let lastEpochLine = 0;
  return (p) => {
    if (!enabled) return;
    const dev = p.devMetric === undefined ? '' : `  dev ${p.devMetric.toFixed(4)}`;
    const line = `epoch ${p.epoch}/${p.epochs}  step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}${dev}`;
    if (io.interactive) io.err(`\r${line}   ${p.step === p.steps && p.devMetric !== undefined ? '\n' : ''}`);
    else if (p.devMetric !== undefined || (p.step === p.steps && lastEpochLine !== p.epoch)) {
      lastEpochLine = p.epoch;
      io.err(line + '\n');
    } else if (p.step % Math.max(1, Math.floor(p.steps / p.epochs)) === 0 && lastEpochLine !== p.epoch) {
      lastEpochLine = p.epoch;
      io.err(line + '\n');
    }
  };
}

export const trainCommand = defineCommand({
  spec: {
    name: 'train',
    summary: SUMMARIES['train'],
    positionals: [],
    flags: {
      data: { type: 'strings', value: 'spec', description: 'training corpus spec, e.g. mosi:train.jsonl.gz' },
      unlabelled: {
        type: 'strings',
        value: 'spec',
        description:
          "a corpus whose labels are set aside: its inputs serve only the domain classifier (needs the config's domainAdversarial), e.g. the target corpus of unsupervised domain adaptation",
      },
      dev: {
        type: 'string',
        value: 'spec',
        description:
          'development corpus: calibration, dev metrics (and early stopping when the config sets patience)',
      },
      out: { type: 'string', value: 'dir', description: 'head folder to write (required)' },
      config: {
        type: 'string',
        value: 'file',
        description: 'training config JSON (docs/head.md); defaults are what emoflow ships',
      },
      init: {
        type: 'string',
        value: 'dir',
        description: 'start from this head: fine-tuning keeps its features, statistics and tasks',
      },
      freeze: { type: 'string', value: 'part', description: 'freeze part of the head', choices: ['trunk'] },
      seed: { type: 'int', description: 'random seed (overrides the config)', min: 0, max: 2 ** 31 - 1 },
      name: { type: 'string', value: 'name', description: 'head name [default: the folder name]' },
      device: deviceFlag('where the graphs run (training and evaluation; extraction of raw corpora too)'),
      vad: {
        type: 'boolean',
        description: 'trim audio to speech with Silero VAD (part of the audio feature spec)',
      },
      prosody: {
        type: 'boolean',
        description:
          'append speech prosody (F0, energy, spectral shape, jitter, shimmer) to the audio features (part of the audio feature spec)',
      },
      ...lexicalFlags,
      'speaker-norm': {
        type: 'boolean',
        description:
          "standardise audio features per speaker where samples name one (the config's speakerNorm with its defaults; recorded in head.json, applied by eval and ingest)",
      },
      ...cacheFlags,
      ...modelsDirFlag,
      'no-progress': { type: 'boolean', description: 'no progress output' },
      json: { type: 'boolean', description: 'print a summary as one JSON line' },
    },
    examples: [
      'emoflow train --data mosi:../shared/data/multimodal/mosi/train.jsonl.gz --dev mosi:../shared/data/multimodal/mosi/valid.jsonl.gz --out heads/mosi',
      'emoflow train --init heads/mosi --freeze trunk --data mosi:train.jsonl.gz --dev mosi:valid.jsonl.gz --out heads/mosi-tuned',
    ],
  },
  async run({ flags }, io) {
    const dataSpecs = flags.data;
    if (dataSpecs.length === 0)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow train: --data <spec> is required');
    if (flags.out === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow train: --out <dir> is required');
    if (flags.freeze !== undefined && flags.init === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow train: --freeze needs --init <head dir>');
    let config = flags.config === undefined ? parseTrainConfig({}) : await readTrainConfig(flags.config);
    if (flags.seed !== undefined) config = { ...config, seed: flags.seed };
    // The flag is the config key with its defaults.
    if (flags['speaker-norm'] && config.speakerNorm === null)
      config = parseTrainConfig({ ...config, speakerNorm: {} });
    if (flags.unlabelled.length > 0 && config.domainAdversarial === 0)
      throw new EmoflowError(
        'CONFIG_INVALID',
        'emoflow train: --unlabelled data serves only the domain classifier; set domainAdversarial in the config',
      );
    const init = flags.init === undefined ? undefined : await loadHead(resolve(flags.init));
    // Fine-tuning extracts raw corpora as the initial head's features were made (VAD, prosody,
    // the lexical channel), besides what the flags ask for (a conflict is HEAD_INCOMPATIBLE).
    const inherited = {
      ...audioOptionsOfSpec(init?.json.features.audio?.name),
      lexicalBuckets: lexicalBucketsOfSpec(init?.json.features.text?.name),
    };
    const device = await resolveDevice(flags.device, io);
    // Extraction (raw corpora) uses every core; training keeps the config's thread count.
    const extraction = datasetContext(io, {
      factory: new SessionFactory({ device, onWarning: warningPrinter(io) }),
      store: openModelStore(flags['models-dir']),
      cacheDir: flags.cache,
      vad: flags.vad || inherited.vad,
      prosody: flags.prosody || inherited.prosody,
      lexicalBuckets: lexicalBucketsOf(flags) ?? inherited.lexicalBuckets,
      textModel: flags['text-model'],
      progress: !flags['no-progress'],
    });
    const datasets: FeatureDataset[] = [];
    for (const s of dataSpecs) datasets.push(await loadDataset(s, extraction));
    for (const s of flags.unlabelled) datasets.push(withoutLabels(await loadDataset(s, extraction)));
    // Fine-tuning keeps how the initial head holds its priors: its outputs stay evidence under a
    // uniform prior (logit adjustment) or under its training mix's.
    const initBase = init?.json.priors?.['emotion']?.base;
    if (initBase !== undefined) config = { ...config, logitAdjustment: initBase === 'uniform' };
    const prepared = prepareTrainingSets(datasets, config, init);
    const train = mergeDatasets(prepared.sets);
    const rawDev = flags.dev === undefined ? undefined : await loadDataset(flags.dev, extraction);
    const dev =
      rawDev === undefined ? undefined : devSet(applySpeakerNorm(rawDev, prepared.speakerNorm), config);
    const factory = new SessionFactory({
      device,
      intraOpThreads: config.threads,
      interOpThreads: 1,
      onWarning: warningPrinter(io),
    });
    const fitted = await fitHead({
      datasets,
      train,
      ...(dev === undefined ? {} : { dev }),
      config,
      factory,
      ...(init === undefined ? {} : { init }),
      ...(flags.freeze === 'trunk' ? { freeze: 'trunk' as const } : {}),
      ...(prepared.speakerNorm === undefined ? {} : { speakerNorm: prepared.speakerNorm }),
      name: flags.name ?? basename(resolve(flags.out)),
      out: resolve(flags.out),
      onProgress: trainProgress(io, !flags['no-progress']),
    });
    await factory.release();
    const { result, metrics } = fitted;
    const saved = fitted;
    const summary = {
      head: saved.onnxPath,
      sha256: saved.sha256,
      steps: result.steps,
      seconds: result.seconds,
      metrics,
    };
    if (flags.json) printJson(io, summary);
    else {
      io.out(
        `wrote ${saved.onnxPath} and head.json (sha256 ${saved.sha256.slice(0, 12)}…), ${result.steps} steps in ${result.seconds.toFixed(1)} s\n`,
      );
      if (dev !== undefined)
        io.out(`dev metrics: ${JSON.stringify((metrics['dev'] as { tasks: unknown }).tasks)}\n`);
    }
    return 0;
  },
});
