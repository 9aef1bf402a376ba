import { existsSync } from 'node:fs';
import { Random } from '../core/random.js';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import { parseCsv } from '../data/csv.js';
import { SAMPLE_RATE } from '../features/audio/mfcc.js';
import { resample } from '../features/audio/resample.js';
import { decodeWav } from '../io/wav.js';

/**
 * Inputs of `emoflow bench mfcc | text | image`. Given `--input`, that file or folder. Without it,
 * a development clone's corpora beside it (`../shared`) where they are present, the inputs the
 * figures in docs/RESULTS.md were measured on; else inputs that need nothing beyond the package:
 * a generated speech-like signal, generated sentences, the repository's example photos. The
 * benchmark's JSON names the input it used (`input`).
 */

/** The corpora beside a development clone (`../shared/data`); benchmarks default to them. */
export function sharedPath(...parts: string[]): string {
  return join(packageRoot(), '..', 'shared', ...parts);
}

export const DEFAULT_TEXT_INPUT = (): string => sharedPath('data', 'text', 'meld', 'dev_sent_emo.csv');
export const DEFAULT_IMAGE_INPUT = (): string => sharedPath('data', 'face', 'ferplus', 'FER2013Valid');
export const DEFAULT_AUDIO_INPUT = (): string => sharedPath('fixtures', 'mfcc', 'bench', 'speech60s.wav');

export function requireInput(path: string, flag = '--input'): string {
  if (!existsSync(path)) {
    throw new EmoflowError('CONFIG_INVALID', `benchmark input ${path} does not exist; pass ${flag} <path>`, {
      path,
    });
  }
  return path;
}

/** `path` relative to the package root when it is inside it (shorter JSON), else as is. */
function shown(path: string): string {
  const rel = relative(packageRoot(), path);
  return rel.startsWith('..') || rel === '' ? path : rel;
}

// ---- audio -------------------------------------------------------------------------------------

export interface AudioBenchInput {
  /** The clip as 16 kHz mono samples (decoded and resampled before any timing). */
  x16k: Float64Array;
  /** The WAV read, if any (handed to the torchaudio reference, which decodes it itself). */
  path?: string;
  /** What was used, for the JSON: a path, or `built-in: …`. */
  input: string;
}

/** Seconds of the built-in clip, as the staged bench clip. */
export const BUILT_IN_AUDIO_SECONDS = 60;

/**
 * The MFCC benchmark's clip: `--input`, else the 60 s speech clip of `../shared` where present, else
 * {@link speechLikeSignal} (60 s at 16 kHz). MFCC work per second of audio does not depend on what
 * is said, so the figures compare; the JSON says which was used.
 */
export async function audioBenchInput(given?: string): Promise<AudioBenchInput> {
  const path = given ?? (existsSync(DEFAULT_AUDIO_INPUT()) ? DEFAULT_AUDIO_INPUT() : undefined);
  if (path === undefined) {
    return {
      x16k: speechLikeSignal(BUILT_IN_AUDIO_SECONDS),
      input: `built-in: ${BUILT_IN_AUDIO_SECONDS} s generated speech-like signal at 16 kHz (voiced syllables, noise bursts, pauses)`,
    };
  }
  requireInput(path);
  const wav = decodeWav(new Uint8Array(await readFile(path)), path);
  return { x16k: resample(wav.mono, wav.sampleRate, SAMPLE_RATE), path, input: shown(path) };
}

/**
 * `seconds` of a deterministic speech-like signal at 16 kHz, peak about 0.5: utterances of 1.5-3.5 s
 * separated by 0.15 s pauses of faint noise; each utterance is syllables of 0.12-0.3 s, most voiced
 * (harmonics of a drifting 90-240 Hz pitch, shaped by two formant-like peaks that move from syllable
 * to syllable), some unvoiced (noise bursts), each under a raised-cosine envelope. The same
 * `seconds` and `seed` give the same samples everywhere.
 */
