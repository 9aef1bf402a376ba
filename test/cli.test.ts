import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/command-index.js';
import { emoflow } from './support/cli.js';
import { modelMirror, repoRoot, sharedNeed } from './support/paths.js';

const FIXTURES = sharedNeed('fixtures/mfcc');

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
    for (const c of COMMANDS) expect(top.stdout).toContain(c.name);
    for (const c of COMMANDS) {
      const r = await emoflow([...c.name.split(' '), '--help']);
      expect(r.code, c.name).toBe(0);
      expect(r.stdout).toContain(`Usage: emoflow ${c.name}`);
      expect(r.stdout).toContain(c.summary);
      expect(r.stdout).toContain('--help');
    }
  });

  it('lists each command once, and each entry loads the command of its name', async () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of COMMANDS) {
      const command = await c.load();
      expect(command.spec.name).toBe(c.name);
      expect(command.spec.summary).toBe(c.summary);
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

describe.skipIf(FIXTURES.missing)(
  `emoflow mfcc --json against the torchaudio fixtures ${FIXTURES.tag}`,
  () => {
    const names = (FIXTURES.missing ? [] : readdirSync(FIXTURES.path))
      .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
      .map((f) => f.replace(/\.json$/, ''));

    it('has the 10 shared fixtures', () => expect(names).toHaveLength(10));

    it.each(names)('%s matches within 0.02 + 1e-3*|ref| with equal frame counts', async (name) => {
      const ref = JSON.parse(readFileSync(join(FIXTURES.path, `${name}.json`), 'utf8')) as MfccJson & {
        file: string;
      };
      const r = await emoflow(['mfcc', join(FIXTURES.path, ref.file), '--json']);
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
  },
);

describe('emoflow models', () => {
  it('verify exits 0 on the committed store and 1 naming the fix when a file is missing', async () => {
    const ok = await emoflow(['models', 'verify', '--json']);
    expect(ok.code).toBe(0);
    expect(ok.json<{ ok: boolean }>().ok).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'emoflow-cli-store-'));
    try {
      copyFileSync(join(repoRoot, 'models', 'manifest.json'), join(dir, 'manifest.json'));
      const bad = await emoflow(['models', 'verify', 'silero_vad_v5', '--models-dir', dir]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/missing\s+silero_vad_v5\s+silero_vad_v5\.onnx/);
      expect(bad.stderr).toContain('emoflow models fetch');
      const fetched = await emoflow([
        'models',
        'fetch',
        'silero_vad_v5',
        '--models-dir',
        dir,
        '--from',
        modelMirror,
        '--json',
      ]);
      expect(fetched.code).toBe(0);
      expect(fetched.json<{ files: { action: string }[] }>().files.map((f) => f.action)).toEqual([
        'copied',
        'copied',
      ]);
      expect((await emoflow(['models', 'verify', 'silero_vad_v5', '--models-dir', dir])).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
