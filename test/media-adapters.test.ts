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
import {
  MEDIA_ADAPTERS,
  readEmoDb,
  readFer2013,
  readFerPlus,
  readRavdess,
} from '../src/data/adapters/media-adapters.js';
import { shared } from './support/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'emoflow-media-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const RAVDESS = shared('data', 'speech', 'ravdess');
const EMODB = shared('data', 'speech', 'emodb');
const FER_TRAIN = shared('data', 'face', 'ferplus', 'FER2013Train');
const FER_VALID = shared('data', 'face', 'ferplus', 'FER2013Valid');
const FER2013 = shared('data', 'face', 'fer2013', 'train');

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
  it('reads Actor_01..18: 792 clips, 44 per actor, 18 groups, calm merged into neutral', async () => {
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
      labels: { emotion: 'neutral', intensity: 'normal', statement: 1, repetition: 1, actor: 1, sex: 'male' },
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
  });

  it('reads one Actor_NN folder, ids relative to it', async () => {
    const c = await readRavdess(join(RAVDESS, 'Actor_05'), undefined);
    expect(c.name).toBe('ravdess:Actor_05');
    expect(c.samples).toHaveLength(44);
    expectWellFormed(c, 'audio');
    expect(c.samples[0]!.id).toBe('03-01-01-01-01-01-05');
    expect(c.samples.every((s) => s.group === 'ravdess-05' && s.root === join(RAVDESS, 'Actor_05'))).toBe(
      true,
    );
  });

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
  it('reads 535 clips of 10 speakers; the 81 boredom clips have no emotion target', async () => {
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
  });

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
    expect((await failure(readEmoDb(join(EMODB, '03a01Fa.wav'), undefined))).code).toBe('CONFIG_INVALID');
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
    it(`${split}: one sample per label.csv row and PNG, soft targets, majority truth`, async () => {
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
    });
  }

  it('hand-checked rows of FER2013Train', async () => {
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
    const f = await failure(readFerPlus(shared('data', 'face', 'ferplus'), 'FER2013Train'));
    expect(f.code).toBe('CONFIG_INVALID');
    expect(f.message).toMatch(/FER2013Train, FER2013Valid/);
    expect((await failure(readFerPlus(join(tmp, 'nope'), undefined))).code).toBe('FILE_NOT_FOUND');
    const f2 = await failure(readFerPlus(folder('ferplus-nolabel', ['a.png']), undefined));
    expect(f2.code).toBe('FILE_NOT_FOUND');
    expect(f2.message).toMatch(/label\.csv/);
  });
});

describe('readFer2013 (shared/data/face/fer2013/train)', () => {
  it('reads 150 images per label folder, happy -> joy, angry -> anger, sad -> sadness', async () => {
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
  });

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
    const parent = await failure(readFer2013(shared('data', 'face', 'fer2013'), undefined));
    expect(parent.code).toBe('MANIFEST_INVALID');
    expect(parent.message).toMatch(/point at a split's folder instead \(train\)/);
    expect((await failure(readFer2013(FER2013, 'train'))).code).toBe('CONFIG_INVALID');
  });
});

describe('MEDIA_ADAPTERS', () => {
  it('registers the four adapters by name', () => {
    expect(Object.keys(MEDIA_ADAPTERS).sort()).toEqual(['emodb', 'fer2013', 'ferplus', 'ravdess']);
    expect(MEDIA_ADAPTERS.ferplus).toBe(readFerPlus);
  });
});
