import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../../io/image.js';
import type { ModelStore } from '../../models/model-store.js';
import type { SessionFactory } from '../../models/session-factory.js';
import { float32Output } from '../../models/ort-outputs.js';

/** UltraFace RFB-320's fixed input (MODELS.md §2): [1, 3, 240, 320]. */
export const DETECTOR_WIDTH = 320;
export const DETECTOR_HEIGHT = 240;
export const DETECTOR_INPUT_LENGTH = 3 * DETECTOR_WIDTH * DETECTOR_HEIGHT;

/** A detected face in original image pixels. */
export interface FaceBox {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

/** Upstream `detect_imgs_onnx.py` post-processing (MODELS.md §2). */
export interface DetectionOptions {
  /** Keep priors whose face probability is strictly above this; 0.7. */
  scoreThreshold?: number;
  /** Suppress a box whose IoU with a kept one is strictly above this; 0.3. */
  iouThreshold?: number;
  /** At most this many candidates (best first) enter NMS; 200. */
  candidates?: number;
}

const DEFAULTS: Required<DetectionOptions> = { scoreThreshold: 0.7, iouThreshold: 0.3, candidates: 200 };

/**
 * The detector's input tensor for `img` (MODELS.md §2): RGB stretched to 320x240 (no letterbox),
 * bilinear, (x - 127) / 128, NCHW. Written into `out` (length 230400) when given.
 *
 * The resize is cv2.resize's INTER_LINEAR, which upstream used: pixel centres at i + 0.5, edges
 * clamped, no widening of the filter when shrinking. It is computed here in float instead of
 * cv2's 11-bit fixed point with 8-bit output (differences below one gray level), and instead of
 * sharp, whose resize kernels are not cv2's and whose extra pipeline costs ~1 ms an image.
 *
 * Separable: each needed source row is resized horizontally (JS), then every output row blends
 * two of them. That blend writes all 230400 floats and dominated the image path's own time, so
 * it runs in a small WebAssembly SIMD kernel (5x faster than the JS loop here), with the JS loop
 * as the fallback; `kernel: 'js'` forces the fallback (tests compare the two).
 */
export function detectorInput(
  img: RgbImage,
  out: Float32Array = new Float32Array(DETECTOR_INPUT_LENGTH),
  kernel: 'auto' | 'js' = 'auto',
): Float32Array {
  if (out.length < DETECTOR_INPUT_LENGTH)
    throw new RangeError(`detector input buffer has ${out.length} floats, needs ${DETECTOR_INPUT_LENGTH}`);
  const { width, height, data } = img;
  const W = DETECTOR_WIDTH;
  const plane = DETECTOR_WIDTH * DETECTOR_HEIGHT;
  const xs = linearTaps(width, W);
  const ys = linearTaps(height, DETECTOR_HEIGHT);
  const simd = kernel === 'auto' ? lerpKernel() : undefined;

  // Two horizontally resized source rows (as cv2 keeps), planar (c * 320 + x), already
  // normalised: the normalisation is affine, so it commutes with the interpolation. With the
  // SIMD kernel they live in its memory at float offsets 0 and 960, the output at KERNEL_OUT.
  const rowMem = simd?.f32 ?? new Float32Array(6 * W);
  const rowOff = [0, 3 * W];
  const rows = [rowMem.subarray(0, 3 * W), rowMem.subarray(3 * W, 6 * W)];
  const have = [-1, -1];
  let a = 0; // index of the row holding y0; 1 - a holds y1
  const hRow = (sy: number, dst: Float32Array): void => {
    const base = sy * width * 3;
    for (let ox = 0; ox < W; ox++) {
      const p0 = base + xs.i0[ox]! * 3;
      const p1 = base + xs.i1[ox]! * 3;
      const f = xs.f[ox]!;
      for (let c = 0; c < 3; c++) {
        const v = data[p0 + c]!;
        dst[c * W + ox] = (v + (data[p1 + c]! - v) * f - 127) / 128;
      }
    }
  };
  for (let oy = 0; oy < DETECTOR_HEIGHT; oy++) {
    const y0 = ys.i0[oy]!;
    const y1 = ys.i1[oy]!;
    const fy = ys.f[oy]!;
    if (have[a] !== y0) {
      if (have[1 - a] === y0) a = 1 - a;
      else {
        hRow(y0, rows[a]!);
        have[a] = y0;
      }
    }
    const b = 1 - a;
    if (have[b] !== y1) {
      hRow(y1, rows[b]!);
      have[b] = y1;
    }
    if (simd !== undefined) {
      for (let c = 0; c < 3; c++) {
        simd.lerp(
          (rowOff[a]! + c * W) * 4,
          (rowOff[b]! + c * W) * 4,
          (KERNEL_OUT + c * plane + oy * W) * 4,
          W,
          fy,
        );
      }
      continue;
    }
    const ra = rows[a]!;
    const rb = rows[b]!;
    const o = oy * W;
    for (let c = 0; c < 3; c++) {
      const co = c * W;
      const po = c * plane + o;
      for (let ox = 0; ox < W; ox++) {
        const v = ra[co + ox]!;
        out[po + ox] = v + (rb[co + ox]! - v) * fy;
      }
    }
  }
  if (simd !== undefined) out.set(simd.f32.subarray(KERNEL_OUT, KERNEL_OUT + DETECTOR_INPUT_LENGTH));
  return out;
}

/** Float offset of the output in the kernel's memory (after the two 960-float rows, 16-byte aligned). */
const KERNEL_OUT = 2048;

interface LerpKernel {
  /** out[i] = a[i] + (b[i] - a[i]) * f for i < n (n a multiple of 4); byte offsets into `f32`. */
  lerp: (a: number, b: number, out: number, n: number, f: number) => void;
  f32: Float32Array;
}

/**
 * The row blend as a WebAssembly module, written out by hand (no toolchain in the build):
 *
 *   (module
 *     (memory (export "mem") 16)                 ;; 1 MiB: two rows + the 230400-float output
 *     (func (export "lerp") (param $a i32) (param $b i32) (param $o i32) (param $n i32) (param $f f32)
 *       (local $fv v128) (local $end i32)
 *       (local.set $fv (f32x4.splat (local.get $f)))
 *       (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $o) (local.get $end)))
 *         (v128.store (local.get $o)
 *           (f32x4.add (v128.load (local.get $a))
 *             (f32x4.mul (f32x4.sub (v128.load (local.get $b)) (v128.load (local.get $a))) (local.get $fv))))
 *         (local.set $a (i32.add (local.get $a) (i32.const 16)))
 *         (local.set $b (i32.add (local.get $b) (i32.const 16)))
 *         (local.set $o (i32.add (local.get $o) (i32.const 16)))
 *         (br 0))))
 */
// prettier-ignore
const LERP_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x09, 0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7d, 0x00, // type: (i32 i32 i32 i32 f32) -> ()
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x05, 0x03, 0x01, 0x00, 0x10, // memory: min 16 pages
  0x07, 0x0e, 0x02, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x04, 0x6c, 0x65, 0x72, 0x70, 0x00, 0x00, // exports mem, lerp
  0x0a, 0x5f, 0x01, 0x5d, // code section (95 bytes), one body of 93 bytes
  0x02, 0x01, 0x7b, 0x01, 0x7f, // locals: 1 v128, 1 i32
  0x20, 0x04, 0xfd, 0x13, 0x21, 0x05, // fv = f32x4.splat(f)
  0x20, 0x02, 0x20, 0x03, 0x41, 0x02, 0x74, 0x6a, 0x21, 0x06, // end = o + (n << 2)
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x02, 0x20, 0x06, 0x4f, 0x0d, 0x01, // br_if 1 (o >= end)
  0x20, 0x02, // store address o
  0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, // v128.load a
  0x20, 0x01, 0xfd, 0x00, 0x04, 0x00, // v128.load b
  0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, // v128.load a
  0xfd, 0xe5, 0x01, // f32x4.sub
  0x20, 0x05, 0xfd, 0xe6, 0x01, // f32x4.mul fv
  0xfd, 0xe4, 0x01, // f32x4.add
  0xfd, 0x0b, 0x04, 0x00, // v128.store
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // a += 16
  0x20, 0x01, 0x41, 0x10, 0x6a, 0x21, 0x01, // b += 16
  0x20, 0x02, 0x41, 0x10, 0x6a, 0x21, 0x02, // o += 16
  0x0c, 0x00, 0x0b, 0x0b, 0x0b, // br 0, end loop, end block, end func
]);

