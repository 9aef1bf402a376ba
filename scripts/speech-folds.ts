/**
 * Leave-one-speech-corpus-out folds of the default recipe on the speech corpora alone, shared by
 * scripts/speech-calibration.ts and scripts/prosody-loco.ts: the corpora (EMOVO and nEMO trained
 * on their #train speakers, their #dev speakers as dev data), and one fold's head trained without
 * the held-out corpus.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { packageRoot } from '../src/core/package-root.js';
import type { DatasetContext } from '../src/data/datasets.js';
import { loadDataset } from '../src/data/datasets.js';
import type { FeatureDataset } from '../src/data/feature-dataset.js';
import { loadHead, type LoadedHead } from '../src/head/artifact.js';
import { graphSession } from '../src/head/trainer.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { CORPORA, defaultMix, fitMix, keepTasks, type Recipe } from './train-default.js';

export const SPEECH = ['ravdess', 'emodb', 'emovo', 'nemo'] as const;
export type SpeechCorpus = (typeof SPEECH)[number];
/** Corpora with a speaker split: trained on #train, their #dev speakers calibrate. */
const SPLIT = new Set<string>(['emovo', 'nemo']);

/** Each speech corpus whole (what a fold scores), its training split and its dev split (if any). */
export interface SpeechSets {
  whole: Map<SpeechCorpus, FeatureDataset>;
  train: Map<SpeechCorpus, FeatureDataset>;
  dev: Map<SpeechCorpus, FeatureDataset>;
}

export async function loadSpeechSets(context: DatasetContext): Promise<SpeechSets> {
  const sets: SpeechSets = { whole: new Map(), train: new Map(), dev: new Map() };
  for (const key of SPEECH) {
    const spec = CORPORA[key]!.train;
    const whole = keepTasks(await loadDataset(spec, context));
    sets.whole.set(key, whole);
    if (SPLIT.has(key)) {
      sets.train.set(key, keepTasks(await loadDataset(`${spec}#train`, context)));
      sets.dev.set(key, keepTasks(await loadDataset(`${spec}#dev`, context)));
    } else sets.train.set(key, whole);
  }
  return sets;
}

/** The same corpora with `f` applied to every dataset (e.g. features appended). */
export function mapSpeechSets(
  sets: SpeechSets,
  f: (key: SpeechCorpus, ds: FeatureDataset) => FeatureDataset,
): SpeechSets {
  const map = (m: Map<SpeechCorpus, FeatureDataset>) =>
    new Map([...m].map(([k, ds]) => [k, f(k, ds)] as const));
  return { whole: map(sets.whole), train: map(sets.train), dev: map(sets.dev) };
}

/**
 * Trains the recipe on every speech corpus but `heldOut` (in `.cache/<tag>/…`) and hands its head
 * and session to `use`; the head folder and the sessions are released afterwards.
 */
export async function withFoldHead<T>(
  sets: SpeechSets,
  heldOut: SpeechCorpus,
  recipe: Pick<Recipe, 'config' | 'repeats'>,
  tag: string,
  use: (head: LoadedHead, session: ort.InferenceSession) => Promise<T>,
): Promise<T> {
  const { config, repeats } = recipe;
  const keys = SPEECH.filter((k) => k !== heldOut);
  const mix = defaultMix(
    { train: keys.map((k) => sets.train.get(k)!), dev: keys.flatMap((k) => sets.dev.get(k) ?? []) },
    config,
    { repeats, pairs: 0 },
  );
  const factory = new SessionFactory({ intraOpThreads: config.threads, interOpThreads: 1 });
  const dir = join(packageRoot(), '.cache', tag, `${heldOut}-${config.seed}`);
  process.stderr.write(`without ${heldOut}: training on ${keys.join(', ')}\n`);
  try {
    await fitMix(mix, config, factory, { name: `${tag}-without-${heldOut}`, out: dir });
    const head = await loadHead(dir);
    return await use(head, await graphSession(factory, head.onnx));
  } finally {
    await factory.release();
    await rm(dir, { recursive: true, force: true });
  }
}
