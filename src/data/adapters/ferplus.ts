import { basename, extname } from 'node:path';
import { EMOTIONS, NUM_EMOTIONS } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { parseCsv } from '../csv.js';
import {
  corpus,
  invalid,
  labelledFolder,
  listFolder,
  readCorpusText,
  refuseSplit,
  requireListedExactly,
  sortById,
  splitOf,
  stripExtension,
} from './common.js';

/**
 * FER+, a face emotion corpus of ../shared/data (data/README.md "face/", PROVENANCE/face.md): the
 * FER+ votes on FER2013 images, and the corpus's rules: its vote columns, their emoflow classes, and
 * the FERPlus majority label that evaluation scores against. The conventions of index.ts; each split
 * is its own folder.
 */

/** Licence: data/README.md and PROVENANCE/face.md. */
const LICENCE =
  'FER+ votes: MIT (Microsoft, Barsoum et al. 2016, arXiv:1608.01041); FER2013 images: research use only, no open licence (Goodfellow et al. 2013, arXiv:1307.0414)';

/** FER+ vote columns, in fer2013new.csv / label.csv order. */
export const FERPLUS_COLUMNS = [
  'neutral',
  'happiness',
  'surprise',
  'sadness',
  'anger',
  'disgust',
  'fear',
  'contempt',
  'unknown',
  'NF',
] as const;

/** FER+ column → index in EMOTIONS; contempt, unknown and NF have no emoflow label (docs/corpora.md). */
const FERPLUS_TO_EMOTION: readonly (number | null)[] = FERPLUS_COLUMNS.map((name) => {
  const emotion = name === 'happiness' ? 'joy' : name;
  const i = (EMOTIONS as readonly string[]).indexOf(emotion);
  return i < 0 ? null : i;
});

/**
 * The FER+ "majority" label of one image from its 10 raw vote counts (neutral, happiness, surprise,
 * sadness, anger, disgust, fear, contempt, unknown, NF), as an index into EMOTIONS, or null when the
 * image is excluded.
 *
 * Mirrors `FERPlusReader._process_data(..., mode='majority')` and `load_folders` in microsoft/FERPlus
 * src/ferplus.py (the reference reader of Barsoum et al. 2016, arXiv:1608.01041):
 * 1. every count below 1 + ε (single votes, and zeros) is set to 0: single votes are outliers;
 * 2. the largest remaining count must exceed half the sum of the remaining counts (`maxval >
 *    0.5 * sum_list`, strict), unknown and NF votes included in that sum; otherwise the image is
 *    "unknown" and dropped. A strict majority is unique, so ties cannot reach the argmax (which
 *    would pick the first column, `np.argmax`), and a row with every vote at 1 or 0 is dropped;
 * 3. a majority for unknown or NF drops the image (upstream keeps contempt as its 8th class; emoflow
 *    drops it too, docs/corpora.md).
 */
export function ferplusMajority(votes: ArrayLike<number>): number | null {
  if (votes.length !== FERPLUS_COLUMNS.length) {
    throw new RangeError(
      `ferplusMajority: expected ${FERPLUS_COLUMNS.length} vote counts, got ${votes.length}`,
    );
  }
  let sum = 0;
  let best = 0;
  let bestVotes = -Infinity;
  for (let i = 0; i < FERPLUS_COLUMNS.length; i++) {
    const raw = votes[i]!;
    if (!Number.isFinite(raw) || raw < 0) throw new RangeError(`ferplusMajority: vote ${i} is ${raw}`);
    const v = raw < 1 + Number.EPSILON ? 0 : raw;
    sum += v;
    if (v > bestVotes) {
      bestVotes = v;
      best = i;
    }
  }
  if (!(bestVotes > 0.5 * sum)) return null;
  return FERPLUS_TO_EMOTION[best] ?? null;
}

const FERPLUS_ROW = `<name>.png,"(x, y, w, h)",${FERPLUS_COLUMNS.join(',')} (ten vote counts)`;