// Compiled once per thread (a pure function of constant bytes: a cache, not shared state);
// null when this runtime lacks WebAssembly SIMD, and the JS loop is used.
let kernelCache: LerpKernel | null | undefined;

/** The few WebAssembly names used here (the project's lib settings carry no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => { buffer: ArrayBuffer };
}

function lerpKernel(): LerpKernel | undefined {
  if (kernelCache === undefined) {
    kernelCache = null;
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    try {
      if (wasm !== undefined) {
        const { exports } = new wasm.Instance(new wasm.Module(LERP_WASM));
        const mem = exports['mem'];
        const lerp = exports['lerp'];
        if (mem instanceof wasm.Memory && typeof lerp === 'function') {
          kernelCache = { lerp: lerp as LerpKernel['lerp'], f32: new Float32Array(mem.buffer) };
        }
      }
    } catch {
      // No SIMD in this runtime: the JS loop is used.
    }
  }
  return kernelCache ?? undefined;
}

/** cv2 INTER_LINEAR source indices and weights: s = (d + 0.5) * in/out - 0.5, clamped at the edges. */
function linearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const s = (d + 0.5) * scale - 0.5;
    let s0 = Math.floor(s);
    let fr = s - s0;
    if (s0 < 0) {
      s0 = 0;
      fr = 0;
    }
    if (s0 >= inSize - 1) {
      s0 = inSize - 1;
      fr = 0;
    }
    i0[d] = s0;
    i1[d] = Math.min(s0 + 1, inSize - 1);
    f[d] = fr;
  }
  return { i0, i1, f };
}

