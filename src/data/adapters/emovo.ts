import { basename, extname, join, resolve } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import type { Emotion } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import {
  corpus,
  emotionOneHot,
  invalid,
  forEachSpeakerFile,
  requireFolder,
  selectSplit,
  sortById,
  speakerSample,
  stripExtension,
} from './common.js';

/**
 * EMOVO, an Italian speech emotion corpus of ../shared/data (data/README.md "speech/",
 * PROVENANCE/emovo.md), by file name; the conventions of index.ts. No official split, but
 * data/README.md suggests one by speaker, which `#train` / `#dev` select.
 */

/** Licence: data/README.md and PROVENANCE/emovo.md. */
const LICENCE =
  'no licence file: research / non-commercial use with citation (EMOVO, Costantini et al., LREC 2014, pp. 3501-3504); do not redistribute the clips';

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
  if (split !== undefined && EMOVO_SPEAKER_DIR.test(basename(root))) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `emovo: a #split ('#${split}') selects speakers of the whole EMOVO folder, not of one speaker folder (${path}); pass the folder of f1 ... m3 with the split, or the speaker folder alone`,
    );
  }
  const samples: CorpusSample[] = [];
  await forEachSpeakerFile(
    root,
    path,
    {
      speakerOf: (name) => (EMOVO_SPEAKER_DIR.test(name) ? name : undefined),
      notSpeakerFolder: `expected only speaker folders (f1 f2 f3 m1 m2 m3, each holding ${EMOVO_FORMAT}) in an EMOVO folder`,
      noSpeakerFolder: 'holds no speaker folders (f1 ... m3): not an EMOVO folder',
      nestedFolder: `a folder inside a speaker folder (expected only ${EMOVO_FORMAT})`,
    },
    ({ rel, name, speaker }) => {
      const p = parseEmovoName(name, speaker);
      if (p.status === 'error') invalid(join(path, rel), `not an EMOVO file name: ${p.reason}`);
      const sex = p.speaker.startsWith('f') ? 'female' : 'male';
      samples.push(
        speakerSample(
          root,
          'audio',
          rel,
          `emovo-${p.speaker}`,
          { emotion: p.code, sentence: p.sentence, sex },
          { emotion: emotionOneHot(p.emotion) },
        ),
      );
    },
  );
  return corpus(
    'emovo',
    root,
    sortById(selectSplit('emovo', split, samples, EMOVO_DEV, EMOVO_SPLITS, path)),
    [EMOTION_TASK],
    { corpus: 'EMOVO (Costantini et al. 2014)', path, licence: LICENCE },
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
