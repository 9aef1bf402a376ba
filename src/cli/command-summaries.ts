/**
 * Each command's summary: the first sentence is its line in `emoflow --help`, the whole its
 * `emoflow <command> --help` header. A module of strings only, so that the CLI lists commands
 * without importing them (command-index.ts).
 */
import { AUTH_ENV, DEFAULT_DASHBOARD_HOST } from '../runtime/queue/dashboard-access.js';

export type CommandName =
  | 'ingest'
  | 'submit'
  | 'status'
  | 'export'
  | 'retry'
  | 'worker'
  | 'dashboard'
  | 'features'
  | 'train'
  | 'eval'
  | 'mfcc'
  | 'summarise'
  | 'models list'
  | 'models verify'
  | 'models fetch'
  | 'bench mfcc'
  | 'bench prosody'
  | 'bench text'
  | 'bench image'
  | 'bench head-train'
  | 'bench e2e'
  | 'bench queue'
  | 'bench rss'
  | 'bench startup'
  | 'bench timeline';

export const SUMMARIES: Record<CommandName, string> = {
  'bench timeline':
    'A long recording (60 minutes by default, the example calls with pauses) read as a timeline and its segments scored by the head: segments per second, the real-time factor and the peak resident memory of the process.',
  summarise:
    'Output records summed up per file, speaker or group: record counts, the distribution of labels, mean valence and arousal, and for timelines (ingest --segments) the share of time per emotion; as a table, JSON, CSV or an HTML page with a timeline per file.',
  'bench mfcc':
    'Seconds of audio per second of compute for MFCC + delta + delta2 on one thread (decoding and resampling excluded), and torchaudio on the same clip in the same run when Debian python3-torchaudio is installed.',
  'bench prosody':
    'Seconds of audio per second of compute for the speech prosody features (audio-prosody v1: YIN F0, energy, ZCR, spectral centroid/slope/flux, jitter, shimmer, clip statistics) on one thread, decoding and resampling excluded.',
  'bench text':
    "Sentences per second through the text extractor (normalise, tokenise, bucket, model, pool) against bare onnxruntime on the same batches already tokenised, in one run; and the lexical channel's bag alone (texts per second, share of the extractor's time).",
  'bench image':
    'Images per second through the image extractor (decode, detect, crop, CNN) against bare onnxruntime on the same inputs already decoded and resized, same batches, in one run.',
  'bench head-train':
    'Training throughput of the head engine on a fixed synthetic problem (16384 samples, 1024 inputs, hidden 512, a 7-class and two regression tasks, batch 256) as GFLOP/s, against a lone onnxruntime MatMul [256,1024]x[1024,512] in the same run.',
  'bench e2e':
    "End-to-end samples per second of the embedded runtime on a fixed mixed batch (text, image and speech, alone and together, made from examples/), against the bound of both cores kept busy: cores / the sum of each stage's seconds per sample (decode, text, image, audio, head), each timed alone on one thread on the same samples in the same run.",
  'bench queue':
    "What the queue runtime costs Redis: runs the fixed mixed batch of bench e2e through real worker processes as `ingest --redis` does, and reports from Redis's own counters (INFO commandstats, cpu, stats) the commands, CPU milliseconds and network bytes per sample, and the samples per second one Redis core serves at that cost. Use a Redis nothing else uses.",
  'bench rss':
    'Memory of a long embedded ingest: generates a folder of n samples (text, and every other one a face and a speech clip), ingests it, and reports the resident set size at 10 %, 50 % and 100 % of the records and its growth per 1,000 samples over the second half.',
  'bench startup':
    "How long the CLI takes to start: emoflow --version, --help and mfcc on a generated 3 s clip, each as a median of runs against a bare `node -e 0` in the same run (the commands' modules are imported on use).",
  dashboard:
    'Serve bull-board over the text, image, audio and fuse queues, and Prometheus metrics at /metrics. ' +
    `Listens on ${DEFAULT_DASHBOARD_HOST} by default; any other host requires --auth or ${AUTH_ENV}. ` +
    'Read-only (no retry, add, clean or pause) unless credentials are set.',
  eval: 'Evaluate a head on a labelled corpus: per task accuracy, macro/weighted F1, UAR, ECE, confusion and per-class figures, or Pearson, CCC, MAE and RMSE; optionally an HTML report. With --cv k, group cross-validation of a configured head instead.',
  features:
    'Extract the text, image and audio features of a corpus into a feature cache keyed by (content sha256, extractor name, version); inputs already in the cache are not extracted again.',
  ingest:
    'Predict emotion for every sample of a batch folder, manifest or corpus spec and write one record per sample (JSONL, CSV or Parquet). Samples are files sharing a stem in one folder (.txt text, image, .wav speech); a bad input fails only its modality.',
  mfcc: 'Decode a WAV file, resample it to 16 kHz (float64) and print its MFCC (13), delta and delta2 per frame, exactly as torchaudio.transforms.MFCC with the settings of docs/features.md.',
  'models list': 'List the models in the store: name, format, files, licence, upstream.',
  'models verify':
    'Check every file of the named models (all when none named) against its sha256. Exit 1 when any is missing or wrong.',
  'models fetch':
    'Bring missing or wrong model files from a mirror folder laid out like models/ (--from), or from the upstream URL where one gives the exact bytes; every file is checked against its sha256 before it is installed.',
  worker:
    'Serve the queues (text, image, audio: feature extraction; fuse: the head and the record) until SIGTERM or SIGINT, which drain: active jobs finish, then the worker exits.',
  submit:
    'Submit a folder, manifest or corpus spec to the queue (one flow per sample) and return once every flow is in; the batch id is the last line of stdout. The same inputs submitted again make the same batch and add only what is missing or failed. If Redis refuses a write part-way, it stops with SUBMIT_INCOMPLETE; run it again to add the rest. Workers read file inputs only under their --input-root.',
  status: 'Counts of a batch’s samples (not jobs): done, pending, and records by status.',
  export:
    'Write every stored record of a batch once (JSONL, CSV or Parquet), in submission order. With --wait, first wait until every sample has its record, saying on stderr when no worker serves a queue the batch needs. A complete export removes the batch from Redis (said on stderr) unless --keep.',
  retry:
    "Redo what failed in a batch for reasons that are not the input's: samples whose fuse job failed (stalled out, a store Redis refused) and samples whose record failed or is partial with EXTRACTION_FAILED get their flow added again; ok and input-error records stay.",
  train:
    'Train a fusion head inside onnxruntime on one or more corpora (--data, repeatable), calibrate it on --dev, and write the head folder (head.onnx + head.json). With --init, fine-tune an existing head (transfer learning); --freeze trunk trains only the task heads.',
};
