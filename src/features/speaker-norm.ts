import { z } from 'zod';
import { MODALITIES } from '../core/labels.js';

/**
 * Per-speaker standardisation (issue #13 item 5), as the speech emotion literature does it:
 * each speaker's feature vectors are standardised with that speaker's own mean and standard
 * deviation, removing what is constant about a voice (pitch range, timbre, recording level) and
 * keeping how each clip departs from it.
 *
 * What it assumes: one speaker per sample; at least `minSamples` samples of a speaker are seen
 * together (at training, at evaluation and in one ingest run), and they span a mix of emotions,
 * so that the speaker's mean is the speaker's baseline rather than one emotion. Samples whose
 * speaker is unknown, or has fewer samples, are standardised with the training data's global
 * statistics (`fallback`) instead: the head always sees standardised inputs.
 */
export const speakerNormSchema = z.object({
  modalities: z.array(z.enum(MODALITIES)).min(1),
  minSamples: z.number().int().min(2),
  /** Global mean and standard deviation of each modality over the training data, before standardisation. */
  fallback: z.partialRecord(
    z.enum(MODALITIES),
    z.object({ mean: z.array(z.number()), std: z.array(z.number()) }),
  ),
});
export type SpeakerNorm = z.infer<typeof speakerNormSchema>;

/** Running sums of feature vectors (float64): mean and standard deviation of a speaker, a modality, … */
export class Moments {
  count = 0;
  readonly sum: Float64Array;
  readonly sq: Float64Array;
  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.sq = new Float64Array(dim);
  }

  add(x: ArrayLike<number>, offset = 0): void {
    this.count++;
    for (let d = 0; d < this.dim; d++) {
      const v = x[offset + d]!;
      this.sum[d]! += v;
      this.sq[d]! += v * v;
    }
  }

  /** Mean and (population) standard deviation, rounded to float32 as the graph would hold them. */
  stats(): { mean: number[]; std: number[] } {
    const n = Math.max(1, this.count);
    const mean = Array.from(this.sum, (s) => s / n);
    const std = Array.from(this.sq, (s, d) => Math.sqrt(Math.max(0, s / n - mean[d]! * mean[d]!)));
    return { mean: Array.from(Float32Array.from(mean)), std: Array.from(Float32Array.from(std)) };
  }
}

/** (x − mean) / std in place over `dim` values from `offset`; a constant feature (std ≈ 0) becomes 0. */
export function standardise(
  x: Float32Array,
  offset: number,
  stats: { mean: readonly number[]; std: readonly number[] },
): void {
  const dim = stats.mean.length;
  for (let d = 0; d < dim; d++) {
    const s = stats.std[d]!;
    x[offset + d] = s > 1e-8 ? (x[offset + d]! - stats.mean[d]!) / s : 0;
  }
}

/**
 * Statistics of each speaker with at least `minSamples` samples of modality `m` present, keyed
 * by speaker. `speakers[i]` is row i's speaker ('' or undefined: unknown).
 */
export function speakerStatistics(
  data: Float32Array,
  dim: number,
  present: (row: number) => boolean,
  speakers: readonly (string | undefined)[],
  minSamples: number,
): Map<string, { mean: number[]; std: number[] }> {
  const acc = new Map<string, Moments>();
  speakers.forEach((s, i) => {
    if (s === undefined || s === '' || !present(i)) return;
    let m = acc.get(s);
    if (m === undefined) acc.set(s, (m = new Moments(dim)));
    m.add(data, i * dim);
  });
  return statisticsOf(acc, minSamples);
}

/** The statistics of each speaker summed in `bySpeaker` with at least `minSamples` samples. */
export function statisticsOf(
  bySpeaker: ReadonlyMap<string, Moments>,
  minSamples: number,
): Map<string, { mean: number[]; std: number[] }> {
  const out = new Map<string, { mean: number[]; std: number[] }>();
  for (const [s, m] of bySpeaker) if (m.count >= minSamples) out.set(s, m.stats());
  return out;
}