export function speechLikeSignal(seconds: number, seed = 1): Float64Array {
  const rate = SAMPLE_RATE;
  const n = Math.round(seconds * rate);
  const x = new Float64Array(n);
  const random = new Random(seed);
  const rand = (): number => random.next();
  const pause = Math.round(0.15 * rate);
  let t = 0;
  let pitch = 120 + 80 * rand();
  let phase = 0;
  while (t < n) {
    const utteranceEnd = Math.min(n, t + Math.round((1.5 + 2 * rand()) * rate));
    while (t < utteranceEnd) {
      const len = Math.min(utteranceEnd - t, Math.round((0.12 + 0.18 * rand()) * rate));
      const voiced = rand() < 0.75;
      const f1 = 300 + 600 * rand();
      const f2 = 900 + 1600 * rand();
      const loud = 0.25 + 0.25 * rand();
      const target = 90 + 150 * rand();
      for (let i = 0; i < len; i++) {
        const env = loud * 0.5 * (1 - Math.cos((2 * Math.PI * (i + 0.5)) / len));
        let v = 0;
        if (voiced) {
          pitch += (target - pitch) * 0.0005; // glides towards the syllable's pitch
          phase += (2 * Math.PI * pitch) / rate;
          if (phase > 2 * Math.PI) phase -= 2 * Math.PI;
          const harmonics = Math.min(24, Math.floor(3800 / pitch));
          let norm = 0;
          for (let h = 1; h <= harmonics; h++) {
            const f = h * pitch;
            const w =
              Math.exp(-(((f - f1) / 180) ** 2)) + 0.6 * Math.exp(-(((f - f2) / 260) ** 2)) + 0.02 / h;
            v += w * Math.sin(h * phase);
            norm += w;
          }
          v /= norm;
        } else {
          v = 0.35 * (rand() * 2 - 1);
        }
        x[t + i] = env * v;
      }
      t += len;
    }
    const end = Math.min(n, t + pause);
    for (; t < end; t++) x[t] = 0.001 * (rand() * 2 - 1);
  }
  return x;
}

// ---- text --------------------------------------------------------------------------------------

export interface TextBenchInput {
  sentences: string[];
  /** What was used, for the JSON: a path, or `built-in: …`. */
  input: string;
}

/**
 * The text benchmark's sentences: the first `count` of `--input`, else of MELD dev in `../shared`
 * where present, else `count` {@link generatedSentences}.
 */
export async function textBenchInput(given: string | undefined, count: number): Promise<TextBenchInput> {
  const path = given ?? (existsSync(DEFAULT_TEXT_INPUT()) ? DEFAULT_TEXT_INPUT() : undefined);
  if (path === undefined) {
    return {
      sentences: generatedSentences(count),
      input: `built-in: ${count} generated English sentences of 3 to about 40 words`,
    };
  }
  return { sentences: await readSentences(requireInput(path), count), input: shown(path) };
}

/** Clauses of everyday, emotionally varied English, written for this benchmark. */
const CLAUSES = [
  'I am so happy today',
  'the train was late again this morning',
  'nobody told me the meeting had been moved',
  'we finally won the match after three years of trying',
  'my sister called to say she is moving abroad',
  'the parcel arrived broken and the shop will not answer',
  'I can not believe you said that in front of everyone',
  'the view from the top of the hill was breathtaking',
  'he left without a word',
  'honestly I do not care any more',
  'thank you so much for coming',
  'the test results came back fine',
  'there was a strange noise downstairs in the middle of the night',
  'she laughed until she cried',
  'the new manager seems friendly enough',
  'I have been waiting on hold for forty minutes',
  'what a lovely surprise',
  'the food smelled awful',
  'our dog ran away during the storm',
  'they found him two streets away, soaked but safe',
  'the report is due on Friday',
  'I am really nervous about the interview tomorrow',
  'that was the best concert I have ever been to',
  'please stop shouting at me',
  'the old house was sold last week',
  'it rained all weekend',
  'we should talk about what happened',
  'I miss the way things used to be',
  'the kids built a huge sandcastle on the beach',
  'you never listen to a single thing I say',
  'the flight was cancelled at the last minute',
  'everything went exactly as planned',
];

