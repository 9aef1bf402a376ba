import { EMOTIONS, type Emotion } from '../core/labels.js';
import { escapeHtml } from '../eval/report.js';
import { round4 } from './flatten.js';
import type { PredictionRecord } from '../pipeline/record.js';

/**
 * Output records summed up per file, speaker or group (`emoflow summarise`, docs/timelines.md):
 * how many records, how they ended, the distribution of their labels, mean valence and arousal,
 * and for timelines the share of speech time per emotion.
 */

export type SummaryKey = 'file' | 'speaker' | 'group';

export interface SummaryRow {
  key: string;
  /** Records with this key. */
  records: number;
  ok: number;
  partial: number;
  failed: number;
  /** Records per label (records without a label are not counted). */
  labels: Record<Emotion, number>;
  /** `labels` as shares of the labelled records; 0 everywhere when none is labelled. */
  labelShares: Record<Emotion, number>;
  /** Mean of the records' valence / arousal where they have one; null where none has. */
  valence: number | null;
  arousal: number | null;
  /** Seconds covered by the records' segments (0 without timelines). */
  segmentSeconds: number;
  /** Of those seconds, the share each emotion labels; null without timelines. */
  timeShares: Record<Emotion, number> | null;
}

/** Where each record's speaker and group come from: the input the records were made from. */
export type KeyOf = (record: PredictionRecord) => string | undefined;

/**
 * One row per key, in order of first appearance. A record without a key (no speaker given) is
 * counted under '' (shown as "(none)" in the page).
 */
export function summarise(records: readonly PredictionRecord[], keyOf: KeyOf): SummaryRow[] {
  const rows = new Map<string, SummaryRow>();
  const sums = new Map<string, { valence: [number, number]; arousal: [number, number]; time: number[] }>();
  for (const r of records) {
    const key = keyOf(r) ?? '';
    let row = rows.get(key);
    if (row === undefined) {
      row = {
        key,
        records: 0,
        ok: 0,
        partial: 0,
        failed: 0,
        labels: zeros(),
        labelShares: zeros(),
        valence: null,
        arousal: null,
        segmentSeconds: 0,
        timeShares: null,
      };
      rows.set(key, row);
      sums.set(key, { valence: [0, 0], arousal: [0, 0], time: EMOTIONS.map(() => 0) });
    }
    const s = sums.get(key)!;
    row.records++;
    row[r.status]++;
    if (r.label !== null) row.labels[r.label]++;
    for (const k of ['valence', 'arousal'] as const) {
      const v = r[k];
      if (v !== null) {
        s[k][0] += v;
        s[k][1]++;
      }
    }
    for (const seg of r.segments ?? []) {
      const d = seg.end - seg.start;
      row.segmentSeconds += d;
      s.time[EMOTIONS.indexOf(seg.label)]! += d;
    }
  }
  for (const row of rows.values()) {
    const s = sums.get(row.key)!;
    const labelled = EMOTIONS.reduce((n, e) => n + row.labels[e], 0);
    for (const e of EMOTIONS) row.labelShares[e] = labelled > 0 ? row.labels[e] / labelled : 0;
    row.valence = s.valence[1] > 0 ? s.valence[0] / s.valence[1] : null;
    row.arousal = s.arousal[1] > 0 ? s.arousal[0] / s.arousal[1] : null;
    if (row.segmentSeconds > 0) {
      const shares = zeros();
      EMOTIONS.forEach((e, c) => (shares[e] = s.time[c]! / row.segmentSeconds));
      row.timeShares = shares;
    }
  }
  return [...rows.values()];
}

function zeros(): Record<Emotion, number> {
  return Object.fromEntries(EMOTIONS.map((e) => [e, 0])) as Record<Emotion, number>;
}

/** The flat columns of the CSV: key, counts, each label's count and share, means, time shares. */
export function summaryColumns(): string[] {
  return [
    'key',
    'records',
    'ok',
    'partial',
    'failed',
    ...EMOTIONS.map((e) => `${e}_records`),
    ...EMOTIONS.map((e) => `${e}_share`),
    'valence',
    'arousal',
    'segment_seconds',
    ...EMOTIONS.map((e) => `${e}_time_share`),
  ];
}

/** A row of the CSV, numbers rounded to 4 decimals, empty where there is no value. */
export function summaryCsvRow(row: SummaryRow): (string | number | null)[] {
  return [
    row.key,
    row.records,
    row.ok,
    row.partial,
    row.failed,
    ...EMOTIONS.map((e) => row.labels[e]),
    ...EMOTIONS.map((e) => round4(row.labelShares[e])),
    row.valence === null ? null : round4(row.valence),
    row.arousal === null ? null : round4(row.arousal),
    round4(row.segmentSeconds),
    ...EMOTIONS.map((e) => (row.timeShares === null ? null : round4(row.timeShares[e]))),
  ];
}

// ---------------------------------------------------------------------------------------------
// The HTML page

/** One colour per emotion, in EMOTIONS order (distinguishable, and readable on white). */
const COLOURS: Record<Emotion, string> = {
  anger: '#d62728',
  disgust: '#8c564b',
  fear: '#9467bd',
  joy: '#ffbf00',
  neutral: '#9e9e9e',
  sadness: '#1f77b4',
  surprise: '#2ca02c',
};

