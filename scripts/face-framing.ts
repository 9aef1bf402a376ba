/**
 * Face framing for mini-XCEPTION (issue #18 item 3): where UltraFace's box sits in FER2013-style
 * crops, and how the framing rule of `selectFaces` compares with other crops, by the CNN's own
 * argmax (no head). Prints JSON.
 *
 *   npm run build && node dist/scripts/face-framing.js [measure|compare|all] [--limit N]
 *
 * measure: UltraFace over FER+ Train, FER2013's train folder (48x48 gray faces) and tcce, each
 *   image seen two ways: inside a picture (`UltraFace.detectInPicture`: how the detector boxes a
 *   face that has context, as in a portrait; FER+ Train's medians are FER_FRAMING) and as is
 *   (the first detection of the pipeline). For the largest box: its side (max(w, h)) over the
 *   image's side and its centre's offset from the image centre, in image sides; quantiles
 *   5/10/25/50/75/95 %, and the share that `isFramedInput` takes for framed already.
 * compare: the CNN's argmax on FER+ Valid (accuracy against the FERPlus majority; images
 *   without one dropped), on the same faces enlarged and pasted into larger pictures, and on
 *   tcce_performers (UAR over the 7 intended expressions: all 29 performers, mean and sd over 5
 *   performer folds, performers 01-24 and 25-30), for: the rule (`selectFaces`), the rule with
 *   black padding, without its second detection or its score check, the former rule, the whole
 *   image, the detector's box, FER framing never whole, other whole-image and score thresholds,
 *   and crop sides scaled around FER_FRAMING's.
 *
 * The corpora are read in place from ../shared (data/README.md "face/"); nothing is copied.
 * Single-threaded onnxruntime sessions.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NUM_EMOTIONS } from '../src/core/labels.js';
import { ferplusMajority } from '../src/data/adapters/ferplus.js';
import { readTccePerformers } from '../src/data/adapters/tcce.js';
import {
  CROP_PIXELS,
  FACE_CROP_PADDING,
  FER_FRAMED_INPUT,
  FER_FRAMING,
  framedCropRect,
  framingInImage,
  isFramedInput,
  squareCropRect,
  wholeImageBox,
  writeCrop,
  type Box,
  type CropPadding,
  type CropRect,
  type Framing,
  type FramedInputTolerance,
} from '../src/features/image/face-crop.js';
import { FerCnn } from '../src/features/image/fer-cnn.js';
import {
  largestFace,
  needsPictureCheck,
  selectFaces,
  SURE_FACE_SCORE,
} from '../src/features/image/image-extractor.js';
import { UltraFace, type FaceBox } from '../src/features/image/ultraface.js';
import { decodeImage, type RgbImage } from '../src/io/image.js';
import { ModelStore } from '../src/models/model-store.js';
import { SessionFactory } from '../src/models/session-factory.js';
import { sharedPath } from '../src/bench/bench-inputs.js';

const args = process.argv.slice(2);
const mode = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? 'all';
const limitAt = args.indexOf('--limit');
const limit = limitAt >= 0 ? Number(args[limitAt + 1]) : Infinity;
if (!['measure', 'compare', 'all'].includes(mode)) {
  throw new Error(`unknown mode '${mode}': expected measure, compare or all`);
}

const FACE = sharedPath('data', 'face');
const factory = new SessionFactory({ intraOpThreads: 1 });
const store = new ModelStore();
const detector = await UltraFace.load(factory, store);
const cnn = await FerCnn.load(factory, store);

// --- helpers --------------------------------------------------------------------------------

/** `img` on a mid-gray canvas at (left, top) (FER+ Valid faces in a portrait, `inPictures`). */
function onCanvas(img: RgbImage, width: number, height: number, left: number, top: number): RgbImage {
  const data = new Uint8Array(width * height * 3).fill(128);
  for (let y = 0; y < img.height; y++) {
    const row = img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3);
    data.set(row, ((top + y) * width + left) * 3);
  }
  return { width, height, data };
}