const JOINS = [', and ', ', but ', '; ', ' because ', ' when ', ', so '];
const ENDS = ['.', '!', '?', '...'];

/**
 * `count` deterministic sentences of one to four clauses (3 to about 40 words), in an order that
 * mixes lengths, so the extractor's length buckets see short and long batches alike.
 */
export function generatedSentences(count: number, seed = 7): string[] {
  const random = new Random(seed);
  const rand = (): number => random.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const clauses = 1 + Math.floor(rand() * rand() * 4); // mostly short, some long
    let s = pick(CLAUSES);
    for (let c = 1; c < clauses; c++) s += pick(JOINS) + pick(CLAUSES);
    out.push(s.charAt(0).toUpperCase() + s.slice(1) + pick(ENDS));
  }
  return out;
}

/**
 * Sentences for the text benchmark: a CSV's `Utterance` (MELD) or `text` column, or the
 * non-blank lines of a text file; the first `limit`.
 */
export async function readSentences(path: string, limit: number): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  let out: string[];
  if (extname(path).toLowerCase() === '.csv') {
    const [header, ...rows] = parseCsv(text, path);
    const col = header?.fields.findIndex((f) => f === 'Utterance' || f === 'text') ?? -1;
    if (col < 0)
      throw new EmoflowError('CONFIG_INVALID', `${path}: no 'Utterance' or 'text' column`, { path });
    out = rows.map((r) => r.fields[col] ?? '').filter((s) => s.trim() !== '');
  } else {
    out = text.split(/\r?\n/).filter((s) => s.trim() !== '');
  }
  return out.slice(0, limit);
}

// ---- images ------------------------------------------------------------------------------------

export interface ImageBenchInput {
  /** Image files in benchmark order (a built-in set repeats its files to `count`). */
  files: string[];
  /** What was used, for the JSON: a folder, or `built-in: …`. */
  input: string;
}

/** The repository's example photos (examples/README.md): a portrait, a close face crop, a photo. */
export const EXAMPLE_IMAGES = ['photos/astronaut.jpg', 'photos/astronaut-face.png', 'mixed/launch.jpg'];

/**
 * The image benchmark's files: the first `count` images of `--input`, else of FER+ Valid in
 * `../shared` where present, else the repository's example photos ({@link EXAMPLE_IMAGES}: 512x512,
 * 96x96 and 180x180 colour images, each with one face) repeated to `count`, in that order.
 */
export async function imageBenchInput(given: string | undefined, count: number): Promise<ImageBenchInput> {
  const dir = given ?? (existsSync(DEFAULT_IMAGE_INPUT()) ? DEFAULT_IMAGE_INPUT() : undefined);
  if (dir !== undefined) return { files: await listImages(requireInput(dir), count), input: shown(dir) };
  const examples = EXAMPLE_IMAGES.map((f) => join(packageRoot(), 'examples', f));
  const missing = examples.find((f) => !existsSync(f));
  if (missing !== undefined) {
    throw new EmoflowError(
      'CONFIG_INVALID',
      `bench image: no default images here (${missing} is part of a clone of the repository, not of the package); pass --input <folder of images>`,
      { path: missing },
    );
  }
  return {
    files: Array.from({ length: count }, (_, i) => examples[i % examples.length]!),
    input: `built-in: the repository's example photos ${EXAMPLE_IMAGES.map((f) => `examples/${f}`).join(', ')}, repeated to ${count} images`,
  };
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/** The first `limit` images of a folder, in name order. */
export async function listImages(dir: string, limit: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => IMAGE_EXT.has(extname(n).toLowerCase())).sort();
  return names.slice(0, limit).map((n) => join(dir, n));
}
