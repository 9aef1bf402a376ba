import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { parseCorpusSpec } from '../data/corpus-spec.js';
import { loadDataset } from '../data/datasets.js';
import { applySpeakerNorm } from '../data/speaker-norm.js';
import { audioOptionsOfSpec } from '../features/audio/audio-extractor.js';
import { renderReport, type TrainingLogEntry } from '../eval/report.js';
import { loadHead } from '../head/artifact.js';
import { crossValidate } from '../head/cross-validate.js';
import { parseTrainConfig, readTrainConfig } from '../head/train-config.js';
import type { ExtractSummary } from '../data/extract-features.js';
import type { FeatureDataset } from '../data/feature-dataset.js';
import type { ModelStore } from '../models/model-store.js';
import { SessionFactory, type DeviceChoice } from '../models/session-factory.js';
import { evaluate, predict, rowsWithoutInput, withoutLabels } from '../head/evaluate.js';
import {
  priorFactors,
  priorName,
  priorShares,
  recordedChoice,
  sourcePrior,
  withPriors,
  type PriorChoice,
  type PriorRecord,
} from '../head/label-prior.js';
import { graphSession } from '../head/trainer.js';
import { temperByModality } from '../head/calibration.js';
import { EMOTIONS } from '../core/labels.js';
import { defineCommand, printJson, type CliIO } from './command.js';
import { cacheFlags, datasetContext } from './dataset-context.js';
import { lexicalBucketsOfSpec } from '../features/text/lexical.js';
import {
  lexicalBucketsOf,
  lexicalFlags,
  modelFlags,
  modelRuntime,
  priorFlag,
  priorOption,
  resolveDevice,
} from './runtime-flags.js';
import { SUMMARIES } from './command-summaries.js';
import { evalSegments } from './eval-segments.js';

