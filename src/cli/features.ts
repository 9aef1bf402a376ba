import { resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { MODALITIES, type Modality } from '../core/labels.js';
import { parseCorpusSpec } from '../data/corpus-spec.js';
import { loadCorpus } from '../data/datasets.js';
import { extractToCache } from '../data/extract-features.js';
import { sampleIndexName } from '../data/feature-cache.js';
import { buildExtractors } from '../features/extractors.js';
import { defineCommand, printJson, warningPrinter } from './command.js';
import { progressBar } from './progress.js';
import {
  lexicalBucketsOf,
  lexicalFlags,
  lexicalOption,
  modelFlags,
  modelRuntime,
  maxTextBytesFlag,
} from './runtime-flags.js';
import { SUMMARIES } from './command-summaries.js';

export const featuresCommand = defineCommand({
  spec: {
    name: 'features',
    summary: SUMMARIES['features'],
    positionals: [
      {
        name: 'spec',
        description: 'corpus spec: manifest:<file.csv|file.jsonl> or a .csv/.jsonl manifest path',
      },
    ],
    flags: {
      out: { type: 'string', value: 'dir', description: 'feature cache folder (required)' },
      modalities: {
        type: 'string',
        value: 'list',
        description: 'comma-separated subset of text,image,audio',
        default: 'text,image,audio',
      },
      'text-model': {
        type: 'string',
        value: 'dir|id',
        description: 'transformers.js model folder or hub id [default: the committed USE-lite]',
      },
      'allow-remote': {
        type: 'boolean',
        description: 'let transformers.js download a hub model (connected machines)',
      },
      vad: {
        type: 'boolean',
        description: 'trim audio to the speech that Silero VAD finds (part of the audio feature spec)',
      },
      prosody: {
        type: 'boolean',
        description:
          'append the 19 speech prosody values to the audio features (part of the audio feature spec)',
      },
      ...lexicalFlags,
      batch: { type: 'int', description: 'texts / images per ONNX call', default: 32, min: 1, max: 4096 },
      ...maxTextBytesFlag,
      ...modelFlags,
      json: { type: 'boolean', description: 'print the summary as one JSON line' },
    },
    examples: [
      'emoflow features manifest:data/train.csv --out .cache/features',
      'emoflow features clips.jsonl --out feats --modalities audio --vad',
    ],
  },
  async run({ flags, positionals }, io) {
    if (flags.out === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow features: --out <dir> is required');
    const modalities = parseModalities(flags.modalities);
    const spec = parseCorpusSpec(positionals[0]!);
    const corpus = await loadCorpus(spec);
    const { store, factory } = await modelRuntime(flags, io);
    const extractors = await buildExtractors({
      factory,
      store,
      modalities,
      batch: flags.batch,
      vad: flags.vad,
      prosody: flags.prosody,
      ...lexicalOption(lexicalBucketsOf(flags)),
      allowRemote: flags['allow-remote'],
      ...(flags['text-model'] === undefined ? {} : { textModel: flags['text-model'] }),
    });
    const indexName = sampleIndexName(corpus);
    const progress = progressBar(io, { label: 'features' });
    const summary = await extractToCache(corpus.samples, extractors, resolve(flags.out), indexName, {
      onProgress: progress.update,
      maxTextBytes: flags['max-text-bytes'],
      onWarning: warningPrinter(io),
    });
    progress.done();
    await factory.release();
    const result = { ...summary, device: factory.effectiveDevice };
    if (flags.json) printJson(io, result);
    else {
      io.out(`${summary.samples} samples -> ${resolve(flags.out)} (index ${summary.index})\n`);
      for (const [m, c] of Object.entries(summary.modalities)) {
        io.out(
          `  ${m.padEnd(6)} ${summary.specs[m as Modality]}: ${c.extracted} extracted, ${c.cached} cached, ${c.errors} input errors\n`,
        );
      }
      const codes = Object.entries(summary.errorCodes);
      if (codes.length > 0) io.out(`  errors: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}\n`);
    }
    return 0;
  },
});

function parseModalities(list: string): Modality[] {
  const out: Modality[] = [];
  for (const raw of list.split(',')) {
    const m = raw.trim();
    if (!(MODALITIES as readonly string[]).includes(m)) {
      throw new EmoflowError('CONFIG_INVALID', `--modalities: '${m}' is not one of ${MODALITIES.join(', ')}`);
    }
    if (!out.includes(m as Modality)) out.push(m as Modality);
  }
  return out;
}
