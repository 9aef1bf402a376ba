import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import { EMOTIONS, type Emotion } from '../../core/labels.js';
import { classificationTask, regressionTask, type TaskSpec } from '../../core/tasks.js';
import { readInput } from '../../io/paths.js';
import { firstInvalidUtf8 } from '../../io/text.js';
import { AROUSAL_TASK, EMOTION_TASK, VALENCE_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { parseCsv, type CsvRow } from '../csv.js';

/**
 * Adapters for the text emotion corpora of ../shared/data/text (data/README.md "text/",
 * PROVENANCE/text.md). Text is inline, so every sample's `root` is the corpus file's folder.
 *
 * Paths and splits, the same for every file-per-split corpus (MELD, GoEmotions, dair, EmoryNLP):
 * - a file: read as is; a `#split`, when given, must agree with the file name if the name is one
 *   of the corpus's own (`meld:…/train_sent_emo.csv#dev` is CONFIG_INVALID); any other file name
 *   takes the split as given;
 * - a folder: `#split` names the file (`meld:…/meld#dev` reads `dev_sent_emo.csv`).
 * The split (given, or read from the file name) tags groups and `source.split`.
 */
export type TextAdapter = (path: string, split: string | undefined) => Promise<Corpus>;

/** MELD's sentiment annotation (data/README.md): three classes, alphabetical. */
export const MELD_SENTIMENT_TASK: TaskSpec = classificationTask('sentiment', [
  'negative',
  'neutral',
  'positive',
]);

/** EmoBank's dominance, mapped like valence and arousal (docs/corpora.md). */
export const DOMINANCE_TASK: TaskSpec = regressionTask('dominance');

/**
 * The 28 GoEmotions labels in the order of the corpus's `emotions.txt`: the TSV's label ids index
 * this list. Embedded so that a TSV path alone is enough; a test checks it equals the file.
 */
export const GOEMOTIONS_LABELS = [
  'admiration',
  'amusement',
  'anger',
  'annoyance',
  'approval',
  'caring',
  'confusion',
  'curiosity',
  'desire',
  'disappointment',
  'disapproval',
  'disgust',
  'embarrassment',
  'excitement',
  'fear',
  'gratitude',
  'grief',
  'joy',
  'love',
  'nervousness',
  'optimism',
  'pride',
  'realization',
  'relief',
  'remorse',
  'sadness',
  'surprise',
  'neutral',
] as const;

/**
 * The corpus's Ekman grouping, as in its `ekman_mapping.json` (same keys and lists; a test checks
 * it). `neutral` is not in the file: it maps to our `neutral` (docs/corpora.md).
 */
export const GOEMOTIONS_EKMAN: Readonly<Record<Exclude<Emotion, 'neutral'>, readonly string[]>> = {
  anger: ['anger', 'annoyance', 'disapproval'],
  disgust: ['disgust'],
  fear: ['fear', 'nervousness'],
  joy: [
    'joy',
    'amusement',
    'approval',
    'excitement',
    'gratitude',
    'love',
    'optimism',
    'relief',
    'pride',
    'admiration',
    'desire',
    'caring',
  ],
  sadness: ['sadness', 'disappointment', 'embarrassment', 'grief', 'remorse'],
  surprise: ['surprise', 'realization', 'confusion', 'curiosity'],
};

export const GOEMOTIONS_TASK: TaskSpec = {
  name: 'goemotions',
  type: 'multilabel',
  labels: [...GOEMOTIONS_LABELS],
  weight: 1,
};

/** Licences as data/README.md states them, for head.json's training record. */
const LICENCE = {
  meld: 'GPL-3.0',
  goemotions: 'Apache-2.0',
  emobank: 'CC BY-SA 4.0',
  dair: 'research/education use only (dair-ai README; no open licence)',
  emorynlp: 'Apache-2.0',
} as const;

const EMOTION_INDEX: ReadonlyMap<string, number> = new Map(EMOTIONS.map((e, i) => [e, i]));
const SENTIMENT_INDEX: ReadonlyMap<string, number> = new Map(
  ['negative', 'neutral', 'positive'].map((s, i) => [s, i]),
);

/** Index into EMOTIONS of each GoEmotions label id (docs/corpora.md, Ekman grouping + neutral). */
const GOEMOTIONS_TO_EMOTION: readonly number[] = GOEMOTIONS_LABELS.map((name) => {
  if (name === 'neutral') return EMOTION_INDEX.get('neutral')!;
  const group = Object.entries(GOEMOTIONS_EKMAN).find(([, names]) => names.includes(name));
  if (group === undefined) throw new Error(`GoEmotions label '${name}' has no Ekman group`);
  return EMOTION_INDEX.get(group[0])!;
});

/** dair (CARER) labels -> index into EMOTIONS (docs/corpora.md: love -> joy). */
const DAIR_TO_EMOTION: ReadonlyMap<string, number> = new Map(
  (
    [
      ['sadness', 'sadness'],
      ['joy', 'joy'],
      ['love', 'joy'],
      ['anger', 'anger'],
      ['fear', 'fear'],
      ['surprise', 'surprise'],
    ] as const
  ).map(([label, emotion]) => [label, EMOTION_INDEX.get(emotion)!]),
);

/**
 * EmoryNLP labels -> index into EMOTIONS, or null for the labels docs/corpora.md drops from the
 * emotion task (Peaceful, Powerful).
 */
const EMORYNLP_TO_EMOTION: ReadonlyMap<string, number | null> = new Map([
  ['Joyful', EMOTION_INDEX.get('joy')!],
  ['Mad', EMOTION_INDEX.get('anger')!],
  ['Scared', EMOTION_INDEX.get('fear')!],
  ['Sad', EMOTION_INDEX.get('sadness')!],
  ['Neutral', EMOTION_INDEX.get('neutral')!],
  ['Peaceful', null],
  ['Powerful', null],
]);

const DIGITS = /^\d+$/;

// ---------------------------------------------------------------------------------------------
// MELD

const MELD_FILES = { train: 'train_sent_emo.csv', dev: 'dev_sent_emo.csv', test: 'test_sent_emo.csv' };
const MELD_COLUMNS = ['Utterance', 'Speaker', 'Emotion', 'Sentiment', 'Dialogue_ID', 'Utterance_ID'] as const;

/**
 * MELD `*_sent_emo.csv` (CSV, CRLF, header; data/README.md). Tasks `emotion` (MELD uses our
 * seven names) and `sentiment`. id `<file stem>/<Dialogue_ID>_<Utterance_ID>`, group
 * `meld-<split>-<Dialogue_ID>`, order = Utterance_ID as written: MELD left gaps where it dropped
 * utterances (train dialogue 1 has 0..5, 8), and the gaps are kept.
 */
export async function readMeld(path: string, split: string | undefined): Promise<Corpus> {
  const at = await locate('meld', path, split, MELD_FILES);
  const text = await readText(at.file);
  const table: Table<typeof MELD_COLUMNS> = readTable(text, at.file, MELD_COLUMNS);
  const [cUtt, cSpeaker, cEmotion, cSentiment, cDialogue, cUtterance] = table.columns;
  const root = dirname(resolve(at.file));
  const seen = new Map<string, number>();
  const samples = table.rows.map((row): CorpusSample => {
    const field = (k: number): string => row.fields[k]!;
    const emotion = field(cEmotion);
    const e = EMOTION_INDEX.get(emotion);
    if (e === undefined)
      table.invalid(row, cEmotion, `unknown emotion '${emotion}' (MELD labels: ${EMOTIONS.join(', ')})`);
    const sentiment = field(cSentiment);
    const s = SENTIMENT_INDEX.get(sentiment);
    if (s === undefined)
      table.invalid(row, cSentiment, `unknown sentiment '${sentiment}' (negative, neutral, positive)`);
    const dialogue = field(cDialogue);
    if (!DIGITS.test(dialogue)) table.invalid(row, cDialogue, `Dialogue_ID '${dialogue}' is not an integer`);
    const utterance = field(cUtterance);
    if (!DIGITS.test(utterance))
      table.invalid(row, cUtterance, `Utterance_ID '${utterance}' is not an integer`);
    const key = `${Number(dialogue)}_${Number(utterance)}`;
    const first = seen.get(key);
    if (first !== undefined)
      table.invalid(row, cDialogue, `dialogue ${dialogue}, utterance ${utterance} repeats line ${first}`);
    seen.set(key, row.line);
    const sample: CorpusSample = {
      id: `${at.stem}/${key}`,
      root,
      text: field(cUtt),
      group: `meld-${at.tag}-${Number(dialogue)}`,
      order: Number(utterance),
      labels: { emotion, sentiment },
      targets: { emotion: oneHot(EMOTIONS.length, e), sentiment: oneHot(3, s) },
    };
    const speaker = field(cSpeaker);
    if (speaker !== '') sample.speaker = speaker;
    return sample;
  });
  return corpus('meld', 'MELD', LICENCE.meld, at, split, samples, [EMOTION_TASK, MELD_SENTIMENT_TASK]);
}

// ---------------------------------------------------------------------------------------------
// GoEmotions

const GOEMOTIONS_FILES = { train: 'train.tsv', dev: 'dev.tsv', test: 'test.tsv' };

interface GoEmotionsRow {
  id: string;
  text: string;
  /** Distinct label ids, in the order written. */
  labels: number[];
}

/**
 * GoEmotions mapped to the shared labels through its Ekman grouping (docs/corpora.md). A row with
 * several labels becomes a soft target: each distinct Ekman class that its labels map to gets
 * equal mass, so labels that map to the same class count once (`amusement,joy` -> joy 1;
 * `anger,joy` -> anger 0.5, joy 0.5; `joy,neutral` -> joy 0.5, neutral 0.5).
 */
export async function readGoEmotionsEkman(path: string, split: string | undefined): Promise<Corpus> {
  const { at, rows } = await readGoEmotionsRows(path, split);
  const root = dirname(resolve(at.file));
  const samples = rows.map((r): CorpusSample => {
    const classes = [...new Set(r.labels.map((k) => GOEMOTIONS_TO_EMOTION[k]!))];
    const target = new Array<number>(EMOTIONS.length).fill(0);
    for (const c of classes) target[c] = 1 / classes.length;
    return {
      id: r.id,
      root,
      text: r.text,
      labels: { goemotions: r.labels.map((k) => GOEMOTIONS_LABELS[k]!).join(',') },
      targets: { emotion: target },
    };
  });
  return corpus('goemotions-ekman', 'GoEmotions', LICENCE.goemotions, at, split, samples, [EMOTION_TASK]);
}

/** GoEmotions' own 28 labels as a multi-label task `goemotions` (0/1 per label). */
export async function readGoEmotions(path: string, split: string | undefined): Promise<Corpus> {
  const { at, rows } = await readGoEmotionsRows(path, split);
  const root = dirname(resolve(at.file));
  const samples = rows.map((r): CorpusSample => {
    const target = new Array<number>(GOEMOTIONS_LABELS.length).fill(0);
    for (const k of r.labels) target[k] = 1;
    return {
      id: r.id,
      root,
      text: r.text,
      labels: { goemotions: r.labels.map((k) => GOEMOTIONS_LABELS[k]!).join(',') },
      targets: { goemotions: target },
    };
  });
  return corpus('goemotions', 'GoEmotions', LICENCE.goemotions, at, split, samples, [GOEMOTIONS_TASK]);
}

/** TSV without header: `text<TAB>label ids (comma-separated)<TAB>comment id` (data/README.md). */
async function readGoEmotionsRows(
  path: string,
  split: string | undefined,
): Promise<{ at: Located; rows: GoEmotionsRow[] }> {
  const at = await locate('goemotions', path, split, GOEMOTIONS_FILES);
  const text = await readText(at.file);
  const rows: GoEmotionsRow[] = [];
  const seen = new Map<string, number>();
  forEachLine(text, (line, n) => {
    const t1 = line.indexOf('\t');
    const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
    if (t2 < 0)
      invalid(at.file, n, line.length + 1, 'expected 3 tab-separated fields: text, label ids, comment id');
    const extra = line.indexOf('\t', t2 + 1);
    if (extra >= 0) invalid(at.file, n, extra + 1, 'more than 3 tab-separated fields');
    const labels: number[] = [];
    let from = t1 + 1;
    for (const part of line.slice(t1 + 1, t2).split(',')) {
      const k = DIGITS.test(part) ? Number(part) : -1;
      if (k < 0 || k >= GOEMOTIONS_LABELS.length) {
        invalid(
          at.file,
          n,
          from + 1,
          `label id '${part}' is not an index into the ${GOEMOTIONS_LABELS.length} GoEmotions labels (0..${GOEMOTIONS_LABELS.length - 1})`,
        );
      }
      if (!labels.includes(k)) labels.push(k);
      from += part.length + 1;
    }
    const id = line.slice(t2 + 1);
    if (id === '') invalid(at.file, n, t2 + 2, 'the comment id is empty');
    const first = seen.get(id);
    if (first !== undefined) invalid(at.file, n, t2 + 2, `comment id '${id}' repeats line ${first}`);
    seen.set(id, n);
    rows.push({ id, text: line.slice(0, t1), labels });
  });
  return { at, rows };
}

// ---------------------------------------------------------------------------------------------
// EmoBank

const EMOBANK_COLUMNS = ['id', 'split', 'V', 'A', 'D', 'text'] as const;

/**
 * EmoBank `emobank.csv` (`id,split,V,A,D,text`; a folder means its `emobank.csv`). `#train` /
 * `#dev` keep the rows whose `split` column says so, no split keeps every row. Tasks valence,
 * arousal, dominance: the 1..5 scores mapped by (x - 3) / 2 (docs/corpora.md); a score outside 1..5
 * is MANIFEST_INVALID rather than a target outside the task's range.
 */
export async function readEmoBank(path: string, split: string | undefined): Promise<Corpus> {
  const at = await locate('emobank', path, undefined, { all: 'emobank.csv' });
  const text = await readText(at.file);
  const table: Table<typeof EMOBANK_COLUMNS> = readTable(text, at.file, EMOBANK_COLUMNS);
  const [cId, cSplit, cV, cA, cD, cText] = table.columns;
  const root = dirname(resolve(at.file));
  const seen = new Map<string, number>();
  const splits = new Set<string>();
  const samples: CorpusSample[] = [];
  for (const row of table.rows) {
    const field = (k: number): string => row.fields[k]!;
    const score = (k: number, name: string): number => {
      const raw = field(k);
      const x = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(x)) table.invalid(row, k, `${name} '${raw}' is not a number`);
      if (x < 1 || x > 5) table.invalid(row, k, `${name} ${raw} is outside EmoBank's 1..5 scale`);
      return x;
    };
    const id = field(cId);
    if (id === '') table.invalid(row, cId, 'the id is empty');
    const first = seen.get(id);
    if (first !== undefined) table.invalid(row, cId, `id '${id}' repeats line ${first}`);
    seen.set(id, row.line);
    const v = score(cV, 'V');
    const a = score(cA, 'A');
    const d = score(cD, 'D');
    const rowSplit = field(cSplit);
    splits.add(rowSplit);
    if (split !== undefined && rowSplit !== split) continue;
    samples.push({
      id,
      root,
      text: field(cText),
      labels: { split: rowSplit, V: v, A: a, D: d },
      targets: { valence: (v - 3) / 2, arousal: (a - 3) / 2, dominance: (d - 3) / 2 },
    });
  }
  if (split !== undefined && samples.length === 0) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `emobank: no row of ${at.file} has split '${split}' (splits there: ${[...splits].sort().join(', ') || 'none'})`,
    );
  }
  const located: Located = { ...at, split, tag: split ?? at.tag };
  return corpus('emobank', 'EmoBank', LICENCE.emobank, located, split, samples, [
    VALENCE_TASK,
    AROUSAL_TASK,
    DOMINANCE_TASK,
  ]);
}

