/**
 * How the face crop affects mini-XCEPTION on FER+ Valid (the dev split): CNN argmax against the
 * FER+ majority vote (ties and no-emotion rows dropped) for the whole image, the detector's box,
 * and the box enlarged. Chose WHOLE_IMAGE_FACE_FRACTION (src/features/image/image-extractor.ts).
 *
 *   npm run build && node dist/scripts/fer-crop-policy.js [rows=1500] [folder]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMOTIONS } from '../src/core/labels.js';
import { CROP_PIXELS, writeFaceCrop, type Box } from '../src/features/image/face-crop.js';
import { FerCnn } from '../src/features/image/fer-cnn.js';
import { UltraFace } from '../src/features/image/ultraface.js';
import { decodeImage, type RgbImage } from '../src/io/image.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { sharedPath } from '../src/bench/bench-inputs.js';

const rowsWanted = Number(process.argv[2] ?? 1500);
const dir = process.argv[3] ?? sharedPath('data', 'face', 'ferplus', 'FER2013Valid');
// FER+ vote columns after the box: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
const VOTES = ['neutral', 'joy', 'surprise', 'sadness', 'anger', 'disgust', 'fear'] as const;

const factory = new SessionFactory({ intraOpThreads: 2 });
const store = new ModelStore();
const detector = await UltraFace.load(factory, store);
const cnn = await FerCnn.load(factory, store);

const variants: Record<string, [RgbImage, Box][]> = {
  whole: [],
  detector: [],
  'detector x1.25': [],
  'detector x1.5': [],
};
const labels: number[] = [];
const lines = (await readFile(join(dir, 'label.csv'), 'utf8')).trim().split('\n').slice(0, rowsWanted);
for (const line of lines) {
  const m = /^([^,]+),"[^"]*",(.*)$/.exec(line.trim());
  if (m === null) continue;
  const votes = m[2]!.split(',').slice(0, 7).map(Number);
  const top = Math.max(...votes);
  if (top === 0 || votes.filter((v) => v === top).length > 1) continue;
  labels.push(EMOTIONS.indexOf(VOTES[votes.indexOf(top)]!));
  const img = await decodeImage(await readFile(join(dir, m[1]!)));
  const faces = (await detector.detect(img)).sort((a, b) => b.w * b.h - a.w * a.h);
  const whole: Box = [0, 0, img.width, img.height];
  const f = faces[0];
  const grown = (k: number): Box => {
    if (f === undefined) return whole;
    const side = Math.max(f.w, f.h) * k;
    return [f.x + f.w / 2 - side / 2, f.y + f.h / 2 - side / 2, side, side];
  };
  variants['whole']!.push([img, whole]);
  variants['detector']!.push([img, f === undefined ? whole : [f.x, f.y, f.w, f.h]]);
  variants['detector x1.25']!.push([img, grown(1.25)]);
  variants['detector x1.5']!.push([img, grown(1.5)]);
}
const result: Record<string, number> = {};
for (const [name, list] of Object.entries(variants)) {
  const input = new Float32Array(list.length * CROP_PIXELS);
  list.forEach(([img, box], i) => writeFaceCrop(img, box, input, i * CROP_PIXELS));
  const { probs } = await cnn.run(input, list.length);
  let right = 0;
  for (let i = 0; i < list.length; i++) {
    let best = 0;
    for (let k = 1; k < 7; k++) if (probs[i * 7 + k]! > probs[i * 7 + best]!) best = k;
    if (best === labels[i]) right++;
  }
  result[name] = right / list.length;
}
console.log(JSON.stringify({ images: labels.length, accuracy: result }));
