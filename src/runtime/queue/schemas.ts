import { z } from 'zod';
import { MODALITIES } from '../../core/labels.js';
import { predictionRecordSchema } from '../../pipeline/record.js';

/**
 * Where a modality job's input is: a file workers can read at the same path (and the absolute
 * root it must stay inside; a worker reads it only when both lie inside one of its
 * `--input-root` folders), inline text, or inline bytes (base64) for producers that share no disk.
 */
export const jobInputSchema = z.union([
  z.object({ path: z.string().min(1), root: z.string().min(1) }).strict(),
  z.object({ text: z.string() }).strict(),
  z.object({ base64: z.string() }).strict(),
]);
export type JobInput = z.infer<typeof jobInputSchema>;

/** The data of a child job on queue `text`, `image` or `audio`. */
export const modalityJobSchema = z
  .object({
    batch: z.string().min(1),
    sampleId: z.string().min(1),
    modality: z.enum(MODALITIES),
    input: jobInputSchema,
    /** sha256 of the input's bytes (UTF-8 for inline text), part of the job id. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    /** An audio job: read the recording as a timeline of speech segments (submit --segments). */
    segments: z.boolean().optional(),
  })
  .strict();
export type ModalityJob = z.infer<typeof modalityJobSchema>;

/** The data of a parent job on queue `fuse`: one per sample, its children are the modalities. */
export const fuseJobSchema = z
  .object({
    batch: z.string().min(1),
    sampleId: z.string().min(1),
    /** The paths shown in the record's `inputs`. */
    inputs: z
      .object({ text: z.string().optional(), image: z.string().optional(), audio: z.string().optional() })
      .strict(),
    /** Modalities the sample has (a child each), so that a child lost is noticed. */
    modalities: z.array(z.enum(MODALITIES)),
    /** Seconds the record is kept in Redis (default 7 days). */
    ttlSeconds: z.number().int().positive().optional(),
  })
  .strict();
export type FuseJob = z.infer<typeof fuseJobSchema>;

/**
 * What a modality job returns: the feature vector (float32 little-endian, base64) and its
 * details; an audio job with `segments` returns the recording's timeline instead (each
 * segment's vector likewise; `vector` empty, `dim` 0).
 */
export const modalityResultSchema = z.object({
  vector: z.string(),
  dim: z.number().int().nonnegative(),
  meta: z.record(z.string(), z.unknown()),
  warnings: z.array(z.object({ code: z.string(), message: z.string() })),
  timeline: z
    .object({
      totalSeconds: z.number(),
      segments: z.array(
        z.object({
          start: z.number(),
          end: z.number(),
          speechSeconds: z.number(),
          vector: z.string(),
          dim: z.number().int().positive(),
        }),
      ),
    })
    .optional(),
});
export type ModalityJobResult = z.infer<typeof modalityResultSchema>;

export { predictionRecordSchema };

/** JSON Schema of each payload, for producers in other languages (docs/queue.md). */
export function jsonSchemas(): Record<string, unknown> {
  return {
    modalityJob: z.toJSONSchema(modalityJobSchema),
    fuseJob: z.toJSONSchema(fuseJobSchema),
    modalityResult: z.toJSONSchema(modalityResultSchema),
    record: z.toJSONSchema(predictionRecordSchema),
  };
}