/**
 * IoU of two corner boxes (x1, y1, x2, y2) as upstream's `box_utils.iou_of`:
 * inter / (areaA + areaB - inter + 1e-5), negative widths and heights clamped to 0.
 */
export function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const area = (x1: number, y1: number, x2: number, y2: number): number =>
    Math.max(x2 - x1, 0) * Math.max(y2 - y1, 0);
  const inter = area(
    Math.max(a[0]!, b[0]!),
    Math.max(a[1]!, b[1]!),
    Math.min(a[2]!, b[2]!),
    Math.min(a[3]!, b[3]!),
  );
  return inter / (area(a[0]!, a[1]!, a[2]!, a[3]!) + area(b[0]!, b[1]!, b[2]!, b[3]!) - inter + 1e-5);
}

/**
 * Hard NMS as upstream's `box_utils.hard_nms` with top_k = -1: candidates best first (at most
 * `candidates`), keep the best, drop every remaining box with IoU > `iouThreshold`, repeat.
 * `boxes` holds corners (4 per box); returns the indices kept, best first.
 */
export function hardNms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  indices: readonly number[],
  iouThreshold: number,
  candidates: number,
): number[] {
  const order = [...indices].sort((i, j) => scores[j]! - scores[i]!).slice(0, candidates);
  const box = (i: number): number[] => [
    boxes[4 * i]!,
    boxes[4 * i + 1]!,
    boxes[4 * i + 2]!,
    boxes[4 * i + 3]!,
  ];
  const kept: number[] = [];
  let rest = order;
  while (rest.length > 0) {
    const best = rest[0]!;
    kept.push(best);
    const b = box(best);
    rest = rest.slice(1).filter((i) => iou(b, box(i)) <= iouThreshold);
  }
  return kept;
}

/**
 * Upstream's post-processing of the two outputs (MODELS.md §2): face score > 0.7, at most 200
 * candidates by score, hard NMS at IoU 0.3 on the normalised boxes (as upstream, so its 1e-5
 * applies to normalised areas), then scaled to the original width and height and clipped to the
 * image. Boxes left empty by clipping are dropped. Sorted by score, best first.
 */
export function decodeDetections(
  scores: Float32Array,
  boxes: Float32Array,
  width: number,
  height: number,
  options: DetectionOptions = {},
): FaceBox[] {
  const { scoreThreshold, iouThreshold, candidates } = { ...DEFAULTS, ...options };
  const priors = boxes.length / 4;
  const face = new Float32Array(priors);
  const passing: number[] = [];
  for (let i = 0; i < priors; i++) {
    face[i] = scores[2 * i + 1]!; // [:, :, 1] is the face probability (already softmaxed)
    if (face[i]! > scoreThreshold) passing.push(i);
  }
  const out: FaceBox[] = [];
  for (const i of hardNms(boxes, face, passing, iouThreshold, candidates)) {
    const x1 = clip(boxes[4 * i]! * width, width);
    const y1 = clip(boxes[4 * i + 1]! * height, height);
    const x2 = clip(boxes[4 * i + 2]! * width, width);
    const y2 = clip(boxes[4 * i + 3]! * height, height);
    if (x2 > x1 && y2 > y1) out.push({ x: x1, y: y1, w: x2 - x1, h: y2 - y1, score: face[i]! });
  }
  return out;
}

