import { describe, expect, it } from 'vitest';
import { ingestProgress as progressBar } from '../src/cli/ingest.js';
import { progressBar as plainBar } from '../src/cli/progress.js';
import type { CliIO } from '../src/cli/command.js';

function io(interactive: boolean): CliIO & { text: () => string } {
  let err = '';
  return { out: () => undefined, err: (s) => (err += s), interactive, text: () => err };
}

describe('the ingest progress bar', () => {
  it('draws a bar with done/total, rate, ETA and the counts on a terminal, and ends the line', async () => {
    const t = io(true);
    const bar = progressBar(t, true);
    const records = { ok: 3, partial: 1, failed: 1 };
    await new Promise((r) => setTimeout(r, 150));
    bar.update({ done: 5, total: 20, records });
    bar.update({ done: 20, total: 20, records: { ok: 17, partial: 2, failed: 1 } });
    bar.done();
    const frames = t
      .text()
      .split('\r')
      .filter((f) => f !== '');
    expect(frames[0]).toMatch(/^\[#{6}\.{18}\] 5\/20 ETA \d+ s · \d+\.\d\/s · ok 3 partial 1 failed 1 +$/);
    expect(frames[1]).toMatch(/^\[#{24}\] 20\/20 ETA 0 s · \d+\.\d\/s · ok 17 partial 2 failed 1 +\n$/);
  });

  it('shows a count without a bar while the total is unknown', () => {
    const t = io(true);
    progressBar(t, true).update({ done: 7, total: undefined, records: { ok: 7, partial: 0, failed: 0 } });
    expect(t.text()).toMatch(/^\r7 · \d+\.\d\/s · ok 7 partial 0 failed 0/);
  });

  it('draws nothing when stderr is not a terminal, or with --no-progress', () => {
    for (const [interactive, enabled] of [
      [false, true],
      [true, false],
    ] as const) {
      const t = io(interactive);
      const bar = progressBar(t, enabled);
      bar.update({ done: 1, total: 2, records: { ok: 1, partial: 0, failed: 0 } });
      bar.done();
      expect(t.text()).toBe('');
    }
  });
});

describe('the CLI progress bar (features, train and eval extraction)', () => {
  it('starts with its label and has no counts tail unless given one', () => {
    const t = io(true);
    const bar = plainBar(t, { label: 'features meld' });
    bar.update(10, 10);
    bar.done();
    expect(t.text()).toMatch(/^\rfeatures meld: \[#{24}\] 10\/10 ETA 0 s · \d+\.\d\/s +\n$/);
  });
});
