import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import { EMOTIONS, NUM_EMOTIONS, type Emotion } from '../../core/labels.js';
import type { TaskSpec } from '../../core/tasks.js';
import { readInput } from '../../io/paths.js';
import { firstInvalidUtf8 } from '../../io/text.js';
import type { Corpus, CorpusSample } from '../corpus.js';
import type { DatasetSource } from '../feature-dataset.js';

/**
 * What the corpus adapters share (one file per corpus beside this one; the registries and the
 * conventions they follow are in index.ts): the Corpus record, targets, MANIFEST_INVALID, splits,
 * and reading corpus folders and files. Positions in CSV and JSON text are in tables.ts.
 */

/** A corpus adapter: a corpus path and its `#split` suffix (docs/corpora.md) to the corpus. */
export type CorpusAdapter = (path: string, split: string | undefined) => Promise<Corpus>;

// ---------------------------------------------------------------------------------------------
// The Corpus record and targets

/**
 * The Corpus record, named `<adapter>:<the file or folder name of path>`, plus `#<split>` when a
 * split was asked for; that split is then also `source.split`.
 */
export function corpus(
  adapter: string,
  path: string,
  samples: CorpusSample[],
  tasks: TaskSpec[],
  source: DatasetSource,
  split?: string,
): Corpus {
  return {
    name: `${adapter}:${basename(path)}${split === undefined ? '' : `#${split}`}`,
    samples,
    tasks,
    source: split === undefined ? source : { ...source, split },
  };
}

/** Sorts samples by id in code-unit order (so that the same folder always gives the same order). */
export function sortById(samples: CorpusSample[]): CorpusSample[] {
  return samples.sort((a, b) => byCodeUnit(a.id, b.id));
}

/** Plain code-unit order: locale-independent, so every machine sorts a folder the same way. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A target of `n` classes, all mass on class `k`. */
export function oneHot(n: number, k: number): number[] {
  const t = new Array<number>(n).fill(0);
  t[k] = 1;
  return t;
}

/** The `emotion` target of one of the seven shared labels. */
export function emotionOneHot(emotion: Emotion): number[] {
  return oneHot(NUM_EMOTIONS, EMOTIONS.indexOf(emotion));
}

/** Index into EMOTIONS of each of the seven shared labels. */
export const EMOTION_INDEX: ReadonlyMap<string, number> = new Map(EMOTIONS.map((e, i) => [e, i]));

/**
 * A sample of one speaker's recording (or one performer's image) at `rel` under `root`: id = `rel`
 * without extension, `speaker` and `group` = `speaker` (the unit of group cross-validation).
 */
export function speakerSample(
  root: string,
  medium: 'audio' | 'image',
  rel: string,
  speaker: string,
  labels: CorpusSample['labels'],
  targets: CorpusSample['targets'],
): CorpusSample {
  return {
    id: stripExtension(rel),
    root,
    ...(medium === 'audio' ? { audio: rel } : { image: rel }),
    speaker,
    group: speaker,
    labels,
    targets,
  };
}

/** A path without its extension (a sample's id from its file: docs/ingest.md). */
export function stripExtension(rel: string): string {
  const ext = extname(rel);
  return ext === '' ? rel : rel.slice(0, -ext.length);
}

// ---------------------------------------------------------------------------------------------
// MANIFEST_INVALID

/** MANIFEST_INVALID: `<shown>: <why>`. */
export function invalid(shown: string, why: string): never {
  throw new EmoflowError('MANIFEST_INVALID', `${shown}: ${why}`, { path: shown });
}

/** MANIFEST_INVALID on a line of a file: `<path>: line <line>: <what>`. */
export function invalidLine(path: string, line: number, what: string): never {
  return invalid(path, `line ${line}: ${what}`);
}

/** MANIFEST_INVALID at a place in a file: `<path>: line <line>, column <column>: <what>`. */
export function invalidAt(path: string, line: number, column: number, what: string): never {
  return invalid(path, `line ${line}, column ${column}: ${what}`);
}

/** 1-based line and column (in UTF-16 code units) of a string offset; lines end at LF. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// ---------------------------------------------------------------------------------------------
// Splits

/** CONFIG_INVALID for a `#split` on a corpus that takes none, saying what to pass `instead`. */
export function refuseSplit(adapter: string, split: string | undefined, instead: string): void {
  if (split === undefined) return;
  throw new EmoflowError(
    'CONFIG_INVALID',
    `${adapter}: a #split suffix ('#${split}') does not apply to this corpus; ${instead}`,
  );
}

