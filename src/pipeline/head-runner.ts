import * as ort from 'onnxruntime-node';
import { temperByModality } from '../head/calibration.js';
import { EmoflowError } from '../core/errors.js';
import { EMOTIONS, MODALITIES, type Emotion, type Modality } from '../core/labels.js';
import { argmaxRow } from '../core/numerics.js';
import { audioOptionsOfSpec } from '../features/audio/audio-extractor.js';
import { describeSpec, sameSpec, type FeatureSpec } from '../features/feature-spec.js';
import { loadHead, type LoadedHead } from '../head/artifact.js';
import { contextAdjacency } from '../head/context-graph.js';
import { contextOf, type TaskSpec } from '../head/head-spec.js';
import { slotFeeds } from '../head/slot-inputs.js';
import { lexicalBucketsOfSpec } from '../features/text/lexical.js';
import { applyPrior, priorFactors, sourcePrior, type PriorChoice } from '../head/label-prior.js';
import type { SessionFactory } from '../models/session-factory.js';
import { standardise, type SpeakerNorm } from '../features/speaker-norm.js';
import type { AudioTimeline } from '../features/audio/audio-extractor.js';
import type { SampleFeatures } from './extract.js';
import { mergeTimeline, segmentFeatures, segmentStatistics, TIMELINE_BATCH } from './timeline.js';
import type { ModalityResult, PredictionRecord, Scores } from './record.js';

/**
 * The head half of the pipeline core: feature vectors in, output records (docs/ingest.md) out.
 * One ONNX run per micro-batch scores every sample fused and, for samples with more than one
 * working modality, once more per modality with only that modality in the mask. A context
 * head scores the fused rows of one micro-batch as a graph of their groups (adj); the
 * per-modality rows are lone nodes, so each modality's own scores stay context-free.
 */
export class HeadRunner {
  /**
   * Per-speaker statistics for a head trained with speaker normalisation, by modality and
   * speaker (setSpeakerStatistics); samples of other speakers get the head's global fallback.
   */
  private speakerStats = new Map<Modality, Map<string, { mean: number[]; std: number[] }>>();

  private constructor(
    readonly head: LoadedHead,
    private readonly session: ort.InferenceSession,
    /** Per-class factor that applies the chosen prior to the emotion scores (label-prior.ts); undefined: as the head outputs them. */
    private readonly prior: Float64Array | undefined,
  ) {}

  /** The per-speaker standardisation the head expects (head.json), or null. */
  get speakerNorm(): SpeakerNorm | null {
    return this.head.json.speakerNorm;
  }

  /**
   * Whether a timeline's segments are standardised with their recording's own statistics (the
   * default) or, when off (`--speaker-norm off`), with the head's global ones.
   */
  timelineStatistics = true;

  /** Statistics of the run's speakers (from a first pass over the input, ingest.ts). */
  setSpeakerStatistics(stats: Map<Modality, Map<string, { mean: number[]; std: number[] }>>): void {
    this.speakerStats = stats;
  }

  /**
   * Loads a head; `prior` overrides its default class prior (CONFIG_INVALID if the head records
   * none); without it, `source` (a corpus spec's adapter) picks that training corpus's prior
   * when the head records one (label-prior.ts `sourcePrior`).
   */
  static async load(
    dir: string,
    factory: SessionFactory,
    prior?: PriorChoice,
    source?: string,
  ): Promise<HeadRunner> {
    const head = await loadHead(dir);
    const emotion = head.desc.tasks.find((t) => t.name === 'emotion');
    if (
      emotion === undefined ||
      emotion.type === 'regression' ||
      emotion.labels.length !== EMOTIONS.length ||
      emotion.labels.some((l, i) => l !== EMOTIONS[i])
    ) {
      throw new EmoflowError(
        'HEAD_INCOMPATIBLE',
        `${dir}: a head for ingestion needs an 'emotion' classification task over ${EMOTIONS.join(', ')}`,
        { path: dir },
      );
    }
    const chosen = prior ?? sourcePrior(head.json.priors?.['emotion'], source);
    const factor = priorFactors(head.desc, head.json.priors, { emotion: chosen })['emotion'];
    const session = await factory.session(`head:${head.json.sha256}`, head.onnx);
    return new HeadRunner(head, session, factor);
  }