function largest(faces: readonly FaceBox[]): FaceBox | undefined {
  return [...faces].sort((a, b) => b.w * b.h - a.w * a.h)[0];
}

const toBox = (f: FaceBox): Box => [f.x, f.y, f.w, f.h];

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

function quantiles(values: number[]): Record<string, number> {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number): number => {
    // linear interpolation between order statistics (numpy's default)
    const i = p * (s.length - 1);
    const lo = Math.floor(i);
    const hi = Math.min(lo + 1, s.length - 1);
    return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
  };
  return {
    p5: round(at(0.05)),
    p10: round(at(0.1)),
    p25: round(at(0.25)),
    median: round(at(0.5)),
    p75: round(at(0.75)),
    p95: round(at(0.95)),
  };
}

async function pngs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
}

// --- measure --------------------------------------------------------------------------------

interface FramingSample {
  images: number;
  framings: Framing[];
  /** How many of the faces pass `isFramedInput`. */
  framed: number;
}

function summarise(s: FramingSample): Record<string, unknown> {
  return {
    images: s.images,
    facesFound: s.framings.length,
    foundRate: round(s.framings.length / s.images),
    boxToSide: quantiles(s.framings.map((f) => f.boxToCrop)),
    offsetX: quantiles(s.framings.map((f) => f.offsetX)),
    offsetY: quantiles(s.framings.map((f) => f.offsetY)),
    withinFramedInput: round(s.framed / Math.max(s.framings.length, 1)),
  };
}

/** One set of images: its largest face's framing found in a picture and as is. */
async function measureFaces(files: string[]): Promise<{ inPicture: FramingSample; asIs: FramingSample }> {
  const pic: FramingSample = { images: 0, framings: [], framed: 0 };
  const asIs: FramingSample = { images: 0, framings: [], framed: 0 };
  const add = (sample: FramingSample, img: RgbImage, face: FaceBox | undefined): void => {
    sample.images++;
    if (face === undefined) return;
    sample.framings.push(framingInImage(toBox(face), img));
    if (isFramedInput(toBox(face), img)) sample.framed++;
  };
  for (const file of files) {
    const img = await decodeImage(await readFile(file), { path: file });
    add(pic, img, largest(await detector.detectInPicture(img)));
    add(asIs, img, largest(await detector.detect(img)));
  }
  return { inPicture: pic, asIs };
}

async function measure(): Promise<Record<string, unknown>> {
  const ferTrain = join(FACE, 'ferplus', 'FER2013Train');
  const ferFiles = (await pngs(ferTrain)).slice(0, limit).map((f) => join(ferTrain, f));
  const fer = await measureFaces(ferFiles);
  const fer2013 = join(FACE, 'fer2013', 'train');
  const fer2013Files: string[] = [];
  for (const label of (await readdir(fer2013)).sort()) {
    for (const f of await pngs(join(fer2013, label))) fer2013Files.push(join(fer2013, label, f));
  }
  const f13 = await measureFaces(fer2013Files.slice(0, limit));
  const tcceDir = join(FACE, 'tcce_performers');
  const tcceFiles = (await readdir(tcceDir)).filter((f) => f.endsWith('.jpg')).sort();
  const tcce = await measureFaces(tcceFiles.map((f) => join(tcceDir, f)));
  return {
    framing: FER_FRAMING,
    framedInput: FER_FRAMED_INPUT,
    ferplusTrain: { inPicture: summarise(fer.inPicture), asIs: summarise(fer.asIs) },
    fer2013Train: { inPicture: summarise(f13.inPicture), asIs: summarise(f13.asIs) },
    tcce: { inPicture: summarise(tcce.inPicture), asIs: summarise(tcce.asIs) },
  };
}

// --- compare --------------------------------------------------------------------------------

interface Sample {
  img: RgbImage;
  /** The detector's faces as the pipeline finds them, and in a picture when it asks for that. */
  faces: FaceBox[];
  inPicture: FaceBox[];
  label: number;
  performer?: number;
}

