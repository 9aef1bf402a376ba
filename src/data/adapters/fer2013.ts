import { basename, extname, join, resolve } from 'node:path';
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
  splitOf,
  stripExtension,
} from './common.js';

/**
 * FER2013, a face emotion corpus of ../shared/data (data/README.md "face/", PROVENANCE/face.md), as a
 * folder per label; the conventions of index.ts. Each split is its own folder.
 */

/** Licence: data/README.md and PROVENANCE/face.md. */
const LICENCE =
  'FER2013 images and labels: research use only, no open licence (Goodfellow et al. 2013, arXiv:1307.0414)';

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
        targets: { emotion: emotionOneHot(emotion) },
      });
    }
  }
  if (samples.length === 0) invalid(path, 'holds no images in label folders: not a FER2013 folder');
  return corpus('fer2013', root, sortById(samples), [EMOTION_TASK], {
    corpus: 'FER2013 (Goodfellow et al. 2013)',
    path,
    ...splitOf(basename(root)),
    licence: LICENCE,
  });
}
