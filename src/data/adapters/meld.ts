import { EMOTIONS } from '../../core/labels.js';
import { classificationTask, type TaskSpec } from '../../core/tasks.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { EMOTION_INDEX, corpus, locate, locatedSource, oneHot, readStrictText } from './common.js';
import { readTable, type Table } from './tables.js';

/**
 * MELD, a text emotion corpus of ../shared/data/text (data/README.md "text/", PROVENANCE/text.md):
 * one CSV per split; paths and splits as `locate` says.
 */

/** MELD's sentiment annotation (data/README.md): three classes, alphabetical. */
export const MELD_SENTIMENT_TASK: TaskSpec = classificationTask('sentiment', [
  'negative',
  'neutral',
  'positive',
]);

/** Licence as data/README.md states it, for head.json's training record. */
const LICENCE = 'GPL-3.0';

const SENTIMENT_INDEX: ReadonlyMap<string, number> = new Map(
  ['negative', 'neutral', 'positive'].map((s, i) => [s, i]),
);

const DIGITS = /^\d+$/;

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
  const text = await readStrictText(at.file);
  const table: Table<typeof MELD_COLUMNS> = readTable(text, at.file, MELD_COLUMNS);
  const [cUtt, cSpeaker, cEmotion, cSentiment, cDialogue, cUtterance] = table.columns;
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
      root: at.root,
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
  return corpus(
    'meld',
    at.file,
    samples,
    [EMOTION_TASK, MELD_SENTIMENT_TASK],
    locatedSource(at, 'MELD', LICENCE),
    split,
  );
}
