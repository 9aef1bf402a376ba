import { extname, join, resolve } from 'node:path';
import type { Emotion } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import {
  corpus,
  emotionOneHot,
  invalid,
  listFolder,
  readCorpusText,
  requireFolder,
  requireListedExactly,
  selectSplit,
  sortById,
  speakerSample,
  stripExtension,
} from './common.js';

/**
 * nEMO, a Polish speech emotion corpus of ../shared/data (data/README.md "speech/",
 * PROVENANCE/nemo.md): WAVs named by speaker and emotion, and the release's data.tsv; the
 * conventions of index.ts. No official split, but data/README.md suggests one by speaker, which
 * `#train` / `#dev` select.
 */

/** Licence: data/README.md and PROVENANCE/nemo.md. */
const LICENCE =
  'CC BY-NC-SA 4.0 (nEMO, Christop, LREC-COLING 2024, pp. 12111-12116): non-commercial, share-alike; a head trained on it is for non-commercial use';

/** nEMO emotion names (data/README.md "speech/"; no disgust) and their docs/corpora.md class. */
const NEMO_EMOTIONS: Record<string, Emotion> = {
  anger: 'anger',
  fear: 'fear',
  happiness: 'joy',
  neutral: 'neutral',
  sadness: 'sadness',
  surprised: 'surprise',
};

/** The nine nEMO speakers (PROVENANCE/nemo.md: 4 female, 5 male). */
const NEMO_SPEAKERS = new Set(['EB0', 'IC0', 'KD0', 'MK0', 'KS0', 'MP0', 'SM0', 'TP0', 'WR0']);
const NEMO_FORMAT =
  'SSS_EMOTION_N.wav: speaker SSS (EB0 IC0 KD0 MK0 KS0 MP0 SM0 TP0 WR0), emotion (anger fear happiness neutral sadness surprised), sentence number N';
/** The corpus's metadata file, beside the WAVs: one row per WAV. */
const NEMO_TSV = 'data.tsv';
const NEMO_COLUMNS = ['file_id', 'emotion', 'speaker_id', 'gender'] as const;
/** data/README.md's suggested split: KD0 (female) + TP0 (male) for dev, all six emotions. */
const NEMO_DEV = new Set(['nemo-KD0', 'nemo-TP0']);
const NEMO_SPLITS =
  "'#train' = every speaker but KD0 and TP0, '#dev' = KD0 TP0 (data/README.md's suggestion)";

/**
 * nEMO (Polish): a flat folder of `SSS_EMOTION_N.wav` and the release's `data.tsv` (header
 * `file_id, emotion, raw_text, normalized_text, speaker_id, gender, age`, tab-separated). `speaker`
 * and `group` are `nemo-SSS`; `labels` hold the original emotion name, the sentence number and sex
 * (data.tsv's `gender`). data.tsv and the WAVs must agree exactly, as in the release (one row per
 * WAV, the same emotion and speaker; `speaker_id` is trimmed: upstream pads it with spaces): a WAV
 * without a row, a row without a WAV or a disagreement is MANIFEST_INVALID, as for FER+'s label.csv.
 * Any other file in the folder is MANIFEST_INVALID. `#train` / `#dev` select the README's speaker split.
 */
export async function readNemo(path: string, split: string | undefined): Promise<Corpus> {
  const root = resolve(path);
  await requireFolder(root, path, 'nemo', `the nEMO folder of WAVs and ${NEMO_TSV}`);
  const wavs: { name: string; speaker: string; emotion: string; sentence: number }[] = [];
  for (const e of await listFolder(root, path)) {
    if (e.name === NEMO_TSV && !e.dir) continue;
    if (e.dir) {
      invalid(
        join(path, e.name),
        `a folder inside a nEMO folder (expected only ${NEMO_FORMAT} and ${NEMO_TSV}; point at the folder of WAVs${e.name === 'samples' ? ', here this samples/ folder, with data.tsv copied beside the WAVs' : ''})`,
      );
    }
    const p = parseNemoName(e.name);
    if (p.status === 'error') invalid(join(path, e.name), `not a nEMO file name: ${p.reason}`);
    wavs.push({ name: e.name, ...p });
  }
  if (wavs.length === 0) invalid(path, `holds no nEMO WAVs (${NEMO_FORMAT})`);
  const sexes = await readNemoTsv(root, path, wavs);
  const samples: CorpusSample[] = wavs.map((w) =>
    speakerSample(
      root,
      'audio',
      w.name,
      `nemo-${w.speaker}`,
      { emotion: w.emotion, sentence: w.sentence, sex: sexes.get(w.name)! },
      { emotion: emotionOneHot(NEMO_EMOTIONS[w.emotion]!) },
    ),
  );
  return corpus(
    'nemo',
    root,
    sortById(selectSplit('nemo', split, samples, NEMO_DEV, NEMO_SPLITS, path)),
    [EMOTION_TASK],
    { corpus: 'nEMO (Christop 2024)', path, licence: LICENCE },
    split,
  );
}

