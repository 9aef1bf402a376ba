import { EmoflowError, type EmoflowWarning } from '../../core/errors.js';
import { decodeWav, readWavInfo } from '../../io/wav.js';
import { openWavBlocks } from '../../io/wav-stream.js';
import type { ModelStore } from '../../models/model-store.js';
import type { SessionFactory } from '../../models/session-factory.js';
import { CLIP_STATS_DIM, CLIP_STATS_NAMES, clipStats } from './clip-stats.js';
import { N_MFCC, SAMPLE_RATE, deltas64, mfcc64 } from './mfcc.js';
import { PROSODY_DIM, prosodyVector } from './prosody.js';
import { resample, StreamResampler } from './resample.js';
import { DEFAULT_TIMELINE, featureSpans, timelineSegments, type TimelineOptions } from './segmenter.js';
import { speechProbabilities, speechSegments, trimToSpeech, VadStream } from './vad.js';

/**
 * The audio extractor (docs/features.md): WAV -> mono float64 -> 16 kHz -> optional Silero VAD trim
 * -> MFCC + delta + delta2 -> 78 clip statistics [-> + the 19 prosody values (prosody.ts), opt-in].
 */

export interface AudioFeatureSpec {
  name: string;
  version: string;
  dim: number;
  /** `prosody` is present (true) only when on, so the specs without it are as they always were. */
  options: { vad: boolean; prosody?: boolean };
}

/** Names of the vector's entries, in order (clip-stats.ts). */
export const AUDIO_FEATURE_NAMES: readonly string[] = CLIP_STATS_NAMES;

const PROSODY_SUFFIX = '+prosody';

/**
 * VAD trimming changes the vector, so it is part of the spec twice over: the name differs
 * ('audio-mfcc-stats' vs 'audio-mfcc-stats-vad'), so a cache keyed on (sha256, name, version)
 * as in docs/features.md never mixes the two, and `options.vad` states it for a head's features.
 * Prosody (opt-in) appends the 19 values of `prosodyVector` and a `+prosody` suffix after the VAD
 * part: 'audio-mfcc-stats+prosody', 'audio-mfcc-stats-vad+prosody'.
 */
export function AUDIO_FEATURE_SPEC(vad: boolean, prosody = false): AudioFeatureSpec {
  const base = vad ? 'audio-mfcc-stats-vad' : 'audio-mfcc-stats';
  return {
    name: prosody ? `${base}${PROSODY_SUFFIX}` : base,
    version: '1',
    dim: CLIP_STATS_DIM + (prosody ? PROSODY_DIM : 0),
    options: prosody ? { vad, prosody } : { vad },
  };
}

/**
 * The extractor options an audio spec name was made with (a head's `features.audio.name`):
 * `-vad` ends the MFCC part, `+prosody` follows it. Undefined (no audio features): both off.
 */
export function audioOptionsOfSpec(name: string | undefined): { vad: boolean; prosody: boolean } {
  if (name === undefined) return { vad: false, prosody: false };
  const [base = '', ...extras] = name.split('+');
  return { vad: base.endsWith('-vad'), prosody: extras.includes('prosody') };
}

export const VAD_MODEL = 'silero_vad_v5';
export const DEFAULT_MAX_SECONDS = 600;
/**
 * Highest source rate accepted. The resampling kernel holds about 12·L taps (L = rate / gcd(rate,
 * 16000)), so an absurd header rate (e.g. 4 GHz) would exhaust memory; 768 kHz covers every real
 * recorder (worst case, a rate coprime to 16000 near the limit: ~9 M taps, 74 MB, transient).
 */
export const MAX_SAMPLE_RATE = 768_000;
/** 25 ms at 16 kHz (docs/errors.md AUDIO_EMPTY); also satisfies the MFCC's > 200 samples. */
export const MIN_SAMPLES_16K = 400;

export interface AudioFeatures {
  vector: Float32Array;
  /** MFCC frames the statistics were taken over (after any VAD trim). */
  frames: number;
  sampleRate: 16000;
  /** With VAD on: seconds of speech kept, of the clip's seconds (at 16 kHz). 0 speech when none was found (see extract). */
  vad?: { speechSeconds: number; totalSeconds: number };
  warnings: EmoflowWarning[];
}

export interface AudioExtractorOptions {
  factory: SessionFactory;
  store: ModelStore;
  vad: boolean;
  /** Append the 19 prosody values (prosody.ts) to the MFCC statistics; default off. */
  prosody?: boolean;
  /** Longer clips fail with AUDIO_TOO_LONG; default 600 s (docs/errors.md). */
  maxSeconds?: number;
}

export class AudioExtractor {
  readonly spec: AudioFeatureSpec;
  private readonly factory: SessionFactory;
  private readonly store: ModelStore;
  private readonly vad: boolean;
  private readonly prosody: boolean;
  private readonly maxSeconds: number;