function clip(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

/** An image placed in a larger picture: image point (x, y) is at (left + x*scaleX, top + y*scaleY). */
export interface Picture {
  image: RgbImage;
  scaleX: number;
  scaleY: number;
  left: number;
  top: number;
}

/** Mid-gray around an image in `pictureAround`. */
const PICTURE_GRAY = 128;

/**
 * `img` centred in a mid-gray 4:3 picture whose height is twice the image's longer side, so
 * that a face filling `img` is seen by the detector as a face inside a picture, as it is in the
 * photos it was trained on: the detector's box for a face that fills its frame comes out smaller
 * and clipped (docs/features.md "Image"). 4:3 as the detector's input, so the picture is scaled,
 * not stretched, to 320x240. Larger pictures are made at 320x240 directly (bilinear as
 * `detectorInput`, which then has nothing left to resize).
 */
export function pictureAround(img: RgbImage): Picture {
  const side = Math.max(img.width, img.height);
  const scale = Math.min(1, DETECTOR_HEIGHT / (2 * side));
  const height = Math.round(2 * side * scale);
  const width = Math.round((height * DETECTOR_WIDTH) / DETECTOR_HEIGHT);
  const w = Math.max(Math.round(img.width * scale), 1);
  const h = Math.max(Math.round(img.height * scale), 1);
  const left = Math.floor((width - w) / 2);
  const top = Math.floor((height - h) / 2);
  const data = new Uint8Array(width * height * 3).fill(PICTURE_GRAY);
  const xs = linearTaps(img.width, w);
  const ys = linearTaps(img.height, h);
  for (let y = 0; y < h; y++) {
    const r0 = ys.i0[y]! * img.width;
    const r1 = ys.i1[y]! * img.width;
    const fy = ys.f[y]!;
    for (let x = 0; x < w; x++) {
      const c0 = xs.i0[x]!;
      const c1 = xs.i1[x]!;
      const fx = xs.f[x]!;
      const o = ((top + y) * width + left + x) * 3;
      for (let c = 0; c < 3; c++) {
        const a = img.data[(r0 + c0) * 3 + c]! * (1 - fx) + img.data[(r0 + c1) * 3 + c]! * fx;
        const b = img.data[(r1 + c0) * 3 + c]! * (1 - fx) + img.data[(r1 + c1) * 3 + c]! * fx;
        data[o + c] = Math.round(a + (b - a) * fy);
      }
    }
  }
  return { image: { width, height, data }, scaleX: w / img.width, scaleY: h / img.height, left, top };
}

/** Raw detector outputs for one image. */
export interface DetectorOutputs {
  /** [1, 4420, 2]: background, face probability. */
  scores: Float32Array;
  /** [1, 4420, 4]: x1, y1, x2, y2 normalised to the input. */
  boxes: Float32Array;
}

/** The UltraFace RFB-320 detector (MODELS.md §2) on an onnxruntime session. */
export class UltraFace {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(factory: SessionFactory, store: ModelStore): Promise<UltraFace> {
    return new UltraFace(await factory.session(await store.path('ultraface_rfb320')));
  }

  /** One onnxruntime run on a prepared [1, 3, 240, 320] input (see `detectorInput`). */
  async run(input: Float32Array): Promise<DetectorOutputs> {
    const tensor = new ort.Tensor('float32', input.subarray(0, DETECTOR_INPUT_LENGTH), [
      1,
      3,
      DETECTOR_HEIGHT,
      DETECTOR_WIDTH,
    ]);
    const res = await this.session.run({ input: tensor });
    return { scores: float32Output(res, 'scores'), boxes: float32Output(res, 'boxes') };
  }

  /** Faces in `img`, best first, in its pixels. `scratch` (230400 floats) avoids an allocation. */
  async detect(img: RgbImage, scratch?: Float32Array, options: DetectionOptions = {}): Promise<FaceBox[]> {
    const { scores, boxes } = await this.run(detectorInput(img, scratch));
    return decodeDetections(scores, boxes, img.width, img.height, options);
  }

  /**
   * Faces of `img` found with `img` inside a larger picture (`pictureAround`), best first, in
   * `img`'s pixels: a box may reach past the image where the face does.
   */
  async detectInPicture(
    img: RgbImage,
    scratch?: Float32Array,
    options: DetectionOptions = {},
  ): Promise<FaceBox[]> {
    const { image, scaleX, scaleY, left, top } = pictureAround(img);
    const faces = await this.detect(image, scratch, options);
    return faces.map((f) => ({
      x: (f.x - left) / scaleX,
      y: (f.y - top) / scaleY,
      w: f.w / scaleX,
      h: f.h / scaleY,
      score: f.score,
    }));
  }
}