  /** The modalities the head takes, with the feature spec each must come from. */
  get specs(): Partial<Record<Modality, FeatureSpec>> {
    const out: Partial<Record<Modality, FeatureSpec>> = {};
    for (const s of this.head.desc.slots) out[s.modality] = s.spec;
    return out;
  }

  /**
   * For a context head, the most consecutive samples of one group a micro-batch should hold
   * (its maxGroup); undefined without context, where micro-batches need not follow groups.
   */
  get groupCap(): number | undefined {
    return contextOf(this.head.desc.architecture)?.maxGroup;
  }

  /** Whether the head's audio features were trimmed by VAD (the extractor must match). */
  get vad(): boolean {
    return audioOptionsOfSpec(this.head.json.features.audio?.name).vad;
  }

  /** Whether the head's audio features include speech prosody (the extractor must match). */
  get prosody(): boolean {
    return audioOptionsOfSpec(this.head.json.features.audio?.name).prosody;
  }

  /** The bucket count of the head's lexical text channel, undefined without one (the extractor must match). */
  get lexicalBuckets(): number | undefined {
    return lexicalBucketsOfSpec(this.head.json.features.text?.name);
  }

  /** HEAD_INCOMPATIBLE unless each extractor produces exactly what the head was trained on. */
  checkExtractors(extractors: readonly { modality: Modality; spec: FeatureSpec }[]): void {
    for (const e of extractors) {
      const want = this.specs[e.modality];
      if (want === undefined) continue;
      if (!sameSpec(e.spec, want)) {
        throw new EmoflowError(
          'HEAD_INCOMPATIBLE',
          `${this.head.dir}: the head takes ${e.modality} features ${describeSpec(want)}; the extractor gives ${describeSpec(e.spec)}`,
          { path: this.head.dir },
        );
      }
    }
  }

  /**
   * Records of extracted samples. A sample with an audio timeline (segments on) gets its segments
   * scored too (withTimeline) and merged into its record.
   */
  async predict(samples: readonly SampleFeatures[]): Promise<PredictionRecord[]> {
    const records = await this.predictSamples(samples);
    for (let i = 0; i < samples.length; i++) {
      const timeline = samples[i]!.timeline;
      if (timeline !== undefined) records[i] = await this.withTimeline(samples[i]!, timeline, records[i]!);
    }
    return records;
  }

  /**
   * The segments of one recording scored as samples of one context group in time order, each
   * audio alone. With speaker standardisation: the statistics of the sample's speaker where the
   * run has them (ingest's speaker pass over every segment of that speaker's recordings), else
   * the recording's own (its segments count as one speaker) where it has at least the head's
   * minSamples segments, else the head's global ones. Merged into the sample's record by
   * `mergeTimeline`.
   */
  private async withTimeline(
    s: SampleFeatures,
    timeline: AudioTimeline,
    record: PredictionRecord,
  ): Promise<PredictionRecord> {
    const group = `timeline\u0000${s.id}`;
    // The speaker's statistics over the run (ingest's speaker pass), else the recording's own.
    const named =
      s.speaker !== undefined && this.speakerStats.get('audio')?.has(s.speaker) ? s.speaker : undefined;
    const own =
      named === undefined && this.timelineStatistics
        ? segmentStatistics(timeline, this.speakerNorm)
        : undefined;
    const segments = segmentFeatures(s.id, timeline, group, named ?? group);
    const scored: PredictionRecord[] = [];
    const step = this.groupCap ?? TIMELINE_BATCH;
    for (let i = 0; i < segments.length; i += step)
      scored.push(...(await this.predictSamples(segments.slice(i, i + step), own)));
    return mergeTimeline(record, timeline, scored);
  }

  /** `audioStats`: what every audio row is standardised with instead of its speaker's (a recording's own). */
  private async predictSamples(
    samples: readonly SampleFeatures[],
    audioStats?: { mean: number[]; std: number[] },
  ): Promise<PredictionRecord[]> {
    const slots = this.head.desc.slots;
    // Rows: each sample's fused row, then one row per working modality when it has several.
    const rows: { sample: number; only: Modality | null }[] = [];
    const working = samples.map((s) =>
      slots.map((slot) => slot.modality).filter((m) => s.modalities[m]?.status === 'ok'),
    );
    working.forEach((ms, i) => {
      if (ms.length === 0) return;
      rows.push({ sample: i, only: null });
      if (ms.length > 1) for (const m of ms) rows.push({ sample: i, only: m });
    });
    // An image in which no face was found is scored on its own (the record shows it) but is
    // kept out of the fused row whenever the sample has another working modality.
    const fusedInputs = working.map((ms, i) =>
      ms.length > 1 ? ms.filter((m) => !(m === 'image' && faceless(samples[i]!))) : ms,
    );
    const outputs =
      rows.length > 0 ? await this.run(samples, working, rows, fusedInputs, audioStats) : undefined;
    const fusedRow = new Map<number, number>();
    const modalityRow = new Map<string, number>();
    rows.forEach((r, k) => {
      if (r.only === null) fusedRow.set(r.sample, k);
      else modalityRow.set(`${r.sample}/${r.only}`, k);
    });
    return samples.map((s, i) =>
      this.record(s, working[i]!, outputs, fusedRow.get(i), (m) => modalityRow.get(`${i}/${m}`)),
    );
  }

