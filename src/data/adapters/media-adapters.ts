import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import { EMOTIONS, NUM_EMOTIONS, type Emotion } from '../../core/labels.js';
import { FERPLUS_COLUMNS, ferplusMajority } from '../../eval/metrics.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { parseCsv } from '../csv.js';
import type { DatasetSource } from '../feature-dataset.js';

/**
 * Corpus adapters for the speech and face corpora of ../shared/data (README "speech/" and "face/"):
 * RAVDESS, EmoDB, EMOVO, nEMO, FER+, FER2013 and TCCE. Each lists a folder and returns samples whose `audio` / `image`
 * are paths relative to `root` (the folder given); the media are read later by the extractors, which
 * resolve and check those paths (docs/ingest.md). Common conventions:
 * - `id` = the path relative to `root` without extension (docs/ingest.md), samples sorted by id
 *   (code-unit order, so the same folder always gives the same order);
 * - hidden files and folders (name starting with '.') are skipped (docs/ingest.md);
 * - every other entry must follow the corpus's naming rule: anything else is MANIFEST_INVALID naming
 *   the file and what is wrong with it, so that a misplaced or misnamed file is never silently
 *   dropped from training;
 * - a `#split` suffix is CONFIG_INVALID saying what to pass instead: a FER split is its own folder,
 *   and RAVDESS / EmoDB have no official split (hold actors / speakers out by group cross-validation);
 *   EMOVO, nEMO and TCCE have none either, but data/README.md suggests a speaker / performer split,
 *   which `#train` / `#dev` select (`selectSplit`);
 * - task `emotion` (docs/corpora.md mapping); a sample whose label is outside the 7 classes is kept
 *   without an `emotion` target (partial labels: `Corpus` doc comment), its original label in `labels`.
 */

export type MediaAdapter = (path: string, split: string | undefined) => Promise<Corpus>;

// Licences: data/README.md and PROVENANCE/speech.md, face.md, emovo.md, nemo.md, tcce_performers.md.
const LICENCES = {
  ravdess:
    'CC BY-NC-SA 4.0 (RAVDESS, Livingstone & Russo 2018, doi:10.1371/journal.pone.0196391): non-commercial, share-alike; a head trained on it is for non-commercial use',
  emodb:
    'no explicit licence: distributed free of charge by the authors (EmoDB, Burkhardt et al., Interspeech 2005); do not redistribute the clips; cite the paper',
  ferplus:
    'FER+ votes: MIT (Microsoft, Barsoum et al. 2016, arXiv:1608.01041); FER2013 images: research use only, no open licence (Goodfellow et al. 2013, arXiv:1307.0414)',
  fer2013:
    'FER2013 images and labels: research use only, no open licence (Goodfellow et al. 2013, arXiv:1307.0414)',
  emovo:
    'no licence file: research / non-commercial use with citation (EMOVO, Costantini et al., LREC 2014, pp. 3501-3504); do not redistribute the clips',
  nemo: 'CC BY-NC-SA 4.0 (nEMO, Christop, LREC-COLING 2024, pp. 12111-12116): non-commercial, share-alike; a head trained on it is for non-commercial use',
  tcce: 'no licence stated: research-only database (TCCE performers, Chen, Cho & Tseng 2013, Chinese Journal of Psychology 55(4), doi:10.6129/CJP.20130314); never redistribute or ship the images',
} as const;

// ---------------------------------------------------------------------------------------------------
// RAVDESS

/** RAVDESS emotion codes (README "speech/") and their docs/corpora.md class. */
const RAVDESS_EMOTIONS: Record<string, { name: string; emotion: Emotion }> = {
  '01': { name: 'neutral', emotion: 'neutral' },
  '02': { name: 'calm', emotion: 'neutral' },
  '03': { name: 'happy', emotion: 'joy' },
  '04': { name: 'sad', emotion: 'sadness' },
  '05': { name: 'angry', emotion: 'anger' },
  '06': { name: 'fearful', emotion: 'fear' },
  '07': { name: 'disgust', emotion: 'disgust' },
  '08': { name: 'surprised', emotion: 'surprise' },
};

