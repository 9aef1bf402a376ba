import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import { parseCsv } from '../data/csv.js';

/** The corpora beside a development clone (`../shared/data`); benchmarks default to them. */
export function sharedPath(...parts: string[]): string {
  return join(packageRoot(), '..', 'shared', ...parts);
}

export const DEFAULT_TEXT_INPUT = (): string => sharedPath('data', 'text', 'meld', 'dev_sent_emo.csv');
export const DEFAULT_IMAGE_INPUT = (): string => sharedPath('data', 'face', 'ferplus', 'FER2013Valid');
export const DEFAULT_AUDIO_INPUT = (): string => sharedPath('fixtures', 'mfcc', 'bench', 'speech60s.wav');

export function requireInput(path: string, flag = '--input'): string {
  if (!existsSync(path)) {
    throw new EmoflowError('CONFIG_INVALID', `benchmark input ${path} does not exist; pass ${flag} <path>`, {
      path,
    });
  }
  return path;
}

/**
 * Sentences for the text benchmark: a CSV's `Utterance` (MELD) or `text` column, or the
 * non-blank lines of a text file; the first `limit`.
 */
export async function readSentences(path: string, limit: number): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  let out: string[];
  if (extname(path).toLowerCase() === '.csv') {
    const [header, ...rows] = parseCsv(text, path);
    const col = header?.fields.findIndex((f) => f === 'Utterance' || f === 'text') ?? -1;
    if (col < 0)
      throw new EmoflowError('CONFIG_INVALID', `${path}: no 'Utterance' or 'text' column`, { path });
    out = rows.map((r) => r.fields[col] ?? '').filter((s) => s.trim() !== '');
  } else {
    out = text.split(/\r?\n/).filter((s) => s.trim() !== '');
  }
  return out.slice(0, limit);
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/** The first `limit` images of a folder, in name order. */
export async function listImages(dir: string, limit: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => IMAGE_EXT.has(extname(n).toLowerCase())).sort();
  return names.slice(0, limit).map((n) => join(dir, n));
}
