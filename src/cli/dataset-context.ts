import { resolve } from 'node:path';
import type { DatasetContext } from '../data/datasets.js';
import { buildExtractors } from '../features/extractors.js';
import type { ModalityExtractor } from '../features/modality-extractor.js';
import type { ModelStore } from '../models/model-store.js';
import type { SessionFactory } from '../models/session-factory.js';
import { warningPrinter, type CliIO } from './command.js';
import { progressBar, type ProgressBar } from './progress.js';

/** Flags of the commands that read raw corpora through the feature cache. */
export const cacheFlags = {
  cache: { type: 'string', value: 'dir', description: 'feature cache folder', default: '.cache/features' },
  'text-model': {
    type: 'string',
    value: 'dir|id',
    description: 'transformers.js text model [default: the committed USE-lite]',
  },
} as const;

/** Extractors built on first use (a MOSI-only run loads no model), and a progress line per corpus. */
export function datasetContext(
  io: CliIO,
  options: {
    factory: SessionFactory;
    store: ModelStore;
    cacheDir: string;
    vad: boolean;
    prosody: boolean;
    /** The lexical channel's bucket count (undefined: off). */
    lexicalBuckets?: number | undefined;
    textModel: string | undefined;
    progress: boolean;
  },
): DatasetContext {
  let built: Promise<readonly ModalityExtractor[]> | undefined;
  const bars = new Map<string, ProgressBar>();
  return {
    cacheDir: resolve(options.cacheDir),
    extractors: () =>
      (built ??= buildExtractors({
        factory: options.factory,
        store: options.store,
        modalities: ['text', 'image', 'audio'],
        vad: options.vad,
        prosody: options.prosody,
        ...(options.lexicalBuckets === undefined ? {} : { lexicalBuckets: options.lexicalBuckets }),
        ...(options.textModel === undefined ? {} : { textModel: options.textModel }),
      })),
    onProgress: (corpus, done, total) => {
      if (!options.progress) return;
      let bar = bars.get(corpus);
      if (bar === undefined) bars.set(corpus, (bar = progressBar(io, { label: `features ${corpus}` })));
      bar.update(done, total);
      if (done === total) bar.done();
    },
    onWarning: warningPrinter(io),
  };
}
