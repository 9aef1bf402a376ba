import type { CorpusAdapter } from './common.js';
import { readDair } from './dair.js';
import { readEmoBank } from './emobank.js';
import { readEmoDb } from './emodb.js';
import { readEmoryNlp } from './emorynlp.js';
import { readEmovo } from './emovo.js';
import { readFer2013 } from './fer2013.js';
import { readFerPlus } from './ferplus.js';
import { readGoEmotions, readGoEmotionsEkman } from './goemotions.js';
import { readManifestCorpus } from './manifest.js';
import { readMeld } from './meld.js';
import { readNemo } from './nemo.js';
import { readRavdess } from './ravdess.js';
import { readTccePerformers } from './tcce.js';

/**
 * The corpus adapters by their corpus-spec names (docs/corpora.md), one file per corpus beside this
 * one, with what they share in common.ts and tables.ts. MOSI's release ships features, not raw
 * inputs: mosi.ts reads it as a feature dataset.
 *
 * Text corpora (../shared/data/text; data/README.md "text/", PROVENANCE/text.md): MELD,
 * GoEmotions, EmoBank, dair and EmoryNLP. Text is inline, so every sample's `root` is the corpus
 * file's folder. A file-per-split corpus (MELD, GoEmotions, dair, EmoryNLP) takes a file, or a
 * folder and a `#split` naming the file (`locate`, common.ts); the split tags groups and
 * `source.split`.
 *
 * Speech and face corpora (../shared/data; data/README.md "speech/" and "face/"): RAVDESS, EmoDB,
 * EMOVO, nEMO, FER+, FER2013 and TCCE. Each lists a folder and returns samples whose `audio` /
 * `image` are paths relative to `root` (the folder given); the media are read later by the
 * extractors, which resolve and check those paths (docs/ingest.md). Common conventions:
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

/** The text corpora's adapters. */
export const TEXT_ADAPTERS: Record<string, CorpusAdapter> = {
  meld: readMeld,
  'goemotions-ekman': readGoEmotionsEkman,
  goemotions: readGoEmotions,
  emobank: readEmoBank,
  dair: readDair,
  emorynlp: readEmoryNlp,
};

/** The speech and face corpora's adapters. */
export const MEDIA_ADAPTERS: Record<string, CorpusAdapter> = {
  ravdess: readRavdess,
  emodb: readEmoDb,
  ferplus: readFerPlus,
  fer2013: readFer2013,
  emovo: readEmovo,
  nemo: readNemo,
  tcce: readTccePerformers,
};

/**
 * Every adapter over raw text, images and audio (docs/corpora.md): the generic manifest, the text
 * and the media corpora. The same for train, eval, features and ingest.
 */
export const CORPUS_ADAPTERS: Record<string, CorpusAdapter> = {
  manifest: readManifestCorpus,
  ...TEXT_ADAPTERS,
  ...MEDIA_ADAPTERS,
};
