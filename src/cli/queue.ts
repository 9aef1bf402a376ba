import { resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { FORMATS, formatOf } from '../export/writers.js';
import type { Device } from '../models/session-factory.js';
import { exportBatch, status, submit } from '../runtime/queue/api.js';
import {
  checkPrefix,
  DEFAULT_PREFIX,
  DEFAULT_REDIS_URL,
  QUEUE_NAMES,
  type QueueName,
} from '../runtime/queue/connection.js';
import { startQueueWorker } from '../runtime/queue/worker.js';
import { defineCommand, printJson, warningPrinter } from './command.js';
import { defaultHeadDir, pipelineFlags } from './ingest.js';
import { modelFlags, priorOption } from './runtime-flags.js';

/** `--redis` and `--prefix`, taken by every queue command. */
export const queueFlags = {
  redis: {
    type: 'string',
    value: 'url',
    description: 'redis://[user:password@]host:port[/db] or rediss:// (TLS)',
    default: DEFAULT_REDIS_URL,
  },
  prefix: {
    type: 'string',
    value: 'p',
    description: 'queue key prefix ({name} for Redis Cluster)',
    default: DEFAULT_PREFIX,
  },
} as const;

function parseQueues(list: string): QueueName[] {
  const out: QueueName[] = [];
  for (const raw of list.split(',')) {
    const q = raw.trim();
    if (!(QUEUE_NAMES as readonly string[]).includes(q))
      throw new EmoflowError('CONFIG_INVALID', `--queues: '${q}' is not one of ${QUEUE_NAMES.join(', ')}`);
    if (!out.includes(q as QueueName)) out.push(q as QueueName);
  }
  return out;
}

export const workerCommand = defineCommand({
  spec: {
    name: 'worker',
    summary:
      'Serve the queues (text, image, audio: feature extraction; fuse: the head and the record) until SIGTERM or SIGINT, which drain: active jobs finish, then the worker exits.',
    positionals: [],
    flags: {
      ...queueFlags,
      queues: {
        type: 'string',
        value: 'list',
        description: 'queues to serve',
        default: QUEUE_NAMES.join(','),
      },
      ...pipelineFlags,
      batch: {
        type: 'int',
        description: 'largest micro-batch of jobs per ONNX call',
        default: 32,
        min: 1,
        max: 4096,
      },
      'gather-ms': {
        type: 'int',
        description: 'how long a job waits for others to fill its micro-batch',
        default: 5,
        min: 0,
        max: 10000,
      },
      'lock-ms': {
        type: 'int',
        description: 'BullMQ job lock; a dead worker’s jobs go to others after about this long',
        default: 30000,
        min: 1000,
        max: 3_600_000,
      },
      'text-model': {
        type: 'string',
        value: 'dir|id',
        description: 'transformers.js text model (the head’s)',
      },
      ...modelFlags,
      threads: {
        type: 'int',
        description: 'onnxruntime intra-op threads per extraction thread',
        default: 1,
        min: 1,
        max: 1024,
      },
    },
    examples: [
      'emoflow worker --redis redis://127.0.0.1:6379',
      'emoflow worker --queues text,fuse --concurrency 4 --prefix {emoflow}',
    ],
  },
  async run({ flags }, io) {
    const prefix = checkPrefix(flags.prefix);
    const worker = await startQueueWorker({
      redisUrl: flags.redis,
      prefix,
      queues: parseQueues(flags.queues),
      head: flags.head ?? defaultHeadDir(),
      device: flags.device as Device,
      threads: flags.threads,
      batch: flags.batch,
      gatherMs: flags['gather-ms'],
      lockDurationMs: flags['lock-ms'],
      ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      ...(flags['models-dir'] === undefined ? {} : { modelsDir: flags['models-dir'] }),
      ...(flags['text-model'] === undefined ? {} : { textModel: flags['text-model'] }),
      ...priorOption(flags.prior),
      onWarning: warningPrinter(io),
      onFatal: (e) => {
        io.err(`emoflow: ${e instanceof EmoflowError ? e.code + ': ' : ''}${e.message.split('\n')[0]}\n`);
        process.exit(1);
      },
    });
    io.err(`worker ready (pid ${process.pid}, queues ${flags.queues}, prefix ${prefix}, ${worker.device})\n`);
    await new Promise<void>((done) => {
      const stop = (signal: string) => {
        io.err(`${signal}: draining\n`);
        void worker.close().then(done);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
});

export const submitCommand = defineCommand({
  spec: {
    name: 'submit',
    summary:
      'Submit a folder, manifest or corpus spec to the queue (one flow per sample) and return at once; the batch id is the last line of stdout. The same inputs submitted again make the same batch and add nothing.',
    positionals: [
      { name: 'input', description: 'a folder, a .csv/.jsonl manifest, or <adapter>:<path>[#split]' },
    ],
    flags: {
      ...queueFlags,
      batch: {
        type: 'string',
        value: 'id',
        description: 'batch id [default: derived from the sample ids and content hashes]',
      },
      'ttl-days': {
        type: 'int',
        description: 'days the results stay in Redis unless exported',
        default: 7,
        min: 1,
        max: 3650,
      },
      json: {
        type: 'boolean',
        description: 'print {batch, samples, added, existing} as one JSON line before the batch id',
      },
    },
    examples: [
      'emoflow submit calls/ --redis redis://127.0.0.1:6379',
      'BATCH=$(emoflow submit calls/ | tail -n1)',
    ],
  },
  async run({ flags, positionals }, io) {
    const r = await submit(positionals[0]!, {
      redis: flags.redis,
      prefix: flags.prefix,
      ttlSeconds: flags['ttl-days'] * 86400,
      ...(flags.batch === undefined ? {} : { batch: flags.batch }),
    });
    if (flags.json) printJson(io, r);
    else io.err(`${r.samples} samples, ${r.added} flows added, ${r.existing} already there\n`);
    io.out(`${r.batch}\n`);
    return 0;
  },
});

export const statusCommand = defineCommand({
  spec: {
    name: 'status',
    summary: 'Counts of a batch’s samples (not jobs): done, pending, and records by status.',
    positionals: [{ name: 'batch', description: 'the batch id submit printed' }],
    flags: { ...queueFlags, json: { type: 'boolean', description: 'print the counts as one JSON line' } },
    examples: ['emoflow status b-3f9a… --json'],
  },
  async run({ flags, positionals }, io) {
    const s = await status(positionals[0]!, { redis: flags.redis, prefix: flags.prefix });
    if (flags.json) printJson(io, s);
    else
      io.out(
        `${s.batch}: ${s.done}/${s.samples} done, ${s.pending} pending · ok ${s.records.ok} · partial ${s.records.partial} · failed ${s.records.failed}\n`,
      );
    return 0;
  },
});

export const exportCommand = defineCommand({
  spec: {
    name: 'export',
    summary:
      'Write every stored record of a batch once (JSONL, CSV or Parquet), in submission order. With --wait, first wait until every sample has its record. A complete export removes the results from Redis unless --keep.',
    positionals: [{ name: 'batch', description: 'the batch id submit printed' }],
    flags: {
      ...queueFlags,
      out: { type: 'string', value: 'file', description: 'output file (required)' },
      format: {
        type: 'string',
        description: 'output format [default: from the extension of --out]',
        choices: FORMATS,
      },
      wait: { type: 'boolean', description: 'wait for the batch to complete first' },
      keep: { type: 'boolean', description: 'keep the results in Redis after a complete export' },
      resume: { type: 'boolean', description: 'append to an existing output, skipping the ids it holds' },
      force: { type: 'boolean', description: 'replace an existing output' },
      json: { type: 'boolean', description: 'print {batch, written, complete, status} as one JSON line' },
    },
    examples: ['emoflow export b-3f9a… --out results.parquet --wait'],
  },
  async run({ flags, positionals }, io) {
    if (flags.out === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow export: --out <file> is required');
    const r = await exportBatch(positionals[0]!, {
      redis: flags.redis,
      prefix: flags.prefix,
      out: resolve(flags.out),
      format: formatOf(flags.out, flags.format),
      mode: flags.resume ? 'resume' : flags.force ? 'force' : 'new',
      wait: flags.wait,
      keep: flags.keep,
    });
    if (flags.json) printJson(io, r);
    else
      io.out(
        `${r.written} records -> ${resolve(flags.out)}${r.complete ? '' : ` (batch incomplete: ${r.status.done}/${r.status.samples})`}\n`,
      );
    return 0;
  },
});
