import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EmoflowError } from '../core/errors.js';

const fileSchema = z.object({
  path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  /** Only where a download gives exactly these bytes. */
  url: z.string().url().optional(),
});

const tensorSchema = z.object({
  name: z.string(),
  dtype: z.string(),
  shape: z.array(z.union([z.number(), z.string()])),
  labels: z.array(z.string()).optional(),
});

const modelSchema = z.object({
  name: z.string().min(1),
  format: z.enum(['onnx', 'transformers.js']),
  task: z.string(),
  folder: z.string().optional(),
  files: z.array(fileSchema).min(1),
  licence: z.string(),
  licenseFile: z.string(),
  upstream: z.record(z.string(), z.string()),
  inputs: z.array(tensorSchema),
  outputs: z.array(tensorSchema),
  preprocessing: z.string(),
});

const manifestSchema = z.object({ schema: z.literal(1), models: z.array(modelSchema) });

export type ModelFile = z.infer<typeof fileSchema>;
export type ModelEntry = z.infer<typeof modelSchema>;
export type ModelManifest = z.infer<typeof manifestSchema>;

export function readManifest(modelsDir: string): ModelManifest {
  const path = join(modelsDir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new EmoflowError('MODEL_NOT_FOUND', `cannot read the model manifest ${path}: ${(e as Error).message}`, {
      path,
      cause: e,
    });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EmoflowError(
      'MODEL_NOT_FOUND',
      `model manifest ${path} is invalid at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'unknown'}`,
      { path },
    );
  }
  return parsed.data;
}
