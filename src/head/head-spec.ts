import { z } from 'zod';
import type { Modality } from '../core/labels.js';

// The task descriptions live in core (data's corpora and the head both use them).
export { isAdversarial, taskSchema, type TaskSpec } from '../core/tasks.js';
import type { TaskSpec } from '../core/tasks.js';

/**
 * Dialogue context (docs/head.md, docs/head.md "Dialogue context"): samples of one `group` form a
 * graph (edges between positions at most `window` apart, and between turns of one speaker when
 * `speakerEdges`), and `layers` graph-attention layers mix each fused vector with its
 * neighbours' before the trunk. Absent from the architecture (or `layers` 0): no context, and
 * the head's graph is exactly the one without this option.
 */
export const contextSchema = z.object({
  /** Graph-attention layers (0 = off). */
  layers: z.number().int().min(0).max(2).default(1),
  /** Edges join samples of a group whose `order` differs by at most this. */
  window: z.number().int().nonnegative().default(2),
  /** Also join every two samples of a group with the same (known) speaker. */
  speakerEdges: z.boolean().default(true),
  /**
   * Most samples one graph holds: a longer group is cut into consecutive windows of this many
   * (by order), the same in training, evaluation and ingestion, which bounds the [N, N] input.
   */
  maxGroup: z.number().int().positive().default(64),
});
export type ContextSpec = z.infer<typeof contextSchema>;

/** The context settings of an architecture when context is on (layers > 0), else undefined. */
export function contextOf(a: Architecture): ContextSpec | undefined {
  return a.context !== undefined && a.context.layers > 0 ? a.context : undefined;
}

/** Architecture of a head. */
export const architectureSchema = z.object({
  /** Width of each modality's projection, and of the fused vector. */
  hidden: z.number().int().positive().default(128),
  /** Width of the gate's scoring layer. */
  gate: z.number().int().positive().default(32),
  /** Widths of the shared trunk's layers after fusion. */
  trunk: z.array(z.number().int().positive()).default([128]),
  activation: z.enum(['relu', 'gelu']).default('gelu'),
  /**
   * How the modalities meet: `gated` (attention weights over the present modalities), `concat`
   * (the masked projections side by side; train with modality dropout), or `late` (the trunk and
   * task heads run on each modality alone, their task outputs averaged with learned weights).
   */
  fusion: z.enum(['gated', 'concat', 'late']).default('gated'),
  /** Dialogue context over the fused vectors; absent = off (gated and concat fusion, or one modality). */
  context: contextSchema.optional(),
  /**
   * Width of the lexical channel's embedding table (buckets × lexicalDim), for a text slot whose
   * spec has the channel (`+lex<buckets>`); its bag is projected to `hidden` beside the sentence
   * embedding's projection. Absent: LEXICAL_DIM (32).
   */
  lexicalDim: z.number().int().positive().optional(),
});
export type Architecture = z.infer<typeof architectureSchema>;

/**
 * The lexical embedding width when the architecture does not set it. Chosen on dair's dev split
 * (text-only heads, 131,072 buckets, 12 epochs): d = 8, 16, 32 gave accuracy 0.791, 0.849, 0.862;
 * 32 would put the default head over 10 MB (17 MB), 16 keeps it under (docs/RESULTS.md).
 */
export const LEXICAL_DIM = 16;

/** A modality slot of the head: its feature spec and the training statistics that standardise it. */
export interface ModalitySlot {
  modality: Modality;
  spec: { name: string; version: string; dim: number };
  mean: number[];
  std: number[];
}

/** Everything that defines a head's graphs (parameter values live beside it). */
export interface HeadDescription {
  slots: ModalitySlot[];
  architecture: Architecture;
  tasks: TaskSpec[];
  /** Softmax temperature of each classification task (1 until calibrated). */
  temperature: Record<string, number>;
}
