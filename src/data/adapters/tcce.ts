import { basename, extname, join } from 'node:path';
import { EMOTIONS, type Emotion } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { parseCsv } from '../csv.js';
import {
  corpus,
  emotionOneHot,
  invalid,
  labelledFolder,
  listFolder,
  readCorpusText,
  requireListedExactly,
  selectSplit,
  sortById,
  speakerSample,
  stripExtension,
} from './common.js';

/**
 * TCCE facial expressions of professional performers, a face emotion corpus of ../shared/data
 * (data/README.md "face/", PROVENANCE/tcce_performers.md): images named by performer and intended
 * expression, and labels.csv; the conventions of index.ts. No official split, but data/README.md
 * suggests one by performer, which `#train` / `#dev` select.
 */

/** Licence: data/README.md and PROVENANCE/tcce_performers.md. */
const LICENCE =
  'no licence stated: research-only database (TCCE performers, Chen, Cho & Tseng 2013, Chinese Journal of Psychology 55(4), doi:10.6129/CJP.20130314); never redistribute or ship the images';

/** TCCE intended-expression letters (data/README.md "face/", PROVENANCE/tcce_performers.md). */
const TCCE_EXPRESSIONS: Record<string, Emotion> = {
  a: 'neutral',
  b: 'joy',
  c: 'sadness',
  d: 'anger',
  e: 'disgust',
  f: 'fear',
  g: 'surprise',
};

/** Performance types T (Chen, Cho & Tseng 2013): how the performer produced the expression. */
const TCCE_TYPES = ['calm', 'theatrical', 'ekman-facs', 'personal-event'] as const;
const TCCE_FORMAT =
  'PPTVEnn.jpg: performer PP (01-30), type T (0 calm, 1 theatrical, 2 Ekman FACS, 3 personal event), view V (1 front), expression E (a neutral, b joy, c sadness, d anger, e disgust, f fear, g surprise), serial nn';
const TCCE_LABELS = 'labels.csv';
const TCCE_COLUMNS = [
  'file',
  'performer',
  'performance_type',
  'intended',
  'observer_top',
  'observer_top_share',
] as const;
/** data/README.md's suggested split: performers 25-30 for dev (123 images). */
const TCCE_DEV = new Set(['25', '26', '27', '28', '29', '30'].map((p) => `tcce-${p}`));
const TCCE_SPLITS = "'#train' = performers 01-24, '#dev' = performers 25-30 (data/README.md's suggestion)";

/**
 * TCCE facial expressions of professional performers (front view): a flat folder of `PPTVEnn.jpg`
 * and `labels.csv` (header `file, performer, performance_type, intended, observer_top,
 * observer_top_share, entropy, n_observers`), or the path of that labels.csv. Target `emotion`:
 * the intended expression, one-hot. `speaker` and `group` are `tcce-PP` (the performer: the unit of
 * group cross-validation); `labels` hold the intended expression's name, performer, performance
 * type, and the raters' top choice with its share. Raters could only choose among the six
 * non-neutral emotions, so `observer_top` means nothing for a neutral image, and they read most fear
 * images as surprise (PROVENANCE/tcce_performers.md): it is kept as written, for weighting or
 * analysis. labels.csv and the folder must agree exactly (as FER+'s label.csv), and its
 * performer, type and intended columns must agree with the file name. Any other file in the folder
 * is MANIFEST_INVALID. `#train` / `#dev` select the README's performer split.
 */