  constructor(opts: AudioExtractorOptions) {
    this.factory = opts.factory;
    this.store = opts.store;
    this.vad = opts.vad;
    this.prosody = opts.prosody === true;
    this.maxSeconds = opts.maxSeconds ?? DEFAULT_MAX_SECONDS;
    this.spec = AUDIO_FEATURE_SPEC(opts.vad, this.prosody);
  }

  /**
   * Features of one WAV file's bytes. Throws EmoflowError AUDIO_DECODE_FAILED, AUDIO_EMPTY or
   * AUDIO_TOO_LONG for bad input (and MODEL_* when the VAD model is missing).
   *
   * No speech found by the VAD: the whole clip is kept (a clip of e.g. whispering or music still
   * says something about its sender, and failing would drop the modality), the record gets a
   * VAD_NO_SPEECH warning, and `vad.speechSeconds` is 0.
   */
  async extract(bytes: Uint8Array, path?: string): Promise<AudioFeatures> {
    const where = path === undefined ? '' : `${path}: `;
    const errOpts = path === undefined ? {} : { path };
    // The duration limit is checked on the header, before the samples are decoded into memory.
    checkHeader(readWavInfo(bytes, path), this.maxSeconds, 'limit', where, errOpts);
    const wav = decodeWav(bytes, path);
    let x = resample(wav.mono, wav.sampleRate, SAMPLE_RATE);
    checkLength(x.length, where, errOpts);
    const warnings: EmoflowWarning[] = [];
    let vad: AudioFeatures['vad'];
    if (this.vad) {
      const session = await this.factory.session(await this.store.path(VAD_MODEL));
      const probs = await speechProbabilities(session, x);
      const segments = speechSegments(probs, x.length);
      const totalSeconds = x.length / SAMPLE_RATE;
      if (segments.length === 0) {
        warnings.push({
          code: 'VAD_NO_SPEECH',
          message: `${where}no speech found by the VAD in ${totalSeconds.toFixed(2)} s; features use the whole clip`,
        });
        vad = { speechSeconds: 0, totalSeconds };
      } else {
        x = trimToSpeech(x, segments);
        vad = { speechSeconds: x.length / SAMPLE_RATE, totalSeconds };
      }
    }
    const { vector, frames } = this.vectorOf(x);
    const out: AudioFeatures = { vector, frames, sampleRate: SAMPLE_RATE, warnings };
    if (vad !== undefined) out.vad = vad;
    return out;
  }

  /** The feature vector of 16 kHz audio (after any VAD trim): MFCC statistics [+ prosody]. */
  private vectorOf(x: Float64Array): { vector: Float32Array; frames: number } {
    const m = mfcc64(x);
    const d = deltas64(m.mfcc, m.frames, N_MFCC);
    const d2 = deltas64(d, m.frames, N_MFCC);
    const stats = clipStats(m.mfcc, d, d2, m.frames);
    if (!this.prosody) return { vector: stats, frames: m.frames };
    // On the same (trimmed) 16 kHz signal as the MFCCs.
    const vector = new Float32Array(stats.length + PROSODY_DIM);
    vector.set(stats);
    vector.set(prosodyVector(x), stats.length);
    return { vector, frames: m.frames };
  }