  private async run(
    samples: readonly SampleFeatures[],
    working: Modality[][],
    rows: { sample: number; only: Modality | null }[],
    fusedInputs: Modality[][],
    audioStats: { mean: number[]; std: number[] } | undefined,
  ): Promise<Record<string, ort.Tensor>> {
    const n = rows.length;
    const feeds: Record<string, ort.Tensor> = {};
    const mask = new Float32Array(n * 3);
    for (const slot of this.head.desc.slots) {
      const dim = slot.spec.dim;
      const x = new Float32Array(n * dim);
      const c = MODALITIES.indexOf(slot.modality);
      rows.forEach((r, k) => {
        const fed =
          r.only === null ? fusedInputs[r.sample]!.includes(slot.modality) : r.only === slot.modality;
        if (!fed || !working[r.sample]!.includes(slot.modality)) return;
        const got = samples[r.sample]!.modalities[slot.modality];
        if (got?.status !== 'ok') return;
        if (got.vector.length !== dim) {
          throw new EmoflowError(
            'HEAD_INCOMPATIBLE',
            `${samples[r.sample]!.id}: ${slot.modality} features have ${got.vector.length} values, the head takes ${dim}`,
          );
        }
        x.set(got.vector, k * dim);
        const fallback = this.speakerNorm?.fallback[slot.modality];
        if (fallback !== undefined) {
          const speaker = samples[r.sample]!.speaker;
          const own =
            (slot.modality === 'audio' ? audioStats : undefined) ??
            (speaker === undefined ? undefined : this.speakerStats.get(slot.modality)?.get(speaker));
          standardise(x, k * dim, own ?? fallback);
        }
        mask[k * 3 + c] = 1;
      });
      Object.assign(feeds, slotFeeds(slot, x, n));
    }
    feeds['mask'] = new ort.Tensor('float32', mask, [n, 3]);
    const context = contextOf(this.head.desc.architecture);
    if (context !== undefined) {
      // A missing order counts samples, not rows (a sample's per-modality rows sit between).
      const nodes = rows.map((r) => {
        const { group, order, speaker } = samples[r.sample]!;
        return r.only === null && group !== undefined ? { group, order: order ?? r.sample, speaker } : {};
      });
      feeds['adj'] = new ort.Tensor('float32', contextAdjacency(nodes, context), [n, n]);
    }
    const out = await this.session.run(feeds);
    const tempers = this.head.json.modalityTemperature;
    if (tempers !== undefined)
      temperByModality(
        out['emotion']!.data as Float32Array,
        out['contribution']!.data as Float32Array,
        EMOTIONS.length,
        tempers,
      );
    if (this.prior !== undefined)
      applyPrior(out['emotion']!.data as Float32Array, EMOTIONS.length, this.prior);
    return out;
  }

