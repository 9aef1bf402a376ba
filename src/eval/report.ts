/**
 * The HTML report of `emoflow eval`: one self-contained page (inline CSS and SVG, no scripts, no
 * external assets) with the metric tables, a confusion matrix and a reliability diagram per
 * classification task, and learning curves from the head's training log.
 *
 * The output is a pure function of the input (the time is passed in), so the same evaluation
 * renders byte-identical pages. Every piece of text from the input is HTML-escaped.
 */

import {
  type ClassMetrics,
  type ClassificationMetrics,
  type MultiLabelMetrics,
  type RegressionMetrics,
  type ReliabilityBin,
  type TaskMetrics,
  isClassificationMetrics,
  isMultiLabelMetrics,
  isRegressionMetrics,
} from './metrics.js';

export interface TrainingLogEntry {
  epoch: number;
  step: number;
  loss: number;
  /** The development metric the run selects on (e.g. macro-F1), where it was measured. */
  devMetric?: number;
  lr?: number;
}

export interface ReportInput {
  title: string;
  head?: { name: string; sha256: string };
  tasks: Record<string, TaskMetrics>;
  /** Reliability bins per classification task (from `reliabilityBins`). */
  reliability?: Record<string, ReliabilityBin[]>;
  trainingLog?: TrainingLogEntry[];
  /** ISO time shown in the header; passed in so the page is deterministic. */
  generated: string;
}

// ---------------------------------------------------------------------------------------------
// Text and numbers

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A metric for display: fixed decimals, an em dash when undefined (NaN, e.g. no scored rows). */
function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '—';
}

function fmtCount(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x)) : '—';
}