  /**
   * The timeline of a recording (docs/timelines.md): its speech segments (segmenter.ts), each
   * with the feature vector the head scores, from a WAV file path or bytes. The file is read
   * twice in blocks, never whole: a first pass runs the VAD, a second cuts the segments and
   * extracts each one's features as the audio reaches its end, so memory holds one segment.
   * With a VAD spec, a segment's features are taken over its speech regions (as a clip's are);
   * without, over the whole segment. Fails as `extract` does for a bad file, and with
   * AUDIO_TOO_LONG past `maxTimelineSeconds`.
   */
  async timeline(
    source: string | Uint8Array,
    shown: string,
    options: { segmenter?: Partial<TimelineOptions>; maxTimelineSeconds?: number } = {},
  ): Promise<AudioTimeline> {
    const where = { path: shown };
    const maxSeconds = options.maxTimelineSeconds ?? DEFAULT_MAX_TIMELINE_SECONDS;
    const session = await this.factory.session(await this.store.path(VAD_MODEL));
    const pass = async (each: (x16k: Float64Array) => Promise<void>): Promise<number> => {
      const wav = await openWavBlocks(source, shown);
      try {
        const { sampleRate } = wav.info;
        checkHeader(wav.info, maxSeconds, 'timeline limit', `${shown}: `, where);
        const rs = new StreamResampler(sampleRate, SAMPLE_RATE);
        let total = 0;
        // 4 s a block, and never more than 4 MiB of it, whatever the header's channel count.
        const frameBytes = wav.info.channels * (wav.info.bitsPerSample >> 3);
        const blockFrames = Math.max(
          1,
          Math.min(TIMELINE_BLOCK_SECONDS * sampleRate, Math.floor(TIMELINE_BLOCK_BYTES / frameBytes)),
        );
        for await (const block of wav.blocks(blockFrames)) {
          const y = rs.push(block);
          total += y.length;
          await each(y);
        }
        const tail = rs.end();
        total += tail.length;
        await each(tail);
        return total;
      } finally {
        await wav.close();
      }
    };

    // Pass 1: the VAD's probabilities over the whole recording.
    const vad = new VadStream(session);
    const probs: Float32Array[] = [];
    const total = await pass(async (y) => void probs.push(await vad.push(y)));
    probs.push(await vad.end());
    const allProbs = concatFloat32(probs);
    const totalSeconds = total / SAMPLE_RATE;
    checkLength(total, `${shown}: `, where);
    const segmenter = { ...DEFAULT_TIMELINE, ...options.segmenter };
    const cuts = timelineSegments(speechSegments(allProbs, total), allProbs, segmenter);
    const segments: AudioTimeline['segments'] = [];
    if (cuts.length === 0) return { segments, totalSeconds };
    // What each segment's features are taken over: its speech regions with a VAD head, else the
    // segment and some of the pause around it (segmenter.ts featureSpans).
    const spans = this.vad
      ? cuts
      : featureSpans(cuts, total, Math.round(segmenter.featurePadSeconds * SAMPLE_RATE));

    // Pass 2: each segment's samples, gathered as they stream by, then its features.
    let k = 0;
    let at = 0;
    let buf = new Float64Array(0);
    const finish = () => {
      const seg = cuts[k]!;
      const span = spans[k]!;
      const x = buf.subarray(0, span.end - span.start);
      const speech = seg.speech.map((r) => ({ start: r.start - span.start, end: r.end - span.start }));
      const used = this.vad ? trimToSpeech(x, speech) : x;
      const { vector } = this.vectorOf(used.length >= MIN_SAMPLES_16K ? used : x);
      segments.push({
        start: seg.start / SAMPLE_RATE,
        end: seg.end / SAMPLE_RATE,
        speechSeconds: seg.speech.reduce((n, r) => n + r.end - r.start, 0) / SAMPLE_RATE,
        vector,
      });
      k++;
    };
    await pass(async (y) => {
      const from = at;
      at += y.length;
      while (k < cuts.length) {
        const span = spans[k]!;
        if (buf.length < span.end - span.start) buf = new Float64Array(span.end - span.start);
        const a = Math.max(span.start, from);
        const b = Math.min(span.end, at);
        if (b > a) buf.set(y.subarray(a - from, b - from), a - span.start);
        if (span.end > at) break;
        finish();
      }
    });
    return { segments, totalSeconds };
  }
}

/**
 * What a clip's or a recording's header must allow before any sample is decoded: a rate the
 * resampler can take (AUDIO_DECODE_FAILED) and a duration within `limit` seconds (AUDIO_TOO_LONG;
 * `what` names the limit in the message). `where` prefixes messages ("path: " or "").
 */
function checkHeader(
  info: { sampleRate: number; frames: number },
  limit: number,
  what: string,
  where: string,
  errOpts: { path?: string },
): void {
  if (info.sampleRate > MAX_SAMPLE_RATE) {
    throw new EmoflowError(
      'AUDIO_DECODE_FAILED',
      `${where}unsupported sample rate ${info.sampleRate} Hz (at most ${MAX_SAMPLE_RATE}); resample the file, e.g. \`sox in.wav -r 48000 out.wav\``,
      errOpts,
    );
  }
  const seconds = info.frames / info.sampleRate;
  if (seconds > limit) {
    throw new EmoflowError(
      'AUDIO_TOO_LONG',
      `${where}${seconds.toFixed(1)} s of audio is over the ${what} of ${limit} s; split the file or raise the limit`,
      errOpts,
    );
  }
}

/** AUDIO_EMPTY for fewer than MIN_SAMPLES_16K samples at 16 kHz. */
function checkLength(samples16k: number, where: string, errOpts: { path?: string }): void {
  if (samples16k < MIN_SAMPLES_16K) {
    throw new EmoflowError(
      'AUDIO_EMPTY',
      `${where}${((samples16k / SAMPLE_RATE) * 1000).toFixed(1)} ms of audio (${samples16k} samples at 16 kHz) is shorter than the 25 ms minimum`,
      errOpts,
    );
  }
}

/** Seconds of audio decoded per block of a timeline's passes, and the most bytes a block reads. */
const TIMELINE_BLOCK_SECONDS = 4;
const TIMELINE_BLOCK_BYTES = 4 << 20;
/** The longest recording a timeline reads (6 h); a clip alone stays under DEFAULT_MAX_SECONDS. */
export const DEFAULT_MAX_TIMELINE_SECONDS = 6 * 3600;

/** A recording's segments (seconds from its start) with their features. */
export interface AudioTimeline {
  segments: { start: number; end: number; speechSeconds: number; vector: Float32Array }[];
  /** The recording's length at 16 kHz. */
  totalSeconds: number;
}

function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