// ---------------------------------------------------------------------------------------------
// dair-ai emotion (CARER)

/** `dev` is accepted for the corpus's `val.txt`, like the other corpora's dev splits. */
const DAIR_FILES = { train: 'train.txt', val: 'val.txt', dev: 'val.txt', test: 'test.txt' };

/**
 * dair-ai emotion `train.txt` / `val.txt`: lines `text;label` (data/README.md). The label is after
 * the last `;`, so a text may hold `;`. Task `emotion` (love -> joy, docs/corpora.md). id
 * `<file stem>/<line>`: the corpus has no ids.
 */
export async function readDair(path: string, split: string | undefined): Promise<Corpus> {
  const at = await locate('dair', path, split, DAIR_FILES);
  const text = await readText(at.file);
  const root = dirname(resolve(at.file));
  const samples: CorpusSample[] = [];
  forEachLine(text, (line, n) => {
    const cut = line.lastIndexOf(';');
    if (cut < 0) invalid(at.file, n, line.length + 1, "no ';label' at the end of the line");
    const label = line.slice(cut + 1);
    const e = DAIR_TO_EMOTION.get(label);
    if (e === undefined)
      invalid(
        at.file,
        n,
        cut + 2,
        `unknown label '${label}' (dair labels: ${[...DAIR_TO_EMOTION.keys()].join(', ')})`,
      );
    samples.push({
      id: `${at.stem}/${n}`,
      root,
      text: line.slice(0, cut),
      labels: { emotion: label },
      targets: { emotion: oneHot(EMOTIONS.length, e) },
    });
  });
  return corpus('dair', 'dair-ai emotion (CARER)', LICENCE.dair, at, split, samples, [EMOTION_TASK]);
}

