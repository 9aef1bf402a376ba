import { VAD_CHUNK, VAD_SAMPLE_RATE, type SpeechSegment } from './vad.js';

/**
 * The segments of a long recording (docs/timelines.md): the VAD's speech regions, merged across
 * short pauses, then cut where too long at the quietest point, so that each segment holds
 * roughly one utterance of 1-10 s that the head can score like a clip.
 */

export interface TimelineOptions {
  /** Pauses shorter than this join the speech on either side into one segment. */
  mergeGapSeconds: number;
  /** A segment is cut when longer than this… */
  maxSeconds: number;
  /** …into parts no shorter than this (where the speech allows). */
  minSeconds: number;
  /**
   * For heads whose audio features are not VAD-trimmed: a segment's features are taken over it and
   * up to this much of the pause on either side (never past the middle of a pause to a neighbour
   * or the recording's ends), as such heads learnt from clips with silence around the speech.
   */
  featurePadSeconds: number;
}

export const DEFAULT_TIMELINE: TimelineOptions = {
  mergeGapSeconds: 0.5,
  maxSeconds: 10,
  minSeconds: 1,
  featurePadSeconds: 0.5,
};

/**
 * The span each segment's features are taken over without VAD trimming: the segment grown by
 * `pad` samples on either side, never past the middle of the pause to its neighbour, nor past
 * the recording (`total` samples).
 */
export function featureSpans(
  segments: readonly SpeechSegment[],
  total: number,
  pad: number,
): SpeechSegment[] {
  return segments.map((s, k) => {
    const prev = segments[k - 1];
    const next = segments[k + 1];
    const lo = prev === undefined ? 0 : Math.ceil((prev.end + s.start) / 2);
    const hi = next === undefined ? total : Math.floor((s.end + next.start) / 2);
    return { start: Math.max(lo, s.start - pad), end: Math.min(hi, s.end + pad) };
  });
}

/** A segment in samples at 16 kHz, [start, end), and the speech regions inside it. */
export interface TimelineSegment extends SpeechSegment {
  speech: SpeechSegment[];
}

/**
 * Segments from the VAD's speech regions (`speechSegments`, in order) and its per-chunk
 * probabilities:
 * 1. regions separated by less than `mergeGapSeconds` are merged into one run;
 * 2. a run longer than `maxSeconds` is cut, from its start on, at the chunk of lowest speech
 *    probability (the last of equal ones) between `minSeconds` after the cut before and
 *    `maxSeconds` after it, never leaving less than `minSeconds` behind it: a pause where there
 *    is one, the softest moment otherwise;
 * 3. a run shorter than `minSeconds` stays a segment of its own (an isolated "yes" is speech
 *    too; the head scores it as a short clip).
 * Speech regions are cut with their segment, so each segment lists the speech inside it.
 */
export function timelineSegments(
  regions: readonly SpeechSegment[],
  probs: Float32Array,
  options: Omit<TimelineOptions, 'featurePadSeconds'> = DEFAULT_TIMELINE,
): TimelineSegment[] {
  const sr = VAD_SAMPLE_RATE;
  const gap = options.mergeGapSeconds * sr;
  const max = options.maxSeconds * sr;
  const min = Math.min(options.minSeconds * sr, max / 2);
  const runs: TimelineSegment[] = [];
  for (const r of regions) {
    const last = runs[runs.length - 1];
    if (last !== undefined && r.start - last.end < gap) {
      last.end = r.end;
      last.speech.push({ start: r.start, end: r.end });
    } else runs.push({ start: r.start, end: r.end, speech: [{ start: r.start, end: r.end }] });
  }
  const out: TimelineSegment[] = [];
  for (const run of runs) {
    let start = run.start;
    while (run.end - start > max) {
      const cut = quietest(probs, start + min, Math.min(start + max, run.end - min));
      out.push(clip(run, start, cut));
      start = cut;
    }
    out.push(clip(run, start, run.end));
  }
  return out;
}

/** The chunk boundary in [lo, hi] (samples) whose chunk has the lowest probability; the last of equals. */
function quietest(probs: Float32Array, lo: number, hi: number): number {
  const first = Math.ceil(lo / VAD_CHUNK);
  const last = Math.floor(hi / VAD_CHUNK);
  if (last < first) return Math.round((lo + hi) / 2);
  let best = first;
  let bestP = Number.POSITIVE_INFINITY;
  for (let c = first; c <= last; c++) {
    const p = probs[c] ?? 0;
    if (p <= bestP) {
      bestP = p;
      best = c;
    }
  }
  return best * VAD_CHUNK;
}

/** The part [start, end) of a run, with its speech regions cut to it. */
function clip(run: TimelineSegment, start: number, end: number): TimelineSegment {
  const speech: SpeechSegment[] = [];
  for (const s of run.speech) {
    const a = Math.max(s.start, start);
    const b = Math.min(s.end, end);
    if (b > a) speech.push({ start: a, end: b });
  }
  return { start, end, speech };
}
