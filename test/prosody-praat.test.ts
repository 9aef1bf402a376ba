import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trackPitch } from '../src/features/audio/pitch.js';
import { decodeWav } from '../src/io/wav.js';
import { fixture, sharedNeeds } from './support/paths.js';

/**
 * The YIN tracker (src/features/audio/pitch.ts) against an independent one: Praat's
 * autocorrelation tracker ("To Pitch: 0.01, 60, 500", test/fixtures/praat/pitch.praat), run headless
 * on real 16 kHz clips, two from each speech corpus (the first two in path order; the voicing
 * settings were chosen on other clips). Each Praat frame is compared with our frame nearest in time
 * (Praat's frames are centred in the clip, ours at multiples of 10 ms: at most 5 ms apart).
 *
 * Tolerances, over all clips' frames together: voicing agreement >= 90 %; on frames both call
 * voiced, median |ΔF0| / F0_praat < 2 % and gross errors (> 20 %, mostly octave errors) < 5 %.
 * Per clip, voicing agreement >= 80 %.
 */

const CORPORA = ['ravdess', 'emodb', 'emovo', 'nemo'];
const NEED = sharedNeeds(...CORPORA.map((c) => `data/speech/${c}`));

function praatInstalled(): boolean {
  try {
    execFileSync('praat', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const HAS_PRAAT = praatInstalled();

function wavs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...wavs(p));
    else if (e.name.endsWith('.wav')) out.push(p);
  }
  return out.sort();
}

interface ClipResult {
  clip: string;
  frames: number;
  agree: number;
  both: number;
  relErrors: number[];
}

describe.skipIf(NEED.missing || !HAS_PRAAT)(
  `YIN F0 against Praat on real clips ${NEED.tag}${HAS_PRAAT ? '' : ' (skipped: praat is not installed; apt-get install praat)'}`,
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'emoflow-praat-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));
    const results: ClipResult[] = [];

    it('agrees with Praat on voicing and F0 (2 clips from each of RAVDESS, EmoDB, EMOVO, nEMO)', () => {
      for (const path of NEED.paths.flatMap((dir) => wavs(dir).slice(0, 2))) {
        const out = join(tmp, `${results.length}.txt`);
        execFileSync('praat', ['--run', fixture('praat', 'pitch.praat'), path, out]);
        const ref = readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ').map(Number) as [number, number]);
        const ours = trackPitch(decodeWav(new Uint8Array(readFileSync(path)), path).mono);
        const r: ClipResult = { clip: path, frames: 0, agree: 0, both: 0, relErrors: [] };
        for (const [t, fp] of ref) {
          const k = Math.round(t / ours.hopSeconds);
          if (k >= ours.frames) continue;
          const fo = ours.f0[k]!;
          r.frames++;
          if (fo > 0 === fp > 0) r.agree++;
          if (fo > 0 && fp > 0) {
            r.both++;
            r.relErrors.push(Math.abs(fo - fp) / fp);
          }
        }
        results.push(r);
      }
      expect(results).toHaveLength(8);
      const frames = results.reduce((a, r) => a + r.frames, 0);
      const agree = results.reduce((a, r) => a + r.agree, 0) / frames;
      const errors = results.flatMap((r) => r.relErrors).sort((a, b) => a - b);
      const median = errors[errors.length >> 1]!;
      const gross = errors.filter((e) => e > 0.2).length / errors.length;
      console.log(
        `praat reference: ${results.length} clips, ${frames} frames, voicing agreement ${(100 * agree).toFixed(1)} %, ` +
          `${errors.length} frames voiced in both, median |dF0|/F0 ${(100 * median).toFixed(2)} %, gross (> 20 %) ${(100 * gross).toFixed(1)} %`,
      );
      for (const r of results) expect(r.agree / r.frames, r.clip).toBeGreaterThanOrEqual(0.8);
      expect(errors.length).toBeGreaterThan(500);
      expect(agree).toBeGreaterThanOrEqual(0.9);
      expect(median).toBeLessThan(0.02);
      expect(gross).toBeLessThan(0.05);
    }, 120_000);
  },
);