const RAVDESS_ACTOR_DIR = /^Actor_(\d\d)$/;
const RAVDESS_FORMAT =
  '03-01-EE-II-SS-RR-AA.wav: modality 03 (audio-only), channel 01 (speech), emotion 01-08, intensity 01-02, statement 01-02, repetition 01-02, actor 01-24';

/**
 * RAVDESS speech (audio-only): `<path>/Actor_NN/03-01-EE-II-SS-RR-AA.wav`, or one `Actor_NN` folder.
 * `speaker` and `group` are `ravdess-AA` (the actor: the unit of group cross-validation); `labels`
 * hold the original emotion name (calm is merged into neutral for the task), intensity, statement,
 * repetition, actor and sex (odd actors male, even female). The actor field must equal its folder's.
 */
export async function readRavdess(path: string, split: string | undefined): Promise<Corpus> {
  refuseSplit(
    'ravdess',
    split,
    'pass the corpus folder or one Actor_NN folder, and hold actors out with group cross-validation (--group group)',
  );
  const root = resolve(path);
  await requireFolder(
    root,
    path,
    'ravdess',
    'the RAVDESS folder of Actor_NN folders, or one Actor_NN folder',
  );
  const folders: { rel: string; actor: string }[] = [];
  const single = RAVDESS_ACTOR_DIR.exec(basename(root));
  if (single !== null) {
    folders.push({ rel: '', actor: single[1]! });
  } else {
    for (const e of await listFolder(root, path)) {
      const m = RAVDESS_ACTOR_DIR.exec(e.name);
      if (!e.dir || m === null) {
        invalid(
          join(path, e.name),
          `expected only Actor_NN folders (one per actor, holding ${RAVDESS_FORMAT}) in a RAVDESS folder`,
        );
      }
      folders.push({ rel: e.name, actor: m[1]! });
    }
    if (folders.length === 0) invalid(path, 'holds no Actor_NN folders: not a RAVDESS folder');
  }
  const samples: CorpusSample[] = [];
  for (const folder of folders) {
    for (const e of await listFolder(join(root, folder.rel), join(path, folder.rel))) {
      const rel = folder.rel === '' ? e.name : `${folder.rel}/${e.name}`;
      if (e.dir)
        invalid(join(path, rel), `a folder inside an actor folder (expected only ${RAVDESS_FORMAT})`);
      const p = parseRavdessName(e.name, folder.actor);
      if (p.status === 'error') invalid(join(path, rel), `not a RAVDESS speech file name: ${p.reason}`);
      const id = `ravdess-${p.actor}`;
      samples.push({
        id: stripExtension(rel),
        root,
        audio: rel,
        speaker: id,
        group: id,
        labels: {
          emotion: p.emotion.name,
          intensity: p.intensity === 2 ? 'strong' : 'normal',
          statement: p.statement,
          repetition: p.repetition,
          actor: Number(p.actor),
          sex: Number(p.actor) % 2 === 1 ? 'male' : 'female',
        },
        targets: { emotion: oneHot(p.emotion.emotion) },
      });
    }
  }
  return corpus('ravdess', root, samples, {
    corpus: 'RAVDESS speech (Livingstone & Russo 2018)',
    path,
    licence: LICENCES.ravdess,
  });
}

type RavdessName =
  | {
      status: 'ok';
      emotion: { name: string; emotion: Emotion };
      intensity: number;
      statement: number;
      repetition: number;
      actor: string;
    }
  | { status: 'error'; reason: string };