// ---------------------------------------------------------------------------------------------
// EmoryNLP

const EMORYNLP_FILES = {
  train: 'train_data.dag-erc.json',
  dev: 'dev_data.dag-erc.json',
  test: 'test_data.dag-erc.json',
};

/**
 * EmoryNLP in the DAG-ERC release (`*_data.dag-erc.json`: a list of scenes, each a list of
 * `{text, speaker, label}`; data/README.md). Task `emotion` with docs/corpora.md's mapping. Peaceful
 * and Powerful utterances have no emotion class: they are kept without an `emotion` target (no
 * other task here, so they train nothing, but `features` and `ingest` still see every utterance
 * and the scenes stay whole for context). id `<file stem>/<scene>_<position>`, group
 * `emorynlp-<split>-<scene index>`, order = position in the scene; a speaker list gives its first.
 */
export async function readEmoryNlp(path: string, split: string | undefined): Promise<Corpus> {
  const at = await locate('emorynlp', path, split, EMORYNLP_FILES);
  const text = await readText(at.file);
  let scenes: unknown;
  try {
    scenes = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const pos = JSON_POSITION.exec(message);
    const offset = pos !== null ? Number(pos[1]) : jsonSyntaxErrorOffset(text);
    const { line, column } = lineColumn(text, offset);
    invalid(at.file, line, column, `not valid JSON: ${message}`);
  }
  function bad(where: readonly (number | string)[], what: string): never {
    const { line, column } = lineColumn(text, jsonValueOffset(text, where));
    return invalid(at.file, line, column, what);
  }
  if (!Array.isArray(scenes)) bad([], 'expected a list of scenes (lists of {text, speaker, label})');
  const root = dirname(resolve(at.file));
  const samples: CorpusSample[] = [];
  (scenes as unknown[]).forEach((scene, s) => {
    if (!Array.isArray(scene)) bad([s], `scene ${s}: expected a list of utterances`);
    (scene as unknown[]).forEach((u, k) => {
      const where = `scene ${s}, utterance ${k}`;
      if (u === null || typeof u !== 'object' || Array.isArray(u))
        bad([s, k], `${where}: expected an object {text, speaker, label}`);
      const utt = u as Record<string, unknown>;
      for (const key of ['text', 'speaker', 'label']) {
        if (!(key in utt)) bad([s, k], `${where}: no '${key}'`);
      }
      if (typeof utt['text'] !== 'string') bad([s, k, 'text'], `${where}: 'text' must be a string`);
      if (typeof utt['label'] !== 'string') bad([s, k, 'label'], `${where}: 'label' must be a string`);
      const speakers = utt['speaker'];
      const speaker = Array.isArray(speakers) ? (speakers as unknown[])[0] : speakers;
      if (typeof speaker !== 'string')
        bad([s, k, 'speaker'], `${where}: 'speaker' must be a string or a non-empty list of strings`);
      const label = utt['label'];
      const e = EMORYNLP_TO_EMOTION.get(label);
      if (e === undefined)
        bad(
          [s, k, 'label'],
          `${where}: unknown label '${label}' (EmoryNLP labels: ${[...EMORYNLP_TO_EMOTION.keys()].join(', ')})`,
        );
      const sample: CorpusSample = {
        id: `${at.stem}/${s}_${k}`,
        root,
        text: utt['text'],
        group: `emorynlp-${at.tag}-${s}`,
        order: k,
        labels: { emotion: label },
        targets: e === null ? {} : { emotion: oneHot(EMOTIONS.length, e) },
      };
      if (speaker !== '') sample.speaker = speaker;
      samples.push(sample);
    });
  });
  return corpus('emorynlp', 'EmoryNLP', LICENCE.emorynlp, at, split, samples, [EMOTION_TASK]);
}

