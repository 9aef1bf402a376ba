import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { emoflow } from './support/cli.js';
import { shared } from './support/paths.js';

interface MfccJson {
  sampleRate: number;
  frames: number;
  mfcc: number[][];
  delta: number[][];
  delta2: number[][];
}

describe('emoflow CLI', () => {
  it('prints help for the program and for every command', async () => {
    const top = await emoflow(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c.spec.name);
    for (const c of COMMANDS) {
      const r = await emoflow([...c.spec.name.split(' '), '--help']);
      expect(r.code, c.spec.name).toBe(0);
      expect(r.stdout).toContain(`Usage: emoflow ${c.spec.name}`);
      expect(r.stdout).toContain('--help');
    }
  });

  it('rejects unknown commands and bad flags with CONFIG_INVALID and exit 2', async () => {
    const a = await emoflow(['transmogrify']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^emoflow: CONFIG_INVALID: unknown command 'transmogrify'/);
    const b = await emoflow(['bench', 'text', '--threads', 'many']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--threads must be an integer');
    const c = await emoflow(['features', 'x.csv', '--out', 'o', '--device', 'tpu']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--device must be one of cpu, cuda, tensorrt, webgpu, dml, coreml');
  });

  it('fails a fatal error with one line and exit 1', async () => {
    const r = await emoflow(['mfcc', 'no/such.wav']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^emoflow: FILE_NOT_FOUND: no\/such\.wav/);
  });
});

describe('emoflow mfcc --json against the torchaudio fixtures', () => {
  const names = readdirSync(shared('fixtures/mfcc'))
    .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
    .map((f) => f.replace(/\.json$/, ''));

  it('has the 10 shared fixtures', () => expect(names).toHaveLength(10));

  it.each(names)('%s matches within 0.02 + 1e-3*|ref| with equal frame counts', async (name) => {
    const ref = JSON.parse(readFileSync(shared('fixtures/mfcc', `${name}.json`), 'utf8')) as MfccJson & {
      file: string;
    };
    const r = await emoflow(['mfcc', shared('fixtures/mfcc', ref.file), '--json']);
    expect(r.code).toBe(0);
    const got = r.json<MfccJson>();
    expect(got.sampleRate).toBe(16000);
    expect(got.frames).toBe(ref.frames);
    let worst = 0;
    for (const key of ['mfcc', 'delta', 'delta2'] as const) {
      expect(got[key]).toHaveLength(ref.frames);
      ref[key].forEach((row, t) =>
        row.forEach((v, i) => {
          const err = Math.abs(got[key][t]![i]! - v);
          expect(err).toBeLessThanOrEqual(0.02 + 1e-3 * Math.abs(v));
          worst = Math.max(worst, err);
        }),
      );
    }
    // float64 resampling keeps the whole path near the float32 MFCC stage's own error (SPEC §6).
    expect(worst).toBeLessThan(2e-3);
  });
});
