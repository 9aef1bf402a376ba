import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  AutoModel,
  AutoTokenizer,
  env,
  Tensor,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { EmoflowError } from '../../core/errors.js';
import type { SessionFactory } from '../../models/session-factory.js';

export interface TextEncoderOptions {
  /** A local transformers.js model folder, or a hub id (needs `allowRemote`). */
  model: string;
  factory: SessionFactory;
  /** Sentences per ONNX call after length bucketing. */
  batchSize?: number;
  /** Lets transformers.js download a hub model (connected machines only). */
  allowRemote?: boolean;
  /** Where transformers.js caches downloaded hub models. */
  cacheDir?: string;
}

/** One tokenised text: ids with the model's special tokens, and whether it was cut at the maximum length. */
export interface Tokenised {
  ids: number[];
  truncated: boolean;
  /** Token count before truncation (of the prefix tokenised, when `lowerBound`). */
  fullLength: number;
  /** The text was cut before tokenising: the whole text has at least `fullLength` tokens. */
  lowerBound?: boolean;
}

/** A padded batch, in the integer layout the model takes. */
export interface TokenBatch {
  /** Positions in the caller's list, in batch order. */
  indices: number[];
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array | undefined;
  rows: number;
  length: number;
}

/**
 * Sentence embeddings from a transformers.js model folder: tokenise with its tokenizer,
 * bucket by length, pad per batch, run the model (its session created with our factory's
 * options and device fallback), and mean-pool the last hidden state over the attention mask.
 */
/** Characters of a long text tokenised at first, per token kept (tokens rarely span more). */
const PREFIX_CHARS_PER_TOKEN = 16;
/** The most characters per token kept that are ever tokenised. */
const MAX_PREFIX_CHARS_PER_TOKEN = 64;
/** Tokens beyond the maximum a cut prefix must give, so that the cut cannot change the kept ones. */
const PREFIX_TOKEN_MARGIN = 8;

