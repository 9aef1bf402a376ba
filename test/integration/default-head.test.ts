import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHead } from '../../src/head/artifact.js';
import { emoflow } from '../support/cli.js';
import { repoRoot, sharedNeed } from '../support/paths.js';

const FER2013 = sharedNeed('data/face/fer2013/train');
const EMODB = sharedNeed('data/speech/emodb');
import { checkWithPythonOnnx, skipPythonReference } from '../support/python-onnx.js';

const cache = mkdtempSync(join(tmpdir(), 'emoflow-default-head-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));
const HEAD = join(repoRoot, 'models', 'heads', 'default');

interface EvalJson {
  samples: number;
  tasks: { emotion: { accuracy: number; uar: number; confusion: number[][]; excluded: number } };
}

describe('the shipped default head', () => {
  it("loads, matches its sha256, takes the committed extractors' features and passes onnx.checker", async () => {
    const head = await loadHead(HEAD);
    expect(head.onnx.length).toBeLessThan(10 * 1024 * 1024);
    expect(head.json.tasks.map((t) => t.name)).toEqual(['emotion', 'valence', 'arousal']);
    expect(Object.keys(head.json.features).sort()).toEqual(['audio', 'image', 'text']);
    // The sentence embedding with the lexical bag after it, and the MFCC statistics with prosody.
    expect(head.json.features.text!.name).toBe('text-universal-sentence-encoder-lite-mean+lex131072');
    expect(head.json.features.text!.dim).toBe(512 + 512);
    expect(head.json.features.text!.lexical).toEqual({
      tokenizer: 'emoflow-lexical-1',
      hash: 'fnv1a-32',
      buckets: 131072,
      maxIds: 256,
      wordNgrams: 2,
      charNgrams: [3, 5],
      dim: 16,
    });
    expect(head.json.features.audio!.name).toBe('audio-mfcc-stats+prosody');
    expect(head.json.features.audio!.dim).toBe(97);
    // The speech temperature fitted on corpora the speech model never heard (speech-calibration.ts).
    expect(head.json.modalityTemperature!.audio).toBeGreaterThan(1);
    expect(head.json.notice).toMatch(/non-commercial/);
    expect(head.json.training.corpora.map((c) => c.samples)).toEqual([
      9989, 43410, 16000, 8062, 9934, 8652, 588, 792, 535, 378, 371, 20000,
    ]);
    // Label priors: logit adjustment (outputs under a uniform prior), applied as they are by default.
    expect(head.json.priors!['emotion']!.base).toBe('uniform');
    expect(head.json.priors!['emotion']!.default).toBe('uniform');
    // Fusion measured on dev pairs (dev texts with dev faces of the same class) beats either alone.
    const dev = head.json.metrics['devByCorpus'] as Record<
      string,
      { tasks: { emotion: { accuracy: number } } }
    >;
    const fused = dev['paired:emotion']!.tasks.emotion.accuracy;
    expect(fused).toBeGreaterThan(dev['paired:emotion (text only)']!.tasks.emotion.accuracy);
    expect(fused).toBeGreaterThan(dev['paired:emotion (image only)']!.tasks.emotion.accuracy);
    if (!skipPythonReference) expect((await checkWithPythonOnnx(head.onnx)).ok).toBe(true);
  });

  it.skipIf(FER2013.missing)(
    `evaluates raw face images end to end (extract through the cache, then the head) ${FER2013.tag}`,
    async () => {
      const out = join(cache, 'fer2013.json');
      const r = await emoflow([
        'eval',
        '--head',
        HEAD,
        '--data',
        `fer2013:${FER2013.path}`,
        '--cache',
        cache,
        '--json',
        out,
        '--no-progress',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const ev = JSON.parse(readFileSync(out, 'utf8')) as EvalJson & { prior: { choice: string } };
      expect(ev.samples).toBe(1050);
      // FER2013 is not among the head's training corpora: the head's default prior.
      expect(ev.prior.choice).toBe('uniform');
      expect(ev.tasks.emotion.confusion.flat().reduce((a, b) => a + b, 0)).toBe(1050);
      // Far above the 1/7 of chance (these FER2013 training faces are the CNN's own training data).
      expect(ev.tasks.emotion.accuracy).toBeGreaterThan(0.4);
    },
  );

  it.skipIf(EMODB.missing)(
    `evaluates raw speech end to end (EmoDB, boredom left out) under EmoDB's own prior ${EMODB.tag}`,
    async () => {
      const r = await emoflow([
        'eval',
        '--head',
        HEAD,
        '--data',
        `emodb:${EMODB.path}`,
        '--cache',
        cache,
        '--no-progress',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const ev = r.json<EvalJson & { prior: { choice: string; shares: number[] } }>();
      expect(ev.samples).toBe(535);
      // EmoDB is one of the head's training corpora: a spec naming it gets its class shares.
      expect(ev.prior.choice).toBe('corpus:emodb');
      const head = await loadHead(HEAD);
      const shares = head.json.priors!['emotion']!.corpora['emodb']!;
      ev.prior.shares.forEach((v, k) => expect(v).toBeCloseTo(shares[k]!, 3));
      expect(ev.tasks.emotion.confusion.flat().reduce((a, b) => a + b, 0)).toBe(535 - 81);
      expect(ev.tasks.emotion.uar).toBeGreaterThan(0);
    },
  );
});

describe('the default head under a stated prior (--prior)', () => {
  interface Rec {
    id: string;
    status: string;
    scores: Record<string, number> | null;
    modalities: Record<string, { scores?: Record<string, number> }>;
  }
  const run = async (prior: string): Promise<Map<string, Rec>> => {
    const out = join(cache, `examples-${prior.replace(/\W/g, '_')}.jsonl`);
    const r = await emoflow([
      'ingest',
      join(repoRoot, 'examples'),
      '--out',
      out,
      '--prior',
      prior,
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const recs = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Rec);
    return new Map(recs.map((r) => [r.id, r]));
  };

  it('gives normalise(p_uniform · π / π_base) for the same features, fused and per modality', async () => {
    const head = await loadHead(HEAD);
    const record = head.json.priors!['emotion']!;
    const labels = head.json.tasks.find((t) => t.name === 'emotion')! as { labels: string[] };
    const base =
      record.base === 'uniform' ? labels.labels.map(() => 1 / labels.labels.length) : record.training;
    const uniform = await run('uniform');
    const training = await run('training');
    const custom = await run('1,1,1,1,8,1,1');
    const expectShifted = (p: Record<string, number>, q: Record<string, number>, pi: number[]) => {
      const w = labels.labels.map((l, k) => (p[l]! * pi[k]!) / base[k]!);
      const z = w.reduce((a, b) => a + b, 0);
      // Records round to 4 decimals: compare within that.
      labels.labels.forEach((l, k) => expect(q[l]!).toBeCloseTo(w[k]! / z, 2));
    };
    const piTraining = record.training.map((v) => v / record.training.reduce((a, b) => a + b, 0));
    let compared = 0;
    for (const [id, u] of uniform) {
      if (u.scores === null) continue;
      expectShifted(u.scores, training.get(id)!.scores!, piTraining);
      expectShifted(
        u.scores,
        custom.get(id)!.scores!,
        [1, 1, 1, 1, 8, 1, 1].map((v) => v / 14),
      );
      for (const [m, mod] of Object.entries(u.modalities))
        if (mod.scores !== undefined)
          expectShifted(mod.scores, training.get(id)!.modalities[m]!.scores!, piTraining);
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
    // The neutral-heavy weights make neutral the label of more samples, never fewer.
    const neutralArgmax = (m: Map<string, Rec>) =>
      [...m.values()].filter(
        (r) => r.scores !== null && Object.entries(r.scores).every(([, v]) => v <= r.scores!['neutral']!),
      ).length;
    expect(neutralArgmax(custom)).toBeGreaterThanOrEqual(neutralArgmax(uniform));
  });

  it('refuses a malformed prior and an unknown corpus with CONFIG_INVALID', async () => {
    for (const bad of ['1,2,3', 'corpus:nope']) {
      const r = await emoflow([
        'ingest',
        join(repoRoot, 'examples'),
        '--out',
        join(cache, 'bad.jsonl'),
        '--force',
        '--prior',
        bad,
        '--no-progress',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/CONFIG_INVALID/);
    }
  });
});