/** Parses `03-01-EE-II-SS-RR-AA.wav`, saying which part is wrong (README "speech/"). */
function parseRavdessName(name: string, folderActor: string): RavdessName {
  const fail = (reason: string): RavdessName => ({
    status: 'error',
    reason: `${reason} (expected ${RAVDESS_FORMAT})`,
  });
  if (extname(name).toLowerCase() !== '.wav') return fail(`the extension is not .wav`);
  const parts = stripExtension(name).split('-');
  if (parts.length !== 7 || !parts.every((x) => /^\d\d$/.test(x)))
    return fail('it is not seven two-digit fields joined by "-"');
  const [modality, channel, emo, intensity, statement, repetition, actor] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (modality !== '03')
    return fail(`modality ${modality} is not 03 (audio-only; 01 and 02 are video files)`);
  if (channel !== '01') return fail(`vocal channel ${channel} is not 01 (speech; 02 is song, not supported)`);
  const emotion = RAVDESS_EMOTIONS[emo];
  if (emotion === undefined) return fail(`emotion ${emo} is not 01-08`);
  if (intensity !== '01' && intensity !== '02') return fail(`intensity ${intensity} is not 01 or 02`);
  // RAVDESS records neutral at normal intensity only (Livingstone & Russo 2018; PROVENANCE/speech.md §3).
  if (emo === '01' && intensity === '02')
    return fail('intensity 02 (strong) does not exist for neutral (01)');
  if (statement !== '01' && statement !== '02') return fail(`statement ${statement} is not 01 or 02`);
  if (repetition !== '01' && repetition !== '02') return fail(`repetition ${repetition} is not 01 or 02`);
  const a = Number(actor);
  if (a < 1 || a > 24) return fail(`actor ${actor} is not 01-24`);
  if (actor !== folderActor) return fail(`actor ${actor} does not match its folder Actor_${folderActor}`);
  return {
    status: 'ok',
    emotion,
    intensity: Number(intensity),
    statement: Number(statement),
    repetition: Number(repetition),
    actor,
  };
}

// ---------------------------------------------------------------------------------------------------
// EmoDB

/** EmoDB emotion letters (README "speech/"); L (boredom) has no emoflow class (docs/corpora.md). */
const EMODB_EMOTIONS: Record<string, { name: string; emotion: Emotion | null }> = {
  W: { name: 'anger', emotion: 'anger' },
  L: { name: 'boredom', emotion: null },
  E: { name: 'disgust', emotion: 'disgust' },
  A: { name: 'fear', emotion: 'fear' },
  F: { name: 'happiness', emotion: 'joy' },
  T: { name: 'sadness', emotion: 'sadness' },
  N: { name: 'neutral', emotion: 'neutral' },
};

/** The ten EmoDB speakers and their sex (PROVENANCE/speech.md, "EmoDB counts"). */
const EMODB_SPEAKERS: Record<string, 'male' | 'female'> = {
  '03': 'male',
  '08': 'female',
  '09': 'female',
  '10': 'male',
  '11': 'male',
  '12': 'male',
  '13': 'female',
  '14': 'female',
  '15': 'male',
  '16': 'female',
};

const EMODB_FORMAT =
  'SSTTTEV.wav: speaker SS (03 08 09 10 11 12 13 14 15 16), text TTT (a01..b10), emotion E (W L E A F T N), version V (a-z)';

/**
 * EmoDB: a flat folder of `SSTTTEV.wav` (e.g. `03a01Fa.wav`). `speaker` and `group` are `emodb-SS`;
 * `labels` hold the original emotion name, text code, version letter and sex. Boredom (L) clips are
 * kept **without an `emotion` target** (docs/corpora.md drops the class from the task, the sample stays
 * for any other task and for counting); `labels.emotion` is then 'boredom'.
 */
export async function readEmoDb(path: string, split: string | undefined): Promise<Corpus> {
  refuseSplit(
    'emodb',
    split,
    'pass the folder of EmoDB WAVs, and hold speakers out with group cross-validation (--group speaker)',
  );
  const root = resolve(path);
  await requireFolder(root, path, 'emodb', 'the folder of EmoDB WAVs (wav/ in the EmoDB download)');
  const samples: CorpusSample[] = [];
  for (const e of await listFolder(root, path)) {
    if (e.dir) {
      invalid(
        join(path, e.name),
        `a folder inside an EmoDB folder (expected only ${EMODB_FORMAT}; point at the folder of WAVs${e.name === 'wav' ? ', here this wav/ folder' : ''})`,
      );
    }
    const p = parseEmoDbName(e.name);
    if (p.status === 'error') invalid(join(path, e.name), `not an EmoDB file name: ${p.reason}`);
    const targets: CorpusSample['targets'] = {};
    if (p.emotion.emotion !== null) targets.emotion = oneHot(p.emotion.emotion);
    samples.push({
      id: stripExtension(e.name),
      root,
      audio: e.name,
      speaker: `emodb-${p.speaker}`,
      group: `emodb-${p.speaker}`,
      labels: { emotion: p.emotion.name, text: p.text, version: p.version, sex: p.sex },
      targets,
    });
  }
  if (samples.length === 0) invalid(path, `holds no EmoDB WAVs (${EMODB_FORMAT})`);
  return corpus('emodb', root, samples, {
    corpus: 'EmoDB (Burkhardt et al. 2005)',
    path,
    licence: LICENCES.emodb,
  });
}

