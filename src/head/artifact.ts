import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EmoflowError } from '../core/errors.js';
import { speakerNormSchema } from '../features/speaker-norm.js';
import { MODALITIES, type Modality } from '../core/labels.js';
import {
  LEXICAL_DIM,
  architectureSchema,
  contextOf,
  contextSchema,
  taskSchema,
  type HeadDescription,
} from './head-spec.js';
import { buildHead, paramShapes, type ParamStore } from './head-model.js';
import { lexicalBucketsOfSpec, lexicalSettings } from '../features/text/lexical.js';
import { slotLayout } from './slot-inputs.js';
import { priorRecordSchema } from './label-prior.js';
import { decodeModel, encodeModel, tensorToArray } from './onnx/proto.js';
import type { TrainLogEntry } from './trainer.js';

export const HEAD_FORMAT_VERSION = 1;

const featureSchema = z.object({
  name: z.string(),
  version: z.string(),
  dim: z.number().int().positive(),
  mean: z.array(z.number()),
  std: z.array(z.number()),
  /** The lexical channel's settings (text, spec `+lex<buckets>`): how its ids are computed. */
  lexical: z
    .object({
      tokenizer: z.literal('emoflow-lexical-1'),
      hash: z.literal('fnv1a-32'),
      buckets: z.number().int().positive(),
      maxIds: z.number().int().positive(),
      wordNgrams: z.number().int().positive(),
      charNgrams: z.tuple([z.number().int(), z.number().int()]),
      dim: z.number().int().positive(),
    })
    .optional(),
});

const corpusSchema = z.object({
  corpus: z.string(),
  path: z.string(),
  split: z.string().optional(),
  samples: z.number().int().nonnegative(),
  licence: z.string(),
});

export const headJsonSchema = z.object({
  formatVersion: z.literal(HEAD_FORMAT_VERSION),
  name: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Terms of use that follow from the training data (e.g. non-commercial). */
  notice: z.string().optional(),
  features: z.partialRecord(z.enum(MODALITIES), featureSchema),
  tasks: z.array(z.intersection(taskSchema, z.object({ modalities: z.array(z.enum(MODALITIES)) }))),
  fusion: z.string(),
  architecture: architectureSchema,
  /** The dialogue context the head was built with (architecture.context when on); null without. */
  context: contextSchema.nullable(),
  /** Per-speaker standardisation the head was trained with (null: none); eval and ingest apply it. */
  speakerNorm: speakerNormSchema.nullable().default(null),
  /** Label priors per classification task (label-prior.ts); absent in heads trained before they were recorded. */
  priors: z.record(z.string(), priorRecordSchema).optional(),
  temperature: z.record(z.string(), z.number().positive()),
  /**
   * Extra emotion temperature per modality, for scores that are overconfident on data from other
   * sources (speech: scripts/speech-calibration.ts); a row is tempered by its contribution-weighted
   * mix (calibration.ts `temperByModality`). Absent: 1 for every modality.
   */
  modalityTemperature: z.partialRecord(z.enum(MODALITIES), z.number().positive()).optional(),
  thresholds: z.record(z.string(), z.array(z.number())).default({}),
  metrics: z.record(z.string(), z.unknown()),
  training: z.object({
    corpora: z.array(corpusSchema),
    dev: corpusSchema.nullable(),
    seed: z.number().int(),
    config: z.record(z.string(), z.unknown()),
    init: z.object({ name: z.string(), sha256: z.string() }).nullable(),
    freeze: z.string().nullable(),
    trained: z.array(z.string()),
    steps: z.number().int(),
    seconds: z.number(),
    time: z.string(),
    log: z.array(z.record(z.string(), z.unknown())),
  }),
});

export type HeadJson = z.infer<typeof headJsonSchema>;

export interface LoadedHead {
  dir: string;
  json: HeadJson;
  desc: HeadDescription;
  params: ParamStore;
  onnxPath: string;
  onnx: Uint8Array;
}

/** The bytes of head.onnx: the inference graph with the parameters as initializers. */
export function headOnnx(desc: HeadDescription, params: ParamStore, name: string): Uint8Array {
  const built = buildHead(desc, params, 'infer');
  return encodeModel(built.graph.toModel({ params: 'initializers', name: `emoflow-head-${name}` }));
}

/**
 * Writes a head artifact folder (docs/head.md): head.onnx (IR 8, opset 17) and head.json
 * (its sha256, feature specs with standardisation statistics, tasks, fusion, temperature,
 * metrics, training record). Files are written beside and renamed into place.
 */