/**
 * FER+ (data/README.md "face/"): a folder (`FER2013Train`, `FER2013Valid`, `FER2013Test`) holding
 * `label.csv` and the PNGs it names, or the path of that label.csv. label.csv has no header; each
 * row is `name.png,"(x, y, w, h)",` and ten vote counts (FERPLUS_COLUMNS order).
 * - target `emotion`: the votes of the seven kept classes renormalised (contempt, unknown and NF
 *   dropped, docs/corpora.md); a row whose kept votes are all 0 has no `emotion` target;
 * - `truth.emotion`: the FERPlus majority rule over all ten votes (`ferplusMajority`), -1 where it
 *   gives no label (evaluation then counts the image as excluded);
 * - `labels.votes`: the ten raw counts as written, comma-joined; `labels.box`: the face box field.
 * label.csv and the folder must agree exactly, as in the staged folders (8,652 rows and PNGs in
 * FER2013Train, 3,533 in FER2013Valid; PROVENANCE/face.md verifies the name sets are equal) and as
 * FERPlus's reader assumes (ferplus.py opens every listed image and fails on a missing one): a row
 * whose PNG is missing, or a PNG no row lists, is MANIFEST_INVALID naming the first one and the
 * count, since either means a partial or mixed copy whose figures would silently differ.
 */
export async function readFerPlus(path: string, split: string | undefined): Promise<Corpus> {
  refuseSplit(
    'ferplus',
    split,
    "each split is its own folder: pass the split's folder (FER2013Train, FER2013Valid) or its label.csv",
  );
  const listing = await labelledFolder(path, 'label.csv');
  const { folder, shownFolder, shownFile: shownCsv } = listing;
  const text = await readCorpusText(listing.file, shownCsv, 'a FER+ folder holds label.csv');
  const pngs = new Set<string>();
  for (const e of await listFolder(folder, shownFolder)) {
    if (!e.dir && extname(e.name).toLowerCase() === '.png') pngs.add(e.name);
  }
  const seen = new Map<string, number>();
  const missing: { line: number; name: string }[] = [];
  const samples: CorpusSample[] = [];
  for (const row of parseCsv(text, shownCsv)) {
    const at = (field: number, what: string): never =>
      invalid(shownCsv, `line ${row.line}, field ${field}: ${what} (rows are ${FERPLUS_ROW})`);
    if (row.fields.length !== 2 + FERPLUS_COLUMNS.length) {
      invalid(
        shownCsv,
        `line ${row.line}: ${row.fields.length} fields where a FER+ row has ${2 + FERPLUS_COLUMNS.length} (${FERPLUS_ROW})`,
      );
    }
    const [name, box, ...raw] = row.fields as [string, string, ...string[]];
    if (!/^[^/\\]+\.png$/i.test(name) || name.startsWith('.')) at(1, `'${name}' is not a PNG file name`);
    if (!/^\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)$/.test(box))
      at(2, `'${box}' is not a face box "(x, y, w, h)"`);
    const votes = raw.map((v, i) => {
      if (!/^\d+(\.\d+)?$/.test(v.trim())) at(3 + i, `${FERPLUS_COLUMNS[i]} vote '${v}' is not a count`);
      return Number(v);
    });
    const first = seen.get(name);
    if (first !== undefined) at(1, `${name} was already listed on line ${first}`);
    seen.set(name, row.line);
    if (!pngs.has(name)) {
      missing.push({ line: row.line, name });
      continue;
    }
    const kept = new Array<number>(NUM_EMOTIONS).fill(0);
    let keptSum = 0;
    votes.forEach((v, i) => {
      const e = FERPLUS_TO_EMOTION[i];
      if (e === null || e === undefined) return;
      kept[e] = v;
      keptSum += v;
    });
    const targets: CorpusSample['targets'] = {};
    if (keptSum > 0) targets.emotion = kept.map((v) => v / keptSum);
    samples.push({
      id: stripExtension(name),
      root: folder,
      image: name,
      labels: { votes: raw.map((v) => v.trim()).join(','), box },
      targets,
      truth: { emotion: ferplusMajority(votes) ?? -1 },
    });
  }
  requireListedExactly(
    listing,
    { corpus: 'FER+', labels: 'label.csv', item: 'PNG', media: 'images' },
    missing,
    seen,
    pngs,
  );
  if (samples.length === 0) invalid(shownCsv, `holds no rows (${FERPLUS_ROW})`);
  return corpus('ferplus', folder, sortById(samples), [EMOTION_TASK], {
    corpus: 'FER+ (Barsoum et al. 2016) votes on FER2013 images',
    path,
    ...splitOf(basename(folder)),
    licence: LICENCE,
  });
}
