import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isEmoflowError, type ErrorCode } from '../src/core/errors.js';
import { EMOTIONS } from '../src/core/labels.js';
import type { Corpus, CorpusSample } from '../src/data/corpus.js';
import { parseCorpusSpec } from '../src/data/corpus-spec.js';
import { readEmoDb } from '../src/data/adapters/emodb.js';
import { readEmovo } from '../src/data/adapters/emovo.js';
import { readFer2013 } from '../src/data/adapters/fer2013.js';
import { readFerPlus } from '../src/data/adapters/ferplus.js';
import { MEDIA_ADAPTERS } from '../src/data/adapters/index.js';
import { readNemo } from '../src/data/adapters/nemo.js';
import { readRavdess } from '../src/data/adapters/ravdess.js';
import { readTccePerformers } from '../src/data/adapters/tcce.js';
import { sharedNeed } from './support/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'emoflow-media-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The real-corpus tests skip when ../shared is absent; the error cases use small temp folders.
const NEED = {
  ravdess: sharedNeed('data/speech/ravdess'),
  emodb: sharedNeed('data/speech/emodb'),
  ferTrain: sharedNeed('data/face/ferplus/FER2013Train'),
  ferValid: sharedNeed('data/face/ferplus/FER2013Valid'),
  fer2013: sharedNeed('data/face/fer2013/train'),
  emovo: sharedNeed('data/speech/emovo'),
  nemo: sharedNeed('data/speech/nemo'),
  tcce: sharedNeed('data/face/tcce_performers'),
};
const RAVDESS = NEED.ravdess.path;
const EMODB = NEED.emodb.path;
const FER_TRAIN = NEED.ferTrain.path;
const FER_VALID = NEED.ferValid.path;
const FER2013 = NEED.fer2013.path;
const EMOVO = NEED.emovo.path;
const NEMO = NEED.nemo.path;
const TCCE = NEED.tcce.path;

/** Makes `files` (relative paths) under a fresh temp folder; content is irrelevant: adapters only list. */
function folder(name: string, files: Record<string, string> | string[]): string {
  const dir = join(tmp, name);
  const entries = Array.isArray(files) ? files.map((f) => [f, ''] as const) : Object.entries(files);
  for (const [rel, content] of entries) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function failure(p: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isEmoflowError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected the adapter to throw');
}

/** Count of samples per value of `key`. */
function countBy(samples: readonly CorpusSample[], key: (s: CorpusSample) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) out[key(s)] = (out[key(s)] ?? 0) + 1;
  return out;
}

function argmax(v: readonly number[]): number {
  let best = 0;
  v.forEach((x, i) => {
    if (x > v[best]!) best = i;
  });
  return best;
}

function emotionOf(s: CorpusSample): string {
  const t = s.targets.emotion;
  if (t === undefined) return 'none';
  if (!Array.isArray(t)) throw new Error(`${s.id}: emotion target is not a distribution`);
  return EMOTIONS[argmax(t)]!;
}

function oneHot(e: (typeof EMOTIONS)[number]): number[] {
  return EMOTIONS.map((x) => (x === e ? 1 : 0));
}