/** An SVG coordinate: two decimals are far below a pixel and keep the markup short. */
function px(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** Shorten a label for an axis (the full label stays in the element's tooltip). */
function shortLabel(label: string, max = 18): string {
  const chars = [...label];
  return chars.length <= max ? label : `${chars.slice(0, max - 1).join('')}…`;
}

function own<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Colour

const SCALE_LOW = [244, 247, 251] as const;
const SCALE_HIGH = [29, 78, 137] as const;

/** Sequential blue scale for a fraction in [0, 1] (confusion cells, normalised per true row). */
function heat(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const channel = (i: 0 | 1 | 2): number => Math.round(SCALE_LOW[i] + (SCALE_HIGH[i] - SCALE_LOW[i]) * f);
  return `rgb(${channel(0)},${channel(1)},${channel(2)})`;
}

// ---------------------------------------------------------------------------------------------
// Axes

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  decimals: number;
}

/** Round tick spacing (1, 2 or 5 × 10^k) giving about `count` intervals over [lo, hi]. */
function niceAxis(lo: number, hi: number, count = 5): Axis {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let k = 0; start + k * step <= end + step * 1e-9; k++) ticks.push(start + k * step);
  return { lo: start, hi: end, ticks, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

/** Tick label: fixed decimals, or exponent notation for tiny steps (learning rates). */
function tickLabel(t: number, axis: Axis): string {
  if (axis.decimals > 4) return t === 0 ? '0' : t.toExponential(1);
  return t.toFixed(axis.decimals);
}

function fixedAxis(lo: number, hi: number, ticks: number[], decimals: number): Axis {
  return { lo, hi, ticks, decimals };
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

/**
 * Heat map of a confusion matrix: rows are the true class, columns the predicted one; each cell shows
 * its count, coloured by its share of the row (so rare classes read as clearly as frequent ones).
 */
export function confusionSvg(labels: readonly string[], confusion: readonly (readonly number[])[]): string {
  const C = labels.length;
  const cell = Math.max(26, Math.min(56, Math.floor(480 / Math.max(C, 1))));
  const font = Math.max(9, Math.min(13, Math.round(cell * 0.28)));
  const longest = Math.max(1, ...labels.map((l) => [...shortLabel(l)].length));
  const left = 28 + Math.ceil(longest * font * 0.62) + 8;
  const top = 24 + Math.ceil(longest * font * 0.62 * 0.71) + 12;
  const right = 56;
  const width = left + C * cell + right;
  const height = top + C * cell + 12;

  const parts: string[] = [];
  parts.push(
    `<svg class="confusion" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" role="img" aria-label="Confusion matrix, rows true class, columns predicted class">`,
  );
  parts.push(
    `<text class="axis-title" x="${px(left + (C * cell) / 2)}" y="14" text-anchor="middle">Predicted</text>`,
    `<text class="axis-title" x="14" y="${px(top + (C * cell) / 2)}" text-anchor="middle" ` +
      `transform="rotate(-90 14 ${px(top + (C * cell) / 2)})">True</text>`,
    `<text class="axis-note" x="${px(left + C * cell + 8)}" y="${px(top - 6)}">n</text>`,
  );
  for (let c = 0; c < C; c++) {
    const label = labels[c]!;
    const x = left + c * cell + cell / 2;
    parts.push(
      `<text class="tick" x="${px(x)}" y="${px(top - 6)}" font-size="${font}" ` +
        `transform="rotate(-45 ${px(x)} ${px(top - 6)})"><title>${escapeHtml(label)}</title>` +
        `${escapeHtml(shortLabel(label))}</text>`,
    );
  }
  for (let t = 0; t < C; t++) {
    const row = confusion[t] ?? [];
    let total = 0;
    for (let p = 0; p < C; p++) total += row[p] ?? 0;
    const y = top + t * cell;
    const label = labels[t]!;
    parts.push(
      `<text class="tick" x="${px(left - 6)}" y="${px(y + cell / 2)}" font-size="${font}" text-anchor="end" ` +
        `dominant-baseline="central"><title>${escapeHtml(label)}</title>${escapeHtml(shortLabel(label))}</text>`,
    );
    for (let p = 0; p < C; p++) {
      const count = row[p] ?? 0;
      const share = total === 0 ? 0 : count / total;
      const x = left + p * cell;
      const tip = `true ${labels[t]!} → predicted ${labels[p]!}: ${fmtCount(count)} (${(share * 100).toFixed(1)}% of row)`;
      parts.push(
        `<g><title>${escapeHtml(tip)}</title>` +
          `<rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${heat(share)}"` +
          `${t === p ? ' class="diagonal"' : ''}/>` +
          `<text x="${px(x + cell / 2)}" y="${px(y + cell / 2)}" font-size="${font}" text-anchor="middle" ` +
          `dominant-baseline="central" class="${share > 0.55 ? 'on-dark' : 'on-light'}">${fmtCount(count)}</text></g>`,
      );
    }
    parts.push(
      `<text class="axis-note" x="${px(left + C * cell + 8)}" y="${px(y + cell / 2)}" font-size="${font}" ` +
        `dominant-baseline="central">${fmtCount(total)}</text>`,
    );
  }
  parts.push(
    `<rect class="frame" x="${left}" y="${top}" width="${C * cell}" height="${C * cell}"/>`,
    '</svg>',
  );
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Reliability diagram

/**
 * Reliability diagram: for each confidence bin, a bar of the bin's accuracy, the gap to its mean
 * confidence shaded, against the diagonal of perfect calibration (Guo et al. 2017, fig. 1).
 */
export function reliabilitySvg(bins: readonly ReliabilityBin[], eceValue?: number): string {
  const W = 380;
  const H = 320;
  const m = { left: 52, right: 16, top: 34, bottom: 48 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const sx = (v: number): number => m.left + v * pw;
  const sy = (v: number): number => m.top + (1 - v) * ph;
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];

  const parts: string[] = [];
  const label = `Reliability diagram${eceValue !== undefined && Number.isFinite(eceValue) ? `, ECE ${fmt(eceValue)}` : ''}`;
  parts.push(
    `<svg class="reliability" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
      `viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(label)}">`,
  );
  parts.push(
    gridAndAxes(fixedAxis(0, 1, ticks, 1), fixedAxis(0, 1, ticks, 1), sx, sy, m.left, m.top, pw, ph),
  );
  for (const b of bins) {
    if (b.count === 0) continue;
    const x0 = sx(b.lo) + 0.5;
    const x1 = sx(b.hi) - 0.5;
    const acc = b.accuracy;
    const conf = b.confidence;
    const tip =
      `confidence ${fmt(b.lo, 2)}–${fmt(b.hi, 2)}: ${fmtCount(b.count)} rows, ` +
      `mean confidence ${fmt(conf, 3)}, accuracy ${fmt(acc, 3)}`;
    parts.push(
      `<g><title>${escapeHtml(tip)}</title>` +
        `<rect class="bar" x="${px(x0)}" y="${px(sy(acc))}" width="${px(x1 - x0)}" height="${px(sy(0) - sy(acc))}"/>` +
        `<rect class="gap" x="${px(x0)}" y="${px(sy(Math.max(acc, conf)))}" width="${px(x1 - x0)}" ` +
        `height="${px(Math.abs(sy(acc) - sy(conf)))}"/></g>`,
    );
  }
  parts.push(
    `<line class="ideal" x1="${px(sx(0))}" y1="${px(sy(0))}" x2="${px(sx(1))}" y2="${px(sy(1))}"/>`,
    `<text class="axis-title" x="${px(m.left + pw / 2)}" y="${H - 10}" text-anchor="middle">Confidence (max probability)</text>`,
    `<text class="axis-title" x="14" y="${px(m.top + ph / 2)}" text-anchor="middle" ` +
      `transform="rotate(-90 14 ${px(m.top + ph / 2)})">Accuracy</text>`,
    legend(12, 10, [
      ['bar', 'accuracy'],
      ['gap', 'gap to confidence'],
      ['ideal', 'perfect calibration'],
    ]),
    '</svg>',
  );
  return parts.join('');
}

/** A one-row legend; each item is about 6.2 px per character wide at the legend's 11 px font. */
function legend(x: number, y: number, items: readonly [cls: string, text: string][]): string {
  let xx = x;
  const parts = items.map(([cls, text]) => {
    const swatch =
      cls === 'ideal'
        ? `<line class="${cls}" x1="${xx}" y1="${y + 5}" x2="${xx + 14}" y2="${y + 5}"/>`
        : `<rect class="${cls}" x="${xx}" y="${y}" width="14" height="10"/>`;
    const item = `${swatch}<text class="legend" x="${xx + 18}" y="${y + 9}">${escapeHtml(text)}</text>`;
    xx += 18 + Math.ceil(text.length * 6.2) + 14;
    return item;
  });
  return `<g>${parts.join('')}</g>`;
}

function gridAndAxes(
  xAxis: Axis,
  yAxis: Axis,
  sx: (v: number) => number,
  sy: (v: number) => number,
  left: number,
  top: number,
  pw: number,
  ph: number,
): string {
  const parts: string[] = [];
  for (const t of yAxis.ticks) {
    const y = px(sy(t));
    parts.push(
      `<line class="grid" x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}"/>`,
      `<text class="tick" x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="central">` +
        `${tickLabel(t, yAxis)}</text>`,
    );
  }
  for (const t of xAxis.ticks) {
    const x = px(sx(t));
    parts.push(
      `<line class="grid" x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}"/>`,
      `<text class="tick" x="${x}" y="${top + ph + 16}" text-anchor="middle">${tickLabel(t, xAxis)}</text>`,
    );
  }
  parts.push(`<rect class="frame" x="${left}" y="${top}" width="${pw}" height="${ph}"/>`);
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Learning curves

interface Point {
  x: number;
  y: number;
  epoch: number;
}

interface XScale {
  title: string;
  lo: number;
  hi: number;
  /** Where each epoch after the first begins: `[x, epoch]`. */
  epochStarts: readonly [number, number][];
}

/**
 * One line chart of a training-log series, with dotted lines where an epoch begins. All charts of a
 * log share the x range, so that they line up one above the other.
 */
function lineChartSvg(
  cls: string,
  title: string,
  yTitle: string,
  points: readonly Point[],
  x: XScale,
): string {
  const W = 560;
  const H = 260;
  const m = { left: 64, right: 16, top: 28, bottom: 44 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  let ylo = Infinity;
  let yhi = -Infinity;
  for (const p of points) {
    ylo = Math.min(ylo, p.y);
    yhi = Math.max(yhi, p.y);
  }
  const xAxis = niceAxis(x.lo, x.hi, 6);
  const yAxis = niceAxis(ylo, yhi, 5);
  const sx = (v: number): number => m.left + ((v - xAxis.lo) / (xAxis.hi - xAxis.lo)) * pw;
  const sy = (v: number): number => m.top + (1 - (v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * ph;

  const parts: string[] = [];
  parts.push(
    `<svg class="curve ${cls}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
      `viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text class="chart-title" x="${m.left}" y="16">${escapeHtml(title)}</text>`,
    gridAndAxes(xAxis, yAxis, sx, sy, m.left, m.top, pw, ph),
  );
  // Epoch boundaries, when few enough to read.
  if (x.epochStarts.length <= 40) {
    for (const [at, epoch] of x.epochStarts) {
      parts.push(
        `<line class="epoch" x1="${px(sx(at))}" y1="${m.top}" x2="${px(sx(at))}" y2="${m.top + ph}">` +
          `<title>${escapeHtml(`epoch ${epoch} starts at ${x.title.toLowerCase()} ${at}`)}</title></line>`,
      );
    }
  }
  const path = points.map((p) => `${px(sx(p.x))},${px(sy(p.y))}`).join(' ');
  parts.push(`<polyline class="line ${cls}" points="${path}"/>`);
  if (points.length <= 60) {
    for (const p of points) {
      parts.push(
        `<circle class="dot ${cls}" cx="${px(sx(p.x))}" cy="${px(sy(p.y))}" r="2.5">` +
          `<title>${escapeHtml(`epoch ${p.epoch}, step ${p.x}: ${fmt(p.y)}`)}</title></circle>`,
      );
    }
  }
  parts.push(
    `<text class="axis-title" x="${px(m.left + pw / 2)}" y="${H - 8}" text-anchor="middle">${escapeHtml(x.title)}</text>`,
    `<text class="axis-title" x="14" y="${px(m.top + ph / 2)}" text-anchor="middle" ` +
      `transform="rotate(-90 14 ${px(m.top + ph / 2)})">${escapeHtml(yTitle)}</text>`,
    '</svg>',
  );
  return parts.join('');
}

/** Loss, dev metric and learning rate over steps (or over log rows when steps are not recorded). */
export function learningCurvesSvg(log: readonly TrainingLogEntry[]): string[] {
  // Steps on the x axis when the log records them (all finite, not all equal); else the row number.
  const stepsUsable =
    log.length > 1 && log.some((e) => e.step !== log[0]!.step) && log.every((e) => Number.isFinite(e.step));
  const xOf = (e: TrainingLogEntry, i: number): number => (stepsUsable ? e.step : i);
  const xs = log.map(xOf);
  const epochStarts: [number, number][] = [];
  log.forEach((e, i) => {
    if (i > 0 && e.epoch !== log[i - 1]!.epoch) epochStarts.push([xs[i]!, e.epoch]);
  });
  const x: XScale = {
    title: stepsUsable ? 'Step' : 'Log entry',
    // reduce, not Math.min(...xs): a long log would overflow the argument list.
    lo: xs.reduce((a, b) => Math.min(a, b), Infinity),
    hi: xs.reduce((a, b) => Math.max(a, b), -Infinity),
    epochStarts,
  };
  const series = (pick: (e: TrainingLogEntry) => number | undefined): Point[] => {
    const out: Point[] = [];
    log.forEach((e, i) => {
      const y = pick(e);
      if (y !== undefined && Number.isFinite(y)) {
        out.push({ x: xs[i]!, y, epoch: e.epoch });
      }
    });
    return out;
  };
  const charts: string[] = [];
  const loss = series((e) => e.loss);
  if (loss.length > 0) charts.push(lineChartSvg('loss', 'Training loss', 'loss', loss, x));
  const dev = series((e) => e.devMetric);
  if (dev.length > 0) charts.push(lineChartSvg('dev', 'Development metric', 'dev metric', dev, x));
  const lr = series((e) => e.lr);
  if (lr.length > 0) charts.push(lineChartSvg('lr', 'Learning rate', 'lr', lr, x));
  return charts;
}

// ---------------------------------------------------------------------------------------------
// Tables

/** A table of pre-escaped cells; columns whose index passes `numeric` are right-aligned. */
function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: (column: number) => boolean = (column) => column > 0,
): string {
  const cls = (i: number): string => (numeric(i) ? ' class="num"' : '');
  const th = headers.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function perClassTable(
  labels: readonly string[],
  perClass: Record<string, ClassMetrics & { threshold?: number }>,
  withThreshold: boolean,
): string {
  const headers = ['class', 'precision', 'recall', 'F1', 'support', ...(withThreshold ? ['threshold'] : [])];
  const rows = labels.map((label) => {
    const m = own(perClass, label);
    const cells = [
      escapeHtml(label),
      fmt(m?.precision ?? NaN),
      fmt(m?.recall ?? NaN),
      fmt(m?.f1 ?? NaN),
      fmtCount(m?.support ?? NaN),
    ];
    if (withThreshold) cells.push(fmt(m?.threshold ?? NaN, 2));
    return cells;
  });
  return table(headers, rows);
}

// ---------------------------------------------------------------------------------------------
// Page

const STYLE = `
:root{color-scheme:light}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1b1f24;
background:#fafbfc;margin:0}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.25em;margin:36px 0 12px;padding-bottom:4px;border-bottom:1px solid #d8dee4}
h3{font-size:1em;margin:20px 0 8px;color:#424a53}
.meta{color:#57606a;margin:0}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
table{border-collapse:collapse;margin:4px 0 12px;background:#fff;font-variant-numeric:tabular-nums}
th,td{padding:5px 12px;border-bottom:1px solid #e5e9ee;text-align:left}
th{font-weight:600;background:#f3f5f8}
td.num,th.num{text-align:right}
tbody tr:hover{background:#f6f8fa}
.row{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #e5e9ee;border-radius:6px;padding:12px}
figcaption{font-size:13px;color:#57606a;margin-top:6px;max-width:520px}
.note{color:#57606a;font-size:13px}
svg text{font-family:inherit;font-size:11px;fill:#424a53}
svg .axis-title,svg .chart-title{font-size:12px;font-weight:600;fill:#1b1f24}
svg .axis-note{fill:#8c959f}
svg text.on-dark{fill:#ffffff}
svg text.on-light{fill:#1b1f24}
svg .diagonal{stroke:#1b1f24;stroke-width:1.5}
svg rect{stroke:#ffffff;stroke-width:1}
svg .grid{stroke:#eef1f4}
svg .frame{fill:none;stroke:#9aa5b1}
svg .bar{fill:#3b75b8;stroke:none}
svg .gap{fill:#d1495b;fill-opacity:.35;stroke:#d1495b;stroke-width:1}
svg .ideal{stroke:#57606a;stroke-dasharray:4 3;stroke-width:1.5}
svg .epoch{stroke:#c9d1d9;stroke-dasharray:2 3}
svg .line{fill:none;stroke-width:2}
svg .line.loss{stroke:#3b75b8} svg .dot.loss{fill:#3b75b8}
svg .line.dev{stroke:#e07b24} svg .dot.dev{fill:#e07b24}
svg .line.lr{stroke:#4d9a5d} svg .dot.lr{fill:#4d9a5d}
svg .legend{font-size:11px}
footer{color:#8c959f;font-size:12px;margin-top:40px}
`;

function kindOf(m: TaskMetrics): 'classification' | 'multi-label' | 'regression' {
  if (isClassificationMetrics(m)) return 'classification';
  if (isMultiLabelMetrics(m)) return 'multi-label';
  return 'regression';
}

function classificationSection(
  name: string,
  m: ClassificationMetrics,
  bins: ReliabilityBin[] | undefined,
): string {
  const parts: string[] = [`<section><h2>${escapeHtml(name)} <span class="note">classification</span></h2>`];
  parts.push(
    table(
      ['samples', 'excluded', 'accuracy', 'macro-F1', 'weighted-F1', 'UAR', 'ECE'],
      [
        [
          fmtCount(m.samples),
          fmtCount(m.excluded),
          fmt(m.accuracy),
          fmt(m.macroF1),
          fmt(m.weightedF1),
          fmt(m.uar),
          fmt(m.ece),
        ],
      ],
      () => true,
    ),
  );
  parts.push(
    `<p class="note">${averagedOverNote('Macro-F1 and UAR average', m.labels, m.macroAveragedOver)}</p>`,
  );
  parts.push('<div class="row">');
  parts.push(`<div><h3>Per class</h3>${perClassTable(m.labels, m.perClass, false)}</div>`);
  parts.push(
    `<figure>${confusionSvg(m.labels, m.confusion)}<figcaption>Confusion matrix: rows are the true class, ` +
      'columns the predicted one (argmax). Cells show counts, shaded by their share of the row; n is the row ' +
      'total.</figcaption></figure>',
  );
  if (bins !== undefined && bins.length > 0) {
    const scored = bins.reduce((s, b) => s + b.count, 0);
    parts.push(
      `<figure>${reliabilitySvg(bins, m.ece)}<figcaption>Reliability: ${bins.length} equal-width bins of the ` +
        `max probability over ${fmtCount(scored)} rows; ECE ${fmt(m.ece)} is the row-weighted mean of the ` +
        'shaded gaps.</figcaption></figure>',
    );
  }
  parts.push('</div></section>');
  return parts.join('');
}

function multiLabelSection(name: string, m: MultiLabelMetrics): string {
  const labels = Object.keys(m.perClass);
  return (
    `<section><h2>${escapeHtml(name)} <span class="note">multi-label</span></h2>` +
    table(
      ['samples', 'micro-F1', 'macro-F1'],
      [[fmtCount(m.samples), fmt(m.microF1), fmt(m.macroF1)]],
      () => true,
    ) +
    '<p class="note">A row predicts its argmax plus every class at or above that class\u2019s threshold. ' +
    `${averagedOverNote('Macro-F1 averages', labels, m.macroAveragedOver)}</p>` +
    `<h3>Per class</h3>${perClassTable(labels, m.perClass, true)}</section>`
  );
}

/** Which classes a macro average covers, naming those left out for want of a true row. */
function averagedOverNote(what: string, labels: readonly string[], over: readonly string[]): string {
  const kept = new Set(over);
  const left = labels.filter((l) => !kept.has(l));
  if (left.length === 0) return `${what} over all ${labels.length} classes.`;
  return (
    `${what} over the ${over.length} of ${labels.length} classes present in the truth; ` +
    `left out (in no row\u2019s truth): ${left.map(escapeHtml).join(', ')}.`
  );
}

function regressionRow(name: string, m: RegressionMetrics): string[] {
  return [escapeHtml(name), fmtCount(m.samples), fmt(m.ccc), fmt(m.pearson), fmt(m.mae), fmt(m.rmse)];
}

function summary(tasks: readonly [string, TaskMetrics][]): string {
  const rows = tasks.map(([name, m]) => {
    const kind = kindOf(m);
    let headline: string;
    if (isClassificationMetrics(m)) {
      headline = `accuracy ${fmt(m.accuracy)} · macro-F1 ${fmt(m.macroF1)} · UAR ${fmt(m.uar)}`;
    } else if (isMultiLabelMetrics(m)) {
      headline = `micro-F1 ${fmt(m.microF1)} · macro-F1 ${fmt(m.macroF1)}`;
    } else {
      headline = `CCC ${fmt(m.ccc)} · Pearson ${fmt(m.pearson)} · RMSE ${fmt(m.rmse)}`;
    }
    return [escapeHtml(name), kind, fmtCount(m.samples), headline];
  });
  return table(['task', 'type', 'samples', 'headline'], rows, (column) => column === 2);
}

/** The whole report page. */
export function renderReport(input: ReportInput): string {
  const tasks = Object.entries(input.tasks);
  const body: string[] = [];
  body.push(`<header><h1>${escapeHtml(input.title)}</h1>`);
  const meta: string[] = [];
  if (input.head !== undefined) {
    meta.push(
      `head <strong>${escapeHtml(input.head.name)}</strong> (sha256 <code>${escapeHtml(input.head.sha256)}</code>)`,
    );
  }
  meta.push(`generated ${escapeHtml(input.generated)}`);
  body.push(`<p class="meta">${meta.join(' · ')}</p></header>`);

  if (tasks.length > 0) {
    body.push(`<section><h2>Summary</h2>${summary(tasks)}</section>`);
  } else {
    body.push('<p class="note">No task was evaluated.</p>');
  }

  for (const [name, m] of tasks) {
    if (isClassificationMetrics(m)) body.push(classificationSection(name, m, own(input.reliability, name)));
    else if (isMultiLabelMetrics(m)) body.push(multiLabelSection(name, m));
  }

  const regression = tasks.filter((t): t is [string, RegressionMetrics] => isRegressionMetrics(t[1]));
  if (regression.length > 0) {
    body.push(
      '<section><h2>Regression</h2>' +
        table(
          ['task', 'samples', 'CCC', 'Pearson', 'MAE', 'RMSE'],
          regression.map(([name, m]) => regressionRow(name, m)),
        ) +
        '<p class="note">CCC is Lin\u2019s concordance correlation coefficient (population variances).</p></section>',
    );
  }

  const charts = learningCurvesSvg(input.trainingLog ?? []);
  if (charts.length > 0) {
    body.push(
      '<section><h2>Training</h2><div class="row">' +
        charts.map((svg) => `<figure>${svg}</figure>`).join('') +
        '</div><p class="note">Dotted vertical lines mark the start of each epoch.</p></section>',
    );
  }

  body.push('<footer>emoflow eval report</footer>');
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(input.title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n<main>\n` +
    body.join('\n') +
    '\n</main>\n</body>\n</html>\n'
  );
}