type EmoDbName =
  | {
      status: 'ok';
      speaker: string;
      sex: 'male' | 'female';
      text: string;
      emotion: { name: string; emotion: Emotion | null };
      version: string;
    }
  | { status: 'error'; reason: string };

/** Parses `SSTTTEV.wav` (PROVENANCE/speech.md: regex `(\d\d)([ab]\d\d)([WLEAFTN])([a-z])`). */
function parseEmoDbName(name: string): EmoDbName {
  const fail = (reason: string): EmoDbName => ({
    status: 'error',
    reason: `${reason} (expected ${EMODB_FORMAT})`,
  });
  if (extname(name).toLowerCase() !== '.wav') return fail('the extension is not .wav');
  const stem = stripExtension(name);
  if (stem.length !== 7) return fail(`the name '${stem}' is not 7 characters long`);
  const speaker = stem.slice(0, 2);
  const text = stem.slice(2, 5);
  const letter = stem[5]!;
  const version = stem[6]!;
  const sex = EMODB_SPEAKERS[speaker];
  if (sex === undefined) return fail(`speaker '${speaker}' is not one of the ten EmoDB speakers`);
  if (!/^[ab]\d\d$/.test(text)) return fail(`text code '${text}' is not a01..b10`);
  const emotion = EMODB_EMOTIONS[letter];
  if (emotion === undefined) return fail(`emotion letter '${letter}' is not one of W L E A F T N`);
  if (!/^[a-z]$/.test(version)) return fail(`version '${version}' is not a lower-case letter`);
  return { status: 'ok', speaker, sex, text, emotion, version };
}

// ---------------------------------------------------------------------------------------------------
// FER+

/** FER+ vote column -> index in EMOTIONS, null for contempt, unknown, NF (docs/corpora.md). */
const FERPLUS_EMOTION_INDEX: readonly (number | null)[] = FERPLUS_COLUMNS.map((c) => {
  const i = (EMOTIONS as readonly string[]).indexOf(c === 'happiness' ? 'joy' : c);
  return i < 0 ? null : i;
});

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
  const full = resolve(path);
  const kind = await pathKind(full, path);
  const folder = kind === 'dir' ? full : dirname(full);
  const shownFolder = kind === 'dir' ? path : dirname(path);
  const csvPath = kind === 'dir' ? join(full, 'label.csv') : full;
  const shownCsv = kind === 'dir' ? join(path, 'label.csv') : path;
  const text = await readCorpusText(csvPath, shownCsv, 'a FER+ folder holds label.csv');
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
      const e = FERPLUS_EMOTION_INDEX[i];
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
  const firstMissing = missing[0];
  if (firstMissing !== undefined) {
    invalid(
      shownCsv,
      `line ${firstMissing.line}: ${firstMissing.name} is not in ${shownFolder} (${missing.length} of ${seen.size} rows name a missing PNG); copy the whole folder, or pass the label.csv that goes with these images`,
    );
  }
  const unlisted = [...pngs].filter((n) => !seen.has(n)).sort(byCodeUnit);
  if (unlisted[0] !== undefined) {
    invalid(
      join(shownFolder, unlisted[0]),
      `not listed in ${shownCsv} (${unlisted.length} PNGs of the folder have no row); a FER+ folder holds exactly the images its label.csv lists`,
    );
  }
  if (samples.length === 0) invalid(shownCsv, `holds no rows (${FERPLUS_ROW})`);
  return corpus('ferplus', folder, samples, {
    corpus: 'FER+ (Barsoum et al. 2016) votes on FER2013 images',
    path,
    ...splitOf(basename(folder)),
    licence: LICENCES.ferplus,
  });
}