export async function readTccePerformers(path: string, split: string | undefined): Promise<Corpus> {
  const listing = await labelledFolder(path, TCCE_LABELS);
  const { folder, shownFolder, file: csvPath, shownFile: shownCsv } = listing;
  const text = await readCorpusText(
    csvPath,
    shownCsv,
    `a TCCE folder holds ${TCCE_LABELS} beside the images`,
  );
  const images = new Set<string>();
  for (const e of await listFolder(folder, shownFolder)) {
    if (!e.dir && e.name === basename(csvPath)) continue;
    if (e.dir)
      invalid(
        join(shownFolder, e.name),
        `a folder inside a TCCE folder (expected only ${TCCE_FORMAT} and ${TCCE_LABELS})`,
      );
    const p = parseTcceName(e.name);
    if (p.status === 'error') invalid(join(shownFolder, e.name), `not a TCCE image name: ${p.reason}`);
    images.add(e.name);
  }
  const rows = parseCsv(text, shownCsv);
  const header = rows.shift();
  if (header === undefined)
    invalid(shownCsv, `is empty (expected a header row ${TCCE_COLUMNS.join(',')},...)`);
  const col = (name: (typeof TCCE_COLUMNS)[number]): number => {
    const i = header.fields.indexOf(name);
    if (i < 0)
      invalid(
        shownCsv,
        `line ${header.line}: no '${name}' column in the header (expected ${TCCE_COLUMNS.join(', ')})`,
      );
    return i;
  };
  const [cFile, cPerformer, cType, cIntended, cTop, cShare] = TCCE_COLUMNS.map(col) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const seen = new Map<string, number>();
  const missing: { line: number; name: string }[] = [];
  const samples: CorpusSample[] = [];
  for (const row of rows) {
    const at: (c: number, what: string) => never = (c, what) =>
      invalid(shownCsv, `line ${row.line}, field ${c + 1}: ${what}`);
    if (row.fields.length !== header.fields.length)
      invalid(
        shownCsv,
        `line ${row.line}: ${row.fields.length} fields where the header has ${header.fields.length}`,
      );
    const field = (c: number): string => row.fields[c]!;
    const name = field(cFile);
    const p = parseTcceName(name);
    if (p.status === 'error') at(cFile, `'${name}' is not a TCCE image name: ${p.reason}`);
    const first = seen.get(name);
    if (first !== undefined) at(cFile, `${name} was already listed on line ${first}`);
    seen.set(name, row.line);
    if (field(cPerformer) !== p.performer)
      at(cPerformer, `performer '${field(cPerformer)}' differs from the file name's ${p.performer}`);
    if (field(cType) !== String(p.type))
      at(cType, `performance type '${field(cType)}' differs from the file name's ${p.type}`);
    if (field(cIntended) !== p.emotion)
      at(cIntended, `intended '${field(cIntended)}' differs from the file name's ${p.emotion} (${p.letter})`);
    const top = field(cTop);
    if (!(EMOTIONS as readonly string[]).includes(top))
      at(cTop, `observer_top '${top}' is not one of ${EMOTIONS.join(', ')}`);
    const share = field(cShare).trim() === '' ? NaN : Number(field(cShare));
    if (!(share >= 0 && share <= 1))
      at(cShare, `observer_top_share '${field(cShare)}' is not a share in [0, 1]`);
    if (!images.has(name)) {
      missing.push({ line: row.line, name });
      continue;
    }
    samples.push(
      speakerSample(
        folder,
        'image',
        name,
        `tcce-${p.performer}`,
        {
          emotion: p.emotion,
          performer: Number(p.performer),
          type: TCCE_TYPES[p.type]!,
          observer_top: top,
          observer_top_share: share,
        },
        { emotion: emotionOneHot(p.emotion) },
      ),
    );
  }
  requireListedExactly(
    listing,
    { corpus: 'TCCE', labels: TCCE_LABELS, item: 'image', media: 'images' },
    missing,
    seen,
    images,
  );
  if (samples.length === 0) invalid(shownCsv, `holds no rows (${TCCE_COLUMNS.join(',')},...)`);
  return corpus(
    'tcce',
    folder,
    sortById(selectSplit('tcce', split, samples, TCCE_DEV, TCCE_SPLITS, path)),
    [EMOTION_TASK],
    {
      corpus: 'TCCE facial expressions of professional performers (Chen, Cho & Tseng 2013)',
      path,
      licence: LICENCE,
    },
    split,
  );
}

type TcceName =
  | { status: 'ok'; performer: string; type: number; letter: string; emotion: Emotion }
  | { status: 'error'; reason: string };

/** Parses `PPTVEnn.jpg` (PROVENANCE/tcce_performers.md: `^(0[1-9]|[12][0-9]|30)[0-3]1[a-g][0-9]{2}\.jpg$`). */
function parseTcceName(name: string): TcceName {
  const fail = (reason: string): TcceName => ({
    status: 'error',
    reason: `${reason} (expected ${TCCE_FORMAT})`,
  });
  if (extname(name).toLowerCase() !== '.jpg') return fail('the extension is not .jpg');
  const stem = stripExtension(name);
  if (stem.length !== 7) return fail(`the name '${stem}' is not 7 characters long`);
  const performer = stem.slice(0, 2);
  const type = stem[2]!;
  const view = stem[3]!;
  const letter = stem[4]!;
  const serial = stem.slice(5);
  const n = /^\d\d$/.test(performer) ? Number(performer) : 0;
  if (n < 1 || n > 30) return fail(`performer '${performer}' is not 01-30`);
  if (!/^[0-3]$/.test(type)) return fail(`performance type '${type}' is not 0-3`);
  if (view !== '1')
    return fail(`view '${view}' is not 1 (front; the corpus's 3/4 and profile views are not supported)`);
  const emotion = TCCE_EXPRESSIONS[letter];
  if (emotion === undefined) return fail(`expression letter '${letter}' is not a-g`);
  if (!/^\d\d$/.test(serial)) return fail(`serial '${serial}' is not two digits`);
  return { status: 'ok', performer, type: Number(type), letter, emotion };
}
