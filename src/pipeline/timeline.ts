import { EMOTIONS, MODALITIES } from '../core/labels.js';
import { argmaxRow } from '../core/numerics.js';
import type { AudioTimeline } from '../features/audio/audio-extractor.js';
import { Moments, type SpeakerNorm } from '../features/speaker-norm.js';
import type { SampleFeatures } from './extract.js';
import type { ModalityResult, PredictionRecord, Scores, SegmentRecord } from './record.js';

/**
 * A recording's timeline in its record (docs/timelines.md): its segments scored one by one as
 * the samples of one context group, and the recording summed up from them, each segment
 * weighing as much as it lasts.
 */

/** Segments scored per head run when the head has no context group cap. */
export const TIMELINE_BATCH = 64;

/**
 * Each segment as a sample of its own: the audio alone, in a context group (`group`) of the
 * recording's segments in time order, all of one speaker (`speaker`: whose statistics
 * standardise them).
 */
export function segmentFeatures(
  id: string,
  timeline: AudioTimeline,
  group: string,
  speaker: string,
): SampleFeatures[] {
  return timeline.segments.map((seg, k) => ({
    id: `${id}#${k + 1}`,
    inputs: {},
    modalities: { audio: { status: 'ok', vector: seg.vector, meta: {} } },
    warnings: [],
    group,
    order: k,
    speaker,
  }));
}

/**
 * The recording's own audio statistics for a head with speaker standardisation of audio, when it
 * has at least the plan's minSamples segments; undefined otherwise (the head's global ones apply).
 */
export function segmentStatistics(
  timeline: AudioTimeline,
  plan: SpeakerNorm | null,
): { mean: number[]; std: number[] } | undefined {
  if (plan === null || !plan.modalities.includes('audio')) return undefined;
  if (timeline.segments.length < plan.minSamples) return undefined;
  const m = new Moments(timeline.segments[0]!.vector.length);
  for (const seg of timeline.segments) m.add(seg.vector);
  return m.stats();
}

/**
 * The sample's record with its timeline: `segments`, the audio's result (the duration-weighted
 * mean of the segments' scores, its label their argmax), and, when the audio is all the sample
 * has that works, the same as the record's own label and scores. A recording without speech
 * gets AUDIO_EMPTY for its audio.
 */
export function mergeTimeline(
  record: PredictionRecord,
  timeline: AudioTimeline,
  scored: readonly PredictionRecord[],
): PredictionRecord {
  const segments: SegmentRecord[] = [];
  const segmentTasks: { seconds: number; tasks: NonNullable<PredictionRecord['tasks']> }[] = [];
  timeline.segments.forEach((seg, k) => {
    const r = scored[k]!;
    if (r.label === null || r.scores === null) return;
    if (r.tasks !== undefined) segmentTasks.push({ seconds: seg.end - seg.start, tasks: r.tasks });
    segments.push({
      start: seg.start,
      end: seg.end,
      label: r.label,
      scores: r.scores,
      valence: r.valence,
      arousal: r.arousal,
    });
  });
  const others = MODALITIES.filter((m) => m !== 'audio' && record.modalities[m] !== undefined);
  const othersWork = others.some((m) => record.modalities[m]!.status === 'ok');
  const warnings = [...record.warnings];
  let audio: ModalityResult;
  let summary: Pick<PredictionRecord, 'label' | 'scores' | 'valence' | 'arousal'> | undefined;
  if (segments.length === 0) {
    const message = `${record.id}: no speech found by the VAD in ${timeline.totalSeconds.toFixed(2)} s of audio; there is no segment to score`;
    audio = { status: 'error', error: { code: 'AUDIO_EMPTY', message } };
    warnings.push({ code: 'VAD_NO_SPEECH', message });
  } else {
    summary = durationWeighted(segments);
    audio = {
      status: 'ok',
      label: summary.label!,
      scores: summary.scores!,
      contribution: othersWork ? 0 : 1,
      vad: {
        speechSeconds: timeline.segments.reduce((n, s) => n + s.speechSeconds, 0),
        totalSeconds: timeline.totalSeconds,
      },
    };
  }
  const modalities = { ...record.modalities, audio };
  const present = MODALITIES.filter((m) => modalities[m] !== undefined);
  const working = present.filter((m) => modalities[m]!.status === 'ok');
  const status = working.length === 0 ? 'failed' : working.length === present.length ? 'ok' : 'partial';
  // Keys in the order of docs/ingest.md.
  const top =
    othersWork || summary === undefined
      ? record
      : { ...record, ...summary, ...(segmentTasks.length > 0 ? { tasks: tasksOverTime(segmentTasks) } : {}) };
  const firstError = present.map((m) => modalities[m]!).find((r) => r.status === 'error');
  return {
    id: record.id,
    status,
    label: status === 'failed' ? null : top.label,
    scores: status === 'failed' ? null : top.scores,
    valence: status === 'failed' ? null : top.valence,
    arousal: status === 'failed' ? null : top.arousal,
    ...(status === 'failed' || top.tasks === undefined ? {} : { tasks: top.tasks }),
    modalities,
    inputs: record.inputs,
    segments,
    head: record.head,
    warnings,
    ...(status === 'failed' && firstError?.status === 'error' ? { error: firstError.error } : {}),
  };
}

