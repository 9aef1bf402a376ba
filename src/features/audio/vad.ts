import * as ort from 'onnxruntime-node';

/**
 * Silero VAD v5 (../shared/models/MODELS.md §3): streaming speech probabilities and the
 * segmenter of upstream `get_speech_timestamps` with its defaults.
 */

export const VAD_SAMPLE_RATE = 16000;
/** New samples per model call (32 ms at 16 kHz). */
export const VAD_CHUNK = 512;
/** Samples of the previous chunk prepended to each call, as upstream OnnxWrapper does. */
const VAD_CONTEXT = 64;
const STATE_SIZE = 2 * 1 * 128;

/** A speech segment in samples at 16 kHz, [start, end). */
export interface SpeechSegment {
  start: number;
  end: number;
}

/** Upstream `get_speech_timestamps` defaults (silero-vad v5). */
export interface SegmenterOptions {
  threshold: number;
  /** Defaults to threshold − 0.15. */
  negThreshold: number;
  minSpeechMs: number;
  minSilenceMs: number;
  speechPadMs: number;
}

export const DEFAULT_SEGMENTER: SegmenterOptions = {
  threshold: 0.5,
  negThreshold: 0.35,
  minSpeechMs: 250,
  minSilenceMs: 100,
  speechPadMs: 30,
};

/**
 * Silero's stream: one speech probability per 512-sample chunk of 16 kHz audio fed in blocks of
 * any size. State starts at zeros and is fed back; each call sees 64 context samples (the
 * previous chunk's tail, zeros at first) followed by the 512 new ones; `sr` is an int64 scalar
 * 16000; batch 1. `end` zero-pads a last partial chunk.
 */
export class VadStream {
  private state: ort.Tensor = new ort.Tensor('float32', new Float32Array(STATE_SIZE), [2, 1, 128]);
  private readonly sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
  /** The previous chunk's last VAD_CONTEXT samples, then the samples of the chunk being filled. */
  private pending = new Float32Array(VAD_CONTEXT + VAD_CHUNK);
  private filled = 0;

  constructor(private readonly session: ort.InferenceSession) {}

  /** The probabilities of the chunks that `x16k` completes. */
  async push(x16k: Float64Array): Promise<Float32Array> {
    const out: number[] = [];
    for (let i = 0; i < x16k.length;) {
      const take = Math.min(VAD_CHUNK - this.filled, x16k.length - i);
      for (let k = 0; k < take; k++) this.pending[VAD_CONTEXT + this.filled + k] = x16k[i + k]!;
      this.filled += take;
      i += take;
      if (this.filled === VAD_CHUNK) out.push(await this.call());
    }
    return Float32Array.from(out);
  }

  /** The last partial chunk's probability (zero-padded), if there is one. */
  async end(): Promise<Float32Array> {
    if (this.filled === 0) return new Float32Array(0);
    this.pending.fill(0, VAD_CONTEXT + this.filled);
    return Float32Array.of(await this.call());
  }

  private async call(): Promise<number> {
    // A fresh input buffer per call: onnxruntime-node may keep a reference while running.
    const buf = this.pending;
    const input = new ort.Tensor('float32', buf, [1, VAD_CONTEXT + VAD_CHUNK]);
    const out = await this.session.run({ input, state: this.state, sr: this.sr });
    this.state = out['stateN'] as ort.Tensor;
    this.pending = new Float32Array(VAD_CONTEXT + VAD_CHUNK);
    this.pending.set(buf.subarray(VAD_CHUNK, VAD_CHUNK + VAD_CONTEXT));
    this.filled = 0;
    return (out['output']!.data as Float32Array)[0]!;
  }
}

/** One speech probability per 512-sample chunk of `x16k` (VadStream over the whole clip). */
export async function speechProbabilities(
  session: ort.InferenceSession,
  x16k: Float64Array,
): Promise<Float32Array> {
  const vad = new VadStream(session);
  const a = await vad.push(x16k);
  const b = await vad.end();
  const probs = new Float32Array(a.length + b.length);
  probs.set(a);
  probs.set(b, a.length);
  return probs;
}

/**
 * upstream `get_speech_timestamps` (silero-vad v5, max_speech_duration_s = inf): speech starts at
 * a chunk with p ≥ threshold; once below negThreshold, the chunk where that began is a candidate
 * end, confirmed after ≥ minSilenceMs below it (p ≥ threshold cancels it); segments of
 * ≤ minSpeechMs are dropped; a segment still open at the end runs to the end of the audio. Padding:
 * each segment grows by speechPadMs, except that a gap shorter than twice the pad is split between
 * its neighbours. Finally overlapping or touching segments are merged (upstream leaves them
 * adjacent; merging changes no sample of the trimmed audio).
 */
export function speechSegments(
  probs: Float32Array,
  totalSamples: number,
  options: SegmenterOptions = DEFAULT_SEGMENTER,
): SpeechSegment[] {
  const sr = VAD_SAMPLE_RATE;
  const minSpeech = (sr * options.minSpeechMs) / 1000;
  const minSilence = (sr * options.minSilenceMs) / 1000;
  const pad = (sr * options.speechPadMs) / 1000;

  const speeches: SpeechSegment[] = [];
  let triggered = false;
  let start = 0;
  let tempEnd = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    const at = VAD_CHUNK * i;
    if (p >= options.threshold && tempEnd !== 0) tempEnd = 0;
    if (p >= options.threshold && !triggered) {
      triggered = true;
      start = at;
      continue;
    }
    if (p < options.negThreshold && triggered) {
      if (tempEnd === 0) tempEnd = at;
      if (at - tempEnd < minSilence) continue;
      if (tempEnd - start > minSpeech) speeches.push({ start, end: tempEnd });
      tempEnd = 0;
      triggered = false;
    }
  }
  if (triggered && totalSamples - start > minSpeech) speeches.push({ start, end: totalSamples });

  for (let i = 0; i < speeches.length; i++) {
    const s = speeches[i]!;
    if (i === 0) s.start = Math.floor(Math.max(0, s.start - pad));
    const next = speeches[i + 1];
    if (next !== undefined) {
      const gap = next.start - s.end;
      if (gap < 2 * pad) {
        s.end += Math.floor(gap / 2);
        next.start = Math.floor(Math.max(0, next.start - Math.floor(gap / 2)));
      } else {
        s.end = Math.floor(Math.min(totalSamples, s.end + pad));
        next.start = Math.floor(Math.max(0, next.start - pad));
      }
    } else {
      s.end = Math.floor(Math.min(totalSamples, s.end + pad));
    }
  }

  const merged: SpeechSegment[] = [];
  for (const s of speeches) {
    const prev = merged[merged.length - 1];
    if (prev !== undefined && s.start <= prev.end) prev.end = Math.max(prev.end, s.end);
    else merged.push({ start: s.start, end: s.end });
  }
  return merged;
}

/** The speech segments of `x16k`, concatenated in order. */
export function trimToSpeech(x16k: Float64Array, segments: readonly SpeechSegment[]): Float64Array {
  let n = 0;
  for (const s of segments) n += Math.max(0, Math.min(s.end, x16k.length) - Math.max(0, s.start));
  const out = new Float64Array(n);
  let o = 0;
  for (const s of segments) {
    const a = Math.max(0, s.start);
    const b = Math.min(s.end, x16k.length);
    if (b <= a) continue;
    out.set(x16k.subarray(a, b), o);
    o += b - a;
  }
  return out;
}
