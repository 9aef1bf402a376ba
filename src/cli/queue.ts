import { resolve } from 'node:path';
import { ERROR_CODES, EmoflowError, type ErrorCode } from '../core/errors.js';
import { FORMATS, formatOf } from '../export/writers.js';
import { exportBatch, retry, status, submit } from '../runtime/queue/api.js';
import {
  DEFAULT_PREFIX,
  defaultRedisUrl,
  QUEUE_NAMES,
  REDIS_URL_ENV,
  type QueueName,
} from '../runtime/queue/connection.js';
import { queueLayout } from '../runtime/queue/layout.js';
import { startQueueWorker } from '../runtime/queue/worker.js';
import { defineCommand, printJson, warningPrinter } from './command.js';
import { defaultHeadDir, pipelineFlags, segmentsFlag } from './ingest.js';
import { modelFlags, priorOption, resolveDevice } from './runtime-flags.js';
import { shardsFlag, shardsOf } from './shards-flag.js';
import { SUMMARIES } from './command-summaries.js';

/** `--redis`, `--prefix` and `--shards`, taken by every queue command. */
export const queueFlags = {
  redis: {
    type: 'string',
    value: 'url',
    description: `redis://[user:password@]host:port[/db], rediss:// (TLS) or redis+cluster://host:port,host:port,… (a Redis Cluster); $${REDIS_URL_ENV} sets the default`,
    default: defaultRedisUrl(),
  },
  prefix: {
    type: 'string',
    value: 'p',
    description:
      'queue key prefix ({name} on a Redis Cluster with one shard; with several, the base of the shards’ prefixes)',
    default: DEFAULT_PREFIX,
  },
  shards: shardsFlag,
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
    summary: SUMMARIES['worker'],
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
      'input-root': {
        type: 'strings',
        value: 'dir',
        description:
          'a folder job inputs {path, root} may be read from (root and path must stay inside it, symlinks resolved); without one, only inline text and base64 inputs are taken and file inputs fail with PATH_OUTSIDE_ROOT',
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
      'emoflow worker --redis redis://127.0.0.1:6379 --input-root /data/calls',
      'emoflow worker --queues text,fuse --concurrency 4 --prefix {emoflow}',
      'emoflow worker --redis redis+cluster://10.0.0.5:7000,10.0.0.6:7000,10.0.0.7:7000 --shards 3',
    ],
  },
  async run({ flags }, io) {
    const layout = queueLayout(flags.prefix, shardsOf(flags.shards), flags.redis);
    const prefix = layout.prefix;
    const worker = await startQueueWorker({
      redisUrl: flags.redis,
      prefix,
      shards: layout.shards,
      queues: parseQueues(flags.queues),
      head: flags.head ?? defaultHeadDir(),
      device: await resolveDevice(flags.device, io),
      threads: flags.threads,
      batch: flags.batch,
      gatherMs: flags['gather-ms'],
      lockDurationMs: flags['lock-ms'],
      ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      ...(flags['models-dir'] === undefined ? {} : { modelsDir: flags['models-dir'] }),
      ...(flags['text-model'] === undefined ? {} : { textModel: flags['text-model'] }),
      ...priorOption(flags.prior),
      inputRoots: flags['input-root'],
      onWarning: warningPrinter(io),
      onNotice: (m) => io.err(`${m}\n`),
      onFatal: (e) => {
        io.err(`emoflow: ${e instanceof EmoflowError ? e.code + ': ' : ''}${e.message.split('\n')[0]}\n`);
        process.exit(1);
      },
    });
    const roots =
      flags['input-root'].length === 0
        ? 'inline inputs only'
        : `input roots ${flags['input-root'].join(', ')}`;
    const where =
      layout.shards === 1
        ? `prefix ${prefix}${worker.masters === undefined ? '' : ` on ${worker.masters[0]}`}`
        : `${layout.shards} shards: ${worker.prefixes.map((p, i) => (worker.masters === undefined ? p : `${p} on ${worker.masters[i]}`)).join(', ')}`;
    io.err(
      `worker ready (pid ${process.pid}, queues ${flags.queues}, ${where}, ${worker.device}, ${roots})\n`,
    );
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
    summary: SUMMARIES['submit'],
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
      ...segmentsFlag,
      'ttl-days': {
        type: 'int',
        description: 'days the results stay in Redis unless exported',
        default: 7,
        min: 1,
        max: 3650,
      },
      json: {
        type: 'boolean',
        description:
          'print {batch, samples, added, existing, redone, …} as one JSON line before the batch id',
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
      shards: shardsOf(flags.shards),
      ttlSeconds: flags['ttl-days'] * 86400,
      ...(flags.batch === undefined ? {} : { batch: flags.batch }),
      ...(flags.segments ? { segments: true } : {}),
    });
    if (flags.json) printJson(io, r);
    else
      io.err(
        `${r.samples} samples, ${r.added} flows added${r.redone > 0 ? ` (${r.redone} redoing failed samples)` : ''}, ${r.existing} already there${r.prefix === flags.prefix ? '' : ` (batch under shard prefix ${r.prefix})`}\n`,
      );
    io.out(`${r.batch}\n`);
    return 0;
  },
});