/** The adapters of this module by their corpus-spec names (docs/corpora.md), for registration. */
export const TEXT_ADAPTERS: Record<string, TextAdapter> = {
  meld: readMeld,
  'goemotions-ekman': readGoEmotionsEkman,
  goemotions: readGoEmotions,
  emobank: readEmoBank,
  dair: readDair,
  emorynlp: readEmoryNlp,
};

// ---------------------------------------------------------------------------------------------
// Files, splits and the Corpus record

interface Located {
  /** The corpus file (the path as given, or joined with the split's file name). */
  file: string;
  /** The file name up to its first dot: the prefix of generated ids. */
  stem: string;
  /** The split, given or read from the file name; undefined when neither says. */
  split: string | undefined;
  /** What groups are tagged with: the split, else the stem. */
  tag: string;
}

/** Resolves a corpus path and split to one file; see the module comment. */
async function locate(
  adapter: string,
  path: string,
  split: string | undefined,
  files: Readonly<Record<string, string>>,
): Promise<Located> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new EmoflowError('FILE_NOT_FOUND', `${path}: no such file or folder`, { path, cause: e });
    throw new EmoflowError('FILE_UNREADABLE', `${path}: ${(e as Error).message}`, { path, cause: e });
  }
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
  return { file, stem, split: effective, tag: effective ?? stem };
}