async function sample(img: RgbImage, label: number, performer?: number): Promise<Sample> {
  const faces = await detector.detect(img);
  const inPicture = needsPictureCheck(faces, img) ? await detector.detectInPicture(img) : [];
  return { img, faces, inPicture, label, ...(performer === undefined ? {} : { performer }) };
}

/** What the CNN gets for one image: a rectangle and how to pad it. */
type Crop = { rect: CropRect; padding: CropPadding };
type Variant = (s: Sample) => Crop;

const whole = (img: RgbImage): CropRect => squareCropRect(wholeImageBox(img));

/** The former rule: whole image when the face's side is >= half the short side, else the tight box. */
const FORMER_FRACTION = 0.5;

/** The pipeline's rule: `selectFaces`'s crop. */
function rule(s: Sample, padding: CropPadding = FACE_CROP_PADDING, inPicture = s.inPicture): Crop {
  const [x, y, w, h] = selectFaces(s.faces, s.img, 'largest', inPicture)[0]!.crop;
  return { rect: { left: x, top: y, right: x + w, bottom: y + h }, padding };
}

interface FramingOptions {
  /** Whole image when the face is framed like this already; undefined: never. */
  tolerance?: FramedInputTolerance;
  /** The crop's side times this (1: FER_FRAMING). */
  margin?: number;
  /** Whole image when a face that fills the image scores below this; 0: never. */
  sureScore?: number;
}

/** Variants of the rule: the largest face (from the picture) framed, unless ... */
function framed({ tolerance, margin = 1, sureScore = 0 }: FramingOptions): Variant {
  return (s) => {
    const f = largestFace(s.faces, s.inPicture);
    const keepWhole =
      f === undefined ||
      (tolerance !== undefined && isFramedInput(toBox(f), s.img, FER_FRAMING, tolerance)) ||
      (needsPictureCheck(s.faces, s.img) && f.score < sureScore);
    if (keepWhole) return { rect: whole(s.img), padding: FACE_CROP_PADDING };
    const framing = { ...FER_FRAMING, boxToCrop: FER_FRAMING.boxToCrop / margin };
    return { rect: framedCropRect(toBox(f), framing), padding: FACE_CROP_PADDING };
  };
}

const VARIANTS: Record<string, Variant> = {
  'rule (selectFaces)': (s) => rule(s),
  'rule, black padding': (s) => rule(s, 'black'),
  'rule without the picture check': (s) => rule(s, FACE_CROP_PADDING, []),
  'rule without the unsure-face check': framed({ tolerance: FER_FRAMED_INPUT }),
  // The two earlier pipelines padded black.
  'former rule (0.5 of short side)': (s) => {
    const f = largest(s.faces);
    if (f === undefined || Math.max(f.w, f.h) >= FORMER_FRACTION * Math.min(s.img.width, s.img.height)) {
      return { rect: whole(s.img), padding: 'black' };
    }
    return { rect: squareCropRect(toBox(f)), padding: 'black' };
  },
  'whole image': (s) => ({ rect: whole(s.img), padding: 'black' }),
  'tight box, no pass-through': (s) => {
    const f = largest(s.faces);
    return { rect: f === undefined ? whole(s.img) : squareCropRect(toBox(f)), padding: 'black' };
  },
  'FER framing, no pass-through': framed({}),
};
for (const minBoxToCrop of [0.75, 0.8, 0.9]) {
  VARIANTS[`rule, pass-through from box ${minBoxToCrop}`] = framed({
    tolerance: { ...FER_FRAMED_INPUT, minBoxToCrop },
    sureScore: SURE_FACE_SCORE,
  });
}
for (const sureScore of [0.8, 0.95, 0.99]) {
  VARIANTS[`rule, sure score ${sureScore}`] = framed({ tolerance: FER_FRAMED_INPUT, sureScore });
}
for (const margin of [0.8, 0.9, 1.1, 1.25, 1.5]) {
  VARIANTS[`rule, crop side x${margin}`] = framed({
    tolerance: FER_FRAMED_INPUT,
    margin,
    sureScore: SURE_FACE_SCORE,
  });
}

