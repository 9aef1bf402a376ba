import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { EmoflowError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import { FORMATS, formatOf } from '../export/writers.js';
import { DEFAULT_THREAD_HEAP_MB } from '../runtime/embedded/extract-pool.js';
import { ingest, type IngestProgress, type IngestSummary } from '../runtime/embedded/ingest.js';
import { progressBar } from './progress.js';
import { ingestViaQueue, type QueueIngestSummary } from '../runtime/queue/ingest-queue.js';
import { defineCommand, printJson, warningPrinter, type CliIO } from './command.js';
import { modelFlags, priorFlag, priorOption, maxTextBytesFlag, resolveDevice } from './runtime-flags.js';
import { shardsFlag, shardsOf } from './shards-flag.js';
import { SUMMARIES } from './command-summaries.js';

/** The shipped head, used when `--head` is not given. */
export function defaultHeadDir(): string {
  return join(packageRoot(), 'models', 'heads', 'default');
}

/** `--segments` of ingest, submit and eval: recordings read as timelines. */
export const segmentsFlag = {
  segments: {
    type: 'boolean',
    description:
      'score each recording as a timeline: speech segments of 1-10 s with their start and end, and the file summed up from them (docs/timelines.md)',
  },
} as const;

/** Flags of the commands that run the extractors and a head in threads (ingest, worker). */
export const pipelineFlags = {
  head: {
    type: 'string',
    value: 'dir',
    description: 'head folder [default: the shipped models/heads/default]',
  },
  concurrency: {
    type: 'int',
    description: `extraction worker threads (0: on the main thread) [default: the machine's cores, ${availableParallelism()} here]`,
    min: 0,
    max: 256,
  },
  prior: priorFlag,
} as const;

export const ingestCommand = defineCommand({
  spec: {
    name: 'ingest',
    summary: SUMMARIES['ingest'],
    positionals: [
      {
        name: 'input',
        description: 'a folder, a .csv/.jsonl manifest, or a corpus spec <adapter>:<path>[#split]',
      },
    ],
    flags: {
      out: { type: 'string', value: 'file', description: 'output file (required)' },
      format: {
        type: 'string',
        description: 'output format [default: from the extension of --out, else jsonl]',
        choices: FORMATS,
      },
      ...pipelineFlags,
      ...segmentsFlag,
      batch: {
        type: 'int',
        description: 'samples per micro-batch (one ONNX call per modality)',
        default: 32,
        min: 1,
        max: 4096,
      },
      resume: {
        type: 'boolean',
        description: 'continue an existing output: samples whose id it holds are skipped',
      },
      force: { type: 'boolean', description: 'replace an existing output' },
      'no-progress': {
        type: 'boolean',
        description: 'no progress bar (it is shown only on a terminal anyway)',
      },
      'text-model': {
        type: 'string',
        value: 'dir|id',
        description: 'transformers.js text model (must be the one the head was trained on)',
      },
      'speaker-norm': {
        type: 'string',
        description:
          "for a head trained with per-speaker standardisation (head.json speakerNorm): 'auto' reads the input once more first to gather each speaker's statistics (manifests with a speaker column), 'off' uses the head's global statistics",
        choices: ['auto', 'off'],
        default: 'auto',
      },
      ...modelFlags,
      threads: {
        type: 'int',
        description: 'onnxruntime intra-op threads per worker',
        default: 1,
        min: 1,
        max: 1024,
      },
      ...maxTextBytesFlag,
      'thread-memory': {
        type: 'int',
        value: 'MB',
        description:
          'V8 heap of each extraction thread; a sample that needs more gets EXTRACTION_FAILED and the run goes on',
        default: DEFAULT_THREAD_HEAP_MB,
        min: 64,
        max: 1 << 20,
      },
      redis: {
        type: 'string',
        value: 'url',
        description:
          'run through the queue on this Redis (workers: emoflow worker): submit, wait, stream records into --out; `env`: the URL in $EMOFLOW_REDIS_URL',
      },
      prefix: {
        type: 'string',
        value: 'p',
        description: 'with --redis: the queue key prefix',
        default: 'emoflow',
      },
      shards: { ...shardsFlag, description: `with --redis: ${shardsFlag.description}` },
      'batch-id': {
        type: 'string',
        value: 'id',
        description: 'with --redis: the batch id [default: derived from the inputs]',
      },
      json: { type: 'boolean', description: 'print the summary as one JSON line' },
    },
    examples: [
      'emoflow ingest examples --out results.jsonl',
      'emoflow ingest calls/ --out calls.parquet --resume',
      'emoflow ingest manifest.csv --out out.csv --head my-head --device cuda',
    ],
  },
  async run({ flags, positionals }, io) {
    if (flags.out === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow ingest: --out <file> is required');
    if (flags.resume && flags.force)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow ingest: --resume and --force exclude each other');
    if (flags.redis !== undefined && flags.prior !== undefined)
      throw new EmoflowError(
        'CONFIG_INVALID',
        'emoflow ingest: with --redis the workers score the samples: give --prior to emoflow worker',
      );
    const format = formatOf(flags.out, flags.format);
    const out = resolve(flags.out);
    const progress = ingestProgress(io, !flags['no-progress']);
    // Ctrl-C: the embedded run stops sending samples and returns what it wrote; a second Ctrl-C
    // kills the process as usual. Records through the queue arrive as they are done: they stay.
    const stop = new AbortController();
    const onSigint = () => {
      if (flags.redis === undefined) {
        stop.abort();
        return;
      }
      progress.done();
      io.err(`emoflow: interrupted: the records received so far are in ${out}; ${RESUME_HINT}\n`);
      process.exit(INTERRUPTED_EXIT);
    };
    process.once('SIGINT', onSigint);
    // Only a drawn bar needs progress (and, for a folder, the second walk that counts it).
    const onProgress = !flags['no-progress'] && io.interactive ? { onProgress: progress.update } : {};
    let summary: IngestSummary | QueueIngestSummary;
    try {
      summary =
        flags.redis !== undefined
          ? await ingestViaQueue({
              input: positionals[0]!,
              out,
              format,
              mode: flags.resume ? 'resume' : flags.force ? 'force' : 'new',
              redisUrl: flags.redis,
              prefix: flags.prefix,
              shards: shardsOf(flags.shards),
              ...(flags['batch-id'] === undefined ? {} : { batch: flags['batch-id'] }),
              ...(flags.segments ? { segments: true } : {}),
              ...onProgress,
              onNotice: (m) => io.err(`${m}\n`),
            })
          : await ingest({
              input: positionals[0]!,
              out,
              format,
              mode: flags.resume ? 'resume' : flags.force ? 'force' : 'new',
              head: flags.head ?? defaultHeadDir(),
              device: await resolveDevice(flags.device, io),
              threads: flags.threads,
              batch: flags.batch,
              ...(flags.concurrency === undefined ? {} : { workers: flags.concurrency }),
              ...(flags['models-dir'] === undefined ? {} : { modelsDir: flags['models-dir'] }),
              ...(flags['text-model'] === undefined ? {} : { textModel: flags['text-model'] }),
              speakerNorm: flags['speaker-norm'] as 'auto' | 'off',
              ...(flags.segments ? { segments: true } : {}),
              maxTextBytes: flags['max-text-bytes'],
              threadHeapMb: flags['thread-memory'],
              signal: stop.signal,
              ...priorOption(flags.prior),
              onWarning: warningPrinter(io),
              ...onProgress,
            });
    } finally {
      process.off('SIGINT', onSigint);
      progress.done();
    }
    if ('interrupted' in summary && summary.interrupted) {
      io.err(
        `emoflow: interrupted: ${summary.written} records written to ${summary.output} by this run${summary.resumed > 0 ? ` (${summary.resumed} were there before)` : ''}; ${RESUME_HINT}\n`,
      );
      return INTERRUPTED_EXIT;
    }
    if (flags.json) printJson(io, { ...summary, skippedFiles: summary.skippedFiles.slice(0, 100) });
    else io.out(summaryText(summary));
    return 0;
  },
});

/** Exit status of a run stopped by Ctrl-C (128 + SIGINT, as a shell reports it). */
const INTERRUPTED_EXIT = 130;
const RESUME_HINT = 'run the same command with --resume to continue';

function summaryText(s: IngestSummary | QueueIngestSummary): string {
  const r = s.records;
  const where = 'device' in s ? `on ${s.device}` : `through the queue (batch ${s.batch})`;
  const lines = [
    `${s.written} records -> ${s.output} (${s.format}) in ${s.seconds.toFixed(1)} s, ${s.samplesPerSecond.toFixed(1)} samples/s ${where}`,
    `  ok ${r.ok} · partial ${r.partial} · failed ${r.failed} · skipped ${s.skipped}${s.resumed > 0 ? ` · already done ${s.resumed}` : ''}`,
  ];
  const codes = Object.entries(s.errors);
  if (codes.length > 0) lines.push(`  input errors: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  const shown = s.skippedFiles.slice(0, 20);
  for (const f of shown) lines.push(`  skipped ${f.path}: ${f.reason}`);
  if (s.skipped > shown.length)
    lines.push(`  ... and ${s.skipped - shown.length} more skipped (--json lists 100)`);
  return lines.join('\n') + '\n';
}

/** The ingest progress bar: the CLI's bar, ending with the record counts so far. */
export function ingestProgress(
  io: CliIO,
  enabled: boolean,
): { update: (p: IngestProgress) => void; done: () => void } {
  const bar = progressBar(io, { enabled });
  return {
    update: (p) =>
      bar.update(
        p.done,
        p.total,
        `ok ${p.records.ok} partial ${p.records.partial} failed ${p.records.failed}`,
      ),
    done: () => bar.done(),
  };
}