function corpus(
  adapter: string,
  name: string,
  licence: string,
  at: Located,
  split: string | undefined,
  samples: CorpusSample[],
  tasks: TaskSpec[],
): Corpus {
  return {
    name: `${adapter}:${basename(at.file)}${split === undefined ? '' : `#${split}`}`,
    samples,
    tasks,
    source: {
      corpus: name,
      path: at.file,
      ...(at.split === undefined ? {} : { split: at.split }),
      licence,
    },
  };
}

/** The whole file as strict UTF-8 (a leading BOM dropped); bad bytes are MANIFEST_INVALID. */
async function readText(file: string): Promise<string> {
  const bytes = await readInput(file);
  const bad = firstInvalidUtf8(bytes);
  const decode = (end: number): string => Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
  if (bad >= 0) {
    const before = decode(bad).replace(/^\ufeff/, ''); // columns count from after a BOM, as below
    const { line, column } = lineColumn(before, before.length);
    invalid(
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
function forEachLine(text: string, fn: (line: string, n: number) => void): void {
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

function oneHot(n: number, k: number): number[] {
  const t = new Array<number>(n).fill(0);
  t[k] = 1;
  return t;
}

function invalid(path: string, line: number, column: number, what: string): never {
  throw new EmoflowError('MANIFEST_INVALID', `${path}: line ${line}, column ${column}: ${what}`, { path });
}

/** 1-based line and column (in UTF-16 code units) of a string offset; lines end at LF. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// ---------------------------------------------------------------------------------------------
// CSV with a header row

interface Table<C extends readonly string[]> {
  rows: CsvRow[];
  /** Field index of each required column, in the order asked for. */
  columns: { [K in keyof C]: number };
  /** MANIFEST_INVALID at the start of a row's field (where the row ends, past its last field). */
  invalid: (row: CsvRow, field: number, what: string) => never;
}

/** parseCsv, then checks the header names every required column and each row has its width. */
function readTable<const C extends readonly string[]>(text: string, path: string, required: C): Table<C> {
  const rows = parseCsv(text, path);
  const header = rows.shift();
  if (header === undefined) invalid(path, 1, 1, `the file is empty (a header row is required)`);
  const names = header.fields.map((h) => h.trim());
  const columns = required.map((name) => {
    const k = names.indexOf(name);
    if (k < 0)
      invalid(path, header.line, 1, `the header has no '${name}' column (columns: ${names.join(', ')})`);
    return k;
  }) as { [K in keyof C]: number };
  const at = (row: CsvRow, field: number, what: string): never => {
    const { line, column } = row.starts[field] ?? row.end;
    return invalid(path, line, column, what);
  };
  for (const row of rows) {
    if (row.fields.length !== names.length)
      at(
        row,
        Math.min(row.fields.length, names.length),
        `${row.fields.length} fields where the header has ${names.length}`,
      );
  }
  return { rows, columns, invalid: at };
}

// ---------------------------------------------------------------------------------------------
// JSON positions: JSON.parse says where a syntax error is (in most V8 messages) but not where a
// well-formed value of the wrong shape is, so a small scanner finds both.

const JSON_POSITION = /at position (\d+)/;
const HEX_DIGIT = /^[0-9a-fA-F]$/;
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class JsonSyntax {
  constructor(readonly offset: number) {}
}

/** Offset of the first character that is not valid JSON (V8 sometimes omits the position). */
function jsonSyntaxErrorOffset(text: string): number {
  try {
    const end = skipWhite(text, skipJsonValue(text, 0));
    return end < text.length ? end : text.length;
  } catch (e) {
    if (e instanceof JsonSyntax) return e.offset;
    throw e;
  }
}

/** Offset of the value at `path` (array indices, object keys) in valid JSON text. */
function jsonValueOffset(text: string, path: readonly (number | string)[]): number {
  let i = skipWhite(text, 0);
  for (const step of path) {
    i = skipWhite(text, i + 1); // past '[' or '{'
    if (typeof step === 'number') {
      for (let k = 0; k < step; k++) i = skipWhite(text, skipWhite(text, skipJsonValue(text, i)) + 1);
    } else {
      for (;;) {
        const keyEnd = skipJsonValue(text, i);
        const key = JSON.parse(text.slice(i, keyEnd)) as string;
        i = skipWhite(text, skipWhite(text, keyEnd) + 1); // past ':'
        if (key === step) break;
        i = skipWhite(text, skipWhite(text, skipJsonValue(text, i)) + 1); // past ','
      }
    }
  }
  return i;
}

function skipWhite(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** The offset just after the JSON value at `i` (RFC 8259); JsonSyntax where it goes wrong. */
function skipJsonValue(text: string, i: number): number {
  i = skipWhite(text, i);
  const c = text[i];
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    i = skipWhite(text, i + 1);
    if (text[i] === close) return i + 1;
    for (;;) {
      if (close === '}') {
        if (text[i] !== '"') throw new JsonSyntax(i);
        i = skipWhite(text, skipJsonValue(text, i));
        if (text[i] !== ':') throw new JsonSyntax(i);
        i++;
      }
      i = skipWhite(text, skipJsonValue(text, i));
      if (text[i] === close) return i + 1;
      if (text[i] !== ',') throw new JsonSyntax(i);
      i = skipWhite(text, i + 1);
    }
  }
  if (c === '"') {
    for (i++; i < text.length; i++) {
      const d = text.charCodeAt(i);
      if (d === 0x22) return i + 1;
      if (d < 0x20) throw new JsonSyntax(i);
      if (d === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          for (let k = 2; k < 6; k++) if (!HEX_DIGIT.test(text[i + k] ?? '')) throw new JsonSyntax(i + k);
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else throw new JsonSyntax(i + 1);
      }
    }
    throw new JsonSyntax(text.length);
  }
  for (const word of ['true', 'false', 'null']) if (text.startsWith(word, i)) return i + word.length;
  JSON_NUMBER.lastIndex = i;
  if (JSON_NUMBER.test(text)) return JSON_NUMBER.lastIndex;
  throw new JsonSyntax(i);
}
