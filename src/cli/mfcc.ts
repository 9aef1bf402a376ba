import { readInput } from '../io/paths.js';
import { decodeWav } from '../io/wav.js';
import { mfccWithDeltas } from '../features/audio/mfcc.js';
import { SAMPLE_RATE } from '../features/audio/mfcc.js';
import { resample } from '../features/audio/resample.js';
import { EmoflowError } from '../core/errors.js';
import { defineCommand, printJson } from './command.js';
import { SUMMARIES } from './command-summaries.js';

/** Rows of a time-major [frames][dims] array as nested number arrays, for JSON. */
function rows(a: Float32Array, dims: number): number[][] {
  const out: number[][] = [];
  for (let t = 0; t < a.length; t += dims) out.push(Array.from(a.subarray(t, t + dims)));
  return out;
}

export const mfccCommand = defineCommand({
  spec: {
    name: 'mfcc',
    summary: SUMMARIES['mfcc'],
    positionals: [
      { name: 'wav', description: 'a WAV file (PCM 8/16/24/32-bit, float 32/64, any channels and rate)' },
    ],
    flags: {
      json: {
        type: 'boolean',
        description: 'print {"sampleRate","frames","mfcc","delta","delta2"} as one JSON line',
      },
    },
    examples: ['emoflow mfcc speech.wav --json'],
  },
  async run({ flags, positionals }, io) {
    const path = positionals[0]!;
    const wav = decodeWav(await readInput(path), path);
    const x = resample(wav.mono, wav.sampleRate, SAMPLE_RATE);
    if (x.length <= 200) {
      throw new EmoflowError(
        'AUDIO_EMPTY',
        `${path}: ${x.length} samples at 16 kHz; the MFCC needs more than 200`,
        { path },
      );
    }
    const r = mfccWithDeltas(x);
    const result = {
      sampleRate: SAMPLE_RATE,
      frames: r.frames,
      mfcc: rows(r.mfcc, 13),
      delta: rows(r.delta, 13),
      delta2: rows(r.delta2, 13),
    };
    if (flags.json) printJson(io, result);
    else {
      io.out(
        `${path}: ${wav.sampleRate} Hz, ${wav.channels} channel(s), ${wav.format} ${wav.bitsPerSample}-bit, ${r.frames} frames at 16 kHz\n`,
      );
      io.out('frame  ' + Array.from({ length: 13 }, (_, i) => `c${i}`.padStart(9)).join('') + '\n');
      result.mfcc.forEach((row, t) =>
        io.out(String(t).padStart(5) + '  ' + row.map((v) => v.toFixed(3).padStart(9)).join('') + '\n'),
      );
    }
    return 0;
  },
});