export const statusCommand = defineCommand({
  spec: {
    name: 'status',
    summary: SUMMARIES['status'],
    positionals: [{ name: 'batch', description: 'the batch id submit printed' }],
    flags: { ...queueFlags, json: { type: 'boolean', description: 'print the counts as one JSON line' } },
    examples: ['emoflow status b-3f9a… --json'],
  },
  async run({ flags, positionals }, io) {
    const s = await status(positionals[0]!, {
      redis: flags.redis,
      prefix: flags.prefix,
      shards: shardsOf(flags.shards),
    });
    if (flags.json) printJson(io, s);
    else
      io.out(
        `${s.batch}: ${s.done}/${s.samples} done, ${s.pending} pending · ok ${s.records.ok} · partial ${s.records.partial} · failed ${s.records.failed}${s.submitted === undefined ? '' : ` · submit incomplete: ${s.submitted} of ${s.samples} samples in Redis (run the same submit again)`}\n`,
      );
    return 0;
  },
});

export const exportCommand = defineCommand({
  spec: {
    name: 'export',
    summary: SUMMARIES['export'],
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
      shards: shardsOf(flags.shards),
      out: resolve(flags.out),
      format: formatOf(flags.out, flags.format),
      mode: flags.resume ? 'resume' : flags.force ? 'force' : 'new',
      wait: flags.wait,
      keep: flags.keep,
      onNotice: (m) => io.err(`${m}\n`),
    });
    if (r.removed)
      io.err(`removed batch ${r.batch} from Redis (pass --keep to keep it there until its TTL)\n`);
    else if (r.complete) io.err(`kept batch ${r.batch} in Redis (--keep): it expires with its TTL\n`);
    if (flags.json) printJson(io, r);
    else
      io.out(
        `${r.written} records -> ${resolve(flags.out)}${r.complete ? '' : ` (batch incomplete: ${r.status.done}/${r.status.samples})`}\n`,
      );
    return 0;
  },
});

/** The codes `retry --code` accepts: the non-fatal ones, which records carry. */
function parseCodes(list: readonly string[]): ErrorCode[] {
  return list.map((c) => {
    const code = c.trim().toUpperCase();
    if (!(code in ERROR_CODES) || ERROR_CODES[code as ErrorCode].fatal)
      throw new EmoflowError(
        'CONFIG_INVALID',
        `--code '${c}': not an error code records carry (see docs/errors.md)`,
      );
    return code as ErrorCode;
  });
}

export const retryCommand = defineCommand({
  spec: {
    name: 'retry',
    summary: SUMMARIES['retry'],
    positionals: [{ name: 'batch', description: 'the batch id submit printed' }],
    flags: {
      ...queueFlags,
      code: {
        type: 'strings',
        value: 'CODE',
        description:
          'also redo records with this error code (e.g. PATH_OUTSIDE_ROOT after starting workers with the right --input-root)',
      },
      json: {
        type: 'boolean',
        description: 'print {batch, checked, requeued, redone, existing, notRedoable} as one JSON line',
      },
    },
    examples: ['emoflow retry b-3f9a…', 'emoflow retry b-3f9a… --code PATH_OUTSIDE_ROOT --json'],
  },
  async run({ flags, positionals }, io) {
    const codes = parseCodes(flags.code);
    const r = await retry(positionals[0]!, {
      redis: flags.redis,
      prefix: flags.prefix,
      shards: shardsOf(flags.shards),
      ...(codes.length === 0 ? {} : { codes: ['EXTRACTION_FAILED', ...codes] }),
    });
    if (flags.json) printJson(io, r);
    else
      io.out(
        `${r.batch}: ${r.requeued} samples re-queued (${r.redone} had failed), ${r.existing} left as they are${r.notRedoable > 0 ? `, ${r.notRedoable} cannot be redone here (no plan: a producer of its own, or a submit cut off part-way: run it again)` : ''}\n`,
      );
    return 0;
  },
});
