import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../src/core/labels.js';
import { isEmoflowError } from '../src/core/errors.js';
import { readDair } from '../src/data/adapters/dair.js';
import { readEmoBank } from '../src/data/adapters/emobank.js';
import { readEmoryNlp } from '../src/data/adapters/emorynlp.js';
import {
  GOEMOTIONS_EKMAN,
  GOEMOTIONS_LABELS,
  readGoEmotions,
  readGoEmotionsEkman,
} from '../src/data/adapters/goemotions.js';
import { TEXT_ADAPTERS } from '../src/data/adapters/index.js';
import { readMeld } from '../src/data/adapters/meld.js';
import type { Corpus, CorpusSample } from '../src/data/corpus.js';
import { shared, sharedNeed } from './support/paths.js';

const text = (...parts: string[]): string => shared('data', 'text', ...parts);
// The real-corpus tests skip when ../shared is absent; the error cases use small temp files.
const MELD = sharedNeed('data/text/meld');
const GOEMOTIONS = sharedNeed('data/text/goemotions');
const EMOBANK = sharedNeed('data/text/emobank');
const DAIR = sharedNeed('data/text/dair');
const EMORYNLP = sharedNeed('data/text/emorynlp');

/** PROVENANCE/text-stats.json: per-split row counts and label counts, as staged. */
interface SplitStats {
  n: number;
  labels: Record<string, number>;
}
type Stats = {
  meld: Record<'train' | 'dev', SplitStats>;
  meld_sentiment: Record<'train' | 'dev', SplitStats>;
  meld_dialogues: Record<'train' | 'dev', number>;
  goemotions: Record<'train' | 'dev', SplitStats>;
  goemotions_multilabel_rows: Record<'train' | 'dev', number>;
  emobank_VAD_means: Record<'train' | 'dev', { V: number; A: number; D: number }>;
  dair: Record<'train' | 'val', SplitStats>;
  emorynlp: Record<'train(dag-erc)' | 'dev', SplitStats>;
};
let statsRead: Stats | undefined;
/** Read when a real-corpus test first needs it (those tests skip without ../shared). */
function textStats(): Stats {
  statsRead ??= JSON.parse(readFileSync(shared('data', 'PROVENANCE', 'text-stats.json'), 'utf8')) as Stats;
  return statsRead;
}

