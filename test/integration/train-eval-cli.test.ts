import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/core/package-root.js';
import { emoflow } from '../support/cli.js';
import { sharedNeed } from '../support/paths.js';

const work = mkdtempSync(join(tmpdir(), 'emoflow-train-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MOSI = sharedNeed('data/multimodal/mosi');
const TRAIN = `mosi:${join(MOSI.path, 'train.jsonl.gz')}`;
const VALID = `mosi:${join(MOSI.path, 'valid.jsonl.gz')}`;

interface EvalJson {
  samples: number;
  tasks: {
    sentiment: { accuracy: number; macroF1: number; ece: number; labels: string[]; confusion: number[][] };
    sentiment_score: { pearson: number; ccc: number; mae: number; rmse: number };
  };
}

describe('emoflow train and eval on MOSI with the default config', () => {
  const head = join(work, 'mosi');

  it.skipIf(MOSI.missing)(`trains, calibrates and writes the head folder ${MOSI.tag}`, async () => {
    const r = await emoflow([
      'train',
      '--data',
      TRAIN,
      '--dev',
      VALID,
      '--out',
      head,
      '--json',
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const s = r.json<{ head: string; sha256: string; steps: number }>();
    expect(s.head).toBe(join(head, 'head.onnx'));
    expect(s.steps).toBeGreaterThan(0);
    const json = JSON.parse(readFileSync(join(head, 'head.json'), 'utf8')) as {
      sha256: string;
      training: { dev: { samples: number } };
    };
    expect(json.sha256).toBe(s.sha256);
    expect(json.training.dev.samples).toBe(110);
  });

  it.skipIf(MOSI.missing)(`evaluates it: JSON file, stdout line and HTML report ${MOSI.tag}`, async () => {
    const jsonPath = join(work, 'eval.json');
    const report = join(work, 'report.html');
    const r = await emoflow([
      'eval',
      '--head',
      head,
      '--data',
      VALID,
      '--json',
      jsonPath,
      '--report',
      report,
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const onDisk = JSON.parse(readFileSync(jsonPath, 'utf8')) as EvalJson;
    expect(r.json<EvalJson>()).toEqual(onDisk);
    expect(onDisk.samples).toBe(110);
    const sent = onDisk.tasks.sentiment;
    expect(sent.labels).toEqual(['negative', 'positive']);
    expect(sent.confusion.flat().reduce((a, b) => a + b, 0)).toBe(110);
    // MOSI valid is contaminated (its text and visual extractors saw it): near-perfect says nothing
    // about the test, but anything below chance would mean a broken pipeline.
    expect(sent.accuracy).toBeGreaterThan(0.8);
    expect(onDisk.tasks.sentiment_score.pearson).toBeGreaterThan(0.3);
    expect(existsSync(report)).toBe(true);
    const html = readFileSync(report, 'utf8');
    expect(html.match(/<svg/g)!.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses --freeze without --init', async () => {
    const r = await emoflow(['train', '--data', TRAIN, '--out', join(work, 'x'), '--freeze', 'trunk']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--freeze needs --init');
  });
});

describe('emoflow train --init extracts as the initial head did', () => {
  it('fine-tunes the shipped default head on raw files with no feature flags: its lexical and prosody specs are kept', async () => {
    // A labelled manifest over copies of the example texts and calls (no ../shared needed).
    const dir = join(work, 'tune-data');
    mkdirSync(dir, { recursive: true });
    const rows = [
      ['p1', 'posts/good-news.txt', '', 'joy'],
      ['p2', 'posts/goodbye.txt', '', 'sadness'],
      ['p3', 'posts/commute.txt', '', 'anger'],
      ['p4', 'posts/parcel.txt', '', 'surprise'],
      ['c1', '', 'calls/0001.wav', 'anger'],
      ['c2', '', 'calls/0002.wav', 'joy'],
      ['c3', '', 'calls/0003.wav', 'sadness'],
    ];
    for (const [, t, a] of rows)
      for (const f of [t, a])
        if (f !== '') {
          mkdirSync(join(dir, f!.split('/')[0]!), { recursive: true });
          copyFileSync(join(packageRoot(), 'examples', f!), join(dir, f!));
        }
    writeFileSync(
      join(dir, 'tune.csv'),
      'id,text_path,audio,emotion\n' + rows.map((r) => r.join(',')).join('\n') + '\n',
    );
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ epochs: 1, batchSize: 4 }));
    const out = join(work, 'tuned-default');
    const r = await emoflow([
      'train',
      '--init',
      join(packageRoot(), 'models', 'heads', 'default'),
      '--freeze',
      'trunk',
      '--data',
      `manifest:${join(dir, 'tune.csv')}`,
      '--config',
      join(dir, 'config.json'),
      '--cache',
      join(work, 'tune-cache'),
      '--out',
      out,
      '--json',
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const base = JSON.parse(
      readFileSync(join(packageRoot(), 'models', 'heads', 'default', 'head.json'), 'utf8'),
    ) as { features: Record<string, { name: string; dim: number }> };
    const tuned = JSON.parse(readFileSync(join(out, 'head.json'), 'utf8')) as typeof base;
    for (const m of ['text', 'audio']) expect(tuned.features[m]).toMatchObject(base.features[m]!);
    expect(base.features['text']!.name).toMatch(/\+lex131072$/);
    expect(base.features['audio']!.name).toBe('audio-mfcc-stats+prosody');
  }, 300_000);
});
