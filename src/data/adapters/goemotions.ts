import { EMOTIONS, type Emotion } from '../../core/labels.js';
import type { TaskSpec } from '../../core/tasks.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import {
  EMOTION_INDEX,
  corpus,
  forEachLine,
  invalidAt,
  locate,
  locatedSource,
  readStrictText,
  type Located,
} from './common.js';

/**
 * GoEmotions, a text emotion corpus of ../shared/data/text (data/README.md "text/",
 * PROVENANCE/text.md): one TSV per split, read with its own 28 labels (`goemotions`) or through its
 * Ekman grouping (`goemotions-ekman`); paths and splits as `locate` says.
 */

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

/** Licence as data/README.md states it, for head.json's training record. */
const LICENCE = 'Apache-2.0';

/** Index into EMOTIONS of each GoEmotions label id (docs/corpora.md, Ekman grouping + neutral). */
const GOEMOTIONS_TO_EMOTION: readonly number[] = GOEMOTIONS_LABELS.map((name) => {
  if (name === 'neutral') return EMOTION_INDEX.get('neutral')!;
  const group = Object.entries(GOEMOTIONS_EKMAN).find(([, names]) => names.includes(name));
  if (group === undefined) throw new Error(`GoEmotions label '${name}' has no Ekman group`);
  return EMOTION_INDEX.get(group[0])!;
});

const DIGITS = /^\d+$/;

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
  return readGoEmotionsAs('goemotions-ekman', path, split, EMOTION_TASK, (labels) => {
    const classes = [...new Set(labels.map((k) => GOEMOTIONS_TO_EMOTION[k]!))];
    const target = new Array<number>(EMOTIONS.length).fill(0);
    for (const c of classes) target[c] = 1 / classes.length;
    return target;
  });
}

/** GoEmotions' own 28 labels as a multi-label task `goemotions` (0/1 per label). */
export async function readGoEmotions(path: string, split: string | undefined): Promise<Corpus> {
  return readGoEmotionsAs('goemotions', path, split, GOEMOTIONS_TASK, (labels) => {
    const target = new Array<number>(GOEMOTIONS_LABELS.length).fill(0);
    for (const k of labels) target[k] = 1;
    return target;
  });
}

/** The corpus with one task, each row's target made from its label ids by `target`. */
async function readGoEmotionsAs(
  adapter: string,
  path: string,
  split: string | undefined,
  task: TaskSpec,
  target: (labels: readonly number[]) => number[],
): Promise<Corpus> {
  const { at, rows } = await readGoEmotionsRows(path, split);
  const samples = rows.map((r): CorpusSample => ({
    id: r.id,
    root: at.root,
    text: r.text,
    labels: { goemotions: r.labels.map((k) => GOEMOTIONS_LABELS[k]!).join(',') },
    targets: { [task.name]: target(r.labels) },
  }));
  return corpus(adapter, at.file, samples, [task], locatedSource(at, 'GoEmotions', LICENCE), split);
}

/** TSV without header: `text<TAB>label ids (comma-separated)<TAB>comment id` (data/README.md). */
async function readGoEmotionsRows(
  path: string,
  split: string | undefined,
): Promise<{ at: Located; rows: GoEmotionsRow[] }> {
  const at = await locate('goemotions', path, split, GOEMOTIONS_FILES);
  const text = await readStrictText(at.file);
  const rows: GoEmotionsRow[] = [];
  const seen = new Map<string, number>();
  forEachLine(text, (line, n) => {
    const t1 = line.indexOf('\t');
    const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
    if (t2 < 0)
      invalidAt(at.file, n, line.length + 1, 'expected 3 tab-separated fields: text, label ids, comment id');
    const extra = line.indexOf('\t', t2 + 1);
    if (extra >= 0) invalidAt(at.file, n, extra + 1, 'more than 3 tab-separated fields');
    const labels: number[] = [];
    let from = t1 + 1;
    for (const part of line.slice(t1 + 1, t2).split(',')) {
      const k = DIGITS.test(part) ? Number(part) : -1;
      if (k < 0 || k >= GOEMOTIONS_LABELS.length) {
        invalidAt(
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
    if (id === '') invalidAt(at.file, n, t2 + 2, 'the comment id is empty');
    const first = seen.get(id);
    if (first !== undefined) invalidAt(at.file, n, t2 + 2, `comment id '${id}' repeats line ${first}`);
    seen.set(id, n);
    rows.push({ id, text: line.slice(0, t1), labels });
  });
  return { at, rows };
}
