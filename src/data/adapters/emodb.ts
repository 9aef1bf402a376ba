import { extname, join, resolve } from 'node:path';
import type { Emotion } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import {
  corpus,
  emotionOneHot,
  invalid,
  listFolder,
  refuseSplit,
  requireFolder,
  sortById,
  speakerSample,
  stripExtension,
} from './common.js';

/**
 * EmoDB, a German speech emotion corpus of ../shared/data (data/README.md "speech/",
 * PROVENANCE/speech.md), by file name; the conventions of index.ts. No official split: hold speakers
 * out by group cross-validation.
 */

/** Licence: data/README.md and PROVENANCE/speech.md. */
const LICENCE =
  'no explicit licence: distributed free of charge by the authors (EmoDB, Burkhardt et al., Interspeech 2005); do not redistribute the clips; cite the paper';

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
    if (p.emotion.emotion !== null) targets.emotion = emotionOneHot(p.emotion.emotion);
    const labels = { emotion: p.emotion.name, text: p.text, version: p.version, sex: p.sex };
    samples.push(speakerSample(root, 'audio', e.name, `emodb-${p.speaker}`, labels, targets));
  }
  if (samples.length === 0) invalid(path, `holds no EmoDB WAVs (${EMODB_FORMAT})`);
  return corpus('emodb', root, sortById(samples), [EMOTION_TASK], {
    corpus: 'EmoDB (Burkhardt et al. 2005)',
    path,
    licence: LICENCE,
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
