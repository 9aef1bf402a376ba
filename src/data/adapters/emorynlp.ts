import { EMOTIONS } from '../../core/labels.js';
import { EMOTION_TASK, type Corpus, type CorpusSample } from '../corpus.js';
import { EMOTION_INDEX, corpus, invalidAt, locate, locatedSource, oneHot, readStrictText } from './common.js';
import { jsonSyntaxErrorPosition, jsonValuePosition } from './tables.js';

/**
 * EmoryNLP, a text emotion corpus of ../shared/data/text (data/README.md "text/",
 * PROVENANCE/text.md), in the DAG-ERC release: one JSON file per split; paths and splits as
 * `locate` says.
 */

/** Licence as data/README.md states it, for head.json's training record. */
const LICENCE = 'Apache-2.0';

/**
 * EmoryNLP labels -> index into EMOTIONS, or null for the labels docs/corpora.md drops from the
 * emotion task (Peaceful, Powerful).
 */
const EMORYNLP_TO_EMOTION: ReadonlyMap<string, number | null> = new Map([
  ['Joyful', EMOTION_INDEX.get('joy')!],
  ['Mad', EMOTION_INDEX.get('anger')!],
  ['Scared', EMOTION_INDEX.get('fear')!],
  ['Sad', EMOTION_INDEX.get('sadness')!],
  ['Neutral', EMOTION_INDEX.get('neutral')!],
  ['Peaceful', null],
  ['Powerful', null],
]);

const EMORYNLP_FILES = {
  train: 'train_data.dag-erc.json',
  dev: 'dev_data.dag-erc.json',
  test: 'test_data.dag-erc.json',
};

/**
 * EmoryNLP in the DAG-ERC release (`*_data.dag-erc.json`: a list of scenes, each a list of
 * `{text, speaker, label}`; data/README.md). Task `emotion` with docs/corpora.md's mapping. Peaceful
 * and Powerful utterances have no emotion class: they are kept without an `emotion` target (no
 * other task here, so they train nothing, but `features` and `ingest` still see every utterance
 * and the scenes stay whole for context). id `<file stem>/<scene>_<position>`, group
 * `emorynlp-<split>-<scene index>`, order = position in the scene; a speaker list gives its first.
 */
export async function readEmoryNlp(path: string, split: string | undefined): Promise<Corpus> {
  const at = await locate('emorynlp', path, split, EMORYNLP_FILES);
  const text = await readStrictText(at.file);
  let scenes: unknown;
  try {
    scenes = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const { line, column } = jsonSyntaxErrorPosition(text, message);
    invalidAt(at.file, line, column, `not valid JSON: ${message}`);
  }
  function bad(where: readonly (number | string)[], what: string): never {
    const { line, column } = jsonValuePosition(text, where);
    return invalidAt(at.file, line, column, what);
  }
  if (!Array.isArray(scenes)) bad([], 'expected a list of scenes (lists of {text, speaker, label})');
  const samples: CorpusSample[] = [];
  (scenes as unknown[]).forEach((scene, s) => {
    if (!Array.isArray(scene)) bad([s], `scene ${s}: expected a list of utterances`);
    (scene as unknown[]).forEach((u, k) => {
      const where = `scene ${s}, utterance ${k}`;
      if (u === null || typeof u !== 'object' || Array.isArray(u))
        bad([s, k], `${where}: expected an object {text, speaker, label}`);
      const utt = u as Record<string, unknown>;
      for (const key of ['text', 'speaker', 'label']) {
        if (!(key in utt)) bad([s, k], `${where}: no '${key}'`);
      }
      if (typeof utt['text'] !== 'string') bad([s, k, 'text'], `${where}: 'text' must be a string`);
      if (typeof utt['label'] !== 'string') bad([s, k, 'label'], `${where}: 'label' must be a string`);
      const speakers = utt['speaker'];
      const speaker = Array.isArray(speakers) ? (speakers as unknown[])[0] : speakers;
      if (typeof speaker !== 'string')
        bad([s, k, 'speaker'], `${where}: 'speaker' must be a string or a non-empty list of strings`);
      const label = utt['label'];
      const e = EMORYNLP_TO_EMOTION.get(label);
      if (e === undefined)
        bad(
          [s, k, 'label'],
          `${where}: unknown label '${label}' (EmoryNLP labels: ${[...EMORYNLP_TO_EMOTION.keys()].join(', ')})`,
        );
      const sample: CorpusSample = {
        id: `${at.stem}/${s}_${k}`,
        root: at.root,
        text: utt['text'],
        group: `emorynlp-${at.tag}-${s}`,
        order: k,
        labels: { emotion: label },
        targets: e === null ? {} : { emotion: oneHot(EMOTIONS.length, e) },
      };
      if (speaker !== '') sample.speaker = speaker;
      samples.push(sample);
    });
  });
  return corpus('emorynlp', at.file, samples, [EMOTION_TASK], locatedSource(at, 'EmoryNLP', LICENCE), split);
}
