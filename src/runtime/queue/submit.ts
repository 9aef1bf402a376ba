import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { EmoflowError } from '../../core/errors.js';
import { modalityPath, type Sample } from '../../core/sample.js';
import { readModality, sha256OfInput } from '../../io/read-input.js';
import type { SkippedFile } from '../../data/folder.js';
import { inputsOf, presentModalities } from '../../pipeline/extract.js';
import { openInput } from '../embedded/input-source.js';
import { bullConnectionOf, QUEUE_NAMES, type RedisClient } from './connection.js';
import { FlowWriter, type AddCounts, type SamplePlan } from './flows.js';
import { batchKeys, DEFAULT_TTL_SECONDS, deriveBatchId } from './keys.js';
import { queueLayout } from './layout.js';
import { isRedisReply, redisReason } from './redis-errors.js';

export { JOB_ATTEMPTS, JOB_BACKOFF } from './flows.js';

export interface SubmitOptions {
  redisUrl: string;
  /** The `--prefix`; with `shards` > 1, the base of the shards' prefixes. */
  prefix: string;
  /** Shards of the deployment (default 1): the batch goes to `shardOfBatch(batch, shards)`. */
  shards?: number;
  /** A batch id of the user's; default: derived from the inputs. */
  batch?: string;
  ttlSeconds?: number;
  /** Audio read as timelines of speech segments (docs/timelines.md): a flag of each audio job. */
  segments?: boolean;
  /** Samples whose flow is in Redis so far. */
  onProgress?: (done: number) => void;
}

export interface SubmitResult {
  batch: string;
  /** The key prefix the batch lives under: the `--prefix`, or its shard's with several shards. */
  prefix: string;
  samples: number;
  /** Flows added by this call (0 when the same inputs were submitted before and all went well). */
  added: number;
  /** Samples skipped because their record or their live flow already exists. */
  existing: number;
  /** Of `added`: samples redone because their flow failed or their record is EXTRACTION_FAILED. */
  redone: number;
  /** Files of a folder that are no sample's input: how many, and their names (up to 10,000). */
  skipped: number;
  skippedFiles: SkippedFile[];
}

