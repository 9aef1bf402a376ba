import { describe, expect, it } from 'vitest';
import { EMOTIONS, type Emotion } from '../src/core/labels.js';
import type { AudioTimeline } from '../src/features/audio/audio-extractor.js';
import type { PredictionRecord, Scores } from '../src/pipeline/record.js';
import { mergeTimeline, tasksOverTime } from '../src/pipeline/timeline.js';

const head = { name: 'h', sha256: '0'.repeat(64) };

function scores(label: Emotion, p: number): Scores {
  return Object.fromEntries(EMOTIONS.map((e) => [e, e === label ? p : (1 - p) / 6])) as Scores;
}

/** A segment's record as the head runner gives it. */
function scored(label: Emotion, p: number, tasks?: PredictionRecord['tasks']): PredictionRecord {
  return {
    id: 'x#1',
    status: 'ok',
    label,
    scores: scores(label, p),
    valence: null,
    arousal: null,
    ...(tasks === undefined ? {} : { tasks }),
    modalities: { audio: { status: 'ok', label, scores: scores(label, p), contribution: 1 } },
    inputs: {},
    head,
    warnings: [],
  };
}

/** The record of a sample whose audio is a timeline (nothing else read): NO_MODALITY until merged. */
const audioOnly: PredictionRecord = {
  id: 'call',
  status: 'failed',
  label: null,
  scores: null,
  valence: null,
  arousal: null,
  modalities: {},
  inputs: { audio: 'call.wav' },
  head,
  warnings: [],
  error: { code: 'NO_MODALITY', message: 'call: the sample has no text, image or audio to read' },
};

const timeline: AudioTimeline = {
  totalSeconds: 12,
  segments: [
    { start: 0, end: 1, speechSeconds: 0.9, vector: new Float32Array(2) },
    { start: 2, end: 5, speechSeconds: 2.5, vector: new Float32Array(2) },
  ],
};

describe('mergeTimeline', () => {
  it('an audio-only recording: label and scores are the duration-weighted mean; status ok, no error', () => {
    const r = mergeTimeline(audioOnly, timeline, [scored('anger', 0.9), scored('joy', 0.5)]);
    // anger: (1 × 0.9 + 3 × 0.5/6) / 4; joy: (1 × 0.1/6 + 3 × 0.5) / 4
    expect(r.scores!.anger).toBeCloseTo((0.9 + 0.25) / 4, 12);
    expect(r.scores!.joy).toBeCloseTo((0.1 / 6 + 1.5) / 4, 12);
    expect(r.label).toBe('joy');
    expect(r.status).toBe('ok');
    expect(r.error).toBeUndefined();
    expect(r.modalities.audio).toMatchObject({
      status: 'ok',
      label: 'joy',
      contribution: 1,
      vad: { speechSeconds: 3.4, totalSeconds: 12 },
    });
    expect(r.segments!.map((s) => [s.start, s.end, s.label])).toEqual([
      [0, 1, 'anger'],
      [2, 5, 'joy'],
    ]);
  });

  it("a head's own tasks are summed up over time", () => {
    const r = mergeTimeline(audioOnly, timeline, [
      scored('anger', 0.9, { stress: 1, topic: 'billing', tags: ['loud', 'fast'] }),
      scored('joy', 0.5, { stress: 0.2, topic: 'refund', tags: ['fast'] }),
    ]);
    expect(r.tasks).toEqual({ stress: (1 + 3 * 0.2) / 4, topic: 'refund', tags: ['fast'] });
  });

  it('no speech: failed with AUDIO_EMPTY for the audio and a VAD_NO_SPEECH warning', () => {
    const r = mergeTimeline(audioOnly, { totalSeconds: 30, segments: [] }, []);
    expect(r.status).toBe('failed');
    expect(r.label).toBeNull();
    expect(r.segments).toEqual([]);
    expect(r.error?.code).toBe('AUDIO_EMPTY');
    expect(r.warnings.map((w) => w.code)).toEqual(['VAD_NO_SPEECH']);
  });

  it('with text as well: the fused result stays the text’s, the audio weighs 0 in it', () => {
    const withText: PredictionRecord = {
      ...audioOnly,
      status: 'ok',
      label: 'sadness',
      scores: scores('sadness', 0.8),
      error: undefined,
      modalities: {
        text: { status: 'ok', label: 'sadness', scores: scores('sadness', 0.8), contribution: 1 },
      },
    };
    delete withText.error;
    const r = mergeTimeline(withText, timeline, [scored('anger', 0.9), scored('joy', 0.5)]);
    expect(r.label).toBe('sadness');
    expect(r.status).toBe('ok');
    expect(r.modalities.audio).toMatchObject({ status: 'ok', label: 'joy', contribution: 0 });
  });
});

describe('tasksOverTime', () => {
  it('ties of a classification go to the label seen first', () => {
    expect(
      tasksOverTime([
        { seconds: 2, tasks: { t: 'a' } },
        { seconds: 2, tasks: { t: 'b' } },
      ]),
    ).toEqual({ t: 'a' });
  });
});