/**
 * The samples of a `#split` of a corpus that has no official split but a suggested one by group
 * (data/README.md): `dev` = the samples whose group is in `devGroups`, `train` = every other one, no
 * split = all. Any other split, or one that selects nothing (a partial copy), is CONFIG_INVALID.
 */
export function selectSplit(
  adapter: string,
  split: string | undefined,
  samples: CorpusSample[],
  devGroups: ReadonlySet<string>,
  rule: string,
  shown: string,
): CorpusSample[] {
  if (split === undefined) return samples;
  if (split !== 'train' && split !== 'dev') {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `${adapter}: unknown split '#${split}'; the corpus has no official split: ${rule}, no suffix reads every sample`,
    );
  }
  const kept = samples.filter((s) => devGroups.has(s.group!) === (split === 'dev'));
  if (kept.length === 0) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `${adapter}: ${shown} holds no sample of '#${split}' (${rule})`,
      {
        path: shown,
      },
    );
  }
  return kept;
}

/** A FER folder's split from its name (FER2013Train -> train), for head.json's training record. */
export function splitOf(folderName: string): { split?: string } {
  const m = /^(?:FER2013)?(train|valid|test)$/i.exec(folderName);
  return m === null ? {} : { split: m[1]!.toLowerCase() };
}

/** A corpus file resolved by `locate`. */
export interface Located {
  /** The corpus file (the path as given, or joined with the split's file name). */
  file: string;
  /** The file's folder, absolute: every sample's `root` (the text is inline). */
  root: string;
  /** The file name up to its first dot: the prefix of generated ids. */
  stem: string;
  /** The split, given or read from the file name; undefined when neither says. */
  split: string | undefined;
  /** What groups are tagged with: the split, else the stem. */
  tag: string;
}

/**
 * Resolves the path and split of a file-per-split corpus (MELD, GoEmotions, dair, EmoryNLP; EmoBank
 * with its one file) to one file, given the corpus's file name of each split:
 * - a file: read as is; a `#split`, when given, must agree with the file name if the name is one
 *   of the corpus's own (`meld:…/train_sent_emo.csv#dev` is CONFIG_INVALID); any other file name
 *   takes the split as given;
 * - a folder: `#split` names the file (`meld:…/meld#dev` reads `dev_sent_emo.csv`).
 * The split (given, or read from the file name) tags groups and `source.split`.
 */
export async function locate(
  adapter: string,
  path: string,
  split: string | undefined,
  files: Readonly<Record<string, string>>,
): Promise<Located> {
  const isFolder = (await pathKind(path, path)) === 'dir';
  const names = Object.values(files);
  const choices = Object.keys(files).join(', ');
  let file = path;
  let effective = split;
  if (isFolder) {
    const only = names.length === 1 ? names[0] : undefined;
    const name = only ?? (split === undefined ? undefined : files[split]);
    if (name === undefined) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        split === undefined
          ? `${adapter}: ${path} is a folder: add #<split> (${choices}) or name the file`
          : `${adapter}: no split '${split}' (splits: ${choices})`,
      );
    }
    file = join(path, name);
  } else {
    const base = basename(path);
    if (names.includes(base)) {
      if (split !== undefined && names.length > 1 && files[split] !== base) {
        throw new EmoflowError(
          'CONFIG_INVALID',
          `${adapter}: ${base} is not the '${split}' split (${split in files ? files[split] : `splits: ${choices}`}); drop #${split} or name the right file`,
        );
      }
      if (names.length > 1) effective ??= Object.keys(files).find((k) => files[k] === base);
    }
  }
  const base = basename(file);
  const dot = base.indexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  return { file, root: dirname(resolve(file)), stem, split: effective, tag: effective ?? stem };
}

/** The `source` of a corpus read from a located file: its split when it has one. */
export function locatedSource(at: Located, corpusName: string, licence: string): DatasetSource {
  return {
    corpus: corpusName,
    path: at.file,
    ...(at.split === undefined ? {} : { split: at.split }),
    licence,
  };
}

// ---------------------------------------------------------------------------------------------
// Folders and files

