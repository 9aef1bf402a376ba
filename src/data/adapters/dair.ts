import { EMOTIONS } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import {
  EMOTION_INDEX,
  corpus,
  forEachLine,
  invalidAt,
  locate,
  locatedSource,
  oneHot,
  readStrictText,
} from './common.js';

/**
 * dair-ai emotion (CARER), a text emotion corpus of ../shared/data/text (data/README.md "text/",
 * PROVENANCE/text.md): one `text;label` file per split; paths and splits as `locate` says.
 */

/** Licence as data/README.md states it, for head.json's training record. */
const LICENCE = 'research/education use only (dair-ai README; no open licence)';

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

/** `dev` is accepted for the corpus's `val.txt`, like the other corpora's dev splits. */
const DAIR_FILES = { train: 'train.txt', val: 'val.txt', dev: 'val.txt', test: 'test.txt' };

/**
 * dair-ai emotion `train.txt` / `val.txt`: lines `text;label` (data/README.md). The label is after
 * the last `;`, so a text may hold `;`. Task `emotion` (love -> joy, docs/corpora.md). id
 * `<file stem>/<line>`: the corpus has no ids.
 */
export async function readDair(path: string, split: string | undefined): Promise<Corpus> {
  const at = await locate('dair', path, split, DAIR_FILES);
  const text = await readStrictText(at.file);
  const samples: CorpusSample[] = [];
  forEachLine(text, (line, n) => {
    const cut = line.lastIndexOf(';');
    if (cut < 0) invalidAt(at.file, n, line.length + 1, "no ';label' at the end of the line");
    const label = line.slice(cut + 1);
    const e = DAIR_TO_EMOTION.get(label);
    if (e === undefined)
      invalidAt(
        at.file,
        n,
        cut + 2,
        `unknown label '${label}' (dair labels: ${[...DAIR_TO_EMOTION.keys()].join(', ')})`,
      );
    samples.push({
      id: `${at.stem}/${n}`,
      root: at.root,
      text: line.slice(0, cut),
      labels: { emotion: label },
      targets: { emotion: oneHot(EMOTIONS.length, e) },
    });
  });
  return corpus(
    'dair',
    at.file,
    samples,
    [EMOTION_TASK],
    locatedSource(at, 'dair-ai emotion (CARER)', LICENCE),
    split,
  );
}