/** Argmax of the CNN (EMOTIONS order) for every sample under one variant; also how often it padded. */
async function predict(samples: Sample[], variant: Variant): Promise<{ pred: Int32Array; padded: number }> {
  const pred = new Int32Array(samples.length);
  const BATCH = 256;
  const input = new Float32Array(BATCH * CROP_PIXELS);
  let padded = 0;
  for (let start = 0; start < samples.length; start += BATCH) {
    const n = Math.min(BATCH, samples.length - start);
    for (let i = 0; i < n; i++) {
      const s = samples[start + i]!;
      const { rect, padding } = variant(s);
      const wholeSquare = whole(s.img);
      const outside = rect.left < 0 || rect.top < 0 || rect.right > s.img.width || rect.bottom > s.img.height;
      const isWhole =
        rect.left === wholeSquare.left &&
        rect.top === wholeSquare.top &&
        rect.right === wholeSquare.right &&
        rect.bottom === wholeSquare.bottom;
      if (outside && !isWhole) padded++;
      writeCrop(s.img, rect, input, i * CROP_PIXELS, padding);
    }
    const { probs } = await cnn.run(input, n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < NUM_EMOTIONS; k++)
        if (probs[i * NUM_EMOTIONS + k]! > probs[i * NUM_EMOTIONS + best]!) best = k;
      pred[start + i] = best;
    }
  }
  return { pred, padded };
}

function accuracy(samples: Sample[], pred: Int32Array): { accuracy: number; correct: number } {
  let correct = 0;
  samples.forEach((s, i) => (correct += s.label === pred[i] ? 1 : 0));
  return { accuracy: round(correct / samples.length), correct };
}

/** Unweighted average recall over the classes present in `idx`. */
function uar(samples: Sample[], pred: Int32Array, idx: number[]): number {
  const hit = new Float64Array(NUM_EMOTIONS);
  const n = new Float64Array(NUM_EMOTIONS);
  for (const i of idx) {
    const label = samples[i]!.label;
    n[label]!++;
    if (pred[i] === label) hit[label]!++;
  }
  const recalls = Array.from(n).flatMap((c, k) => (c > 0 ? [hit[k]! / c] : []));
  return recalls.reduce((a, b) => a + b, 0) / recalls.length;
}

/**
 * Performers into k folds as scikit-learn's GroupKFold does (largest group first, each to the
 * fold with the fewest samples so far).
 */
function groupFolds(samples: Sample[], k: number): number[][] {
  const byPerformer = new Map<number, number[]>();
  samples.forEach((s, i) => byPerformer.set(s.performer!, [...(byPerformer.get(s.performer!) ?? []), i]));
  const groups = [...byPerformer.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  const folds: number[][] = Array.from({ length: k }, () => []);
  for (const [, idx] of groups) {
    const lightest = folds.reduce((best, f, i) => (f.length < folds[best]!.length ? i : best), 0);
    folds[lightest]!.push(...idx);
  }
  return folds;
}

/** tcce_performers through its corpus adapter: the intended expression, the performer. */
async function readTcce(): Promise<Sample[]> {
  const corpus = await readTccePerformers(join(FACE, 'tcce_performers'), undefined);
  const out: Sample[] = [];
  for (const c of corpus.samples) {
    const path = join(c.root, c.image!);
    const target = c.targets['emotion'] as number[];
    const label = target.indexOf(Math.max(...target));
    const img = await decodeImage(await readFile(path), { path });
    out.push(await sample(img, label, Number(c.labels['performer'])));
  }
  return out;
}

async function readFerValid(): Promise<Sample[]> {
  const dir = join(FACE, 'ferplus', 'FER2013Valid');
  const out: Sample[] = [];
  const lines = (await readFile(join(dir, 'label.csv'), 'utf8')).trim().split('\n');
  for (const line of lines.slice(0, limit)) {
    const m = /^([^,]+),"[^"]*",(.*)$/.exec(line.trim());
    if (m === null) throw new Error(`${join(dir, 'label.csv')}: unexpected row '${line}'`);
    const label = ferplusMajority(m[2]!.split(',').map(Number));
    if (label === null) continue;
    const img = await decodeImage(await readFile(join(dir, m[1]!)), { path: join(dir, m[1]!) });
    out.push(await sample(img, label));
  }
  return out;
}