/**
 * A head's own tasks over a recording, from its segments' values, each segment weighing its
 * seconds: a regression task's duration-weighted mean; a classification task's label of the
 * most time (the first of equal ones); a multi-label task's labels present for at least half of
 * the time.
 */
export function tasksOverTime(
  parts: readonly { seconds: number; tasks: NonNullable<PredictionRecord['tasks']> }[],
): NonNullable<PredictionRecord['tasks']> {
  const out: NonNullable<PredictionRecord['tasks']> = {};
  const total = parts.reduce((n, p) => n + p.seconds, 0);
  for (const name of Object.keys(parts[0]?.tasks ?? {})) {
    const values = parts.map((p) => ({ w: p.seconds, v: p.tasks[name]! }));
    const first = values[0]!.v;
    if (typeof first === 'number') {
      out[name] = values.reduce((n, x) => n + x.w * (x.v as number), 0) / total;
    } else {
      const time = new Map<string, number>();
      for (const x of values)
        for (const label of typeof x.v === 'string' ? [x.v] : (x.v as string[]))
          time.set(label, (time.get(label) ?? 0) + x.w);
      if (typeof first === 'string') {
        let best = first;
        for (const [label, t] of time) if (t > time.get(best)!) best = label;
        out[name] = best;
      } else out[name] = [...time].filter(([, t]) => t >= total / 2).map(([label]) => label);
    }
  }
  return out;
}

/** The duration-weighted mean of segments' scores (label: its argmax) and of their valence and arousal. */
export function durationWeighted(
  segments: readonly SegmentRecord[],
): Pick<PredictionRecord, 'label' | 'scores' | 'valence' | 'arousal'> {
  const mean = new Float64Array(EMOTIONS.length);
  let total = 0;
  const va = { valence: [0, 0], arousal: [0, 0] };
  for (const s of segments) {
    const w = s.end - s.start;
    total += w;
    EMOTIONS.forEach((e, c) => (mean[c]! += w * s.scores[e]));
    for (const k of ['valence', 'arousal'] as const) {
      const v = s[k];
      if (v !== null) {
        va[k][0]! += w * v;
        va[k][1]! += w;
      }
    }
  }
  const scores = {} as Scores;
  EMOTIONS.forEach((e, c) => (scores[e] = total > 0 ? mean[c]! / total : 1 / EMOTIONS.length));
  const of = (k: 'valence' | 'arousal') => (va[k][1]! > 0 ? va[k][0]! / va[k][1]! : null);
  return {
    label:
      EMOTIONS[
        argmaxRow(
          EMOTIONS.map((e) => scores[e]),
          0,
          EMOTIONS.length,
        )
      ]!,
    scores,
    valence: of('valence'),
    arousal: of('arousal'),
  };
}
