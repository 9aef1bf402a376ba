import { z } from 'zod';

/*
 * What a task is (docs/head.md): a classification, multilabel or regression target with its
 * labels or range. Corpora (src/data) say which tasks their labels serve; heads (src/head) are
 * built for a list of them. Both import it from here, below either.
 */

/** One task of a head (docs/head.md). */
export const taskSchema = z.discriminatedUnion('type', [
  z.object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
    type: z.literal('classification'),
    labels: z.array(z.string()).min(2),
    /** Static weight of this task's loss in the sum. */
    weight: z.number().nonnegative().default(1),
    labelSmoothing: z.number().min(0).max(0.5).default(0),
    /** Per-class loss weights (same order as labels); 'balanced' = inverse class frequency. */
    classWeights: z
      .union([z.literal('none'), z.literal('balanced'), z.array(z.number().positive())])
      .default('none'),
    /**
     * Adversarial task (a domain classifier): its head sits behind a gradient-reversal layer
     * with this factor, so the shared layers learn features that do not predict it. Such a task
     * serves training only: it is not part of the written head.
     */
    reverseGradient: z.number().positive().optional(),
  }),
  z.object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
    type: z.literal('multilabel'),
    labels: z.array(z.string()).min(1),
    weight: z.number().nonnegative().default(1),
  }),
  z.object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
    type: z.literal('regression'),
    /** Outputs are squashed into this range (mid + half·tanh). */
    range: z
      .tuple([z.number(), z.number()])
      .refine(([lo, hi]) => hi > lo, 'range must be [lo, hi] with hi > lo'),
    loss: z.enum(['mse', 'ccc']).default('mse'),
    weight: z.number().nonnegative().default(1),
  }),
]);

export type TaskSpec = z.infer<typeof taskSchema>;

/** Whether a task is a training-only adversary behind gradient reversal (`reverseGradient`). */
export function isAdversarial(t: TaskSpec): t is Extract<TaskSpec, { type: 'classification' }> & {
  reverseGradient: number;
} {
  return t.type === 'classification' && t.reverseGradient !== undefined;
}

/** Output width of a task: its label count, or 1 for a regression. */
export function taskWidth(t: TaskSpec): number {
  return t.type === 'regression' ? 1 : t.labels.length;
}

/** A classification task with the schema's defaults (weight 1, no smoothing, no class weights). */
export function classificationTask(name: string, labels: readonly string[]): TaskSpec {
  return {
    name,
    type: 'classification',
    labels: [...labels],
    weight: 1,
    labelSmoothing: 0,
    classWeights: 'none',
  };
}

/** A regression task on [-1, 1] with the schema's defaults (MSE, weight 1). */
export function regressionTask(name: string): TaskSpec {
  return { name, type: 'regression', range: [-1, 1], loss: 'mse', weight: 1 };
}
