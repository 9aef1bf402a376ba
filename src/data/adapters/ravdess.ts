import { extname, join, resolve } from 'node:path';
import type { Emotion } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import {
  corpus,
  emotionOneHot,
  invalid,
  forEachSpeakerFile,
  refuseSplit,
  requireFolder,
  sortById,
  speakerSample,
  stripExtension,
} from './common.js';

/**
 * RAVDESS speech, a speech emotion corpus of ../shared/data (data/README.md "speech/",
 * PROVENANCE/speech.md), by file name; the conventions of index.ts. No official split: hold actors
 * out by group cross-validation.
 */

/** Licence: data/README.md and PROVENANCE/speech.md. */
const LICENCE =
  'CC BY-NC-SA 4.0 (RAVDESS, Livingstone & Russo 2018, doi:10.1371/journal.pone.0196391): non-commercial, share-alike; a head trained on it is for non-commercial use';

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
  const samples: CorpusSample[] = [];
  await forEachSpeakerFile(
    root,
    path,
    {
      speakerOf: (name) => RAVDESS_ACTOR_DIR.exec(name)?.[1],
      notSpeakerFolder: `expected only Actor_NN folders (one per actor, holding ${RAVDESS_FORMAT}) in a RAVDESS folder`,
      noSpeakerFolder: 'holds no Actor_NN folders: not a RAVDESS folder',
      nestedFolder: `a folder inside an actor folder (expected only ${RAVDESS_FORMAT})`,
    },
    ({ rel, name, speaker }) => {
      const p = parseRavdessName(name, speaker);
      if (p.status === 'error') invalid(join(path, rel), `not a RAVDESS speech file name: ${p.reason}`);
      samples.push(
        speakerSample(
          root,
          'audio',
          rel,
          `ravdess-${p.actor}`,
          {
            emotion: p.emotion.name,
            intensity: p.intensity === 2 ? 'strong' : 'normal',
            statement: p.statement,
            repetition: p.repetition,
            actor: Number(p.actor),
            sex: Number(p.actor) % 2 === 1 ? 'male' : 'female',
          },
          { emotion: emotionOneHot(p.emotion.emotion) },
        ),
      );
    },
  );
  return corpus('ravdess', root, sortById(samples), [EMOTION_TASK], {
    corpus: 'RAVDESS speech (Livingstone & Russo 2018)',
    path,
    licence: LICENCE,
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