/** A folder entry of `listFolder`. */
export interface Entry {
  name: string;
  dir: boolean;
}

/** Whether a path is a folder or something else; FILE_NOT_FOUND / FILE_UNREADABLE name `shown`. */
export async function pathKind(full: string, shown: string): Promise<'dir' | 'file'> {
  try {
    return (await stat(full)).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new EmoflowError('FILE_NOT_FOUND', `${shown}: no such file or folder`, { path: shown, cause: e });
    throw new EmoflowError('FILE_UNREADABLE', `${shown}: ${(e as Error).message}`, { path: shown, cause: e });
  }
}

/** CONFIG_INVALID unless the path is a folder, saying that the adapter takes `expected`. */
export async function requireFolder(
  full: string,
  shown: string,
  adapter: string,
  expected: string,
): Promise<void> {
  if ((await pathKind(full, shown)) !== 'dir')
    throw new EmoflowError('CONFIG_INVALID', `${adapter}: ${shown} is not a folder; pass ${expected}`, {
      path: shown,
    });
}

/** The non-hidden entries of a folder (docs/ingest.md), sorted; symlinks count as what they point to. */
export async function listFolder(full: string, shown: string): Promise<Entry[]> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(full, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new EmoflowError('FILE_NOT_FOUND', `${shown}: no such folder`, { path: shown, cause: e });
    throw new EmoflowError('FILE_UNREADABLE', `${shown}: ${(e as Error).message}`, { path: shown, cause: e });
  }
  const out: Entry[] = [];
  for (const d of dirents) {
    if (d.name.startsWith('.')) continue;
    let dir = d.isDirectory();
    if (d.isSymbolicLink()) {
      // A dangling link stays a file: reading it fails that sample alone (FILE_NOT_FOUND), later.
      dir = await stat(join(full, d.name)).then(
        (s) => s.isDirectory(),
        () => false,
      );
    }
    out.push({ name: d.name, dir });
  }
  return out.sort((a, b) => byCodeUnit(a.name, b.name));
}

/** How a corpus kept in one folder per speaker (RAVDESS, EMOVO) is laid out, for `forEachSpeakerFile`. */
export interface SpeakerFolders {
  /** The speaker a folder name stands for (RAVDESS `Actor_01`: '01'), undefined when it names none. */
  speakerOf: (folderName: string) => string | undefined;
  /** Why an entry of the corpus folder that is not a speaker folder is MANIFEST_INVALID. */
  notSpeakerFolder: string;
  /** Why a corpus folder without speaker folders is MANIFEST_INVALID. */
  noSpeakerFolder: string;
  /** Why a folder inside a speaker folder is MANIFEST_INVALID. */
  nestedFolder: string;
}

/**
 * Calls `fn` for each file of a corpus kept in one folder per speaker, folder by folder in name
 * order, with its path relative to `root` and its folder's speaker. `root` (shown as `path`) is the
 * corpus folder of speaker folders, or one speaker folder (when its name is one).
 */
export async function forEachSpeakerFile(
  root: string,
  path: string,
  layout: SpeakerFolders,
  fn: (file: { rel: string; name: string; speaker: string }) => void,
): Promise<void> {
  const folders: { rel: string; speaker: string }[] = [];
  const single = layout.speakerOf(basename(root));
  if (single !== undefined) {
    folders.push({ rel: '', speaker: single });
  } else {
    for (const e of await listFolder(root, path)) {
      const speaker = e.dir ? layout.speakerOf(e.name) : undefined;
      if (speaker === undefined) invalid(join(path, e.name), layout.notSpeakerFolder);
      folders.push({ rel: e.name, speaker });
    }
    if (folders.length === 0) invalid(path, layout.noSpeakerFolder);
  }
  for (const folder of folders) {
    for (const e of await listFolder(join(root, folder.rel), join(path, folder.rel))) {
      const rel = folder.rel === '' ? e.name : `${folder.rel}/${e.name}`;
      if (e.dir) invalid(join(path, rel), layout.nestedFolder);
      fn({ rel, name: e.name, speaker: folder.speaker });
    }
  }
}

/**
 * A corpus's label file or manifest as UTF-8 (bad bytes decode to U+FFFD, a BOM is kept).
 * FILE_NOT_FOUND says `hint` (what the folder should hold) when given, else the system's message;
 * any other failure is FILE_UNREADABLE.
 */