/** Shared checks: sorted unique ids = relative path without extension, media present, one task. */
function expectWellFormed(c: Corpus, modality: 'audio' | 'image'): void {
  const ids = c.samples.map((s) => s.id);
  expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  expect(new Set(ids).size).toBe(ids.length);
  expect(c.tasks.map((t) => t.name)).toEqual(['emotion']);
  for (const s of c.samples) {
    const rel = s[modality];
    expect(rel).toBeDefined();
    expect(rel!.replace(/\.[^./]+$/, '')).toBe(s.id);
    expect(existsSync(join(s.root, rel!))).toBe(true);
    const t = s.targets.emotion;
    if (t !== undefined) {
      expect(t).toHaveLength(7);
      expect((t as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  }
}

describe('readRavdess (shared/data/speech/ravdess)', () => {
  it.skipIf(NEED.ravdess.missing)(
    `reads Actor_01..18: 792 clips, 44 per actor, 18 groups, calm merged into neutral ${NEED.ravdess.tag}`,
    async () => {
      const c = await readRavdess(RAVDESS, undefined);
      expect(c.name).toBe('ravdess:ravdess');
      expect(c.samples).toHaveLength(792);
      expectWellFormed(c, 'audio');
      const groups = countBy(c.samples, (s) => s.group!);
      expect(Object.keys(groups)).toHaveLength(18);
      expect(Object.values(groups).every((n) => n === 44)).toBe(true);
      expect(c.samples.every((s) => s.speaker === s.group && s.group === `ravdess-${s.id.slice(-2)}`)).toBe(
        true,
      );
      // Per actor (PROVENANCE/speech.md): neutral exists at normal intensity only and lost its
      // repetition 02, so 2 statements x 1 = 2 clips; every other emotion keeps int01-rep01,
      // int02-rep01, int02-rep02 = 3 x 2 statements = 6 clips. Over 18 actors: 36 and 108.
      expect(countBy(c.samples, (s) => String(s.labels.emotion))).toEqual({
        neutral: 36,
        calm: 108,
        happy: 108,
        sad: 108,
        angry: 108,
        fearful: 108,
        disgust: 108,
        surprised: 108,
      });
      expect(countBy(c.samples, emotionOf)).toEqual({
        anger: 108,
        disgust: 108,
        fear: 108,
        joy: 108,
        neutral: 144,
        sadness: 108,
        surprise: 108,
      });
      expect(
        c.samples.filter((s) => s.labels.emotion === 'calm').every((s) => emotionOf(s) === 'neutral'),
      ).toBe(true);
      // int01-rep01: 8 emotions x 2 statements = 16 per actor (288); strong: 7 x 2 x 2 = 28 (504).
      expect(countBy(c.samples, (s) => String(s.labels.intensity))).toEqual({ normal: 288, strong: 504 });
      expect(countBy(c.samples, (s) => String(s.labels.sex))).toEqual({ male: 396, female: 396 });
      expect(c.samples[0]).toEqual({
        id: 'Actor_01/03-01-01-01-01-01-01',
        root: RAVDESS,
        audio: 'Actor_01/03-01-01-01-01-01-01.wav',
        speaker: 'ravdess-01',
        group: 'ravdess-01',
        labels: {
          emotion: 'neutral',
          intensity: 'normal',
          statement: 1,
          repetition: 1,
          actor: 1,
          sex: 'male',
        },
        targets: { emotion: oneHot('neutral') },
      });
      const s = c.samples.find((x) => x.id === 'Actor_18/03-01-02-02-02-02-18')!;
      expect(s.labels).toEqual({
        emotion: 'calm',
        intensity: 'strong',
        statement: 2,
        repetition: 2,
        actor: 18,
        sex: 'female',
      });
      expect(s.targets.emotion).toEqual(oneHot('neutral'));
      expect(c.source.licence).toMatch(/CC BY-NC-SA 4\.0/);
      expect(c.source.licence).toMatch(/non-commercial/);
      expect(c.source.split).toBeUndefined();
    },
  );

  it.skipIf(NEED.ravdess.missing)(
    `reads one Actor_NN folder, ids relative to it ${NEED.ravdess.tag}`,
    async () => {
      const c = await readRavdess(join(RAVDESS, 'Actor_05'), undefined);
      expect(c.name).toBe('ravdess:Actor_05');
      expect(c.samples).toHaveLength(44);
      expectWellFormed(c, 'audio');
      expect(c.samples[0]!.id).toBe('03-01-01-01-01-01-05');
      expect(c.samples.every((s) => s.group === 'ravdess-05' && s.root === join(RAVDESS, 'Actor_05'))).toBe(
        true,
      );
    },
  );

  it('names the file and the wrong part of a bad name; skips hidden files', async () => {
    const ok = '03-01-05-02-01-01-01.wav';
    const good = folder('rav-good', [`Actor_01/${ok}`, 'Actor_01/.DS_Store', '.hidden/x.txt', '.README']);
    const c = await readRavdess(good, undefined);
    expect(c.samples.map((s) => s.id)).toEqual(['Actor_01/03-01-05-02-01-01-01']);
    expect(c.samples[0]!.targets.emotion).toEqual(oneHot('anger'));

    const cases: [string, string, RegExp][] = [
      [
        'emo',
        'Actor_01/03-01-09-01-01-01-01.wav',
        /Actor_01\/03-01-09-01-01-01-01\.wav: .*emotion 09 is not 01-08/,
      ],
      ['actor', 'Actor_01/03-01-03-01-01-01-02.wav', /actor 02 does not match its folder Actor_01/],
      ['ext', 'Actor_01/03-01-03-01-01-01-01.mp3', /03-01-03-01-01-01-01\.mp3: .*extension is not \.wav/],
      ['fields', 'Actor_01/03-01-03-01-01-01.wav', /seven two-digit fields/],
      ['video', 'Actor_01/01-01-03-01-01-01-01.wav', /modality 01 is not 03/],
      ['song', 'Actor_01/03-02-03-01-01-01-01.wav', /vocal channel 02 is not 01/],
      ['neutral', 'Actor_01/03-01-01-02-01-01-01.wav', /intensity 02 \(strong\) does not exist for neutral/],
      ['rep', 'Actor_01/03-01-03-01-01-03-01.wav', /repetition 03 is not 01 or 02/],
      ['stray', 'notes.txt', /notes\.txt: expected only Actor_NN folders/],
    ];
    for (const [name, rel, re] of cases) {
      const dir = folder(`rav-${name}`, [`Actor_01/${ok}`, rel]);
      const f = await failure(readRavdess(dir, undefined));
      expect(f.code, name).toBe('MANIFEST_INVALID');
      expect(f.message, name).toMatch(re);
    }
    expect((await failure(readRavdess(folder('rav-empty', []), undefined))).code).toBe('MANIFEST_INVALID');
  });

  it('refuses a #split and a missing folder', async () => {
    const f = await failure(readRavdess(RAVDESS, 'train'));
    expect(f.code).toBe('CONFIG_INVALID');
    expect(f.message).toMatch(/#train.*Actor_NN folder.*--group group/);
    expect((await failure(readRavdess(join(tmp, 'nope'), undefined))).code).toBe('FILE_NOT_FOUND');
  });
});

describe('readEmoDb (shared/data/speech/emodb)', () => {
  it.skipIf(NEED.emodb.missing)(
    `reads 535 clips of 10 speakers; the 81 boredom clips have no emotion target ${NEED.emodb.tag}`,
    async () => {
      const c = await readEmoDb(EMODB, undefined);
      expect(c.name).toBe('emodb:emodb');
      expect(c.samples).toHaveLength(535);
      expectWellFormed(c, 'audio');
      // PROVENANCE/speech.md "EmoDB counts".
      expect(countBy(c.samples, (s) => s.speaker!)).toEqual({
        'emodb-03': 49,
        'emodb-08': 58,
        'emodb-09': 43,
        'emodb-10': 38,
        'emodb-11': 55,
        'emodb-12': 35,
        'emodb-13': 61,
        'emodb-14': 69,
        'emodb-15': 56,
        'emodb-16': 71,
      });
      expect(c.samples.every((s) => s.group === s.speaker)).toBe(true);
      expect(countBy(c.samples, emotionOf)).toEqual({
        anger: 127,
        none: 81,
        disgust: 46,
        fear: 69,
        joy: 71,
        sadness: 62,
        neutral: 79,
      });
      const bored = c.samples.filter((s) => s.labels.emotion === 'boredom');
      expect(bored).toHaveLength(81);
      expect(bored.every((s) => s.targets.emotion === undefined)).toBe(true);
      expect(c.samples[0]).toEqual({
        id: '03a01Fa',
        root: EMODB,
        audio: '03a01Fa.wav',
        speaker: 'emodb-03',
        group: 'emodb-03',
        labels: { emotion: 'happiness', text: 'a01', version: 'a', sex: 'male' },
        targets: { emotion: oneHot('joy') },
      });
      expect(c.source.licence).toMatch(/no explicit licence/);
    },
  );

  it('names the file and the wrong part of a bad name', async () => {
    const cases: [string, string, RegExp][] = [
      ['letter', '03a01Xa.wav', /03a01Xa\.wav: not an EmoDB file name: emotion letter 'X'/],
      ['speaker', '07a01Fa.wav', /speaker '07' is not one of the ten/],
      ['text', '03c01Fa.wav', /text code 'c01'/],
      ['long', '03a01Faa.wav', /is not 7 characters long/],
      ['ext', '03a01Fa.flac', /extension is not \.wav/],
      ['subfolder', 'wav/03a01Fa.wav', /wav: a folder inside an EmoDB folder.*this wav\/ folder/],
    ];
    for (const [name, rel, re] of cases) {
      const dir = folder(`emodb-${name}`, ['03a01Wa.wav', '.DS_Store', rel]);
      const f = await failure(readEmoDb(dir, undefined));
      expect(f.code, name).toBe('MANIFEST_INVALID');
      expect(f.message, name).toMatch(re);
    }
    expect((await failure(readEmoDb(EMODB, 'dev'))).code).toBe('CONFIG_INVALID');
    const clip = join(folder('emodb-clip', ['03a01Fa.wav']), '03a01Fa.wav'); // an EmoDB clip, not its folder
    expect((await failure(readEmoDb(clip, undefined))).code).toBe('CONFIG_INVALID');
  });
});

/** label.csv rows, read independently of the adapter: name -> ten votes. */
function labelRows(dir: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of readFileSync(join(dir, 'label.csv'), 'utf8').split('\n')) {
    if (line === '') continue;
    const [name, rest] = line.split(',"(0, 0, 48, 48)",') as [string, string];
    out.set(name, rest.split(',').map(Number));
  }
  return out;
}

describe('readFerPlus (shared/data/face/ferplus)', () => {
  // PROVENANCE/face.md "Counts", column "FERPlus majority rule"; contempt is dropped by emoflow too.
  const majority = {
    FER2013Train: {
      neutral: 2715,
      joy: 2251,
      surprise: 884,
      sadness: 909,
      anger: 626,
      disgust: 33,
      fear: 160,
    },
    FER2013Valid: { neutral: 1174, joy: 857, surprise: 396, sadness: 347, anger: 284, disgust: 24, fear: 62 },
  };
  // no majority (1037 / 376) + contempt majority (37 / 13)
  const excluded = { FER2013Train: 1037 + 37, FER2013Valid: 376 + 13 };
  // README: 8,652 and 3,533 images; rows whose kept votes are all 0: Train 3 (one NF=10, two contempt=10).
  const sizes = { FER2013Train: 8652, FER2013Valid: 3533 };
  const withTarget = { FER2013Train: 8649, FER2013Valid: 3533 };

  for (const [split, dir] of [
    ['FER2013Train', FER_TRAIN],
    ['FER2013Valid', FER_VALID],
  ] as const) {
    const need = split === 'FER2013Train' ? NEED.ferTrain : NEED.ferValid;
    it.skipIf(need.missing)(
      `${split}: one sample per label.csv row and PNG, soft targets, majority truth ${need.tag}`,
      async () => {
        const c = await readFerPlus(dir, undefined);
        const rows = labelRows(dir);
        const pngs = readdirSync(dir).filter((f) => f.endsWith('.png'));
        expect(rows.size).toBe(sizes[split]);
        expect(pngs).toHaveLength(sizes[split]);
        expect(c.samples).toHaveLength(sizes[split]);
        expect(c.name).toBe(`ferplus:${split}`);
        expect(c.source.split).toBe(split === 'FER2013Train' ? 'train' : 'valid');
        expect(c.source.licence).toMatch(/MIT/);
        expect(c.source.licence).toMatch(/research use only/);
        expectWellFormed(c, 'image');
        expect(c.samples.filter((s) => s.targets.emotion !== undefined)).toHaveLength(withTarget[split]);
        const truth = countBy(c.samples, (s) =>
          s.truth!.emotion! < 0 ? 'excluded' : EMOTIONS[s.truth!.emotion!]!,
        );
        expect(truth).toEqual({ ...majority[split], excluded: excluded[split] });
        for (const s of c.samples) {
          const votes = rows.get(s.image!)!;
          expect(s.labels.votes).toBe(votes.join(','));
          // Soft target = kept votes / their sum, in EMOTIONS order (FER+ columns 4 5 6 1 0 3 2).
          const kept = [votes[4]!, votes[5]!, votes[6]!, votes[1]!, votes[0]!, votes[3]!, votes[2]!];
          const sum = kept.reduce((a, b) => a + b, 0);
          if (sum === 0) expect(s.targets.emotion).toBeUndefined();
          else expect(s.targets.emotion).toEqual(kept.map((v) => v / sum));
          // A strict majority (of the non-single votes) is also the argmax of the kept votes.
          const t = s.truth!.emotion!;
          if (t >= 0) expect(argmax(s.targets.emotion as number[])).toBe(t);
        }
      },
    );
  }

  it.skipIf(NEED.ferTrain.missing)(`hand-checked rows of FER2013Train ${NEED.ferTrain.tag}`, async () => {
    const c = await readFerPlus(join(FER_TRAIN, 'label.csv'), undefined);
    const byId = new Map(c.samples.map((s) => [s.id, s]));
    // fer0000000: 4,0,0,1,3,2,0,0,0,0. Soft: neutral .4, anger .3, disgust .2, sadness .1. Majority:
    // the single sadness vote is zeroed, 4 is not > 0.5 x 9, so no label (-1).
    expect(byId.get('fer0000000')).toEqual({
      id: 'fer0000000',
      root: FER_TRAIN,
      image: 'fer0000000.png',
      labels: { votes: '4,0,0,1,3,2,0,0,0,0', box: '(0, 0, 48, 48)' },
      targets: { emotion: [0.3, 0.2, 0, 0, 0.4, 0.1, 0] },
      truth: { emotion: -1 },
    });
    // fer0000004: 9,0,0,1,0,... -> neutral .9 / sadness .1; majority neutral (index 4).
    expect(byId.get('fer0000004')!.targets.emotion).toEqual([0, 0, 0, 0, 0.9, 0.1, 0]);
    expect(byId.get('fer0000004')!.truth).toEqual({ emotion: 4 });
    // NF = 10 and contempt = 10: no kept vote, no target, excluded from evaluation.
    for (const id of ['fer0010628', 'fer0012378', 'fer0025541']) {
      expect(byId.get(id)!.targets).toEqual({});
      expect(byId.get(id)!.truth).toEqual({ emotion: -1 });
    }
  });

  it('names the line and field of a bad label.csv, and a missing or unlisted PNG', async () => {
    const box = '"(0, 0, 48, 48)"';
    const row = (name: string, votes = '10,0,0,0,0,0,0,0,0,0'): string => `${name},${box},${votes}\n`;
    const cases: [string, string, string[], RegExp][] = [
      [
        'vote',
        row('a.png') + row('b.png', '1,x,0,0,0,0,0,0,0,9'),
        ['a.png', 'b.png'],
        /label\.csv: line 2, field 4: happiness vote 'x'/,
      ],
      [
        'fields',
        row('a.png') + `b.png,${box},1,2\n`,
        ['a.png', 'b.png'],
        /label\.csv: line 2: 4 fields where a FER\+ row has 12/,
      ],
      ['name', row('a.jpg'), ['a.png'], /line 1, field 1: 'a\.jpg' is not a PNG file name/],
      ['box', row('a.png').replace(box, 'box'), ['a.png'], /line 1, field 2: 'box' is not a face box/],
      ['dup', row('a.png') + row('a.png'), ['a.png'], /line 2, field 1: a\.png was already listed on line 1/],
      [
        'missing',
        row('a.png') + row('b.png') + row('c.png'),
        ['a.png'],
        /line 2: b\.png is not in .*\(2 of 3 rows name a missing PNG\)/,
      ],
      ['unlisted', row('a.png'), ['a.png', 'c.png', 'd.png'], /c\.png: not listed in .*label\.csv \(2 PNGs/],
      ['quote', `a.png,"(0, 0,\n`, ['a.png'], /line 1, column 7: quoted field is never closed/],
    ];
    for (const [name, csv, pngs, re] of cases) {
      const dir = folder(`ferplus-${name}`, {
        'label.csv': csv,
        ...Object.fromEntries(pngs.map((p) => [p, ''])),
      });
      const f = await failure(readFerPlus(dir, undefined));
      expect(f.code, name).toBe('MANIFEST_INVALID');
      expect(f.message, name).toMatch(re);
    }
    // Hidden files are not PNGs of the corpus; CRLF label.csv is fine.
    const ok = folder('ferplus-ok', {
      'label.csv': row('a.png').replace('\n', '\r\n'),
      'a.png': '',
      '.b.png': '',
    });
    expect((await readFerPlus(ok, undefined)).samples.map((s) => s.truth)).toEqual([{ emotion: 4 }]);
  });

  it('refuses a #split, a missing folder and a folder without label.csv', async () => {
    const f = await failure(readFerPlus(join(FER_TRAIN, '..'), 'FER2013Train'));
    expect(f.code).toBe('CONFIG_INVALID');
    expect(f.message).toMatch(/FER2013Train, FER2013Valid/);
    expect((await failure(readFerPlus(join(tmp, 'nope'), undefined))).code).toBe('FILE_NOT_FOUND');
    const f2 = await failure(readFerPlus(folder('ferplus-nolabel', ['a.png']), undefined));
    expect(f2.code).toBe('FILE_NOT_FOUND');
    expect(f2.message).toMatch(/label\.csv/);
  });
});

describe('readFer2013 (shared/data/face/fer2013/train)', () => {
  it.skipIf(NEED.fer2013.missing)(
    `reads 150 images per label folder, happy -> joy, angry -> anger, sad -> sadness ${NEED.fer2013.tag}`,
    async () => {
      const c = await readFer2013(FER2013, undefined);
      expect(c.name).toBe('fer2013:train');
      expect(c.source.split).toBe('train');
      expect(c.samples).toHaveLength(1050);
      expectWellFormed(c, 'image');
      expect(countBy(c.samples, (s) => String(s.labels.emotion))).toEqual({
        angry: 150,
        disgust: 150,
        fear: 150,
        happy: 150,
        neutral: 150,
        sad: 150,
        surprise: 150,
      });
      expect(countBy(c.samples, emotionOf)).toEqual({
        anger: 150,
        disgust: 150,
        fear: 150,
        joy: 150,
        neutral: 150,
        sadness: 150,
        surprise: 150,
      });
      expect(c.samples[0]).toEqual({
        id: 'angry/Training_0000278',
        root: FER2013,
        image: 'angry/Training_0000278.png',
        labels: { emotion: 'angry' },
        targets: { emotion: oneHot('anger') },
      });
      expect(c.source.licence).toMatch(/research use only/);
    },
  );

  it('names a stray file or folder', async () => {
    const cases: [string, string[], RegExp][] = [
      ['txt', ['happy/a.png', 'happy/notes.txt'], /happy\/notes\.txt: expected only image files/],
      ['label', ['happy/a.png', 'contempt/b.png'], /contempt: expected only label folders/],
    ];
    for (const [name, files, re] of cases) {
      const f = await failure(readFer2013(folder(`fer2013-${name}`, files), undefined));
      expect(f.code, name).toBe('MANIFEST_INVALID');
      expect(f.message, name).toMatch(re);
    }
    // The corpus folder above its split folders (laid out as fer2013/train/<label>/*.png).
    const parent = await failure(readFer2013(folder('fer2013', ['train/happy/a.png']), undefined));
    expect(parent.code).toBe('MANIFEST_INVALID');
    expect(parent.message).toMatch(/point at a split's folder instead \(train\)/);
    expect((await failure(readFer2013(FER2013, 'train'))).code).toBe('CONFIG_INVALID');
  });
});

// EMOVO, nEMO and TCCE: counts from data/README.md and PROVENANCE/{emovo,nemo,tcce_performers}.md.

describe.skipIf(NEED.emovo.missing)(`readEmovo ${NEED.emovo.tag}`, () => {
  it('reads 378 clips: 54 per emotion, 63 per speaker, 9 per speaker and emotion', async () => {
    const c = await readEmovo(EMOVO, undefined);
    expect(c.name).toBe('emovo:emovo');
    expect(c.samples).toHaveLength(378);
    expectWellFormed(c, 'audio');
    expect(countBy(c.samples, (s) => String(s.labels.emotion))).toEqual({
      rab: 54,
      dis: 54,
      pau: 54,
      gio: 54,
      neu: 54,
      tri: 54,
      sor: 54,
    });
    expect(countBy(c.samples, emotionOf)).toEqual(Object.fromEntries(EMOTIONS.map((e) => [e, 54])));
    expect(countBy(c.samples, (s) => s.speaker!)).toEqual({
      'emovo-f1': 63,
      'emovo-f2': 63,
      'emovo-f3': 63,
      'emovo-m1': 63,
      'emovo-m2': 63,
      'emovo-m3': 63,
    });
    expect(new Set(Object.values(countBy(c.samples, (s) => `${s.speaker}/${emotionOf(s)}`)))).toEqual(
      new Set([9]),
    );
    // The 9 staged sentences (PROVENANCE/emovo.md), 42 clips each.
    expect(countBy(c.samples, (s) => String(s.labels.sentence))).toEqual(
      Object.fromEntries(['b1', 'b2', 'b3', 'd1', 'd2', 'l4', 'n1', 'n2', 'n3'].map((t) => [t, 42])),
    );
    expect(countBy(c.samples, (s) => String(s.labels.sex))).toEqual({ female: 189, male: 189 });
    expect(c.samples.every((s) => s.group === s.speaker && s.id.startsWith(`${s.speaker!.slice(6)}/`))).toBe(
      true,
    );
    expect(c.samples[0]).toEqual({
      id: 'f1/dis-f1-b1',
      root: EMOVO,
      audio: 'f1/dis-f1-b1.wav',
      speaker: 'emovo-f1',
      group: 'emovo-f1',
      labels: { emotion: 'dis', sentence: 'b1', sex: 'female' },
      targets: { emotion: oneHot('disgust') },
    });
    expect(c.samples.find((s) => s.id === 'm3/rab-m3-n3')!.targets.emotion).toEqual(oneHot('anger'));
    expect(c.samples.find((s) => s.id === 'm2/pau-m2-l4')!.labels).toEqual({
      emotion: 'pau',
      sentence: 'l4',
      sex: 'male',
    });
    expect(c.source.licence).toMatch(/non-commercial/);
    expect(c.source.licence).toMatch(/Costantini et al\., LREC 2014/);
    expect(c.source.split).toBeUndefined();
  });

  it('reads one speaker folder, ids relative to it', async () => {
    const c = await readEmovo(join(EMOVO, 'm2'), undefined);
    expect(c.name).toBe('emovo:m2');
    expect(c.samples).toHaveLength(63);
    expectWellFormed(c, 'audio');
    expect(c.samples[0]!.id).toBe('dis-m2-b1');
    expect(c.samples.every((s) => s.group === 'emovo-m2' && s.labels.sex === 'male')).toBe(true);
  });

  it('#train = f1 f2 m1 m2 (252), #dev = f3 m3 (126); other splits are refused', async () => {
    const train = await readEmovo(EMOVO, 'train');
    const dev = await readEmovo(EMOVO, 'dev');
    expect(train.name).toBe('emovo:emovo#train');
    expect(train.source.split).toBe('train');
    expect(dev.source.split).toBe('dev');
    expect(countBy(train.samples, (s) => s.group!)).toEqual({
      'emovo-f1': 63,
      'emovo-f2': 63,
      'emovo-m1': 63,
      'emovo-m2': 63,
    });
    expect(countBy(dev.samples, (s) => s.group!)).toEqual({ 'emovo-f3': 63, 'emovo-m3': 63 });
    expect(countBy(dev.samples, emotionOf)).toEqual(Object.fromEntries(EMOTIONS.map((e) => [e, 18])));
    const test = await failure(readEmovo(EMOVO, 'test'));
    expect(test.code).toBe('CONFIG_INVALID');
    expect(test.message).toMatch(/unknown split '#test'.*'#train' = speakers f1 f2 m1 m2, '#dev' = f3 m3/);
    const one = await failure(readEmovo(join(EMOVO, 'f3'), 'dev'));
    expect(one.code).toBe('CONFIG_INVALID');
    expect(one.message).toMatch(/not of one speaker folder/);
  });
});

describe('readEmovo on small folders', () => {
  it('names the file and the wrong part of a bad name; skips hidden files', async () => {
    const ok = 'f1/rab-f1-b1.wav';
    const good = folder('emovo-good', [ok, 'f1/.DS_Store', '.git/x']);
    expect((await readEmovo(good, undefined)).samples.map((s) => s.id)).toEqual(['f1/rab-f1-b1']);
    const cases: [string, string, RegExp][] = [
      ['emo', 'f1/ang-f1-b1.wav', /f1\/ang-f1-b1\.wav: not an EMOVO file name: emotion 'ang'/],
      ['folder', 'f1/rab-f2-b1.wav', /speaker f2 does not match its folder f1/],
      ['sentence', 'f1/rab-f1-b4.wav', /sentence 'b4' is not one of the 14 EMOVO sentences/],
      ['fields', 'f1/rab-f1.wav', /three fields joined by "-"/],
      ['ext', 'f1/rab-f1-b2.mp3', /extension is not \.wav/],
      ['speaker', 'f4/rab-f4-b1.wav', /f4: expected only speaker folders/],
      ['stray', 'notes.txt', /notes\.txt: expected only speaker folders/],
      ['nested', 'f1/extra/rab-f1-b2.wav', /f1\/extra: a folder inside a speaker folder/],
    ];
    for (const [name, rel, re] of cases) {
      const f = await failure(readEmovo(folder(`emovo-${name}`, [ok, rel]), undefined));
      expect(f.code, name).toBe('MANIFEST_INVALID');
      expect(f.message, name).toMatch(re);
    }
    expect((await failure(readEmovo(folder('emovo-empty', []), undefined))).code).toBe('MANIFEST_INVALID');
    expect((await failure(readEmovo(join(tmp, 'nope'), undefined))).code).toBe('FILE_NOT_FOUND');
    // A split that selects nothing (here no f3 / m3) is refused rather than an empty corpus.
    const none = await failure(readEmovo(good, 'dev'));
    expect(none.code).toBe('CONFIG_INVALID');
    expect(none.message).toMatch(/holds no sample of '#dev'/);
  });
});

/** A nEMO data.tsv for `rows` (the release's header; speaker_id padded with spaces as upstream). */
function nemoTsv(rows: [name: string, emotion: string, speaker: string, gender: string][]): string {
  const header = 'file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n';
  return header + rows.map(([n, e, s, g]) => `${n}\t${e}\tTekst.\ttekst\t        ${s}\t${g}\t27\n`).join('');
}

describe.skipIf(NEED.nemo.missing)(`readNemo ${NEED.nemo.tag}`, () => {
  it('reads 371 clips: 63 per emotion, 56 surprised, 42 per speaker, 35 for MK0; sex from data.tsv', async () => {
    const c = await readNemo(NEMO, undefined);
    expect(c.name).toBe('nemo:nemo');
    expect(c.samples).toHaveLength(371);
    expectWellFormed(c, 'audio');
    expect(countBy(c.samples, (s) => String(s.labels.emotion))).toEqual({
      anger: 63,
      fear: 63,
      happiness: 63,
      neutral: 63,
      sadness: 63,
      surprised: 56,
    });
    expect(countBy(c.samples, emotionOf)).toEqual({
      anger: 63,
      fear: 63,
      joy: 63,
      neutral: 63,
      sadness: 63,
      surprise: 56,
    });
    expect(countBy(c.samples, (s) => s.speaker!)).toEqual({
      'nemo-EB0': 42,
      'nemo-IC0': 42,
      'nemo-KD0': 42,
      'nemo-KS0': 42,
      'nemo-MK0': 35,
      'nemo-MP0': 42,
      'nemo-SM0': 42,
      'nemo-TP0': 42,
      'nemo-WR0': 42,
    });
    expect(c.samples.every((s) => s.group === s.speaker)).toBe(true);
    // data/README.md: female EB0 IC0 KD0 MK0, male KS0 MP0 SM0 TP0 WR0.
    expect(countBy(c.samples, (s) => `${s.speaker!.slice(5)}:${String(s.labels.sex)}`)).toEqual({
      'EB0:female': 42,
      'IC0:female': 42,
      'KD0:female': 42,
      'MK0:female': 35,
      'KS0:male': 42,
      'MP0:male': 42,
      'SM0:male': 42,
      'TP0:male': 42,
      'WR0:male': 42,
    });
    expect(c.samples[0]).toEqual({
      id: 'EB0_anger_13',
      root: NEMO,
      audio: 'EB0_anger_13.wav',
      speaker: 'nemo-EB0',
      group: 'nemo-EB0',
      labels: { emotion: 'anger', sentence: 13, sex: 'female' },
      targets: { emotion: oneHot('anger') },
    });
    expect(c.samples.find((s) => s.id === 'TP0_neutral_70')!.labels).toEqual({
      emotion: 'neutral',
      sentence: 70,
      sex: 'male',
    });
    expect(c.samples.find((s) => s.id === 'EB0_surprised_6')!.targets.emotion).toEqual(oneHot('surprise'));
    expect(c.source.licence).toMatch(/CC BY-NC-SA 4\.0/);
    expect(c.source.licence).toMatch(/non-commercial/);
  });

  it('#dev = KD0 + TP0 (84, all six emotions), #train = the other seven (287)', async () => {
    const dev = await readNemo(NEMO, 'dev');
    const train = await readNemo(NEMO, 'train');
    expect(dev.name).toBe('nemo:nemo#dev');
    expect(dev.source.split).toBe('dev');
    expect(countBy(dev.samples, (s) => s.group!)).toEqual({ 'nemo-KD0': 42, 'nemo-TP0': 42 });
    expect(countBy(dev.samples, emotionOf)).toEqual({
      anger: 14,
      fear: 14,
      joy: 14,
      neutral: 14,
      sadness: 14,
      surprise: 14,
    });
    expect(train.samples).toHaveLength(287);
    expect(train.samples.some((s) => s.group === 'nemo-KD0' || s.group === 'nemo-TP0')).toBe(false);
    expect(Object.keys(countBy(train.samples, (s) => s.group!))).toHaveLength(7);
    expect((await failure(readNemo(NEMO, 'valid'))).code).toBe('CONFIG_INVALID');
  });
});

describe('readNemo on small folders', () => {
  const a = 'EB0_anger_1.wav';
  const b = 'TP0_surprised_2.wav';
  const tsv = nemoTsv([
    [a, 'anger', 'EB0', 'female'],
    [b, 'surprised', 'TP0', 'male'],
  ]);

  it('tolerates data.tsv and hidden files, reads sex from data.tsv', async () => {
    const c = await readNemo(folder('nemo-good', { [a]: '', [b]: '', 'data.tsv': tsv, '.x': '' }), undefined);
    expect(c.samples.map((s) => [s.id, s.labels.sex, emotionOf(s)])).toEqual([
      ['EB0_anger_1', 'female', 'anger'],
      ['TP0_surprised_2', 'male', 'surprise'],
    ]);
    expect((await readNemo(join(tmp, 'nemo-good'), 'dev')).samples.map((s) => s.id)).toEqual([
      'TP0_surprised_2',
    ]);
  });

  it('names a misnamed or stray file and a data.tsv that disagrees with the folder', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['emotion', { 'EB0_disgust_1.wav': '' }, /EB0_disgust_1\.wav: not a nEMO file name: emotion 'disgust'/],
      ['speaker', { 'XX0_anger_1.wav': '' }, /speaker 'XX0' is not one of the nine nEMO speakers/],
      ['number', { 'EB0_anger_x.wav': '' }, /sentence number 'x' is not a number/],
      ['fields', { 'EB0-anger-1.wav': '' }, /three fields joined by "_"/],
      ['stray', { 'notes.txt': '' }, /notes\.txt: not a nEMO file name: the extension is not \.wav/],
      ['samples', { 'samples/x.wav': '' }, /samples: a folder inside a nEMO folder.*this samples\/ folder/],
      [
        'tsv-emotion',
        { 'data.tsv': tsv.replace('\tanger\t', '\tfear\t') },
        /data\.tsv: line 2, field 2: emotion 'fear' differs from the file name's 'anger'/,
      ],
      [
        'tsv-speaker',
        { 'data.tsv': tsv.replace('EB0\tfemale', 'IC0\tfemale') },
        /line 2, field 5: speaker 'IC0' differs/,
      ],
      ['tsv-gender', { 'data.tsv': tsv.replace('\tmale\t', '\tm\t') }, /line 3, field 6: gender 'm'/],
      [
        'tsv-missing',
        { 'data.tsv': tsv + nemoTsv([['KD0_fear_3.wav', 'fear', 'KD0', 'female']]).split('\n')[1]! + '\n' },
        /data\.tsv: line 4: KD0_fear_3\.wav is not in .*\(1 of 3 rows name a missing WAV\)/,
      ],
      ['tsv-unlisted', { 'MK0_fear_3.wav': '' }, /MK0_fear_3\.wav: not listed in .*data\.tsv \(1 WAVs/],
      ['tsv-fields', { 'data.tsv': tsv + 'x\ty\n' }, /line 4: 2 tab-separated fields where the header has 7/],
      ['tsv-header', { 'data.tsv': tsv.replace('gender', 'sex') }, /line 1: no 'gender' column/],
    ];
    for (const [name, extra, re] of cases) {
      const dir = folder(`nemo-${name}`, { [a]: '', [b]: '', 'data.tsv': tsv, ...extra });
      const f = await failure(readNemo(dir, undefined));
      expect(f.code, name).toBe('MANIFEST_INVALID');
      expect(f.message, name).toMatch(re);
    }
    const noTsv = await failure(readNemo(folder('nemo-notsv', [a]), undefined));
    expect(noTsv.code).toBe('FILE_NOT_FOUND');
    expect(noTsv.message).toMatch(/data\.tsv: no such file/);
    expect((await failure(readNemo(folder('nemo-empty', { 'data.tsv': tsv }), undefined))).code).toBe(
      'MANIFEST_INVALID',
    );
  });
});

/** labels.csv rows, read independently of the adapter: file -> columns by name. */
function tcceRows(): Map<string, Record<string, string>> {
  const [head, ...lines] = readFileSync(join(TCCE, 'labels.csv'), 'utf8').trimEnd().split('\n');
  const cols = head!.split(',');
  return new Map(
    lines.map((l) => {
      const f = l.split(',');
      return [f[0]!, Object.fromEntries(cols.map((c, i) => [c, f[i]!]))];
    }),
  );
}

describe.skipIf(NEED.tcce.missing)(`readTccePerformers ${NEED.tcce.tag}`, () => {
  it('reads 588 images of 29 performers, target = the intended expression', async () => {
    const c = await readTccePerformers(TCCE, undefined);
    expect(c.name).toBe('tcce:tcce_performers');
    expect(c.samples).toHaveLength(588);
    expectWellFormed(c, 'image');
    expect(countBy(c.samples, emotionOf)).toEqual({
      anger: 87,
      disgust: 87,
      fear: 84,
      joy: 87,
      neutral: 69,
      sadness: 87,
      surprise: 87,
    });
    // PROVENANCE/tcce_performers.md "Per performer"; there is no performer 04.
    const perPerformer: Record<string, number> = {};
    for (let p = 1; p <= 30; p++) if (p !== 4) perPerformer[`tcce-${String(p).padStart(2, '0')}`] = 21;
    Object.assign(perPerformer, {
      'tcce-12': 18,
      'tcce-13': 18,
      'tcce-18': 18,
      'tcce-29': 20,
      'tcce-23': 16,
    });
    Object.assign(perPerformer, { 'tcce-22': 19, 'tcce-24': 19, 'tcce-26': 19 });
    expect(countBy(c.samples, (s) => s.group!)).toEqual(perPerformer);
    expect(Object.keys(perPerformer)).toHaveLength(29);
    expect(c.samples.every((s) => s.speaker === s.group)).toBe(true);
    expect(countBy(c.samples, (s) => String(s.labels.type))).toEqual({
      calm: 69,
      theatrical: 162,
      'ekman-facs': 225,
      'personal-event': 132,
    });
    // Raters' top choice agrees with the intended expression (PROVENANCE table; fear mostly read
    // as surprise; raters could not choose neutral).
    const agree = countBy(
      c.samples.filter((s) => s.labels.observer_top === s.labels.emotion),
      (s) => String(s.labels.emotion),
    );
    expect(agree).toEqual({ anger: 79, disgust: 66, fear: 14, joy: 87, sadness: 71, surprise: 84 });
    const rows = tcceRows();
    for (const s of c.samples) {
      const r = rows.get(s.image!)!;
      expect(s.labels.emotion).toBe(r.intended);
      expect(s.labels.observer_top).toBe(r.observer_top);
      expect(s.labels.observer_top_share).toBe(Number(r.observer_top_share));
      expect(s.targets.emotion).toEqual(oneHot(r.intended as (typeof EMOTIONS)[number]));
    }
    expect(c.samples[0]).toEqual({
      id: '0101a02',
      root: TCCE,
      image: '0101a02.jpg',
      speaker: 'tcce-01',
      group: 'tcce-01',
      labels: {
        emotion: 'neutral',
        performer: 1,
        type: 'calm',
        observer_top: 'joy',
        observer_top_share: 0.59,
      },
      targets: { emotion: oneHot('neutral') },
    });
    expect(c.source.licence).toMatch(/research-only/);
    expect(c.source.licence).toMatch(/never redistribute/);
  });

  it('reads labels.csv given as the path; #dev = performers 25-30 (123), #train = the other 23 (465)', async () => {
    const viaCsv = await readTccePerformers(join(TCCE, 'labels.csv'), undefined);
    expect(viaCsv.samples).toHaveLength(588);
    expect(viaCsv.samples[0]!.root).toBe(TCCE);
    const dev = await readTccePerformers(TCCE, 'dev');
    const train = await readTccePerformers(TCCE, 'train');
    expect(dev.name).toBe('tcce:tcce_performers#dev');
    expect(dev.source.split).toBe('dev');
    expect(dev.samples).toHaveLength(123);
    expect(Object.keys(countBy(dev.samples, (s) => s.group!)).sort()).toEqual(
      ['25', '26', '27', '28', '29', '30'].map((p) => `tcce-${p}`),
    );
    expect(train.samples).toHaveLength(465);
    expect(Object.keys(countBy(train.samples, (s) => s.group!))).toHaveLength(23);
    expect(train.samples.every((s) => Number(s.labels.performer) <= 24)).toBe(true);
    expect((await failure(readTccePerformers(TCCE, 'test'))).code).toBe('CONFIG_INVALID');
  });
});

describe('readTccePerformers on small folders', () => {
  const head =
    'file,performer,performance_type,intended,observer_top,observer_top_share,entropy,n_observers\n';
  const rowA = '0111d02.jpg,01,1,anger,anger,0.90,0.70,100\n';
  const rowB = '2521g01.jpg,25,2,surprise,fear,0.50,1.20,100\n';
  const csv = head + rowA + rowB;
  const images = { '0111d02.jpg': '', '2521g01.jpg': '' };

  it('reads a two-image folder; performer 25 is dev', async () => {
    const dir = folder('tcce-good', { 'labels.csv': csv, ...images, '.DS_Store': '' });
    const c = await readTccePerformers(dir, undefined);
    expect(c.samples.map((s) => [s.id, s.group, emotionOf(s), s.labels.type])).toEqual([
      ['0111d02', 'tcce-01', 'anger', 'theatrical'],
      ['2521g01', 'tcce-25', 'surprise', 'ekman-facs'],
    ]);
    expect((await readTccePerformers(dir, 'dev')).samples.map((s) => s.id)).toEqual(['2521g01']);
  });

  it('names a misnamed or stray file and a labels.csv that disagrees with the folder', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'letter',
        { '0111h02.jpg': '' },
        /0111h02\.jpg: not a TCCE image name: expression letter 'h' is not a-g/,
      ],
      ['view', { '0112d02.jpg': '' }, /view '2' is not 1/],
      ['performer', { '3111d02.jpg': '' }, /performer '31' is not 01-30/],
      ['type', { '0141d02.jpg': '' }, /performance type '4' is not 0-3/],
      ['ext', { '0111d03.png': '' }, /0111d03\.png: .*extension is not \.jpg/],
      ['stray', { 'notes.txt': '' }, /notes\.txt: not a TCCE image name/],
      ['folder', { 'sub/x.jpg': '' }, /sub: a folder inside a TCCE folder/],
      [
        'intended',
        { 'labels.csv': head + rowA.replace(',anger,anger', ',fear,anger') + rowB },
        /labels\.csv: line 2, field 4: intended 'fear' differs from the file name's anger \(d\)/,
      ],
      [
        'row-performer',
        { 'labels.csv': head + rowA.replace(',01,', ',02,') + rowB },
        /line 2, field 2: performer '02' differs/,
      ],
      [
        'top',
        { 'labels.csv': head + rowA.replace('anger,0.90', 'contempt,0.90') + rowB },
        /line 2, field 5: observer_top 'contempt'/,
      ],
      [
        'share',
        { 'labels.csv': head + rowA.replace('0.90', '1.5') + rowB },
        /line 2, field 6: observer_top_share '1\.5'/,
      ],
      [
        'missing',
        { 'labels.csv': csv + '0311b01.jpg,03,1,joy,joy,1.00,0.00,100\n' },
        /line 4: 0311b01\.jpg is not in .*\(1 of 3 rows name a missing image\)/,
      ],
      ['unlisted', { '0311b01.jpg': '' }, /0311b01\.jpg: not listed in .*labels\.csv \(1 images/],
      ['dup', { 'labels.csv': csv + rowA }, /line 4, field 1: 0111d02\.jpg was already listed on line 2/],
      ['header', { 'labels.csv': csv.replace('intended', 'label') }, /line 1: no 'intended' column/],
    ];
    for (const [name, extra, re] of cases) {
      const dir = folder(`tcce-${name}`, { 'labels.csv': csv, ...images, ...extra });
      const f = await failure(readTccePerformers(dir, undefined));
      expect(f.code, name).toBe('MANIFEST_INVALID');
      expect(f.message, name).toMatch(re);
    }
    const noCsv = await failure(readTccePerformers(folder('tcce-nocsv', images), undefined));
    expect(noCsv.code).toBe('FILE_NOT_FOUND');
    expect(noCsv.message).toMatch(/labels\.csv: no such file/);
    const split = await failure(readTccePerformers(join(tmp, 'tcce-good'), 'holdout'));
    expect(split.code).toBe('CONFIG_INVALID');
    expect(split.message).toMatch(/'#train' = performers 01-24, '#dev' = performers 25-30/);
  });
});

describe('MEDIA_ADAPTERS', () => {
  it('registers the adapters by name', () => {
    expect(Object.keys(MEDIA_ADAPTERS).sort()).toEqual([
      'emodb',
      'emovo',
      'fer2013',
      'ferplus',
      'nemo',
      'ravdess',
      'tcce',
    ]);
    expect(MEDIA_ADAPTERS.ferplus).toBe(readFerPlus);
    expect(MEDIA_ADAPTERS.emovo).toBe(readEmovo);
    expect(MEDIA_ADAPTERS.nemo).toBe(readNemo);
    expect(MEDIA_ADAPTERS.tcce).toBe(readTccePerformers);
    // Every name is reachable as a spec `<adapter>:<path>#split`.
    for (const name of Object.keys(MEDIA_ADAPTERS)) {
      expect(parseCorpusSpec(`${name}:../data/x#dev`)).toEqual({
        adapter: name,
        path: '../data/x',
        split: 'dev',
      });
    }
  });
});
