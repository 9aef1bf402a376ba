import type { CliIO } from './command.js';

export interface ProgressBar {
  /** `done` of `total` (undefined while unknown: a count without a bar); `extra` ends the line. */
  update(done: number, total: number | undefined, extra?: string): void;
  /** Ends the line, if anything was drawn. */
  done(): void;
}

/**
 * The CLI's one progress bar: `[####....] done/total ETA … · rate/s · extra` on stderr, redrawn in
 * place at most every 100 ms (and at the end) on a terminal, silent otherwise (logs and CI stay
 * clean) or when not `enabled` (--no-progress). `label` starts the line when given.
 */
export function progressBar(io: CliIO, options: { label?: string; enabled?: boolean } = {}): ProgressBar {
  const enabled = options.enabled ?? true;
  const head = options.label === undefined ? '' : `${options.label}: `;
  const t0 = performance.now();
  let drawn = false;
  let last = 0;
  return {
    update(done, total, extra) {
      if (!enabled || !io.interactive) return;
      const now = performance.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const s = (now - t0) / 1000;
      const rate = s > 0 ? done / s : 0;
      const width = 24;
      let bar = '';
      let tail = `${done}`;
      if (total !== undefined && total > 0) {
        const f = Math.min(1, done / total);
        bar = `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] `;
        const eta = rate > 0 ? (total - done) / rate : 0;
        tail = `${done}/${total} ETA ${formatSeconds(eta)}`;
      }
      io.err(`\r${head}${bar}${tail} · ${rate.toFixed(1)}/s${extra === undefined ? '' : ` · ${extra}`}   `);
      drawn = true;
    },
    done() {
      if (drawn) io.err('\n');
    },
  };
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