  private record(
    s: SampleFeatures,
    working: Modality[],
    out: Record<string, ort.Tensor> | undefined,
    fused: number | undefined,
    rowOf: (m: Modality) => number | undefined,
  ): PredictionRecord {
    const modalities: PredictionRecord['modalities'] = {};
    let firstError: PredictionRecord['error'];
    for (const m of MODALITIES) {
      const got = s.modalities[m];
      if (got === undefined) continue;
      if (got.status === 'error') {
        modalities[m] = { status: 'error', error: got.error };
        firstError ??= got.error;
      }
    }
    const head = { name: this.head.json.name, sha256: this.head.json.sha256 };
    // Keys in the order of docs/ingest.md.
    if (out === undefined || fused === undefined || working.length === 0) {
      const error = firstError ?? {
        code: 'NO_MODALITY' as const,
        message: `${s.id}: the sample has no text, image or audio to read`,
      };
      return {
        id: s.id,
        status: 'failed',
        label: null,
        scores: null,
        valence: null,
        arousal: null,
        modalities,
        inputs: s.inputs,
        head,
        warnings: s.warnings,
        error,
      };
    }
    const emotion = out['emotion']!.data as Float32Array;
    const contribution = out['contribution']!.data as Float32Array;
    for (const m of working) {
      const got = s.modalities[m]!;
      const row = rowOf(m) ?? fused;
      const result: ModalityResult = {
        status: 'ok',
        label: labelAt(emotion, row),
        scores: scoresAt(emotion, row),
        contribution: contribution[fused * 3 + MODALITIES.indexOf(m)]!,
      };
      if (got.status === 'ok') {
        if (got.meta['face'] !== undefined) result.face = got.meta['face'] as NonNullable<typeof result.face>;
        if (got.meta['vad'] !== undefined) result.vad = got.meta['vad'] as NonNullable<typeof result.vad>;
      }
      modalities[m] = result;
    }
    const extra = this.head.desc.tasks.filter((t) => !['emotion', 'valence', 'arousal'].includes(t.name));
    return {
      id: s.id,
      status: working.length === Object.keys(s.modalities).length ? 'ok' : 'partial',
      label: labelAt(emotion, fused),
      scores: scoresAt(emotion, fused),
      valence: this.regression(out, 'valence', working, fused, rowOf),
      arousal: this.regression(out, 'arousal', working, fused, rowOf),
      ...(extra.length === 0
        ? {}
        : { tasks: Object.fromEntries(extra.map((t) => [t.name, this.taskValue(t, out, fused)])) }),
      modalities,
      inputs: s.inputs,
      head,
      warnings: s.warnings,
    };
  }

  /**
   * A regression task read from the row of the modalities it was trained on (head.json
   * records them): the default head learnt valence and arousal from text only, so with text
   * present they come from the text-only row, and a sample without text gets null rather than
   * an untrained number.
   */
  private regression(
    out: Record<string, ort.Tensor>,
    task: string,
    working: readonly Modality[],
    fused: number,
    rowOf: (m: Modality) => number | undefined,
  ): number | null {
    const t = this.head.json.tasks.find((x) => x.name === task);
    if (t === undefined) return null;
    const trained = t.modalities.length === 0 ? working : working.filter((m) => t.modalities.includes(m));
    if (trained.length === 0) return null;
    const row =
      trained.length === working.length
        ? fused
        : trained.length === 1
          ? (rowOf(trained[0]!) ?? fused)
          : fused;
    return regressionAt(out, task, row);
  }

  private taskValue(t: TaskSpec, out: Record<string, ort.Tensor>, row: number): number | string | string[] {
    const data = out[t.name]!.data as Float32Array;
    if (t.type === 'regression') return data[row]!;
    const c = t.labels.length;
    const p = data.subarray(row * c, (row + 1) * c);
    if (t.type === 'multilabel') {
      const thr = this.head.json.thresholds[t.name];
      return t.labels.filter((_, k) => p[k]! >= (thr?.[k] ?? 0.5));
    }
    return t.labels[argmaxRow(data, row, c)]!;
  }
}

/** Whether the image extractor found no face in the sample's image (it scored the whole picture). */
function faceless(s: SampleFeatures): boolean {
  const got = s.modalities.image;
  if (got?.status !== 'ok') return false;
  const face = got.meta['face'] as { framing?: string } | undefined;
  return face?.framing === 'no-face';
}

function scoresAt(emotion: Float32Array, row: number): Scores {
  const s = {} as Scores;
  EMOTIONS.forEach((e, k) => (s[e] = emotion[row * EMOTIONS.length + k]!));
  return s;
}

/** The argmax label of an emotion row (the first of equal maxima, as the metrics take it). */
function labelAt(emotion: Float32Array, row: number): Emotion {
  return EMOTIONS[argmaxRow(emotion, row, EMOTIONS.length)]!;
}

/** A regression output, clamped to the label range [-1, 1] of docs/corpora.md; null when the head lacks it. */
function regressionAt(out: Record<string, ort.Tensor>, name: string, row: number): number | null {
  const t = out[name];
  if (t === undefined) return null;
  const v = (t.data as Float32Array)[row]!;
  return Math.max(-1, Math.min(1, v));
}
