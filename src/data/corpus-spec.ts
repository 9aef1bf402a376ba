import { extname } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import type { Sample } from '../core/sample.js';
import { readManifestSamples } from './manifest-adapter.js';

/** `<adapter>:<path>[#split]` (DESIGN.md §10); a bare `.csv` / `.jsonl` path means the manifest adapter. */
export interface CorpusSpec {
  adapter: string;
  path: string;
  split: string | undefined;
}

type Adapter = (path: string, split: string | undefined) => Promise<Sample[]>;

/** The adapters `train`, `eval`, `features` and `ingest` share. Corpus adapters register here. */
const ADAPTERS: Record<string, Adapter> = {
  manifest: async (path, split) => {
    if (split !== undefined)
      throw new EmoflowError('CONFIG_INVALID', `the manifest adapter has no splits (got #${split})`);
    return readManifestSamples(path);
  },
};

export function knownAdapters(): string[] {
  return Object.keys(ADAPTERS);
}

export function parseCorpusSpec(spec: string): CorpusSpec {
  const m = /^([a-z][a-z0-9-]*):(.+)$/.exec(spec);
  let adapter: string;
  let rest: string;
  if (m !== null && m[1]!.length > 1) {
    adapter = m[1]!;
    rest = m[2]!;
  } else {
    const ext = extname(spec.replace(/#.*$/, '')).toLowerCase();
    if (ext !== '.csv' && ext !== '.jsonl' && ext !== '.ndjson') {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `'${spec}' is not a corpus spec: use <adapter>:<path>[#split] (adapters: ${knownAdapters().join(', ')}) or a .csv/.jsonl manifest`,
      );
    }
    adapter = 'manifest';
    rest = spec;
  }
  const hash = rest.lastIndexOf('#');
  return hash < 0
    ? { adapter, path: rest, split: undefined }
    : { adapter, path: rest.slice(0, hash), split: rest.slice(hash + 1) };
}

export async function loadSamples(spec: CorpusSpec): Promise<Sample[]> {
  const adapter = ADAPTERS[spec.adapter];
  if (adapter === undefined) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `unknown corpus adapter '${spec.adapter}' (known: ${knownAdapters().join(', ')})`,
    );
  }
  return adapter(spec.path, spec.split);
}
