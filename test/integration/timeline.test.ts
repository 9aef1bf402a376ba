import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wav from 'node-wav';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../../src/core/labels.js';
import { VAD_MODEL } from '../../src/features/audio/audio-extractor.js';
import { resample } from '../../src/features/audio/resample.js';
import { speechProbabilities, speechSegments } from '../../src/features/audio/vad.js';
import { decodeWav } from '../../src/io/wav.js';
import { ModelStore } from '../../src/models/model-store.js';
import { SessionFactory } from '../../src/models/session-factory.js';
import type { PredictionRecord } from '../../src/pipeline/record.js';
import { Redis } from 'ioredis';
import { writeLongWav } from '../../src/bench/timeline-bench.js';
import { emoflow } from '../support/cli.js';
import { sharedNeed } from '../support/paths.js';
import {
  cleanPrefix,
  exportRecords,
  REDIS_URL,
  startWorker,
  stopWorker,
  uniquePrefix,
  waitFor,
} from '../support/queue.js';
import { readRecords } from '../support/records.js';

/**
 * A long recording made of real clips (RAVDESS actor 3, one clip of each of its 8 emotions, 1.5 s
 * of faint noise between them), scored with `--segments`: the segments must find each clip's speech,
 * and their labels must mostly agree with the clips scored alone.
 */
const RAVDESS = sharedNeed('data/speech/ravdess/Actor_03');
const PAUSE_SECONDS = 1.5;
const SR = 16000;

interface Placed {
  file: string;
  /** The clip's own speech span (VAD over the clip alone), in seconds of the long recording. */
  speech: { start: number; end: number };
}

let dir: string;
let placed: Placed[];
let long: PredictionRecord;
let alone: PredictionRecord[];

