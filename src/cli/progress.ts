import type { CliIO } from './command.js';

/**
 * Progress with rate and ETA on stderr, redrawn in place on a terminal and silent otherwise
 * (logs and CI stay clean).
 */
export function progressReporter(
  io: CliIO,
  label: string,
): { update: (done: number, total: number) => void; done: () => void } {
  const t0 = Date.now();
  let drawn = false;
  return {
    update(done, total) {
      if (!io.interactive) return;
      const s = (Date.now() - t0) / 1000;
      const rate = s > 0 ? done / s : 0;
      const eta = rate > 0 ? (total - done) / rate : 0;
      io.err(`\r${label}: ${done}/${total} (${rate.toFixed(1)}/s, ETA ${eta.toFixed(0)} s)   `);
      drawn = true;
    },
    done() {
      if (drawn) io.err('\n');
    },
  };
}
