import { EmoflowError } from '../core/errors.js';
import type { FeatureDataset } from './feature-dataset.js';

/** The name of the domain classifier's task. */
export const DOMAIN_TASK = 'corpus';

/**
 * The datasets with one more task, `corpus`: which of them each row came from, for a
 * domain-adversarial head (Ganin and Lempitsky 2015). Its classifier sits behind gradient
 * reversal with `factor`, so the shared layers are pushed towards features that do not tell
 * the corpora apart; the task serves training only (trainer.ts drops it from the head).
 * Datasets of the same corpus (two splits, say) share a class.
 */
export function withDomainTask(sets: readonly FeatureDataset[], factor: number): FeatureDataset[] {
  const labels = [...new Set(sets.map((d) => d.source.corpus))];
  if (labels.length < 2)
    throw new EmoflowError(
      'CONFIG_INVALID',
      `a domain-adversarial head needs data from two corpora or more (got ${labels.join(', ') || 'none'})`,
    );
  if (sets.some((d) => d.tasks[DOMAIN_TASK] !== undefined))
    throw new EmoflowError('CONFIG_INVALID', `the data already has a task named '${DOMAIN_TASK}'`);
  const spec = {
    name: DOMAIN_TASK,
    type: 'classification' as const,
    labels,
    weight: 1,
    labelSmoothing: 0,
    classWeights: 'balanced' as const,
    reverseGradient: factor,
  };
  return sets.map((d) => {
    const k = labels.indexOf(d.source.corpus);
    const targets = new Float32Array(d.size * labels.length);
    for (let i = 0; i < d.size; i++) targets[i * labels.length + k] = 1;
    return {
      ...d,
      tasks: { ...d.tasks, [DOMAIN_TASK]: { spec, targets, has: new Uint8Array(d.size).fill(1) } },
    };
  });
}

/**
 * A dataset without its labels: features for unsupervised domain adaptation (the target
 * corpus's inputs take part in the domain task only).
 */
export function withoutLabels(ds: FeatureDataset): FeatureDataset {
  return { ...ds, name: `${ds.name} (unlabelled)`, tasks: {} };
}