beforeAll(async () => {
  if (RAVDESS.missing) return;
  dir = await mkdtemp(join(tmpdir(), 'emoflow-timeline-'));
  const names = readdirSync(RAVDESS.path).filter((f) => f.endsWith('.wav'));
  // One clip per emotion code: statement 1, repetition 1, strong intensity (normal for neutral).
  const clips = ['01', '02', '03', '04', '05', '06', '07', '08'].map((e) =>
    names.find((f) => f === `03-01-${e}-${e === '01' ? '01' : '02'}-01-01-03.wav`)!,
  );
  const factory = new SessionFactory({ intraOpThreads: 1 });
  const vad = await factory.session(await new ModelStore().path(VAD_MODEL));
  // Pauses of faint noise, as a line or a room has (digital silence would be unlike any recording).
  const pause = new Float32Array(PAUSE_SECONDS * SR);
  let seed = 7;
  for (let i = 0; i < pause.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    pause[i] = 0.002 * (seed / 2 ** 32 - 0.5);
  }
  const parts: Float32Array[] = [pause];
  placed = [];
  let at = pause.length;
  await mkdir(join(dir, 'clips'));
  await mkdir(join(dir, 'long'));
  for (const file of clips) {
    const d = decodeWav(readFileSync(join(RAVDESS.path, file)));
    const x = resample(d.mono, d.sampleRate, SR);
    const regions = speechSegments(await speechProbabilities(vad, x), x.length);
    placed.push({
      file,
      speech: { start: (at + regions[0]!.start) / SR, end: (at + regions[regions.length - 1]!.end) / SR },
    });
    parts.push(Float32Array.from(x), pause);
    at += x.length + pause.length;
    await copyFile(join(RAVDESS.path, file), join(dir, 'clips', file));
  }
  await factory.release();
  const all = new Float32Array(at);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  await writeFile(
    join(dir, 'long', 'call.wav'),
    wav.encode([all], { sampleRate: SR, float: false, bitDepth: 16 }),
  );
  // The clips alone, as one speaker's (the recording's segments are standardised with its own
  // statistics, the clips with their speaker's).
  await writeFile(
    join(dir, 'clips', 'manifest.csv'),
    ['id,audio,speaker', ...clips.map((f) => `${f.replace('.wav', '')},${f},actor03`)].join('\n') + '\n',
  );
  const a = await emoflow(['ingest', join(dir, 'long'), '--out', join(dir, 'long.jsonl'), '--segments']);
  expect(a.code, a.stderr).toBe(0);
  const b = await emoflow(['ingest', join(dir, 'clips', 'manifest.csv'), '--out', join(dir, 'clips.jsonl')]);
  expect(b.code, b.stderr).toBe(0);
  long = JSON.parse(await readFile(join(dir, 'long.jsonl'), 'utf8')) as PredictionRecord;
  alone = (await readFile(join(dir, 'clips.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PredictionRecord);
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(RAVDESS.missing)(`ingest --segments on a recording of 8 clips ${RAVDESS.tag}`, () => {
  it("finds one segment per clip, covering the clip's speech within 0.3 s", () => {
    const segs = long.segments!;
    expect(segs).toHaveLength(placed.length);
    segs.forEach((s, k) => {
      const want = placed[k]!.speech;
      expect(Math.abs(s.start - want.start)).toBeLessThanOrEqual(0.3);
      expect(Math.abs(s.end - want.end)).toBeLessThanOrEqual(0.3);
    });
  });

  it('labels most segments as the clips are labelled alone', () => {
    const byFile = new Map(alone.map((r) => [`${r.id}.wav`, r.label]));
    const same = long.segments!.filter((s, k) => s.label === byFile.get(placed[k]!.file)).length;
    expect(same).toBeGreaterThan(placed.length / 2);
  });

  it('eval --segments scores each file by its segments against its label, as ingest --segments does', async () => {
    const RAVDESS_EMOTION = ['neutral', 'neutral', 'joy', 'sadness', 'anger', 'fear', 'disgust', 'surprise'];
    const manifest = join(dir, 'clips', 'labelled.csv');
    await writeFile(
      manifest,
      [
        'id,audio,emotion',
        ...placed.map((p, k) => `${p.file.replace('.wav', '')},${p.file},${RAVDESS_EMOTION[k]}`),
      ].join('\n') + '\n',
    );
    const ev = await emoflow(['eval', '--head', 'models/heads/default', '--data', manifest, '--segments']);
    expect(ev.code, ev.stderr).toBe(0);
    const got = ev.json<{
      samples: number;
      segments: { total: number };
      tasks: { emotion: { accuracy: number; confusion: number[][] } };
    }>();
    const ing = await emoflow(['ingest', manifest, '--out', join(dir, 'labelled.jsonl'), '--segments']);
    expect(ing.code, ing.stderr).toBe(0);
    const records = await readRecords(join(dir, 'labelled.jsonl'));
    const right = records.filter((r, k) => r.label === RAVDESS_EMOTION[k]).length;
    expect(got.samples).toBe(8);
    expect(got.segments.total).toBe(records.reduce((n, r) => n + r.segments!.length, 0));
    expect(got.tasks.emotion.accuracy).toBeCloseTo(right / 8, 12);
  }, 120_000);

  it("sums the file up as the duration-weighted mean of its segments' scores", () => {
    const segs = long.segments!;
    const total = segs.reduce((n, s) => n + (s.end - s.start), 0);
    const mean = EMOTIONS.map((e) => segs.reduce((n, s) => n + (s.end - s.start) * s.scores[e], 0) / total);
    EMOTIONS.forEach((e, c) => expect(long.scores![e]).toBeCloseTo(mean[c]!, 3));
    expect(long.label).toBe(EMOTIONS[mean.indexOf(Math.max(...mean))]);
    expect(long.modalities.audio).toMatchObject({ status: 'ok', label: long.label, contribution: 1 });
    expect(long.status).toBe('ok');
  });
});

/** What must agree between runs: the segments, and the file's label and scores. */
function view(r: PredictionRecord) {
  return { id: r.id, status: r.status, label: r.label, scores: r.scores, segments: r.segments };
}

describe.skipIf(RAVDESS.missing)(`timelines through the queue (submit --segments) ${RAVDESS.tag}`, () => {
  it('give the same segments and labels as the embedded run; the same worker scores a batch of clips as clips', async () => {
    const prefix = uniquePrefix('timeline');
    const worker = await startWorker([
      ...['--redis', REDIS_URL, '--prefix', prefix, '--concurrency', '1'],
      ...['--input-root', join(dir, 'long')],
    ]);
    try {
      const viaQueue = async (out: string, ...extra: string[]) => {
        const run = await emoflow([
          ...['ingest', join(dir, 'long'), '--out', out, '--redis', REDIS_URL, '--prefix', prefix],
          ...extra,
        ]);
        expect(run.code, run.stderr).toBe(0);
        return (await readRecords(out))[0]!;
      };
      expect(view(await viaQueue(join(dir, 'long-queue.jsonl'), '--segments'))).toEqual(view(long));
      // The same inputs without --segments are another batch, scored as a clip.
      const clip = await viaQueue(join(dir, 'long-queue-clip.jsonl'));
      expect(clip.segments).toBeUndefined();
      const ref = join(dir, 'long-clip.jsonl');
      const e = await emoflow(['ingest', join(dir, 'long'), '--out', ref]);
      expect(e.code, e.stderr).toBe(0);
      const [embeddedClip] = await readRecords(ref);
      expect(view(clip)).toEqual(view(embeddedClip!));
    } finally {
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 180_000);

  it('a worker SIGKILLed while it reads a 20-minute recording: the next one completes it, once, as embedded', async () => {
    const root = join(dir, 'crash');
    await mkdir(root);
    await writeLongWav(join(root, 'meeting.wav'), 20 * 60);
    await copyFile(join(dir, 'long', 'call.wav'), join(root, 'call.wav'));
    const ref = join(dir, 'crash-embedded.jsonl');
    const e = await emoflow(['ingest', root, '--out', ref, '--segments']);
    expect(e.code, e.stderr).toBe(0);
    const want = new Map((await readRecords(ref)).map((r) => [r.id, r]));
    expect(want.get('meeting')!.segments!.length).toBeGreaterThan(100);

    const prefix = uniquePrefix('timeline-crash');
    const args = [
      ...['--redis', REDIS_URL, '--prefix', prefix, '--concurrency', '1', '--lock-ms', '3000'],
      ...['--input-root', root],
    ];
    const redis = new Redis(REDIS_URL);
    let worker = await startWorker(args);
    try {
      const sub = await emoflow(['submit', root, '--segments', '--redis', REDIS_URL, '--prefix', prefix]);
      expect(sub.code, sub.stderr).toBe(0);
      const batch = sub.stdout.trim().split('\n').at(-1)!;
      // The recording's audio job is taken: kill the worker in the middle of it.
      await waitFor(
        async () => (await redis.llen(`${prefix}:audio:active`)) > 0,
        60_000,
        'an active audio job',
      );
      await new Promise((r) => setTimeout(r, 1500));
      // Still at it: the recording's record is not stored and its job is active.
      expect(await redis.hexists(`${prefix}:batches:${batch}:records`, 'meeting')).toBe(0);
      expect(await redis.llen(`${prefix}:audio:active`)).toBeGreaterThan(0);
      worker.child.kill('SIGKILL');
      await new Promise((r) => worker.child.once('exit', r));
      worker = await startWorker(args);
      const got = await exportRecords(batch, REDIS_URL, prefix, join(dir, 'crash-queue.jsonl'));
      expect(got.map((r) => r.id).sort()).toEqual(['call', 'meeting']);
      for (const r of got) expect(view(r)).toEqual(view(want.get(r.id)!));
    } finally {
      redis.disconnect();
      await stopWorker(worker);
      await cleanPrefix(REDIS_URL, prefix);
    }
  }, 300_000);
});