export const evalCommand = defineCommand({
  spec: {
    name: 'eval',
    summary: SUMMARIES['eval'],
    positionals: [],
    flags: {
      head: {
        type: 'string',
        value: 'dir',
        description: 'head folder (head.onnx + head.json) (required without --cv)',
      },
      cv: {
        type: 'int',
        description: 'group k-fold cross-validation: train --config on k-1 folds, score the held-out fold',
        min: 2,
        max: 1000,
      },
      group: {
        type: 'string',
        description: 'with --cv: the field whose groups stay whole',
        choices: ['group', 'speaker'],
        default: 'group',
      },
      config: {
        type: 'string',
        value: 'file',
        description: 'with --cv: training config JSON (docs/head.md)',
      },
      vad: { type: 'boolean', description: 'with --cv: trim audio with Silero VAD' },
      prosody: { type: 'boolean', description: 'with --cv: append speech prosody to the audio features' },
      ...lexicalFlags,
      data: { type: 'string', value: 'spec', description: 'corpus spec to evaluate on (required)' },
      'speaker-norm': {
        type: 'string',
        description:
          "for a head trained with per-speaker standardisation: 'auto' standardises each speaker with that speaker's own statistics (speakers with enough samples), 'off' uses the head's global statistics for every sample",
        choices: ['auto', 'off'],
        default: 'auto',
      },
      prior: priorFlag,
      segments: {
        type: 'boolean',
        description:
          'score each sample as ingest --segments scores recordings, and its summed-up emotion against its label (docs/timelines.md)',
      },
      json: {
        type: 'string',
        value: 'file',
        description: 'write the metrics JSON to this file (also printed as the last stdout line)',
      },
      report: {
        type: 'string',
        value: 'file.html',
        description: 'write an HTML report: confusion matrices, reliability diagrams, learning curves',
      },
      'no-progress': { type: 'boolean', description: 'no progress output' },
      ...cacheFlags,
      ...modelFlags,
    },
    examples: [
      'emoflow eval --head heads/mosi --data mosi:../shared/data/multimodal/mosi/valid.jsonl.gz --json mosi-eval.json --report mosi.html',
    ],
  },
  async run({ flags }, io) {
    if (flags.cv !== undefined && flags.segments)
      throw new EmoflowError(
        'CONFIG_INVALID',
        'emoflow eval: --segments scores a head; it does not go with --cv',
      );
    if (flags.cv !== undefined) return runCrossValidation(flags, io);
    if (flags.head === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow eval: --head <dir> is required');
    if (flags.data === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow eval: --data <spec> is required');
    if (flags.segments) return runSegmentEval({ ...flags, head: flags.head, data: flags.data }, io);
    const head = await loadHead(resolve(flags.head));
    // Without --prior, a corpus spec of one of the head's training corpora is scored under that
    // corpus's prior (its label frequencies are known); anything else under the head's default.
    const prior =
      priorOption(flags.prior).prior ?? sourcePrior(head.json.priors?.['emotion'], specAdapter(flags.data));
    const factors = priorFactors(head.desc, head.json.priors, { emotion: prior });
    const { factory, store } = await modelRuntime(flags, io);
    // Raw corpora are extracted as the head was trained: VAD and prosody on or off are part of its
    // audio spec, the lexical channel part of its text spec.
    const extraction = {
      ...audioOptionsOfSpec(head.json.features.audio?.name),
      lexicalBuckets: lexicalBucketsOfSpec(head.json.features.text?.name),
    };
    const inputErrors: Partial<Record<string, number>> = {};
    const raw = await loadFlaggedDataset(flags.data, flags, io, factory, store, extraction, (summary) => {
      for (const [code, n] of Object.entries(summary.errorCodes))
        inputErrors[code] = (inputErrors[code] ?? 0) + n;
    });
    const normed = applySpeakerNorm(raw, head.json.speakerNorm, flags['speaker-norm'] === 'auto');
    // A sample none of whose inputs the head takes could be read has no prediction to score
    // (ingest gives it status `failed`): it is left out and counted, never scored on the bias.
    const excluded = rowsWithoutInput(head.desc, normed);
    const ds = withoutLabels(normed, excluded);
    if (excluded.length > 0) {
      const shown = excluded.slice(0, 5).map((r) => ds.ids[r]);
      io.err(
        `warning: ${excluded.length} of ${ds.size} samples excluded from the scores: none of their inputs could be read (${shown.join(', ')}${excluded.length > shown.length ? ', …' : ''}; input errors: ${errorList(inputErrors)})\n`,
      );
    }
    if (!flags['no-progress'] && io.interactive)
      io.err(`evaluating ${head.json.name} on ${ds.name} (${ds.size} samples)\n`);
    const session = await graphSession(factory, head.onnx);
    const predicted = await predict(session, head.desc, ds);
    const tempers = head.json.modalityTemperature;
    const emotion = predicted.get('emotion');
    if (tempers !== undefined && emotion !== undefined)
      temperByModality(emotion, predicted.get('contribution')!, EMOTIONS.length, tempers);
    const outputs = withPriors(predicted, head.desc, factors);
    const ev = evaluate(head.desc, outputs, ds, head.json.thresholds);
    await factory.release();
    const result = {
      head: { name: head.json.name, sha256: head.json.sha256 },
      data: ds.name,
      samples: ev.samples - excluded.length,
      excluded: {
        count: excluded.length,
        ids: excluded.slice(0, 100).map((r) => ds.ids[r]!),
        inputErrors,
      },
      ...priorUsed(head.json.priors, prior),
      tasks: ev.tasks,
    };
    if (flags.json !== undefined) await writeFile(flags.json, JSON.stringify(result, null, 2) + '\n');
    if (flags.report !== undefined) {
      const html = renderReport({
        title: `${head.json.name} on ${ds.name}`,
        head: { name: head.json.name, sha256: head.json.sha256 },
        tasks: ev.tasks,
        reliability: ev.reliability,
        trainingLog: head.json.training.log as unknown as TrainingLogEntry[],
        generated: new Date().toISOString(),
      });
      await writeFile(flags.report, html);
    }
    printJson(io, result);
    return 0;
  },
});

/** `eval --segments` (eval-segments.ts): its JSON, and the report of its emotion metrics. */
async function runSegmentEval(
  flags: {
    head: string;
    data: string;
    device: DeviceChoice;
    threads: number;
    'models-dir': string | undefined;
    'text-model': string | undefined;
    'speaker-norm': string;
    prior: string | undefined;
    json: string | undefined;
    report: string | undefined;
  },
  io: CliIO,
): Promise<number> {
  const head = await loadHead(resolve(flags.head));
  const ev = await evalSegments({
    head: head.dir,
    data: flags.data,
    device: await resolveDevice(flags.device, io),
    threads: flags.threads,
    speakerNorm: flags['speaker-norm'] as 'auto' | 'off',
    ...(flags['models-dir'] === undefined ? {} : { modelsDir: flags['models-dir'] }),
    ...(flags['text-model'] === undefined ? {} : { textModel: flags['text-model'] }),
    ...priorOption(flags.prior),
  });
  const result = { head: { name: head.json.name, sha256: head.json.sha256 }, segmented: true, ...ev };
  if (flags.json !== undefined) await writeFile(flags.json, JSON.stringify(result, null, 2) + '\n');
  if (flags.report !== undefined)
    await writeFile(
      flags.report,
      renderReport({
        title: `${head.json.name} on ${ev.data}, by segments`,
        head: result.head,
        tasks: ev.tasks,
        generated: new Date().toISOString(),
      }),
    );
  printJson(io, result);
  return 0;
}

async function runCrossValidation(
  flags: {
    cv: number | undefined;
    group: string;
    config: string | undefined;
    data: string | undefined;
    json: string | undefined;
    cache: string;
    'text-model': string | undefined;
    vad: boolean;
    prosody: boolean;
    lexical: boolean;
    'lexical-buckets': number | undefined;
    'no-progress': boolean;
    device: DeviceChoice;
    threads: number;
    'models-dir': string | undefined;
  },
  io: CliIO,
): Promise<number> {
  if (flags.data === undefined)
    throw new EmoflowError('CONFIG_INVALID', 'emoflow eval: --data <spec> is required');
  const config = flags.config === undefined ? parseTrainConfig({}) : await readTrainConfig(flags.config);
  const { factory, store } = await modelRuntime(flags, io);
  const ds = await loadFlaggedDataset(flags.data, flags, io, factory, store, {
    vad: flags.vad,
    prosody: flags.prosody,
    lexicalBuckets: lexicalBucketsOf(flags),
  });
  const trainFactory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
  const cv = await crossValidate(ds, {
    k: flags.cv!,
    group: flags.group as 'group' | 'speaker',
    config,
    factory: trainFactory,
    onFold: (f) => {
      if (!flags['no-progress']) io.err(`fold ${f + 1}/${flags.cv}\n`);
    },
  });
  await trainFactory.release();
  await factory.release();
  const result = {
    data: ds.name,
    samples: ds.size,
    cv: cv.k,
    group: cv.group,
    folds: cv.folds,
    summary: cv.summary,
  };
  if (flags.json !== undefined) await writeFile(flags.json, JSON.stringify(result, null, 2) + '\n');
  printJson(io, result);
  return 0;
}

/** A corpus through the extractors and the feature cache, as the command's flags say. */
function loadFlaggedDataset(
  spec: string,
  flags: { cache: string; 'text-model': string | undefined; 'no-progress': boolean },
  io: CliIO,
  factory: SessionFactory,
  store: ModelStore,
  extraction: { vad: boolean; prosody: boolean; lexicalBuckets: number | undefined },
  onSummary?: (summary: ExtractSummary) => void,
): Promise<FeatureDataset> {
  const context = datasetContext(io, {
    factory,
    store,
    cacheDir: flags.cache,
    vad: extraction.vad,
    prosody: extraction.prosody,
    lexicalBuckets: extraction.lexicalBuckets,
    textModel: flags['text-model'],
    progress: !flags['no-progress'],
  });
  if (onSummary !== undefined) context.onSummary = (_corpus, summary) => onSummary(summary);
  return loadDataset(spec, context);
}

/** `CODE n, CODE n` of the input errors, or `none`. */
function errorList(counts: Partial<Record<string, number>>): string {
  const parts = Object.entries(counts).map(([code, n]) => `${code} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** The emotion prior an evaluation applied, for its JSON: the choice and the class shares. */
function priorUsed(
  priors: Record<string, PriorRecord> | undefined,
  choice: PriorChoice | undefined,
): { prior?: { task: string; choice: string | number[]; shares: number[] } } {
  const record = priors?.['emotion'];
  if (record === undefined) return {};
  const used = choice ?? recordedChoice(record.default, record.training.length);
  return {
    prior: {
      task: 'emotion',
      choice: priorName(used),
      shares: Array.from(priorShares(record, used, record.training.length), (v) => Math.round(v * 1e4) / 1e4),
    },
  };
}

/** The adapter of a corpus spec (undefined for a manifest or anything unparsable). */
function specAdapter(spec: string): string | undefined {
  try {
    const adapter = parseCorpusSpec(spec).adapter;
    return adapter === 'manifest' ? undefined : adapter;
  } catch {
    return undefined;
  }
}