/**
 * FER+ Valid faces as small faces in portraits: each 48x48 face scaled 2x and pasted on a
 * mid-gray 160x160 canvas at a position from a fixed LCG (seed 18), so that framing, not the
 * input, decides what the CNN sees. The ideal is the accuracy on the faces themselves.
 */
function inPictures(samples: Sample[]): Promise<Sample[]> {
  let seed = 18;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Promise.all(
    samples.map(async (s) => {
      const big = upscale2(s.img);
      const img = onCanvas(big, 160, 160, Math.floor(next() * 64), Math.floor(next() * 64));
      return sample(img, s.label);
    }),
  );
}

/** Nearest-neighbour 2x (keeps the face's own pixels; the crop's resize does the smoothing). */
function upscale2(img: RgbImage): RgbImage {
  const W = img.width * 2;
  const H = img.height * 2;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const p = ((y >> 1) * img.width + (x >> 1)) * 3;
      data.set(img.data.subarray(p, p + 3), (y * W + x) * 3);
    }
  return { width: W, height: H, data };
}

function tcceUar(samples: Sample[], pred: Int32Array): Record<string, unknown> {
  const all = samples.map((_, i) => i);
  const folds = groupFolds(samples, 5).map((idx) => uar(samples, pred, idx));
  const mean = folds.reduce((a, b) => a + b, 0) / folds.length;
  const sd = Math.sqrt(folds.reduce((a, b) => a + (b - mean) ** 2, 0) / (folds.length - 1));
  return {
    all: round(uar(samples, pred, all)),
    folds: { mean: round(mean), sd: round(sd) },
    performers01to24: round(
      uar(
        samples,
        pred,
        all.filter((i) => samples[i]!.performer! <= 24),
      ),
    ),
    performers25to30: round(
      uar(
        samples,
        pred,
        all.filter((i) => samples[i]!.performer! >= 25),
      ),
    ),
  };
}

/** How selectFaces framed each sample. */
function framings(samples: Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) {
    const f = selectFaces(s.faces, s.img, 'largest', s.inPicture)[0]!.framing;
    counts[f] = (counts[f] ?? 0) + 1;
  }
  return counts;
}

async function compare(): Promise<Record<string, unknown>> {
  const fer = await readFerValid();
  const ferPic = await inPictures(fer);
  const tcce = await readTcce();
  const rows: Record<string, unknown> = {};
  for (const [name, variant] of Object.entries(VARIANTS)) {
    const a = await predict(fer, variant);
    const p = await predict(ferPic, variant);
    const t = await predict(tcce, variant);
    rows[name] = {
      ferplusValidAccuracy: accuracy(fer, a.pred),
      ferplusValidInPictureAccuracy: accuracy(ferPic, p.pred),
      tcceUar: tcceUar(tcce, t.pred),
      padded: { ferplusValid: a.padded, ferplusValidInPicture: p.padded, tcce: t.padded },
    };
  }
  return {
    framing: FER_FRAMING,
    framedInput: FER_FRAMED_INPUT,
    sureFaceScore: SURE_FACE_SCORE,
    padding: FACE_CROP_PADDING,
    images: { ferplusValid: fer.length, ferplusValidInPicture: ferPic.length, tcce: tcce.length },
    ruleFramings: {
      ferplusValid: framings(fer),
      ferplusValidInPicture: framings(ferPic),
      tcce: framings(tcce),
    },
    variants: rows,
  };
}

const result: Record<string, unknown> = {};
if (mode === 'measure' || mode === 'all') result['measure'] = await measure();
if (mode === 'compare' || mode === 'all') result['compare'] = await compare();
console.log(JSON.stringify(result, null, 2));
await factory.release();
