import { EmoflowError } from '../../core/errors.js';
import { regressionTask, type TaskSpec } from '../../core/tasks.js';
import { AROUSAL_TASK, VALENCE_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { corpus, locate, locatedSource, readStrictText } from './common.js';
import { readTable, type Table } from './tables.js';

/**
 * EmoBank, a text corpus of valence, arousal and dominance scores in ../shared/data/text
 * (data/README.md "text/", PROVENANCE/text.md): one CSV whose `split` column names each row's split.
 */

/** EmoBank's dominance, mapped like valence and arousal (docs/corpora.md). */
export const DOMINANCE_TASK: TaskSpec = regressionTask('dominance');

/** Licence as data/README.md states it, for head.json's training record. */
const LICENCE = 'CC BY-SA 4.0';

const EMOBANK_COLUMNS = ['id', 'split', 'V', 'A', 'D', 'text'] as const;

/**
 * EmoBank `emobank.csv` (`id,split,V,A,D,text`; a folder means its `emobank.csv`). `#train` /
 * `#dev` keep the rows whose `split` column says so, no split keeps every row. Tasks valence,
 * arousal, dominance: the 1..5 scores mapped by (x - 3) / 2 (docs/corpora.md); a score outside 1..5
 * is MANIFEST_INVALID rather than a target outside the task's range.
 */
export async function readEmoBank(path: string, split: string | undefined): Promise<Corpus> {
  const at = await locate('emobank', path, undefined, { all: 'emobank.csv' });
  const text = await readStrictText(at.file);
  const table: Table<typeof EMOBANK_COLUMNS> = readTable(text, at.file, EMOBANK_COLUMNS);
  const [cId, cSplit, cV, cA, cD, cText] = table.columns;
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
      root: at.root,
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
  return corpus(
    'emobank',
    at.file,
    samples,
    [VALENCE_TASK, AROUSAL_TASK, DOMINANCE_TASK],
    locatedSource({ ...at, split }, 'EmoBank', LICENCE),
    split,
  );
}