// ---------------------------------------------------------------------------------------------------
// FER2013

/** FER2013 folder names (data/README.md "face/") and their docs/corpora.md class. */
const FER2013_LABELS: Record<string, Emotion> = {
  angry: 'anger',
  disgust: 'disgust',
  fear: 'fear',
  happy: 'joy',
  neutral: 'neutral',
  sad: 'sadness',
  surprise: 'surprise',
};

/** Image extensions of docs/ingest.md (the Kaggle folder release uses .jpg, the staged one .png). */
const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.bmp',
]);

/**
 * FER2013 as a folder per label (`<path>/<angry|disgust|fear|happy|neutral|sad|surprise>/*.png`),
 * e.g. ../shared/data/face/fer2013/train. One-hot `emotion` target; `labels.emotion` is the folder.
 */
export async function readFer2013(path: string, split: string | undefined): Promise<Corpus> {
  refuseSplit(
    'fer2013',
    split,
    "each split is its own folder: pass the split's folder of label folders (e.g. fer2013/train)",
  );
  const root = resolve(path);
  await requireFolder(root, path, 'fer2013', 'a folder of label folders (angry, disgust, ... surprise)');
  const entries = await listFolder(root, path);
  const names = entries.map((e) => e.name);
  const samples: CorpusSample[] = [];
  for (const e of entries) {
    const emotion = FER2013_LABELS[e.name];
    if (!e.dir || emotion === undefined) {
      const splits = names.filter((n) => /^(train|test|val|valid|validation)$/i.test(n));
      invalid(
        join(path, e.name),
        `expected only label folders (${Object.keys(FER2013_LABELS).join(', ')}) in a FER2013 folder` +
          (splits.length > 0 ? `; point at a split's folder instead (${splits.join(', ')})` : ''),
      );
    }
    for (const f of await listFolder(join(root, e.name), join(path, e.name))) {
      const rel = `${e.name}/${f.name}`;
      if (f.dir || !IMAGE_EXTENSIONS.has(extname(f.name).toLowerCase())) {
        invalid(
          join(path, rel),
          `expected only image files (${[...IMAGE_EXTENSIONS].join(' ')}) in a FER2013 label folder`,
        );
      }
      samples.push({
        id: stripExtension(rel),
        root,
        image: rel,
        labels: { emotion: e.name },
        targets: { emotion: oneHot(emotion) },
      });
    }
  }
  if (samples.length === 0) invalid(path, 'holds no images in label folders: not a FER2013 folder');
  return corpus('fer2013', root, samples, {
    corpus: 'FER2013 (Goodfellow et al. 2013)',
    path,
    ...splitOf(basename(root)),
    licence: LICENCES.fer2013,
  });
}

// ---------------------------------------------------------------------------------------------------
// EMOVO

/** EMOVO emotion codes (data/README.md "speech/", PROVENANCE/emovo.md) and their docs/corpora.md class. */
const EMOVO_EMOTIONS: Record<string, Emotion> = {
  rab: 'anger',
  dis: 'disgust',
  pau: 'fear',
  gio: 'joy',
  neu: 'neutral',
  tri: 'sadness',
  sor: 'surprise',
};

const EMOVO_SPEAKER_DIR = /^[fm][123]$/;
/** The 14 EMOVO sentences (b short, l long, n nonsense, d questions); 9 of them are staged. */
const EMOVO_SENTENCE = /^(b[1-3]|l[1-4]|n[1-5]|d[12])$/;
const EMOVO_FORMAT =
  'EEE-SS-TT.wav: emotion EEE (rab dis pau gio neu tri sor), speaker SS (f1 f2 f3 m1 m2 m3, the same as its folder), sentence TT (b1-b3, l1-l4, n1-n5, d1-d2)';