export async function readCorpusText(full: string, shown: string, hint?: string): Promise<string> {
  try {
    return await readFile(full, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const what = hint === undefined ? (e as Error).message : `no such file (${hint})`;
      throw new EmoflowError('FILE_NOT_FOUND', `${shown}: ${what}`, { path: shown, cause: e });
    }
    throw new EmoflowError('FILE_UNREADABLE', `${shown}: ${(e as Error).message}`, { path: shown, cause: e });
  }
}

/**
 * A whole corpus file as strict UTF-8 (a leading BOM dropped), read as an input file (regular
 * files only: `readInput`); bad bytes are MANIFEST_INVALID at their line and column.
 */
export async function readStrictText(file: string): Promise<string> {
  const bytes = await readInput(file);
  const bad = firstInvalidUtf8(bytes);
  const decode = (end: number): string => Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
  if (bad >= 0) {
    const before = decode(bad).replace(/^\ufeff/, ''); // columns count from after a BOM, as parseCsv's
    const { line, column } = lineColumn(before, before.length);
    invalidAt(
      file,
      line,
      column,
      `not valid UTF-8 at byte offset ${bad} (0x${bytes[bad]!.toString(16).padStart(2, '0')}); save the file as UTF-8`,
    );
  }
  const text = decode(bytes.length);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Calls `fn` for each non-empty line (LF or CRLF) with its 1-based line number. */
export function forEachLine(text: string, fn: (line: string, n: number) => void): void {
  let start = 0;
  let n = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    n++;
    const line = text.slice(start, end > start && text[end - 1] === '\r' ? end - 1 : end);
    if (line !== '') fn(line, n);
    start = end + 1;
  }
}

/** A corpus given as its folder or as the label file in it (FER+ label.csv, TCCE labels.csv). */
export interface LabelledFolder {
  /** The folder of the media, absolute: the samples' root. */
  folder: string;
  /** The folder as shown in messages. */
  shownFolder: string;
  /** The label file, absolute. */
  file: string;
  /** The label file as shown in messages. */
  shownFile: string;
}

/** Resolves `path` (a folder holding `fileName`, or that file) to the folder and the label file. */
export async function labelledFolder(path: string, fileName: string): Promise<LabelledFolder> {
  const full = resolve(path);
  return (await pathKind(full, path)) === 'dir'
    ? { folder: full, shownFolder: path, file: join(full, fileName), shownFile: join(path, fileName) }
    : { folder: dirname(full), shownFolder: dirname(path), file: full, shownFile: path };
}

/** How `requireListedExactly` names a corpus's files in its messages. */
export interface ListingTerms {
  /** The corpus's name ('FER+'). */
  corpus: string;
  /** The label file's name ('label.csv'). */
  labels: string;
  /** One listed file ('PNG'); `${item}s` for several. */
  item: string;
  /** The listed files in general ('images'). */
  media: string;
}

/**
 * A label file and its folder must list the same files, as in the staged corpora: the first row
 * naming a file the folder lacks (`missing`, in row order), else the first file of the folder no
 * row names, is MANIFEST_INVALID naming it and the count, since either means a partial or mixed
 * copy whose figures would silently differ. `listed` maps each listed name to its line.
 */
export function requireListedExactly(
  at: LabelledFolder,
  terms: ListingTerms,
  missing: readonly { line: number; name: string }[],
  listed: ReadonlyMap<string, number>,
  files: Iterable<string>,
): void {
  const firstMissing = missing[0];
  if (firstMissing !== undefined) {
    invalid(
      at.shownFile,
      `line ${firstMissing.line}: ${firstMissing.name} is not in ${at.shownFolder} (${missing.length} of ${listed.size} rows name a missing ${terms.item}); copy the whole folder, or pass the ${terms.labels} that goes with these ${terms.media}`,
    );
  }
  const unlisted = [...files].filter((n) => !listed.has(n)).sort(byCodeUnit);
  if (unlisted[0] !== undefined) {
    invalid(
      join(at.shownFolder, unlisted[0]),
      `not listed in ${at.shownFile} (${unlisted.length} ${terms.item}s of the folder have no row); a ${terms.corpus} folder holds exactly the ${terms.media} its ${terms.labels} lists`,
    );
  }
}
