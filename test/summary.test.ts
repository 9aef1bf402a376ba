import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS, type Emotion } from '../src/core/labels.js';
import { summarise, timelineSvg } from '../src/export/summary.js';
import type { PredictionRecord, Scores } from '../src/pipeline/record.js';
import { emoflow } from './support/cli.js';

/** A distribution with `p` on `label` and the rest spread evenly. */
function scores(label: Emotion, p = 0.7): Scores {
  return Object.fromEntries(EMOTIONS.map((e) => [e, e === label ? p : (1 - p) / 6])) as Scores;
}

const head = { name: 'h', sha256: '0'.repeat(64) };

function audioRecord(
  id: string,
  label: Emotion,
  segments: [number, number, Emotion][],
  valence: number | null = null,
): PredictionRecord {
  return {
    id,
    status: 'ok',
    label,
    scores: scores(label),
    valence,
    arousal: null,
    modalities: {
      audio: {
        status: 'ok',
        label,
        scores: scores(label),
        contribution: 1,
        vad: { speechSeconds: 0, totalSeconds: 20 },
      },
    },
    inputs: { audio: `${id}.wav` },
    segments: segments.map(([start, end, l]) => ({
      start,
      end,
      label: l,
      scores: scores(l),
      valence: null,
      arousal: null,
    })),
    head,
    warnings: [],
  };
}

const RECORDS: PredictionRecord[] = [
  // ann: 2 + 6 s of anger, 2 s of joy; valence 0.5
  audioRecord(
    'a',
    'anger',
    [
      [0, 2, 'anger'],
      [3, 9, 'anger'],
      [10, 12, 'joy'],
    ],
    0.5,
  ),
  // ann: 4 s of sadness; valence -0.25
  audioRecord('b', 'sadness', [[1, 5, 'sadness']], -0.25),
  // bob: a failed record
  {
    id: 'c',
    status: 'failed',
    label: null,
    scores: null,
    valence: null,
    arousal: null,
    modalities: { audio: { status: 'error', error: { code: 'AUDIO_EMPTY', message: 'silence' } } },
    inputs: { audio: 'c.wav' },
    head,
    warnings: [],
    error: { code: 'AUDIO_EMPTY', message: 'silence' },
  },
];

describe('summarise', () => {
  it('per speaker: counts, label shares, mean valence and time shares as computed by hand', () => {
    const speaker: Record<string, string> = { a: 'ann', b: 'ann', c: 'bob' };
    const [ann, bob] = summarise(RECORDS, (r) => speaker[r.id]);
    expect(ann).toMatchObject({ key: 'ann', records: 2, ok: 2, partial: 0, failed: 0 });
    expect(ann!.labels).toMatchObject({ anger: 1, sadness: 1, joy: 0 });
    expect(ann!.labelShares.anger).toBe(0.5);
    expect(ann!.valence).toBeCloseTo((0.5 - 0.25) / 2, 12);
    expect(ann!.arousal).toBeNull();
    // 8 s anger + 2 s joy + 4 s sadness = 14 s
    expect(ann!.segmentSeconds).toBe(14);
    expect(ann!.timeShares!.anger).toBeCloseTo(8 / 14, 12);
    expect(ann!.timeShares!.joy).toBeCloseTo(2 / 14, 12);
    expect(ann!.timeShares!.sadness).toBeCloseTo(4 / 14, 12);
    expect(bob).toMatchObject({ key: 'bob', records: 1, failed: 1, segmentSeconds: 0, timeShares: null });
    expect(Object.values(bob!.labelShares).every((v) => v === 0)).toBe(true);
  });
});

describe('timelineSvg', () => {
  it('draws at most 11 ticks whatever the length (a record claiming 1e300 s included)', () => {
    for (const total of [3.5, 59, 3600, 6 * 3600, 1e300]) {
      const r = audioRecord('x', 'joy', [[0, Math.min(total, 2), 'joy']]);
      const svg = timelineSvg(r, total);
      const ticks = svg.match(/<text /g)?.length ?? 0;
      expect(ticks).toBeGreaterThanOrEqual(1);
      expect(ticks).toBeLessThanOrEqual(11);
    }
  });
});

describe('emoflow summarise', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emoflow-summary-'));
    await writeFile(join(dir, 'records.jsonl'), RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await writeFile(join(dir, 'manifest.csv'), 'id,audio,speaker\na,a.wav,ann\nb,b.wav,ann\nc,c.wav,bob\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('--by speaker with the manifest: JSON and CSV agree with the hand computation', async () => {
    const csv = join(dir, 'speakers.csv');
    const run = await emoflow([
      'summarise',
      join(dir, 'records.jsonl'),
      '--by',
      'speaker',
      '--input',
      join(dir, 'manifest.csv'),
      '--csv',
      csv,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const { rows } = run.json<{ rows: { key: string; records: number }[] }>();
    expect(rows.map((r) => [r.key, r.records])).toEqual([
      ['ann', 2],
      ['bob', 1],
    ]);
    const table = parseCsv(await readFile(csv), { columns: true }) as Record<string, string>[];
    expect(table[0]).toMatchObject({
      key: 'ann',
      records: '2',
      anger_records: '1',
      anger_share: '0.5',
      valence: '0.125',
      segment_seconds: '14',
      anger_time_share: String(Math.round((8 / 14) * 1e4) / 1e4),
    });
    expect(table[1]).toMatchObject({ key: 'bob', failed: '1', valence: '', anger_time_share: '' });
  });

  it('--by speaker without --input is CONFIG_INVALID', async () => {
    const run = await emoflow(['summarise', join(dir, 'records.jsonl'), '--by', 'speaker']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/CONFIG_INVALID.*--input/);
  });

  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  it.skipIf(chromium === undefined)(
    'the HTML page, screenshotted in headless Chromium, draws each segment in its label colour (skipped without chromium)',
    async () => {
      const html = join(dir, 'page.html');
      const run = await emoflow(['summarise', join(dir, 'records.jsonl'), '--html', html]);
      expect(run.code, run.stderr).toBe(0);
      const png = join(dir, 'page.png');
      execFileSync(
        chromium!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          `--screenshot=${png}`,
          '--window-size=1000,700',
          `file://${html}`,
        ],
        { stdio: 'ignore', timeout: 60_000 },
      );
      const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const count = new Map<string, number>();
      for (let i = 0; i < data.length; i += 3) {
        const c = `${data[i]},${data[i + 1]},${data[i + 2]}`;
        count.set(c, (count.get(c) ?? 0) + 1);
      }
      // Segment bars are 26 px tall and tens of px wide; the legend's swatches are 12 x 12 (144 px).
      // anger #d62728, joy #ffbf00, sadness #1f77b4 label segments; fear #9467bd only a swatch.
      for (const c of ['214,39,40', '255,191,0', '31,119,180'])
        expect(count.get(c) ?? 0, c).toBeGreaterThan(1000);
      expect(count.get('148,103,189') ?? 0).toBeLessThan(300);
      expect(info.width).toBe(1000);
    },
    90_000,
  );
});
