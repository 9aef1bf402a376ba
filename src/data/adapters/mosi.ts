import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EmoflowError } from '../../core/errors.js';
import type { FeatureDataset } from '../feature-dataset.js';
import { invalidLine } from './common.js';

/** The MOSI release's feature blocks as feature specs: its own extractors, not emoflow's. */
export const MOSI_SPECS = {
  text: { name: 'mosi-bclstm-text-cnn', version: '1', dim: 100 },
  audio: { name: 'mosi-bclstm-opensmile', version: '1', dim: 73 },
  image: { name: 'mosi-bclstm-visual-3dcnn', version: '1', dim: 100 },
} as const;

export const MOSI_LICENCE =
  'CMU-MOSI (Zadeh et al. 2016) features released with bc-LSTM (Poria et al. 2017); companion repository MIT; corpus terms not stated';

interface MosiRow {
  id: string;
  dialogue: string;
  order: number;
  text: number[];
  audio: number[];
  visual: number[];
  sentiment: 'negative' | 'positive';
  sentiment_score: number;
}

/**
 * CMU-MOSI utterance features (../shared/data/multimodal/mosi/*.jsonl.gz): text (100), audio
 * (73, raw openSMILE values: the head's per-modality standardisation takes care of scale),
 * visual (100) in the head's `image` slot; tasks `sentiment` (negative / positive) and
 * `sentiment_score` (regression in [-3, 3]); group = the video, ordered by `order`.
 */
export async function readMosi(path: string): Promise<FeatureDataset> {
  let text: string;
  try {
    const raw = await readFile(path);
    text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'MANIFEST_INVALID';
    throw new EmoflowError(code, `${path}: ${(e as Error).message}`, { path, cause: e });
  }
  const rows: MosiRow[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let r: MosiRow;
    try {
      r = JSON.parse(line) as MosiRow;
    } catch (e) {
      invalidLine(path, i + 1, (e as Error).message);
    }
    const bad =
      typeof r.id !== 'string'
        ? 'id'
        : r.text?.length !== 100
          ? 'text (100 numbers)'
          : r.audio?.length !== 73
            ? 'audio (73 numbers)'
            : r.visual?.length !== 100
              ? 'visual (100 numbers)'
              : r.sentiment !== 'negative' && r.sentiment !== 'positive'
                ? 'sentiment'
                : typeof r.sentiment_score !== 'number'
                  ? 'sentiment_score'
                  : undefined;
    if (bad !== undefined) invalidLine(path, i + 1, `missing or malformed ${bad}`);
    rows.push(r);
  });
  const n = rows.length;
  const t = new Float32Array(n * 100);
  const v = new Float32Array(n * 100);
  const a = new Float32Array(n * 73);
  const cls = new Float32Array(n * 2);
  const score = new Float32Array(n);
  const order = new Int32Array(n);
  rows.forEach((r, i) => {
    t.set(r.text, i * 100);
    v.set(r.visual, i * 100);
    a.set(r.audio, i * 73);
    cls[i * 2 + (r.sentiment === 'positive' ? 1 : 0)] = 1;
    score[i] = r.sentiment_score;
    order[i] = r.order;
  });
  const all = new Uint8Array(n).fill(1);
  return {
    name: `mosi:${basename(path)}`,
    size: n,
    ids: rows.map((r) => r.id),
    groups: rows.map((r) => r.dialogue),
    order,
    features: {
      text: { spec: MOSI_SPECS.text, data: t },
      image: { spec: MOSI_SPECS.image, data: v },
      audio: { spec: MOSI_SPECS.audio, data: a },
    },
    mask: new Uint8Array(n * 3).fill(1),
    tasks: {
      sentiment: {
        spec: {
          name: 'sentiment',
          type: 'classification',
          labels: ['negative', 'positive'],
          weight: 1,
          labelSmoothing: 0,
          classWeights: 'none',
        },
        targets: cls,
        has: all,
      },
      sentiment_score: {
        spec: { name: 'sentiment_score', type: 'regression', range: [-3, 3], loss: 'mse', weight: 1 },
        targets: score,
        has: all.slice(),
      },
    },
    source: { corpus: 'CMU-MOSI (bc-LSTM features)', path, licence: MOSI_LICENCE },
  };
}