const tmp = mkdtempSync(join(tmpdir(), 'emoflow-text-adapters-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let tmpCount = 0;
/** A file of its own folder, so that messages show `name` as written. */
function tmpFile(name: string, content: string | Uint8Array): string {
  const dir = join(tmp, String(tmpCount++));
  mkdirSync(dir);
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Occurrences of each raw value of `labels[key]`. */
function countLabels(c: Corpus, key: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of c.samples) {
    const v = String(s.labels[key]);
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

/** Samples per argmax class of a one-hot or soft target. */
function countTargets(c: Corpus, task: string, labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of c.samples) {
    const y = s.targets[task];
    if (!Array.isArray(y)) continue;
    const name = labels[y.indexOf(Math.max(...y))]!;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

function expectDistributions(c: Corpus, task: string, width: number): void {
  let n = 0;
  for (const s of c.samples) {
    const y = s.targets[task];
    if (y === undefined) continue;
    n++;
    if (!Array.isArray(y)) throw new Error(`${s.id}: ${task} is not an array`);
    expect(y).toHaveLength(width);
    expect(y.every((v) => v >= 0)).toBe(true);
    expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  }
  expect(n).toBeGreaterThan(0);
}

async function expectInvalid(read: Promise<unknown>, message: RegExp): Promise<void> {
  const e: unknown = await read.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isEmoflowError(e, 'MANIFEST_INVALID'), String(e)).toBe(true);
  expect((e as Error).message).toMatch(message);
}

async function expectCode(read: Promise<unknown>, code: 'FILE_NOT_FOUND' | 'CONFIG_INVALID'): Promise<void> {
  const e: unknown = await read.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isEmoflowError(e, code), String(e)).toBe(true);
}

describe('readMeld', () => {
  let train: Corpus;
  let dev: Corpus;
  beforeAll(async () => {
    if (MELD.missing) return;
    train = await readMeld(text('meld', 'train_sent_emo.csv'), undefined);
    dev = await readMeld(text('meld', 'dev_sent_emo.csv'), undefined);
  });

  it.skipIf(MELD.missing)(
    `reads every utterance and dialogue of train and dev (PROVENANCE/text.md §1) ${MELD.tag}`,
    () => {
      expect(train.samples).toHaveLength(9989);
      expect(dev.samples).toHaveLength(1109);
      expect(new Set(train.samples.map((s) => s.group)).size).toBe(1038);
      expect(new Set(dev.samples.map((s) => s.group)).size).toBe(114);
      expect(textStats().meld_dialogues).toMatchObject({ train: 1038, dev: 114 });
      expect(new Set(train.samples.map((s) => s.id)).size).toBe(9989);
    },
  );

  it.skipIf(MELD.missing)(`has the per-label counts of the staged files ${MELD.tag}`, () => {
    expect(countTargets(dev, 'emotion', EMOTIONS)).toEqual({
      neutral: 470,
      joy: 163,
      surprise: 150,
      anger: 153,
      sadness: 111,
      disgust: 22,
      fear: 40,
    });
    expect(countLabels(dev, 'emotion')).toEqual(textStats().meld.dev.labels);
    expect(countTargets(train, 'emotion', EMOTIONS)).toEqual(textStats().meld.train.labels);
    const sentiment = ['negative', 'neutral', 'positive'];
    expect(countTargets(dev, 'sentiment', sentiment)).toEqual({ neutral: 470, negative: 406, positive: 233 });
    expect(countTargets(train, 'sentiment', sentiment)).toEqual(textStats().meld_sentiment.train.labels);
    expectDistributions(train, 'emotion', 7);
    expectDistributions(train, 'sentiment', 3);
  });

  it.skipIf(MELD.missing)(
    `keeps the text as written and fills ids, groups, orders and speakers ${MELD.tag}`,
    () => {
      const first = dev.samples[0]!;
      expect(first).toEqual({
        id: 'dev_sent_emo/0_0',
        root: text('meld'),
        text: 'Oh my God, he\u2019s lost it. He\u2019s totally lost it.',
        group: 'meld-dev-0',
        order: 0,
        speaker: 'Phoebe',
        labels: { emotion: 'sadness', sentiment: 'negative' },
        targets: { emotion: [0, 0, 0, 0, 0, 1, 0], sentiment: [1, 0, 0] },
      } satisfies CorpusSample);
      // MELD dropped some utterances; Utterance_ID keeps the gaps (train dialogue 1: 0..5, 8).
      const d1 = train.samples.filter((s) => s.group === 'meld-train-1');
      expect(d1.map((s) => s.order)).toEqual([0, 1, 2, 3, 4, 5, 8]);
      expect(d1.every((s) => s.id.startsWith('train_sent_emo/1_'))).toBe(true);
      expect(dev.samples.every((s) => typeof s.speaker === 'string' && s.speaker !== '')).toBe(true);
      expect(dev.name).toBe('meld:dev_sent_emo.csv');
      expect(dev.tasks.map((t) => t.name)).toEqual(['emotion', 'sentiment']);
      expect(dev.source).toEqual({
        corpus: 'MELD',
        path: text('meld', 'dev_sent_emo.csv'),
        split: 'dev',
        licence: 'GPL-3.0',
      });
    },
  );

  it.skipIf(MELD.missing)(
    `takes a folder with #split, and refuses a split that contradicts the file name ${MELD.tag}`,
    async () => {
      const viaFolder = await readMeld(text('meld'), 'dev');
      expect(viaFolder.samples.map((s) => s.id)).toEqual(dev.samples.map((s) => s.id));
      expect(viaFolder.name).toBe('meld:dev_sent_emo.csv#dev');
      await expectCode(readMeld(text('meld', 'dev_sent_emo.csv'), 'train'), 'CONFIG_INVALID');
      await expectCode(readMeld(text('meld'), undefined), 'CONFIG_INVALID');
      await expectCode(readMeld(join(tmp, 'nope.csv'), undefined), 'FILE_NOT_FOUND');
    },
  );

  const HEADER =
    'Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\r\n';

  it('names line and column of an unknown label, a bad id and a short row', async () => {
    // "1,Hi,Ross," is 10 characters: Emotion starts at column 11 of line 2.
    await expectInvalid(
      readMeld(tmpFile('a.csv', `${HEADER}1,Hi,Ross,happy,positive,0,0,1,1,a,b\r\n`), undefined),
      /a\.csv: line 2, column 11: unknown emotion 'happy'/,
    );
    // A quoted utterance over two lines: the row starts on line 2, its Emotion field on line 3,
    // after `there",Ross,` (12 characters).
    await expectInvalid(
      readMeld(tmpFile('b.csv', `${HEADER}1,"Hi\r\nthere",Ross,joy,cheerful,0,0,1,1,a,b\r\n`), undefined),
      /b\.csv: line 3, column 17: unknown sentiment 'cheerful'/,
    );
    // "2,Yo,Ross,joy,positive," is 23 characters: Dialogue_ID at column 24 of line 3.
    await expectInvalid(
      readMeld(
        tmpFile(
          'c.csv',
          `${HEADER}1,Hi,Ross,joy,positive,0,0,1,1,a,b\r\n2,Yo,Ross,joy,positive,x,1,1,1,a,b\r\n`,
        ),
        undefined,
      ),
      /c\.csv: line 3, column 24: Dialogue_ID 'x' is not an integer/,
    );
    await expectInvalid(
      readMeld(tmpFile('d.csv', `${HEADER}1,Hi,Ross,joy,positive,0,0\r\n`), undefined),
      /d\.csv: line 2, column 27: 7 fields where the header has 11/,
    );
    await expectInvalid(
      readMeld(
        tmpFile(
          'e.csv',
          `${HEADER}1,Hi,Ross,joy,positive,0,0,1,1,a,b\r\n2,Yo,Ross,joy,positive,0,0,1,1,a,b\r\n`,
        ),
        undefined,
      ),
      /e\.csv: line 3, column 24: dialogue 0, utterance 0 repeats line 2/,
    );
  });

  it('names a missing column and an unterminated quote', async () => {
    await expectInvalid(
      readMeld(
        tmpFile('f.csv', 'Utterance,Speaker,Emotion,Dialogue_ID,Utterance_ID\r\nHi,Ross,joy,0,0\r\n'),
        undefined,
      ),
      /f\.csv: line 1, column 1: the header has no 'Sentiment' column/,
    );
    await expectInvalid(
      readMeld(tmpFile('g.csv', `${HEADER}1,"Hi,Ross,joy,positive,0,0,1,1,a,b\r\n`), undefined),
      /g\.csv: line 2, column 3: quoted field is never closed/,
    );
  });
});

describe('GoEmotions', () => {
  it.skipIf(GOEMOTIONS.missing)(
    `embeds the names of emotions.txt and the grouping of ekman_mapping.json ${GOEMOTIONS.tag}`,
    () => {
      const names = readFileSync(text('goemotions', 'emotions.txt'), 'utf8').split('\n').filter(Boolean);
      expect([...GOEMOTIONS_LABELS]).toEqual(names);
      const mapping = JSON.parse(readFileSync(text('goemotions', 'ekman_mapping.json'), 'utf8')) as unknown;
      expect(GOEMOTIONS_EKMAN).toEqual(mapping);
      // Every fine label but neutral is in exactly one Ekman group.
      const grouped = Object.values(GOEMOTIONS_EKMAN).flat().sort();
      expect(grouped).toEqual(names.filter((n) => n !== 'neutral').sort());
    },
  );

  it.skipIf(GOEMOTIONS.missing)(
    `reads train and dev with the staged label occurrences (multi-label task) ${GOEMOTIONS.tag}`,
    async () => {
      for (const split of ['train', 'dev'] as const) {
        const c = await readGoEmotions(text('goemotions', `${split}.tsv`), undefined);
        const n = { train: 43410, dev: 5426 }[split];
        expect(c.samples).toHaveLength(n);
        expect(textStats().goemotions[split].n).toBe(n);
        expect(new Set(c.samples.map((s) => s.id)).size).toBe(n);
        const occurrences: Record<string, number> = {};
        let multi = 0;
        let malformed = 0;
        for (const s of c.samples) {
          const y = s.targets['goemotions'] as number[];
          if (y.length !== 28 || y.some((v) => v !== 0 && v !== 1)) malformed++;
          if (y.reduce((a, b) => a + b, 0) > 1) multi++;
          y.forEach((v, i) => {
            if (v === 1) occurrences[GOEMOTIONS_LABELS[i]!] = (occurrences[GOEMOTIONS_LABELS[i]!] ?? 0) + 1;
          });
        }
        expect(malformed).toBe(0);
        expect(occurrences).toEqual(textStats().goemotions[split].labels);
        expect(multi).toBe(textStats().goemotions_multilabel_rows[split]);
        expect(c.tasks).toEqual([expect.objectContaining({ name: 'goemotions', type: 'multilabel' })]);
      }
    },
  );

  it.skipIf(GOEMOTIONS.missing)(
    `maps to the Ekman classes with soft targets for multi-label rows ${GOEMOTIONS.tag}`,
    async () => {
      const dev = await readGoEmotionsEkman(text('goemotions', 'dev.tsv'), undefined);
      expect(dev.samples).toHaveLength(5426);
      expectDistributions(dev, 'emotion', 7);
      // "…don't avoid them!\t4,27\tee84bjg": approval (-> joy) and neutral share the mass.
      const row = dev.samples.find((s) => s.id === 'ee84bjg')!;
      expect(row.targets['emotion']).toEqual([0, 0, 0, 0.5, 0.5, 0, 0]);
      expect(row.labels).toEqual({ goemotions: 'approval,neutral' });
      expect(row.text).toBe(
        'You know the answer man, you are programmed to capture those codes they send you, don\u2019t avoid them!',
      );
      expect(dev.source).toEqual({
        corpus: 'GoEmotions',
        path: text('goemotions', 'dev.tsv'),
        split: 'dev',
        licence: 'Apache-2.0',
      });
      expect(dev.name).toBe('goemotions-ekman:dev.tsv');
    },
  );

  it('counts labels that map to one Ekman class once', async () => {
    // amusement (1) and joy (17) are both joy; anger (2), annoyance (3) are anger.
    const p = tmpFile('x.tsv', 'a\t1,17\tid1\nb\t2,17,3\tid2\r\nc\t27\tid3\n');
    const c = await readGoEmotionsEkman(p, undefined);
    expect(c.samples.map((s) => s.targets['emotion'])).toEqual([
      [0, 0, 0, 1, 0, 0, 0],
      [0.5, 0, 0, 0.5, 0, 0, 0],
      [0, 0, 0, 0, 1, 0, 0],
    ]);
  });

  it('names line and column of a bad label id, a missing field and a repeated id', async () => {
    // "hello\t4," is 8 characters: the id '28' starts at column 9.
    await expectInvalid(
      readGoEmotions(tmpFile('a.tsv', 'ok\t1\tid0\nhello\t4,28\tid1\n'), undefined),
      /a\.tsv: line 2, column 9: label id '28' is not an index into the 28 GoEmotions labels/,
    );
    await expectInvalid(
      readGoEmotions(tmpFile('b.tsv', 'hello\t4\n'), undefined),
      /b\.tsv: line 1, column 8: expected 3 tab-separated fields/,
    );
    await expectInvalid(
      readGoEmotionsEkman(tmpFile('c.tsv', 'a\t1\tx\nb\t2\tx\n'), undefined),
      /c\.tsv: line 2, column 5: comment id 'x' repeats line 1/,
    );
  });
});

describe('readEmoBank', () => {
  let all: Corpus;
  beforeAll(async () => {
    if (EMOBANK.missing) return;
    all = await readEmoBank(text('emobank', 'emobank.csv'), undefined);
  });

  it.skipIf(EMOBANK.missing)(`selects rows by the split column ${EMOBANK.tag}`, async () => {
    const train = await readEmoBank(text('emobank', 'emobank.csv'), 'train');
    const dev = await readEmoBank(text('emobank'), 'dev');
    expect(train.samples).toHaveLength(8062);
    expect(dev.samples).toHaveLength(1000);
    expect(all.samples).toHaveLength(9062);
    expect(train.name).toBe('emobank:emobank.csv#train');
    expect(train.source).toMatchObject({ corpus: 'EmoBank', split: 'train', licence: 'CC BY-SA 4.0' });
    expect(all.source.split).toBeUndefined();
    // Means in PROVENANCE/text-stats.json (1..5, rounded to 3 decimals), mapped by (x - 3) / 2.
    for (const [c, split] of [
      [train, 'train'],
      [dev, 'dev'],
    ] as const) {
      const means = textStats().emobank_VAD_means[split];
      const mean = (task: string): number =>
        c.samples.reduce((a, s) => a + (s.targets[task] as number), 0) / c.samples.length;
      expect(Math.abs(mean('valence') - (means.V - 3) / 2)).toBeLessThan(0.0005);
      expect(Math.abs(mean('arousal') - (means.A - 3) / 2)).toBeLessThan(0.0005);
      expect(Math.abs(mean('dominance') - (means.D - 3) / 2)).toBeLessThan(0.0005);
    }
    await expectCode(readEmoBank(text('emobank', 'emobank.csv'), 'test'), 'CONFIG_INVALID');
  });

  it.skipIf(EMOBANK.missing)(`maps V/A/D from 1..5 to [-1, 1] ${EMOBANK.tag}`, () => {
    for (const s of all.samples) {
      for (const task of ['valence', 'arousal', 'dominance']) {
        const v = s.targets[task] as number;
        expect(v).toBeGreaterThanOrEqual(-1);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    // First row: 110CYL068_1036_1079,train,3.0,3.0,3.2,"Remember what she said in my last letter? """
    // -> valence (3.0 - 3) / 2 = 0, arousal 0, dominance (3.2 - 3) / 2 = 0.1.
    const first = all.samples[0]!;
    expect(first.id).toBe('110CYL068_1036_1079');
    expect(first.text).toBe('Remember what she said in my last letter? "');
    expect(first.targets['valence']).toBe(0);
    expect(first.targets['arousal']).toBe(0);
    expect(first.targets['dominance']).toBeCloseTo(0.1, 12);
    expect(all.tasks.map((t) => t.name)).toEqual(['valence', 'arousal', 'dominance']);
  });

  it('names line and column of a non-numeric or out-of-scale score', async () => {
    const header = 'id,split,V,A,D,text\n';
    // "b,train,3," is 10 characters: A starts at column 11.
    await expectInvalid(
      readEmoBank(tmpFile('a.csv', `${header}a,train,3,3,3,x\nb,train,3,high,3,y\n`), undefined),
      /a\.csv: line 3, column 11: A 'high' is not a number/,
    );
    await expectInvalid(
      readEmoBank(tmpFile('b.csv', `${header}a,train,3,3,6,x\n`), undefined),
      /b\.csv: line 2, column 13: D 6 is outside EmoBank's 1\.\.5 scale/,
    );
    await expectInvalid(
      readEmoBank(tmpFile('c.csv', `${header}a,train,,3,3,x\n`), undefined),
      /c\.csv: line 2, column 9: V '' is not a number/,
    );
  });
});

describe('readDair', () => {
  it.skipIf(DAIR.missing)(
    `reads train and val with the staged label counts, love -> joy ${DAIR.tag}`,
    async () => {
      const train = await readDair(text('dair', 'train.txt'), undefined);
      const val = await readDair(text('dair'), 'val');
      expect(train.samples).toHaveLength(16000);
      expect(val.samples).toHaveLength(2000);
      expect(countLabels(train, 'emotion')).toEqual(textStats().dair.train.labels);
      expect(countLabels(val, 'emotion')).toEqual(textStats().dair.val.labels);
      expect(countTargets(val, 'emotion', EMOTIONS)).toEqual({
        joy: 704 + 178,
        sadness: 550,
        anger: 275,
        fear: 212,
        surprise: 81,
      });
      expectDistributions(train, 'emotion', 7);
      expect(train.samples[0]).toMatchObject({
        id: 'train/1',
        text: 'i didnt feel humiliated',
        labels: { emotion: 'sadness' },
      });
      expect(val.source).toMatchObject({ corpus: expect.stringContaining('dair'), split: 'val' });
      expect(val.source.licence).toMatch(/research/);
    },
  );

  it('splits on the last semicolon and names line and column of errors', async () => {
    const c = await readDair(tmpFile('ok.txt', 'a;b; c;love\r\n\r\nplain;fear\n'), undefined);
    expect(c.samples.map((s) => [s.id, s.text, s.targets['emotion']])).toEqual([
      [expect.stringMatching(/\/1$/), 'a;b; c', [0, 0, 0, 1, 0, 0, 0]],
      [expect.stringMatching(/\/3$/), 'plain', [0, 0, 1, 0, 0, 0, 0]],
    ]);
    // "i feel;" is 7 characters: the label starts at column 8.
    await expectInvalid(
      readDair(tmpFile('a.txt', 'ok;joy\ni feel;happy\n'), undefined),
      /a\.txt: line 2, column 8: unknown label 'happy'/,
    );
    await expectInvalid(
      readDair(tmpFile('b.txt', 'ok;joy\nno label here\n'), undefined),
      /b\.txt: line 2, column 14: no ';label'/,
    );
    // A cp1252 apostrophe (0x92) is not UTF-8: line 2, after "it" (column 3).
    const bytes = Buffer.concat([Buffer.from('ok;joy\nit'), Buffer.from([0x92]), Buffer.from('s;joy\n')]);
    await expectInvalid(
      readDair(tmpFile('c.txt', bytes), undefined),
      /c\.txt: line 2, column 3: not valid UTF-8 at byte offset 9/,
    );
  });
});

describe('readEmoryNlp', () => {
  it.skipIf(EMORYNLP.missing)(
    `reads train and dev scenes with the staged label counts ${EMORYNLP.tag}`,
    async () => {
      const train = await readEmoryNlp(text('emorynlp', 'train_data.dag-erc.json'), undefined);
      const dev = await readEmoryNlp(text('emorynlp'), 'dev');
      expect(train.samples).toHaveLength(9934);
      expect(dev.samples).toHaveLength(1344);
      expect(new Set(train.samples.map((s) => s.group)).size).toBe(713);
      expect(new Set(dev.samples.map((s) => s.group)).size).toBe(99);
      expect(countLabels(train, 'emotion')).toEqual(textStats().emorynlp['train(dag-erc)'].labels);
      expect(countLabels(dev, 'emotion')).toEqual(textStats().emorynlp.dev.labels);
      // Peaceful (132) and Powerful (134) stay as samples without an emotion target.
      expect(countTargets(dev, 'emotion', EMOTIONS)).toEqual({
        neutral: 393,
        joy: 289,
        fear: 178,
        anger: 143,
        sadness: 75,
      });
      expect(dev.samples.filter((s) => s.targets['emotion'] === undefined)).toHaveLength(132 + 134);
      expectDistributions(dev, 'emotion', 7);
      expect(dev.samples[0]).toEqual({
        id: 'dev_data/0_0',
        root: text('emorynlp'),
        text: 'Coffee.',
        group: 'emorynlp-dev-0',
        order: 0,
        speaker: 'Rachel Green',
        labels: { emotion: 'Neutral' },
        targets: { emotion: [0, 0, 0, 0, 1, 0, 0] },
      } satisfies CorpusSample);
      expect(dev.source).toEqual({
        corpus: 'EmoryNLP',
        path: join(text('emorynlp'), 'dev_data.dag-erc.json'),
        split: 'dev',
        licence: 'Apache-2.0',
      });
    },
  );

  it('takes the first of a speaker list', async () => {
    const p = tmpFile(
      's.json',
      JSON.stringify([[{ text: 'Hi.', speaker: ['Ross Geller', 'Joey Tribbiani'], label: 'Powerful' }]]),
    );
    const c = await readEmoryNlp(p, undefined);
    expect(c.samples[0]).toMatchObject({ speaker: 'Ross Geller', order: 0, targets: {} });
  });

  it('names line and column of bad JSON and of a bad utterance', async () => {
    // Trailing comma: V8 names no position; the scanner finds the ']' at the start of line 3.
    await expectInvalid(
      readEmoryNlp(tmpFile('a.json', '[[\n  {"text": "Hi", "label": "Sad"},\n]]'), undefined),
      /a\.json: line 3, column 1: not valid JSON/,
    );
    // V8 gives no position for an unexpected token: the scanner finds the 'x' (line 2, column 11).
    await expectInvalid(
      readEmoryNlp(tmpFile('b.json', '[[\n {"text": x}]]'), undefined),
      /b\.json: line 2, column 11: not valid JSON/,
    );
    const scene = '[[\n  {"text": "Hi", "speaker": "Ross", "label": "Happy"}\n]]';
    // The label value starts after `  {"text": "Hi", "speaker": "Ross", "label": ` (45 characters).
    await expectInvalid(
      readEmoryNlp(tmpFile('c.json', scene), undefined),
      /c\.json: line 2, column 46: scene 0, utterance 0: unknown label 'Happy'/,
    );
    await expectInvalid(
      readEmoryNlp(
        tmpFile(
          'd.json',
          '[[{"text": "a", "speaker": "b", "label": "Sad"}],\n [{"speaker": "b", "label": "Sad"}]]',
        ),
        undefined,
      ),
      /d\.json: line 2, column 3: scene 1, utterance 0: no 'text'/,
    );
    await expectInvalid(
      readEmoryNlp(tmpFile('e.json', '{"scenes": []}'), undefined),
      /e\.json: line 1, column 1: expected a list of scenes/,
    );
  });
});

describe('TEXT_ADAPTERS', () => {
  it('names every text adapter by its corpus-spec name', () => {
    expect(Object.keys(TEXT_ADAPTERS).sort()).toEqual(
      ['dair', 'emobank', 'emorynlp', 'goemotions', 'goemotions-ekman', 'meld'].sort(),
    );
    expect(TEXT_ADAPTERS['meld']).toBe(readMeld);
  });
});
