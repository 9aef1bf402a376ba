import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { EMOTIONS, MODALITIES, type Modality } from '../core/labels.js';

/** The codes an output record may carry (the non-fatal ones of docs/errors.md). */
const errorCodes = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export const recordErrorSchema = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
});
export type RecordError = z.infer<typeof recordErrorSchema>;

export const warningSchema = z.object({ code: z.string(), message: z.string() });

/** A 7-class distribution, keyed by the labels of docs/corpora.md in their order. */
export const scoresSchema = z.object(
  Object.fromEntries(EMOTIONS.map((e) => [e, z.number()])) as Record<(typeof EMOTIONS)[number], z.ZodNumber>,
);
export type Scores = z.infer<typeof scoresSchema>;

/** The image modality's face (docs/ingest.md; `FaceInfo` in src/features/image/image-extractor.ts). */
export const faceSchema = z.object({
  source: z.enum(['detector', 'whole-image']),
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  score: z.number().nullable(),
  count: z.number().int(),
  /** How the CNN's input was framed; absent in records from image feature spec 1. */
  framing: z.enum(['fer', 'input', 'unsure', 'no-face']).optional(),
  /** The square [x, y, w, h] fed to the CNN, possibly past the image; absent before spec 2. */
  crop: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
});

export const modalityResultSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('ok'),
    label: z.enum(EMOTIONS),
    scores: scoresSchema,
    contribution: z.number(),
    face: faceSchema.optional(),
    vad: z.object({ speechSeconds: z.number(), totalSeconds: z.number() }).optional(),
  }),
  z.object({ status: z.literal('error'), error: recordErrorSchema }),
]);
export type ModalityResult = z.infer<typeof modalityResultSchema>;

/** One segment of a recording's timeline (docs/timelines.md): seconds from its start, and its scores. */
export const segmentSchema = z.object({
  start: z.number(),
  end: z.number(),
  label: z.enum(EMOTIONS),
  scores: scoresSchema,
  valence: z.number().nullable(),
  arousal: z.number().nullable(),
});
export type SegmentRecord = z.infer<typeof segmentSchema>;

/** The output record of docs/ingest.md: one per input sample, whatever happened to it. */
export const predictionRecordSchema = z.object({
  id: z.string(),
  status: z.enum(['ok', 'partial', 'failed']),
  label: z.enum(EMOTIONS).nullable(),
  scores: scoresSchema.nullable(),
  valence: z.number().nullable(),
  arousal: z.number().nullable(),
  /** Outputs of a head's other tasks (a user's own), by task name; absent for the default head. */
  tasks: z.record(z.string(), z.union([z.number(), z.string(), z.array(z.string())])).optional(),
  modalities: z.object(
    Object.fromEntries(MODALITIES.map((m) => [m, modalityResultSchema.optional()])) as Record<
      Modality,
      z.ZodOptional<typeof modalityResultSchema>
    >,
  ),
  /** Where each modality came from, as written in the input (relative to its root). */
  inputs: z.object({
    text: z.string().optional(),
    image: z.string().optional(),
    audio: z.string().optional(),
  }),
  /** With `--segments`: the audio's speech segments in time order (docs/timelines.md). */
  segments: z.array(segmentSchema).optional(),
  head: z.object({ name: z.string(), sha256: z.string() }),
  warnings: z.array(warningSchema),
  /** For `failed`: the first error. */
  error: recordErrorSchema.optional(),
});
export type PredictionRecord = z.infer<typeof predictionRecordSchema>;