export async function saveHead(
  dir: string,
  desc: HeadDescription,
  params: ParamStore,
  meta: Omit<
    HeadJson,
    | 'formatVersion'
    | 'sha256'
    | 'features'
    | 'tasks'
    | 'fusion'
    | 'architecture'
    | 'context'
    | 'temperature'
    | 'speakerNorm'
    | 'priors'
  > & {
    taskModalities: Record<string, Modality[]>;
    speakerNorm?: HeadJson['speakerNorm'];
    priors?: HeadJson['priors'];
  },
): Promise<{ onnxPath: string; jsonPath: string; sha256: string }> {
  await mkdir(dir, { recursive: true });
  const onnx = headOnnx(desc, params, meta.name);
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  const features: HeadJson['features'] = {};
  for (const s of desc.slots) {
    const lexical = slotLayout(s).lexical;
    features[s.modality] = {
      ...s.spec,
      mean: s.mean,
      std: s.std,
      ...(lexical === undefined
        ? {}
        : {
            lexical: {
              ...lexicalSettings(lexical.buckets),
              dim: desc.architecture.lexicalDim ?? LEXICAL_DIM,
            },
          }),
    };
  }
  // speakerNorm only when set: head.json of heads without it stays as it was.
  const json: Omit<HeadJson, 'speakerNorm'> & Partial<Pick<HeadJson, 'speakerNorm'>> = {
    formatVersion: HEAD_FORMAT_VERSION,
    name: meta.name,
    sha256,
    ...(meta.notice === undefined ? {} : { notice: meta.notice }),
    features,
    tasks: desc.tasks.map((t) => ({ ...t, modalities: meta.taskModalities[t.name] ?? [] })),
    fusion: desc.architecture.fusion,
    architecture: desc.architecture,
    context: contextOf(desc.architecture) ?? null,
    ...(meta.speakerNorm == null ? {} : { speakerNorm: meta.speakerNorm }),
    ...(meta.priors === undefined || Object.keys(meta.priors).length === 0 ? {} : { priors: meta.priors }),
    temperature: desc.temperature,
    thresholds: meta.thresholds,
    metrics: meta.metrics,
    training: meta.training,
  };
  const onnxPath = join(dir, 'head.onnx');
  const jsonPath = join(dir, 'head.json');
  await writeFile(onnxPath + '.part', onnx);
  await writeFile(jsonPath + '.part', JSON.stringify(json, null, 2) + '\n');
  await rename(onnxPath + '.part', onnxPath);
  await rename(jsonPath + '.part', jsonPath);
  return { onnxPath, jsonPath, sha256 };
}

/** Reads and checks a head folder: HEAD_INVALID when it cannot be used. */
export async function loadHead(dir: string): Promise<LoadedHead> {
  const jsonPath = join(dir, 'head.json');
  const onnxPath = join(dir, 'head.onnx');
  let raw: unknown;
  let onnx: Uint8Array;
  try {
    raw = JSON.parse(await readFile(jsonPath, 'utf8'));
    onnx = new Uint8Array(await readFile(onnxPath));
  } catch (e) {
    throw new EmoflowError(
      'HEAD_INVALID',
      `${dir}: cannot read head.json and head.onnx (${(e as Error).message})`,
      { path: dir, cause: e },
    );
  }
  const parsed = headJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EmoflowError('HEAD_INVALID', `${jsonPath}: ${issue.path.join('.')}: ${issue.message}`, {
      path: jsonPath,
    });
  }
  const json = parsed.data;
  const sha = createHash('sha256').update(onnx).digest('hex');
  if (sha !== json.sha256) {
    throw new EmoflowError(
      'HEAD_INVALID',
      `${onnxPath}: sha256 ${sha} differs from head.json's ${json.sha256}; the files do not belong together`,
      {
        path: onnxPath,
      },
    );
  }
  const desc: HeadDescription = {
    slots: MODALITIES.filter((m) => json.features[m] !== undefined).map((m) => {
      const f = json.features[m]!;
      checkLexical(dir, m, f);
      return {
        modality: m,
        spec: { name: f.name, version: f.version, dim: f.dim },
        mean: f.mean,
        std: f.std,
      };
    }),
    architecture: json.architecture,
    tasks: json.tasks.map(({ modalities: _m, ...t }) => t),
    temperature: json.temperature,
  };
  const model = decodeModel(onnx);
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const params: ParamStore = new Map();
  for (const s of paramShapes(desc)) {
    const t = byName.get(s.name);
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (t === undefined || t.dims.reduce((a, b) => a * b, 1) !== size) {
      throw new EmoflowError(
        'HEAD_INVALID',
        `${onnxPath}: parameter ${s.name} is missing or has the wrong shape`,
        { path: onnxPath },
      );
    }
    params.set(s.name, Float32Array.from(tensorToArray(t) as Float32Array));
  }
  return { dir, json, desc, params, onnxPath, onnx };
}

export type { TrainLogEntry };

/**
 * HEAD_INCOMPATIBLE unless a head's lexical channel is the one this version computes: the
 * settings head.json records must be those its text spec names (lexical.ts).
 */
function checkLexical(
  dir: string,
  m: string,
  f: HeadJson['features'][keyof HeadJson['features']] & object,
): void {
  const buckets = m === 'text' ? lexicalBucketsOfSpec(f.name) : undefined;
  if (buckets === undefined && f.lexical === undefined) return;
  const want = buckets === undefined ? undefined : lexicalSettings(buckets);
  const got = f.lexical;
  const same =
    want !== undefined &&
    got !== undefined &&
    got.tokenizer === want.tokenizer &&
    got.hash === want.hash &&
    got.buckets === want.buckets &&
    got.maxIds === want.maxIds &&
    got.wordNgrams === want.wordNgrams &&
    got.charNgrams[0] === want.charNgrams[0] &&
    got.charNgrams[1] === want.charNgrams[1];
  if (!same)
    throw new EmoflowError(
      'HEAD_INCOMPATIBLE',
      `${dir}: the ${m} features' lexical channel (${JSON.stringify(got ?? null)}) is not the one ${f.name} names (${JSON.stringify(want ?? null)})`,
      { path: dir },
    );
}
