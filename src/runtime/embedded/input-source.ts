import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import type { Sample } from '../../core/sample.js';
import { parseCorpusSpec } from '../../data/corpus-spec.js';
import { loadCorpus } from '../../data/datasets.js';
import { walkFolder, type SkippedFile } from '../../data/folder.js';

/** Where a run's samples come from: a batch folder, a manifest, or a corpus spec. */
export interface InputSource {
  kind: 'folder' | 'manifest' | 'corpus';
  /** For a corpus spec: its adapter name (`meld` of `meld:…`), which can name a known label prior. */
  corpus?: string;
  samples: AsyncIterable<Sample>;
  /** Files that are no sample's input, named (folders only; complete once `samples` is exhausted). */
  skipped: SkippedFile[];
  /** How many files were skipped, named or not (the names stop at 10,000). */
  skippedCount: () => number;
  /** How many samples there are; for a folder, a second walk that lists names only. */
  count: () => Promise<number>;
}

/** Opens `input`: a folder, a `.csv`/`.jsonl` manifest, or `<adapter>:<path>[#split]`. */
export async function openInput(input: string): Promise<InputSource> {
  const st = await stat(input).catch(() => undefined);
  if (st?.isDirectory()) {
    const root = resolve(input);
    const walk = walkFolder(root);
    return {
      kind: 'folder',
      samples: walk.samples,
      skipped: walk.skipped,
      skippedCount: () => walk.counts.skipped,
      count: async () => {
        let n = 0;
        const it = walkFolder(root, { maxSkippedNames: 0 }).samples;
        while (!(await it.next()).done) n++;
        return n;
      },
    };
  }
  if (st !== undefined && !st.isFile()) {
    // A FIFO given as a manifest would block its read forever.
    throw new EmoflowError(
      'INPUT_NOT_REGULAR',
      `${input}: neither a folder nor a regular file (a manifest); it was not opened`,
      { path: input },
    );
  }
  if (st === undefined && !/^[a-z][a-z0-9-]+:/.test(input)) {
    throw new EmoflowError('FILE_NOT_FOUND', `${input}: no such folder, manifest or corpus spec`, {
      path: input,
    });
  }
  const spec = parseCorpusSpec(input);
  const { samples } = await loadCorpus(spec);
  return {
    kind: spec.adapter === 'manifest' ? 'manifest' : 'corpus',
    ...(spec.adapter === 'manifest' ? {} : { corpus: spec.adapter }),
    samples: (async function* () {
      yield* samples;
    })(),
    skipped: [],
    skippedCount: () => 0,
    count: () => Promise.resolve(samples.length),
  };
}