type NemoName =
  { status: 'ok'; speaker: string; emotion: string; sentence: number } | { status: 'error'; reason: string };

/** Parses `SSS_EMOTION_N.wav` (PROVENANCE/nemo.md: `([A-Z]{2}0)_(anger|...|surprised)_(\d+)\.wav`). */
function parseNemoName(name: string): NemoName {
  const fail = (reason: string): NemoName => ({
    status: 'error',
    reason: `${reason} (expected ${NEMO_FORMAT})`,
  });
  if (extname(name).toLowerCase() !== '.wav') return fail('the extension is not .wav');
  const parts = stripExtension(name).split('_');
  if (parts.length !== 3) return fail('it is not three fields joined by "_"');
  const [speaker, emotion, sentence] = parts as [string, string, string];
  if (!NEMO_SPEAKERS.has(speaker)) return fail(`speaker '${speaker}' is not one of the nine nEMO speakers`);
  if (NEMO_EMOTIONS[emotion] === undefined)
    return fail(`emotion '${emotion}' is not one of anger fear happiness neutral sadness surprised`);
  if (!/^\d+$/.test(sentence)) return fail(`sentence number '${sentence}' is not a number`);
  return { status: 'ok', speaker, emotion, sentence: Number(sentence) };
}

/**
 * Reads `data.tsv` beside the WAVs and checks it against them (see readNemo); returns each WAV's sex
 * (`gender`). Plain TSV as the release writes it: no quoting, LF (CRLF accepted), a header row.
 */
async function readNemoTsv(
  root: string,
  shownRoot: string,
  wavs: readonly { name: string; speaker: string; emotion: string }[],
): Promise<Map<string, 'female' | 'male'>> {
  const listing = {
    folder: root,
    shownFolder: shownRoot,
    file: join(root, NEMO_TSV),
    shownFile: join(shownRoot, NEMO_TSV),
  };
  const shown = listing.shownFile;
  const text = await readCorpusText(
    listing.file,
    shown,
    `a nEMO folder holds the release's ${NEMO_TSV} beside the WAVs`,
  );
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const header = lines[0]!.replace(/\r$/, '').split('\t');
  const col = (name: (typeof NEMO_COLUMNS)[number]): number => {
    const i = header.indexOf(name);
    if (i < 0)
      invalid(
        shown,
        `line 1: no '${name}' column in the header (expected ${NEMO_COLUMNS.join(', ')} among its tab-separated names)`,
      );
    return i;
  };
  const [cFile, cEmotion, cSpeaker, cGender] = NEMO_COLUMNS.map(col) as [number, number, number, number];
  const byName = new Map(wavs.map((w) => [w.name, w]));
  const sexes = new Map<string, 'female' | 'male'>();
  const seen = new Map<string, number>();
  const missing: { line: number; name: string }[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (i === 0 || raw === '' || raw === '\r') return;
    const fields = raw.replace(/\r$/, '').split('\t');
    // Typed as a const so that TypeScript narrows after a call (it returns never).
    const at: (c: number, what: string) => never = (c, what) =>
      invalid(shown, `line ${line}, field ${c + 1}: ${what}`);
    if (fields.length !== header.length)
      invalid(
        shown,
        `line ${line}: ${fields.length} tab-separated fields where the header has ${header.length}`,
      );
    const name = fields[cFile]!;
    const first = seen.get(name);
    if (first !== undefined) at(cFile, `${name} was already listed on line ${first}`);
    seen.set(name, line);
    const w = byName.get(name);
    if (w === undefined) {
      missing.push({ line, name });
      return;
    }
    if (fields[cEmotion] !== w.emotion)
      at(cEmotion, `emotion '${fields[cEmotion]}' differs from the file name's '${w.emotion}'`);
    const speaker = fields[cSpeaker]!.trim();
    if (speaker !== w.speaker)
      at(cSpeaker, `speaker '${speaker}' differs from the file name's '${w.speaker}'`);
    const gender = fields[cGender];
    if (gender !== 'female' && gender !== 'male') at(cGender, `gender '${gender}' is not female or male`);
    sexes.set(name, gender);
  });
  requireListedExactly(
    listing,
    { corpus: 'nEMO', labels: NEMO_TSV, item: 'WAV', media: 'WAVs' },
    missing,
    seen,
    wavs.map((w) => w.name),
  );
  return sexes;
}