/** data/README.md's suggested split: one female and one male speaker for dev. */
const EMOVO_DEV = new Set(['emovo-f3', 'emovo-m3']);
const EMOVO_SPLITS = "'#train' = speakers f1 f2 m1 m2, '#dev' = f3 m3 (data/README.md's suggestion)";

/**
 * EMOVO (Italian): `<path>/<f1|f2|f3|m1|m2|m3>/EEE-SS-TT.wav`, or one speaker folder. `speaker` and
 * `group` are `emovo-SS` (the speaker: the unit of group cross-validation); `labels` hold the
 * original emotion code (`rab`, ...), the sentence (`b1`, ...) and sex (f / m). The speaker field
 * must equal its folder's. `#train` / `#dev` select the README's speaker split (not on one folder).
 */
export async function readEmovo(path: string, split: string | undefined): Promise<Corpus> {
  const root = resolve(path);
  await requireFolder(
    root,
    path,
    'emovo',
    'the EMOVO folder of speaker folders (f1 f2 f3 m1 m2 m3), or one speaker folder',
  );
  const folders: { rel: string; speaker: string }[] = [];
  if (EMOVO_SPEAKER_DIR.test(basename(root))) {
    if (split !== undefined) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `emovo: a #split ('#${split}') selects speakers of the whole EMOVO folder, not of one speaker folder (${path}); pass the folder of f1 ... m3 with the split, or the speaker folder alone`,
      );
    }
    folders.push({ rel: '', speaker: basename(root) });
  } else {
    for (const e of await listFolder(root, path)) {
      if (!e.dir || !EMOVO_SPEAKER_DIR.test(e.name)) {
        invalid(
          join(path, e.name),
          `expected only speaker folders (f1 f2 f3 m1 m2 m3, each holding ${EMOVO_FORMAT}) in an EMOVO folder`,
        );
      }
      folders.push({ rel: e.name, speaker: e.name });
    }
    if (folders.length === 0) invalid(path, 'holds no speaker folders (f1 ... m3): not an EMOVO folder');
  }
  const samples: CorpusSample[] = [];
  for (const folder of folders) {
    for (const e of await listFolder(join(root, folder.rel), join(path, folder.rel))) {
      const rel = folder.rel === '' ? e.name : `${folder.rel}/${e.name}`;
      if (e.dir) invalid(join(path, rel), `a folder inside a speaker folder (expected only ${EMOVO_FORMAT})`);
      const p = parseEmovoName(e.name, folder.speaker);
      if (p.status === 'error') invalid(join(path, rel), `not an EMOVO file name: ${p.reason}`);
      const id = `emovo-${p.speaker}`;
      samples.push({
        id: stripExtension(rel),
        root,
        audio: rel,
        speaker: id,
        group: id,
        labels: { emotion: p.code, sentence: p.sentence, sex: p.speaker.startsWith('f') ? 'female' : 'male' },
        targets: { emotion: oneHot(p.emotion) },
      });
    }
  }
  return corpus(
    'emovo',
    root,
    selectSplit('emovo', split, samples, EMOVO_DEV, EMOVO_SPLITS, path),
    { corpus: 'EMOVO (Costantini et al. 2014)', path, licence: LICENCES.emovo },
    split,
  );
}

type EmovoName =
  | { status: 'ok'; code: string; emotion: Emotion; speaker: string; sentence: string }
  | { status: 'error'; reason: string };

/** Parses `EEE-SS-TT.wav` (PROVENANCE/emovo.md: `(dis|gio|neu|pau|rab|sor|tri)-([fm][123])-(...)`). */
function parseEmovoName(name: string, folderSpeaker: string): EmovoName {
  const fail = (reason: string): EmovoName => ({
    status: 'error',
    reason: `${reason} (expected ${EMOVO_FORMAT})`,
  });
  if (extname(name).toLowerCase() !== '.wav') return fail('the extension is not .wav');
  const parts = stripExtension(name).split('-');
  if (parts.length !== 3) return fail('it is not three fields joined by "-"');
  const [code, speaker, sentence] = parts as [string, string, string];
  const emotion = EMOVO_EMOTIONS[code];
  if (emotion === undefined) return fail(`emotion '${code}' is not one of rab dis pau gio neu tri sor`);
  if (!EMOVO_SPEAKER_DIR.test(speaker)) return fail(`speaker '${speaker}' is not one of f1 f2 f3 m1 m2 m3`);
  if (speaker !== folderSpeaker) return fail(`speaker ${speaker} does not match its folder ${folderSpeaker}`);
  if (!EMOVO_SENTENCE.test(sentence))
    return fail(`sentence '${sentence}' is not one of the 14 EMOVO sentences`);
  return { status: 'ok', code, emotion, speaker, sentence };
}

