// Small line plots on a plain 2D canvas: series over a shared x axis, gaps where a value is null,
// an optional cursor, and axis labels. Enough for episode traces and learning curves.

import type { Series } from './curves.ts';

export type { Series };

export interface PlotOptions {
  title: string;
  series: Series[];
  /** x of each index; default the index itself. */
  x?: ReadonlyArray<number>;
  xLabel?: string;
  /** Fixed y range (e.g. [0, 1] for success); default from the data. */
  yRange?: readonly [number, number];
  /** Index of the cursor line, if any. */
  cursor?: number | null;
}

const MARGIN = { left: 52, right: 10, top: 18, bottom: 20 };

/** Plot area of a canvas in CSS pixels (where the data is drawn), for mapping pointer positions. */
export function plotArea(canvas: HTMLCanvasElement): { left: number; width: number } {
  return { left: MARGIN.left, width: Math.max(1, canvas.clientWidth - MARGIN.left - MARGIN.right) };
}

/** Index nearest to a pointer's x on a plot drawn with `count` points over the index axis. */
export function indexAtPointer(canvas: HTMLCanvasElement, clientX: number, count: number): number {
  const { left, width } = plotArea(canvas);
  const x = clientX - canvas.getBoundingClientRect().left - left;
  return Math.max(0, Math.min(count - 1, Math.round((x / width) * (count - 1))));
}

const niceNumber = (v: number): string => {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-2)) return v.toExponential(1);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
};

export function drawPlot(canvas: HTMLCanvasElement, options: PlotOptions): void {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 300, cssHeight = canvas.clientHeight || 100;
  if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(cssHeight * ratio);
  }
  const g = canvas.getContext('2d');
  if (!g) return;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);
  const left = MARGIN.left, top = MARGIN.top, width = Math.max(1, cssWidth - MARGIN.left - MARGIN.right), height = Math.max(1, cssHeight - MARGIN.top - MARGIN.bottom);

  const count = Math.max(0, ...options.series.map((s) => s.values.length));
  const xs = options.x ?? Array.from({ length: count }, (_, i) => i);
  const xMin = xs.length ? xs[0] : 0, xMax = xs.length > 1 ? xs[xs.length - 1] : xMin + 1;
  let [yMin, yMax] = options.yRange ?? [Infinity, -Infinity];
  if (!options.yRange) {
    for (const s of options.series) for (const v of s.values) if (v !== null && Number.isFinite(v)) { yMin = Math.min(yMin, v); yMax = Math.max(yMax, v); }
    if (!Number.isFinite(yMin)) { yMin = 0; yMax = 1; }
    if (yMax - yMin < 1e-9) { yMin -= 0.5; yMax += 0.5; }
    const pad = (yMax - yMin) * 0.05;
    yMin -= pad; yMax += pad;
  }
  const px = (x: number) => left + ((x - xMin) / (xMax - xMin || 1)) * width;
  const py = (y: number) => top + (1 - (y - yMin) / (yMax - yMin)) * height;

  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#cbd5e1';
  g.textBaseline = 'top';
  g.fillText(options.title, left, 3);
  // Legend on the title line, right-aligned.
  let legendX = cssWidth - MARGIN.right;
  for (const s of [...options.series].reverse()) {
    const w = g.measureText(s.label).width;
    legendX -= w;
    g.fillStyle = s.colour;
    g.fillText(s.label, legendX, 3);
    legendX -= 14;
  }

  g.strokeStyle = '#334155';
  g.lineWidth = 1;
  g.strokeRect(left + 0.5, top + 0.5, width, height);
  g.fillStyle = '#94a3b8';
  g.textBaseline = 'middle';
  g.textAlign = 'right';
  for (const y of [yMin, (yMin + yMax) / 2, yMax]) g.fillText(niceNumber(y), left - 4, py(y));
  g.textAlign = 'left';
  g.textBaseline = 'top';
  g.fillText(niceNumber(xMin), left, top + height + 3);
  g.textAlign = 'right';
  g.fillText(`${options.xLabel ? options.xLabel + ' ' : ''}${niceNumber(xMax)}`, left + width, top + height + 3);
  g.textAlign = 'left';

  g.save();
  g.beginPath();
  g.rect(left, top, width, height);
  g.clip();
  for (const s of options.series) {
    g.strokeStyle = s.colour;
    g.fillStyle = s.colour;
    g.lineWidth = 1.5;
    g.beginPath();
    let pen = false, lastY = 0;
    s.values.forEach((v, i) => {
      if (i >= xs.length) return;
      if (v === null || !Number.isFinite(v)) { if (!s.connectGaps) pen = false; return; }
      const X = px(xs[i]), Y = py(v);
      if (!pen) g.moveTo(X, Y);
      else if (s.stepped) { g.lineTo(X, lastY); g.lineTo(X, Y); }
      else g.lineTo(X, Y);
      pen = true;
      lastY = Y;
    });
    g.stroke();
    if (s.dots) s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || i >= xs.length) return;
      g.beginPath();
      g.arc(px(xs[i]), py(v), 2.5, 0, 2 * Math.PI);
      g.fill();
    });
  }
  if (options.cursor !== null && options.cursor !== undefined && options.cursor < xs.length) {
    const X = Math.round(px(xs[options.cursor])) + 0.5;
    g.strokeStyle = '#f8fafc';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(X, top);
    g.lineTo(X, top + height);
    g.stroke();
  }
  g.restore();
}