/**
 * A timeline as inline SVG: the recording's length as an axis in seconds, each segment a bar in
 * its label's colour (its tooltip: times, label and score).
 */
export function timelineSvg(record: PredictionRecord, totalSeconds: number): string {
  const width = 720;
  const left = 18;
  const plot = width - 2 * left;
  const x = (t: number) => Math.round((left + (t / Math.max(totalSeconds, 1e-9)) * plot) * 100) / 100;
  const step = niceStep(totalSeconds);
  const ticks: string[] = [];
  const count = Number.isFinite(totalSeconds) ? Math.floor(totalSeconds / step + 1e-9) : 0;
  for (let i = 0, t = 0; i <= count; i++, t = i * step)
    ticks.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="34" y2="38" stroke="#555"/>` +
        `<text x="${x(t)}" y="50" text-anchor="middle">${clock(t)}</text>`,
    );
  const bars = (record.segments ?? []).map((s) => {
    const title = `${clock(s.start)}–${clock(s.end)} ${s.label} ${s.scores[s.label].toFixed(2)}`;
    return (
      `<rect class="seg ${s.label}" x="${x(s.start)}" y="6" width="${Math.max(1, x(s.end) - x(s.start))}" height="26" ` +
      `fill="${COLOURS[s.label]}"><title>${escapeHtml(title)}</title></rect>`
    );
  });
  return (
    `<svg class="timeline" viewBox="0 0 ${width} 56" width="${width}" height="56" role="img" ` +
    `aria-label="${escapeHtml(`timeline of ${record.id}`)}">` +
    `<rect x="${left}" y="6" width="${plot}" height="26" fill="#f4f4f4"/>` +
    bars.join('') +
    `<line x1="${left}" x2="${left + plot}" y1="34" y2="34" stroke="#555"/>` +
    ticks.join('') +
    '</svg>'
  );
}

/** A round step between axis ticks that gives at most 10 of them. */
function niceStep(total: number): number {
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]) if (total / s <= 10) return s;
  return Math.ceil(total / 10 / 3600) * 3600;
}

/** Seconds as m:ss (h:mm:ss past an hour). */
function clock(t: number): string {
  const s = Math.round(t);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The summary page: the table of rows, then a timeline per record with segments. */
export function renderSummary(input: {
  title: string;
  by: SummaryKey;
  rows: readonly SummaryRow[];
  records: readonly PredictionRecord[];
}): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const head = [
    'key',
    'records',
    'ok / partial / failed',
    'labels',
    'valence',
    'arousal',
    'time per emotion',
  ];
  const body = input.rows.map((r) => {
    const labels = EMOTIONS.filter((e) => r.labels[e] > 0)
      .map((e) => `${e} ${r.labels[e]}`)
      .join(', ');
    const time =
      r.timeShares === null
        ? '—'
        : EMOTIONS.filter((e) => r.timeShares![e] > 0)
            .map((e) => `${e} ${pct(r.timeShares![e])}`)
            .join(', ');
    return [
      r.key === '' ? '(none)' : r.key,
      String(r.records),
      `${r.ok} / ${r.partial} / ${r.failed}`,
      labels || '—',
      r.valence === null ? '—' : r.valence.toFixed(3),
      r.arousal === null ? '—' : r.arousal.toFixed(3),
      time,
    ];
  });
  const table =
    '<table><thead><tr>' +
    head.map((h) => `<th>${escapeHtml(h)}</th>`).join('') +
    '</tr></thead><tbody>' +
    body.map((cells) => '<tr>' + cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('') + '</tr>').join('') +
    '</tbody></table>';
  const legend =
    '<p class="legend">' +
    EMOTIONS.map((e) => `<span><i style="background:${COLOURS[e]}"></i>${e}</span>`).join('') +
    '</p>';
  const timelines = input.records
    .filter((r) => (r.segments?.length ?? 0) > 0)
    .map((r) => {
      const total = r.modalities.audio?.status === 'ok' ? (r.modalities.audio.vad?.totalSeconds ?? 0) : 0;
      const end = Math.max(total, ...r.segments!.map((s) => s.end));
      return (
        `<figure><figcaption>${escapeHtml(r.id)} · ${escapeHtml(r.label ?? '—')} · ` +
        `${r.segments!.length} segments over ${clock(end)}</figcaption>${timelineSvg(r, end)}</figure>`
      );
    });
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(input.title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n<main>\n` +
    `<h1>${escapeHtml(input.title)}</h1>\n<h2>By ${input.by}</h2>\n${table}\n` +
    (timelines.length > 0 ? `<h2>Timelines</h2>\n${legend}\n${timelines.join('\n')}\n` : '') +
    '<footer>emoflow summarise</footer>\n</main>\n</body>\n</html>\n'
  );
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 16px 24px 40px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 20px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; }
figure { margin: 12px 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.timeline text { font-size: 11px; fill: #444; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
footer { color: #888; margin-top: 28px; font-size: 12px; }
`;
