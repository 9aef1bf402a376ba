import { MODALITIES, type Modality } from '../core/labels.js';
import { Moments, speakerStatistics, standardise, type SpeakerNorm } from '../features/speaker-norm.js';
import type { FeatureDataset } from './feature-dataset.js';

/*
 * Speaker normalisation of whole datasets, at training and evaluation. The numerics (running
 * moments, standardisation, the plan's schema) are in features/speaker-norm.ts, where the head
 * runner and the ingest loop take them without importing data/.
 */

/** The plan of a head trained with speaker normalisation: global fallback statistics from the raw training sets. */
export function fitSpeakerNorm(
  sets: readonly FeatureDataset[],
  options: { modalities: readonly Modality[]; minSamples: number },
): SpeakerNorm {
  const fallback: SpeakerNorm['fallback'] = {};
  for (const m of options.modalities) {
    const c = MODALITIES.indexOf(m);
    let acc: Moments | undefined;
    for (const ds of sets) {
      const f = ds.features[m];
      if (f === undefined) continue;
      acc ??= new Moments(f.spec.dim);
      for (let i = 0; i < ds.size; i++) if (ds.mask[i * 3 + c] === 1) acc.add(f.data, i * f.spec.dim);
    }
    if (acc !== undefined && acc.count > 0) fallback[m] = acc.stats();
  }
  return { modalities: [...options.modalities], minSamples: options.minSamples, fallback };
}

/**
 * A dataset with the plan's modalities standardised: by speaker where the speaker has enough
 * samples (and `perSpeaker` is on), else with the plan's global fallback. Rows without the
 * modality stay as they are (zeros, mask 0). Without a plan (a head trained without speaker
 * normalisation), the dataset as it is.
 */
export function applySpeakerNorm(
  ds: FeatureDataset,
  plan: SpeakerNorm | null | undefined,
  perSpeaker = true,
): FeatureDataset {
  if (plan == null) return ds;
  const features = { ...ds.features };
  for (const m of plan.modalities) {
    const f = ds.features[m];
    const fallback = plan.fallback[m];
    if (f === undefined || fallback === undefined) continue;
    const dim = f.spec.dim;
    const c = MODALITIES.indexOf(m);
    const present = (i: number) => ds.mask[i * 3 + c] === 1;
    const bySpeaker =
      perSpeaker && ds.speakers !== undefined
        ? speakerStatistics(f.data, dim, present, ds.speakers, plan.minSamples)
        : new Map<string, { mean: number[]; std: number[] }>();
    const data = Float32Array.from(f.data);
    for (let i = 0; i < ds.size; i++) {
      if (!present(i)) continue;
      standardise(data, i * dim, bySpeaker.get(ds.speakers?.[i] ?? '') ?? fallback);
    }
    features[m] = { spec: f.spec, data };
  }
  return { ...ds, features };
}