/** The first `n` UTF-16 units of a text, never splitting a surrogate pair. */
function prefixOf(text: string, n: number): string {
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/** The ONNX file of a local transformers.js model folder (the fp32 `onnx/model.onnx` it loads). */
export function textModelOnnx(folder: string): string {
  return resolve(folder, 'onnx', 'model.onnx');
}

export class TextEncoder {
  readonly modelId: string;
  readonly dim: number;
  readonly maxLength: number;
  readonly batchSize: number;
  /** The ONNX file transformers.js loaded, when local (the benchmark opens a bare session on it). */
  readonly onnxPath: string | undefined;
  private readonly tokenizer: PreTrainedTokenizer;
  private readonly model: PreTrainedModel;
  private readonly padId: number;
  private readonly needsTokenTypes: boolean;
  /** Runs a model call holding the process's device lock when the device needs it (SessionFactory.exclusive). */
  private readonly exclusive: SessionFactory['exclusive'];
  private disposed = false;

  private constructor(
    modelId: string,
    tokenizer: PreTrainedTokenizer,
    model: PreTrainedModel,
    dim: number,
    maxLength: number,
    batchSize: number,
    needsTokenTypes: boolean,
    onnxPath: string | undefined,
    factory: SessionFactory,
  ) {
    this.exclusive = (fn) => factory.exclusive(fn);
    this.modelId = modelId;
    this.tokenizer = tokenizer;
    this.model = model;
    this.dim = dim;
    this.maxLength = maxLength;
    this.batchSize = batchSize;
    this.padId = tokenizer.pad_token_id ?? 0;
    this.needsTokenTypes = needsTokenTypes;
    this.onnxPath = onnxPath;
  }

  static async load(options: TextEncoderOptions): Promise<TextEncoder> {
    const local = existsSync(options.model) && statSync(options.model).isDirectory();
    if (!local && options.allowRemote !== true) {
      throw new EmoflowError(
        'MODEL_NOT_FOUND',
        `text model '${options.model}' is not a local model folder; pass a folder, or allow downloads from the hub (--allow-remote) on a connected machine`,
        { path: options.model },
      );
    }
    // transformers.js keeps these switches in one global object; set them for this load.
    env.allowLocalModels = true;
    env.allowRemoteModels = !local;
    if (options.cacheDir !== undefined) env.cacheDir = options.cacheDir;
    const id = local ? resolve(options.model) : options.model;
    let tokenizer: PreTrainedTokenizer;
    let model: PreTrainedModel;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(id);
      model = await options.factory.withFallback((session_options) =>
        AutoModel.from_pretrained(id, { dtype: 'fp32', session_options }),
      );
    } catch (e) {
      if (e instanceof EmoflowError) throw e;
      throw new EmoflowError(
        'MODEL_NOT_FOUND',
        `cannot load text model '${options.model}': ${(e as Error).message}`,
        {
          path: options.model,
          cause: e,
        },
      );
    }
    const config = model.config as unknown as Record<string, unknown>;
    const dim = numberOr(config['hidden_size'], numberOr(config['d_model'], 0));
    const maxPositions = numberOr(config['max_position_embeddings'], Number.POSITIVE_INFINITY);
    const tokMax = numberOr(tokenizer.model_max_length, Number.POSITIVE_INFINITY);
    const maxLength = Math.min(tokMax, maxPositions, 4096);
    const session = (model as unknown as { sessions: Record<string, { inputNames: string[] }> }).sessions[
      'model'
    ];
    const needsTokenTypes = session?.inputNames.includes('token_type_ids') ?? false;
    const encoder = new TextEncoder(
      local ? basename(id) : id,
      tokenizer,
      model,
      dim,
      maxLength,
      options.batchSize ?? 32,
      needsTokenTypes,
      local ? textModelOnnx(id) : undefined,
      options.factory,
    );
    // Its session goes when the factory's do, if not before (dispose).
    options.factory.own(() => encoder.dispose());
    return encoder;
  }

  /**
   * Token ids of each text, cut at the model's maximum length (special tokens kept). A long text
   * is cut before it is tokenised: the tokenizer first sees `maxLength × 16` characters, more
   * while that prefix gives fewer than `maxLength + 8` tokens (the margin keeps the kept tokens
   * those of the whole text), at most `maxLength × 64`; so a text of megabytes costs no more than
   * a page (a whole 2 MB text overflowed the tokenizer's stack).
   */
  tokenize(texts: readonly string[]): Tokenised[] {
    return texts.map((text) => {
      for (let budget = this.maxLength * PREFIX_CHARS_PER_TOKEN; ; budget *= 2) {
        const cut = text.length > budget;
        const part = cut ? prefixOf(text, budget) : text;
        const ids = this.tokenizer.encode(part);
        const last = budget >= this.maxLength * MAX_PREFIX_CHARS_PER_TOKEN;
        if (cut && ids.length < this.maxLength + PREFIX_TOKEN_MARGIN && !last) continue;
        if (ids.length <= this.maxLength)
          return cut
            ? { ids, truncated: true, fullLength: ids.length, lowerBound: true }
            : { ids, truncated: false, fullLength: ids.length };
        return {
          ids: this.truncate(part, ids),
          truncated: true,
          fullLength: ids.length,
          ...(cut ? { lowerBound: true } : {}),
        };
      }
    });
  }

  /**
   * Cuts the text's own tokens so that the whole sequence, template included ([CLS] … [SEP]
   * for BERT, nothing for USE), fits the maximum length. transformers.js's own `truncation`
   * cuts after the template and so drops the closing [SEP].
   */
  private truncate(text: string, full: number[]): number[] {
    const content = this.tokenizer.encode(text, { add_special_tokens: false });
    const special = full.length - content.length;
    let prefix = 0;
    while (prefix <= special && full[prefix] !== content[0]) prefix++;
    const keep = Math.max(0, this.maxLength - special);
    return [...full.slice(0, prefix), ...content.slice(0, keep), ...full.slice(prefix + content.length)];
  }

  /** Length-bucketed, padded batches over tokenised texts (sorted by length, then cut into `batchSize`). */
  batches(tokens: readonly Tokenised[]): TokenBatch[] {
    const order = tokens
      .map((_, i) => i)
      .sort((a, b) => tokens[a]!.ids.length - tokens[b]!.ids.length || a - b);
    const out: TokenBatch[] = [];
    for (let start = 0; start < order.length; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      let length = 1;
      for (const i of indices) length = Math.max(length, tokens[i]!.ids.length);
      const rows = indices.length;
      const inputIds = new BigInt64Array(rows * length).fill(BigInt(this.padId));
      const attentionMask = new BigInt64Array(rows * length);
      indices.forEach((i, r) => {
        const ids = tokens[i]!.ids;
        for (let t = 0; t < ids.length; t++) {
          inputIds[r * length + t] = BigInt(ids[t]!);
          attentionMask[r * length + t] = 1n;
        }
      });
      const tokenTypeIds = this.needsTokenTypes ? new BigInt64Array(rows * length) : undefined;
      out.push({ indices, inputIds, attentionMask, tokenTypeIds, rows, length });
    }
    return out;
  }

  /** Mean-pooled embeddings, `n * dim` row-major in the order of `texts`. */
  async embed(texts: readonly string[]): Promise<{ vectors: Float32Array; tokens: Tokenised[] }> {
    const tokens = this.tokenize(texts);
    const vectors = new Float32Array(texts.length * this.dim);
    for (const batch of this.batches(tokens)) await this.runBatch(batch, vectors);
    return { vectors, tokens };
  }

  /** Runs one batch through the model and writes each row's pooled vector at its caller position. */
  async runBatch(batch: TokenBatch, into: Float32Array): Promise<void> {
    const dims = [batch.rows, batch.length];
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', batch.inputIds, dims),
      attention_mask: new Tensor('int64', batch.attentionMask, dims),
    };
    if (batch.tokenTypeIds !== undefined)
      feeds['token_type_ids'] = new Tensor('int64', batch.tokenTypeIds, dims);
    const out = (await this.exclusive(() => this.model(feeds) as Promise<unknown>)) as Record<string, Tensor>;
    const hidden = out['last_hidden_state'];
    if (hidden === undefined)
      throw new EmoflowError(
        'MODEL_NOT_FOUND',
        `text model '${this.modelId}' has no last_hidden_state output`,
      );
    meanPool(
      hidden.data as Float32Array,
      batch.attentionMask,
      batch.rows,
      batch.length,
      this.dim,
      batch.indices,
      into,
    );
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.exclusive(() => this.model.dispose());
  }
}

/**
 * Attention-mask mean pooling of `hidden` [rows, length, dim] into `into` at row `indices[r]`.
 * Computed in float64 and stored as float32.
 */
export function meanPool(
  hidden: Float32Array,
  mask: BigInt64Array,
  rows: number,
  length: number,
  dim: number,
  indices: readonly number[],
  into: Float32Array,
): void {
  const acc = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < length; t++) {
      if (mask[r * length + t] === 0n) continue;
      count++;
      const base = (r * length + t) * dim;
      for (let d = 0; d < dim; d++) acc[d]! += hidden[base + d]!;
    }
    const out = indices[r]! * dim;
    const scale = count > 0 ? 1 / count : 0;
    for (let d = 0; d < dim; d++) into[out + d] = acc[d]! * scale;
  }
}

function numberOr(x: unknown, fallback: number): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : fallback;
}
