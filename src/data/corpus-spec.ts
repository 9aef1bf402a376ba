import { extname } from 'node:path';
import { EmoflowError } from '../core/errors.js';

/** `<adapter>:<path>[#split]` (docs/corpora.md); a bare `.csv` / `.jsonl` path means the manifest adapter. */
export interface CorpusSpec {
  adapter: string;
  path: string;
  split: string | undefined;
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
        `'${spec}' is not a corpus spec: use <adapter>:<path>[#split] or a .csv/.jsonl manifest`,
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
