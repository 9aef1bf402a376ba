import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emoflow } from '../support/cli.js';

interface Rec {
  id: string;
  status: string;
  label: string | null;
  scores: Record<string, number> | null;
  modalities: Record<string, { contribution?: number; face?: { framing: string }; label?: string }>;
  warnings: { code: string; message: string }[];
}

// Runs on the committed default head and models only: no corpora needed.
describe('an image without a face: FACE_NOT_FOUND, and no weight in the fused result', () => {
  let work: string;
  let records: Map<string, Rec>;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'emoflow-noface-'));
    // A "coffee cup": a brown disc on a pale table, and a 1x1 PNG; neither holds a face.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="180"><rect width="240" height="180" fill="#e8e0d0"/><ellipse cx="120" cy="95" rx="60" ry="45" fill="#5a3a22"/><ellipse cx="120" cy="85" rx="48" ry="28" fill="#2b180c"/></svg>`;
    await sharp(Buffer.from(svg)).jpeg().toFile(join(work, 'cup.jpg'));
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toFile(join(work, 'dot.png'));
    const text = 'I cannot believe they cancelled it again, I am so angry';
    await writeFile(
      join(work, 'samples.jsonl'),
      [
        { id: 'cup', image: 'cup.jpg' },
        { id: 'dot', image: 'dot.png' },
        { id: 'text', text },
        { id: 'text+cup', text, image: 'cup.jpg' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const out = join(work, 'out.jsonl');
    const run = await emoflow(['ingest', join(work, 'samples.jsonl'), '--out', out, '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    records = new Map(lines.map((l) => JSON.parse(l) as Rec).map((r) => [r.id, r]));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('warns FACE_NOT_FOUND on each faceless image and keeps the status', () => {
    for (const id of ['cup', 'dot', 'text+cup']) {
      const r = records.get(id)!;
      expect(r.status).toBe('ok');
      expect(r.modalities['image']!.face!.framing).toBe('no-face');
      expect(r.warnings.map((w) => w.code)).toContain('FACE_NOT_FOUND');
    }
    expect(records.get('text')!.warnings.map((w) => w.code)).not.toContain('FACE_NOT_FOUND');
  });

  it('fuses text with a faceless image exactly as the text alone', () => {
    const alone = records.get('text')!;
    const both = records.get('text+cup')!;
    expect(both.label).toBe(alone.label);
    for (const [k, v] of Object.entries(alone.scores!)) expect(both.scores![k]).toBeCloseTo(v, 5);
    expect(both.modalities['image']!.contribution).toBe(0);
    expect(both.modalities['text']!.contribution).toBeCloseTo(1, 5);
    // The image is still scored on its own, for inspection.
    expect(both.modalities['image']!.label).toBe(records.get('cup')!.label);
  });
});