function sha(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A sample's fingerprint before any file is read, for the batch id: each modality's size and
 * modification time (a file), or the sha256 of its inline text or bytes.
 */
async function fingerprint(sample: Sample): Promise<string[]> {
  const out: string[] = [];
  for (const m of presentModalities(sample)) {
    if (m === 'text' && sample.text !== undefined) {
      out.push(`${m}:${sha(sample.text)}`);
      continue;
    }
    const inline = sample.bytes?.[m];
    if (inline !== undefined) {
      out.push(`${m}:${sha(inline)}`);
      continue;
    }
    const rel = modalityPath(sample, m)!;
    const st = await stat(isAbsolute(rel) ? rel : resolve(sample.root, rel)).catch(() => undefined);
    out.push(`${m}:${st === undefined ? 'missing' : `${st.size}@${st.mtimeMs}`}:${rel}`);
  }
  return out;
}

/**
 * Each modality's job input and content hash (an unreadable file hashes its error: its job
 * reports it); with `segments`, the audio job is marked to read its recording as a timeline.
 */
async function plan(sample: Sample, segments: boolean): Promise<SamplePlan> {
  const modalities: SamplePlan['modalities'] = [];
  const root = resolve(sample.root);
  for (const m of presentModalities(sample)) {
    if (m === 'text' && sample.text !== undefined) {
      modalities.push({ modality: m, input: { text: sample.text }, sha256: sha(sample.text) });
      continue;
    }
    const inline = sample.bytes?.[m];
    if (inline !== undefined) {
      const base64 = Buffer.from(inline.buffer, inline.byteOffset, inline.byteLength).toString('base64');
      modalities.push({ modality: m, input: { base64 }, sha256: sha(inline) });
      continue;
    }
    const rel = modalityPath(sample, m)!;
    // Images and recordings are hashed in pieces (a recording may be hours long); a text as read.
    const read = m === 'text' ? await readModality(sample, m) : await sha256OfInput(sample, m);
    const digest =
      read?.status !== 'ok'
        ? sha(`unreadable\0${rel}`)
        : 'sha256' in read
          ? read.sha256
          : sha(read.input.bytes);
    modalities.push({ modality: m, input: { path: rel, root }, sha256: digest });
  }
  if (segments) for (const m of modalities) if (m.modality === 'audio') m.segments = true;
  return { sampleId: sample.id, inputs: inputsOf(sample), modalities };
}

/** Creates a batch's meta, or checks it against these inputs. Returns the `submitted` watermark. */
const CREATE_META = `
local known = redis.call('HGET', KEYS[1], 'samples')
if known then return {tonumber(known), tonumber(redis.call('HGET', KEYS[1], 'submitted') or known)} end
redis.call('HSET', KEYS[1], 'samples', ARGV[1], 'submitted', '0', 'createdAt', ARGV[2],
  'ttlSeconds', ARGV[3], 'input', ARGV[4], 'modalities', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {tonumber(ARGV[1]), 0}
`;

/** Appends ids to the batch's list only if it holds exactly `start` ids (concurrent submits, re-runs). */
const APPEND_IDS = `
local n = redis.call('LLEN', KEYS[1])
if n ~= tonumber(ARGV[1]) then return n end
for i = 3, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('LLEN', KEYS[1])
`;

/** Raises the `submitted` watermark (never lowers it: a concurrent submit may be ahead). */
const RAISE_SUBMITTED = `
local n = tonumber(redis.call('HGET', KEYS[1], 'submitted') or '0')
if tonumber(ARGV[1]) > n then redis.call('HSET', KEYS[1], 'submitted', ARGV[1]) end
return 1
`;

/** Waves of samples hashed and added together: small first, so that workers start at once. */
function waveSizes(): () => number {
  let next = 16;
  return () => {
    const n = next;
    next = Math.min(256, next * 2);
    return n;
  };
}

/**
 * Submits a folder, manifest or corpus spec as one flow per sample (docs/queue.md): a parent on
 * `fuse`, a child per modality.
 *
 * The batch is named before any file is read (its id comes from the sample ids and each input's
 * size and modification time), then inputs are read and hashed in waves and each wave's flows
 * are added as soon as it is hashed, so workers start on the first samples while the rest are
 * read. Job ids come from batch, sample, modality and content, and a sample whose record or
 * live flow exists is not added again, so the same inputs submitted twice make one batch and no
 * duplicate work; a failed flow or an EXTRACTION_FAILED record is redone.
 *
 * Resumable: the meta's `submitted` says how many samples (in order) have their flow. If Redis
 * refuses a write (out of memory, read-only) the submit stops with SUBMIT_INCOMPLETE naming the
 * batch and that count; running it again adds exactly the missing flows.
 *
 * With several shards the batch's id is known first (given, or derived as above: it does not
 * depend on the shard count), and every key and flow of the batch goes under its shard's prefix.
 */
export async function submitBatch(
  redis: RedisClient,
  input: string,
  options: SubmitOptions,
): Promise<SubmitResult> {
  const layout = queueLayout(options.prefix, options.shards ?? 1, options.redisUrl);
  const source = await openInput(input);
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for await (const s of source.samples) {
    if (seen.has(s.id))
      throw new EmoflowError('MANIFEST_INVALID', `${input}: sample id '${s.id}' appears twice`);
    seen.add(s.id);
    samples.push(s);
  }
  let batch = options.batch;
  if (batch === undefined) {
    const prints: { sampleId: string; hashes: string[] }[] = [];
    for (let i = 0; i < samples.length; i += 64) {
      const part = samples.slice(i, i + 64);
      const hashes = await Promise.all(part.map(fingerprint));
      part.forEach((s, k) => prints.push({ sampleId: s.id, hashes: hashes[k]! }));
    }
    // A batch of timelines is another batch than the same inputs scored as clips.
    if (options.segments === true) prints.push({ sampleId: '\u0000segments', hashes: [] });
    batch = deriveBatchId(prints);
  }
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const prefix = layout.prefixOf(batch);
  const keys = batchKeys(prefix, batch);
  const total = samples.length;
  let submitted = 0;
  const incomplete = (e: unknown): unknown =>
    e instanceof EmoflowError || !isRedisReply(e)
      ? e
      : new EmoflowError(
          'SUBMIT_INCOMPLETE',
          `batch ${batch}: ${submitted} of ${total} samples are in Redis; Redis refused a write (${redisReason(e)}). Free memory in Redis (or raise maxmemory) and run the same submit again: it adds the other ${total - submitted}`,
          { cause: e },
        );
  const counts: AddCounts = { added: 0, existing: 0, redone: 0 };
  let writer: FlowWriter | undefined;
  let next: Promise<SamplePlan[]> | undefined;
  try {
    const modalities = QUEUE_NAMES.filter((q) =>
      samples.some((s) => q !== 'fuse' && presentModalities(s).includes(q)),
    );
    const [known] = (await redis.eval(
      CREATE_META,
      1,
      keys.meta,
      String(total),
      new Date().toISOString(),
      String(ttl),
      input,
      ['fuse', ...modalities].join(','),
    )) as [number, number];
    if (known !== total) {
      throw new EmoflowError(
        'CONFIG_INVALID',
        `batch ${batch} exists with ${known} samples; these inputs have ${total}: choose another --batch`,
      );
    }
    const ids = samples.map((s) => s.id);
    for (let listed = await redis.llen(keys.ids); listed < total;) {
      const part = ids.slice(listed, listed + 10_000);
      listed = (await redis.eval(APPEND_IDS, 1, keys.ids, String(listed), String(ttl), ...part)) as number;
    }
    writer = new FlowWriter(redis, bullConnectionOf(redis, options.redisUrl), prefix, batch, ttl);
    const w = writer;
    // Wave k+1 is read and hashed while wave k's flows are added.
    const size = waveSizes();
    let start = 0;
    const hashWave = () => {
      const part = samples.slice(start, (start += size()));
      return Promise.all(part.map((s) => plan(s, options.segments === true)));
    };
    next = hashWave();
    while (submitted < total) {
      const wave = await next;
      if (start < total) next = hashWave();
      const got = await w.add(wave);
      counts.added += got.added;
      counts.existing += got.existing;
      counts.redone += got.redone;
      submitted += wave.length;
      await redis.eval(RAISE_SUBMITTED, 1, keys.meta, String(submitted));
      options.onProgress?.(submitted);
    }
  } catch (e) {
    next?.catch(() => undefined); // a wave read ahead is dropped with the submit
    throw incomplete(e);
  } finally {
    await writer?.close();
  }
  return {
    batch,
    prefix,
    samples: total,
    ...counts,
    skipped: source.skippedCount(),
    skippedFiles: source.skipped,
  };
}