// ---------------------------------------------------------------------------------------------------
// nEMO

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
  const samples: CorpusSample[] = wavs.map((w) => {
    const id = `nemo-${w.speaker}`;
    return {
      id: stripExtension(w.name),
      root,
      audio: w.name,
      speaker: id,
      group: id,
      labels: { emotion: w.emotion, sentence: w.sentence, sex: sexes.get(w.name)! },
      targets: { emotion: oneHot(NEMO_EMOTIONS[w.emotion]!) },
    };
  });
  return corpus(
    'nemo',
    root,
    selectSplit('nemo', split, samples, NEMO_DEV, NEMO_SPLITS, path),
    { corpus: 'nEMO (Christop 2024)', path, licence: LICENCES.nemo },
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
  const shown = join(shownRoot, NEMO_TSV);
  const text = await readCorpusText(
    join(root, NEMO_TSV),
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
  const firstMissing = missing[0];
  if (firstMissing !== undefined) {
    invalid(
      shown,
      `line ${firstMissing.line}: ${firstMissing.name} is not in ${shownRoot} (${missing.length} of ${seen.size} rows name a missing WAV); copy the whole folder, or pass the data.tsv that goes with these WAVs`,
    );
  }
  const unlisted = wavs.filter((w) => !seen.has(w.name));
  if (unlisted[0] !== undefined) {
    invalid(
      join(shownRoot, unlisted[0].name),
      `not listed in ${shown} (${unlisted.length} WAVs of the folder have no row); a nEMO folder holds exactly the WAVs its data.tsv lists`,
    );
  }
  return sexes;
}

// ---------------------------------------------------------------------------------------------------
// TCCE performers

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
  const full = resolve(path);
  const kind = await pathKind(full, path);
  const folder = kind === 'dir' ? full : dirname(full);
  const shownFolder = kind === 'dir' ? path : dirname(path);
  const csvPath = kind === 'dir' ? join(full, TCCE_LABELS) : full;
  const shownCsv = kind === 'dir' ? join(path, TCCE_LABELS) : path;
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
    const id = `tcce-${p.performer}`;
    samples.push({
      id: stripExtension(name),
      root: folder,
      image: name,
      speaker: id,
      group: id,
      labels: {
        emotion: p.emotion,
        performer: Number(p.performer),
        type: TCCE_TYPES[p.type]!,
        observer_top: top,
        observer_top_share: share,
      },
      targets: { emotion: oneHot(p.emotion) },
    });
  }
  const firstMissing = missing[0];
  if (firstMissing !== undefined) {
    invalid(
      shownCsv,
      `line ${firstMissing.line}: ${firstMissing.name} is not in ${shownFolder} (${missing.length} of ${seen.size} rows name a missing image); copy the whole folder, or pass the labels.csv that goes with these images`,
    );
  }
  const unlisted = [...images].filter((n) => !seen.has(n)).sort(byCodeUnit);
  if (unlisted[0] !== undefined) {
    invalid(
      join(shownFolder, unlisted[0]),
      `not listed in ${shownCsv} (${unlisted.length} images of the folder have no row); a TCCE folder holds exactly the images its labels.csv lists`,
    );
  }
  if (samples.length === 0) invalid(shownCsv, `holds no rows (${TCCE_COLUMNS.join(',')},...)`);
  return corpus(
    'tcce',
    folder,
    selectSplit('tcce', split, samples, TCCE_DEV, TCCE_SPLITS, path),
    {
      corpus: 'TCCE facial expressions of professional performers (Chen, Cho & Tseng 2013)',
      path,
      licence: LICENCES.tcce,
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

/** The registry entries the lead registers with the corpus specs (docs/corpora.md). */
export const MEDIA_ADAPTERS: Record<string, MediaAdapter> = {
  ravdess: readRavdess,
  emodb: readEmoDb,
  ferplus: readFerPlus,
  fer2013: readFer2013,
  emovo: readEmovo,
  nemo: readNemo,
  tcce: readTccePerformers,
};

// ---------------------------------------------------------------------------------------------------
// Shared helpers

interface Entry {
  name: string;
  dir: boolean;
}

/** The corpus; a `#split` (of `selectSplit`) suffixes its name and is its `source.split`. */
function corpus(
  adapter: string,
  root: string,
  samples: CorpusSample[],
  source: DatasetSource,
  split?: string,
): Corpus {
  samples.sort((a, b) => byCodeUnit(a.id, b.id));
  return {
    name: `${adapter}:${basename(root)}${split === undefined ? '' : `#${split}`}`,
    samples,
    tasks: [EMOTION_TASK],
    source: split === undefined ? source : { ...source, split },
  };
}

/**
 * The samples of a `#split` of a corpus that has no official split but a suggested one by group
 * (data/README.md): `dev` = the samples whose group is in `devGroups`, `train` = every other one, no
 * split = all. Any other split, or one that selects nothing (a partial copy), is CONFIG_INVALID.
 */
function selectSplit(
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

function oneHot(emotion: Emotion): number[] {
  const v = new Array<number>(NUM_EMOTIONS).fill(0);
  v[EMOTIONS.indexOf(emotion)] = 1;
  return v;
}

function stripExtension(rel: string): string {
  const ext = extname(rel);
  return ext === '' ? rel : rel.slice(0, -ext.length);
}

/** Plain code-unit order: locale-independent, so every machine sorts a folder the same way. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A FER folder's split from its name (FER2013Train -> train), for head.json's training record. */
function splitOf(folderName: string): { split?: string } {
  const m = /^(?:FER2013)?(train|valid|test)$/i.exec(folderName);
  return m === null ? {} : { split: m[1]!.toLowerCase() };
}

function refuseSplit(adapter: string, split: string | undefined, instead: string): void {
  if (split === undefined) return;
  throw new EmoflowError(
    'CONFIG_INVALID',
    `${adapter}: a #split suffix ('#${split}') does not apply to this corpus; ${instead}`,
  );
}

function invalid(shown: string, why: string): never {
  throw new EmoflowError('MANIFEST_INVALID', `${shown}: ${why}`, { path: shown });
}

async function pathKind(full: string, shown: string): Promise<'dir' | 'file'> {
  try {
    return (await stat(full)).isDirectory() ? 'dir' : 'file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new EmoflowError('FILE_NOT_FOUND', `${shown}: no such file or folder`, { path: shown, cause: e });
    throw new EmoflowError('FILE_UNREADABLE', `${shown}: ${(e as Error).message}`, { path: shown, cause: e });
  }
}

/** A corpus's label file as UTF-8; `hint` (what the folder should hold) completes FILE_NOT_FOUND. */
async function readCorpusText(full: string, shown: string, hint: string): Promise<string> {
  try {
    return await readFile(full, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new EmoflowError('FILE_NOT_FOUND', `${shown}: no such file (${hint})`, { path: shown, cause: e });
    throw new EmoflowError('FILE_UNREADABLE', `${shown}: ${(e as Error).message}`, { path: shown, cause: e });
  }
}

async function requireFolder(full: string, shown: string, adapter: string, expected: string): Promise<void> {
  if ((await pathKind(full, shown)) !== 'dir')
    throw new EmoflowError('CONFIG_INVALID', `${adapter}: ${shown} is not a folder; pass ${expected}`, {
      path: shown,
    });
}

/** The non-hidden entries of a folder (docs/ingest.md), sorted; symlinks count as what they point to. */
async function listFolder(full: string, shown: string): Promise<Entry[]> {
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
