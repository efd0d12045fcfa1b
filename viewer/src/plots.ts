// Small line plots on a plain 2D canvas: series over a shared x axis, gaps where a value is null,
// an optional cursor, axes with round ticks and their names, and "no data" when there is nothing to
// draw. Enough for episode traces and learning curves.

import type { Series } from './curves.ts';
import { niceTicks, tickLabels } from './ticks.ts';

export type { Series };

export interface PlotOptions {
  title: string;
  series: Series[];
  /** x of each index; default the index itself. */
  x?: ReadonlyArray<number>;
  xLabel?: string;
  /** The y axis's name, written along it (tall plots only). */
  yLabel?: string;
  /** Fixed y range (e.g. [0, 1] for success); default from the data. */
  yRange?: readonly [number, number];
  /** Index of the cursor line, if any. */
  cursor?: number | null;
  /** Said in the middle of a plot with nothing to draw (default "no data"). */
  emptyText?: string;
}

/**
 * Margins around the data area. Tall plots (learning curves) get ticks on both axes with their
 * names beside them; short strips (the replay's traces) keep the tick labels and put the x axis's
 * name after its last label.
 */
function layout(canvas: HTMLCanvasElement): { left: number; right: number; top: number; bottom: number; tall: boolean } {
  const tall = (canvas.clientHeight || 100) >= 120;
  return tall ? { left: 64, right: 14, top: 20, bottom: 36, tall } : { left: 52, right: 10, top: 18, bottom: 20, tall };
}

/** Plot area of a canvas in CSS pixels (where the data is drawn), for mapping pointer positions. */
export function plotArea(canvas: HTMLCanvasElement): { left: number; width: number } {
  const margin = layout(canvas);
  return { left: margin.left, width: Math.max(1, canvas.clientWidth - margin.left - margin.right) };
}

/** Index nearest to a pointer's x on a plot drawn with `count` points over the index axis. */
export function indexAtPointer(canvas: HTMLCanvasElement, clientX: number, count: number): number {
  const { left, width } = plotArea(canvas);
  const x = clientX - canvas.getBoundingClientRect().left - left;
  return Math.max(0, Math.min(count - 1, Math.round((x / width) * (count - 1))));
}

const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);

/**
 * Draws the plot. What it drew is left on the canvas for tests and tools: data-x-ticks and
 * data-y-ticks (the tick labels, joined by "|") and data-empty ("true" when there was nothing to draw).
 */
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
  const margin = layout(canvas);
  const left = margin.left, top = margin.top, width = Math.max(1, cssWidth - margin.left - margin.right), height = Math.max(1, cssHeight - margin.top - margin.bottom);

  const count = Math.max(0, ...options.series.map((s) => s.values.length));
  const xs = options.x ?? Array.from({ length: count }, (_, i) => i);
  const empty = !options.series.some((s) => s.values.some((v, i) => i < xs.length && finite(v)));
  const xMin = xs.length ? xs[0] : 0, xMax = xs.length > 1 ? xs[xs.length - 1] : xMin + 1;
  let [yMin, yMax] = options.yRange ?? [Infinity, -Infinity];
  if (!options.yRange) {
    for (const s of options.series) for (const v of s.values) if (finite(v)) { yMin = Math.min(yMin, v); yMax = Math.max(yMax, v); }
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
  g.textAlign = 'left';
  g.fillText(options.title, left, 3);
  // Legend on the title line, right-aligned.
  let legendX = cssWidth - margin.right;
  for (const s of [...options.series].reverse()) {
    const w = g.measureText(s.label).width;
    legendX -= w;
    g.fillStyle = s.colour;
    g.fillText(s.label, legendX, 3);
    legendX -= 14;
  }

  // Axes: a grid line, a tick and a label at each round value; the axes' names beside them.
  const yTicks = empty ? { ticks: [], step: 1 } : niceTicks(yMin, yMax, Math.max(2, Math.floor(height / 28)));
  const xTicks = empty ? { ticks: [], step: 1 } : niceTicks(xMin, xMax, Math.max(2, Math.floor(width / 90)));
  const yLabels = tickLabels(yTicks.ticks, yTicks.step), xLabels = tickLabels(xTicks.ticks, xTicks.step);
  g.lineWidth = 1;
  g.strokeStyle = '#1e293b';
  g.beginPath();
  for (const y of yTicks.ticks) { const Y = Math.round(py(y)) + 0.5; g.moveTo(left, Y); g.lineTo(left + width, Y); }
  for (const x of xTicks.ticks) { const X = Math.round(px(x)) + 0.5; g.moveTo(X, top); g.lineTo(X, top + height); }
  g.stroke();
  g.strokeStyle = '#475569';
  g.strokeRect(left + 0.5, top + 0.5, width, height);
  g.beginPath();
  for (const y of yTicks.ticks) { const Y = Math.round(py(y)) + 0.5; g.moveTo(left - 4, Y); g.lineTo(left, Y); }
  for (const x of xTicks.ticks) { const X = Math.round(px(x)) + 0.5; g.moveTo(X, top + height); g.lineTo(X, top + height + 4); }
  g.stroke();
  g.fillStyle = '#94a3b8';
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  yTicks.ticks.forEach((y, i) => g.fillText(yLabels[i], left - 6, py(y)));
  g.textBaseline = 'top';
  // A short strip writes the x axis's name after the tick labels, on their line: labels that would run into it go.
  const xNameStart = !margin.tall && options.xLabel ? cssWidth - margin.right - g.measureText(options.xLabel).width - 6 : cssWidth;
  xTicks.ticks.forEach((x, i) => {
    // Labels at the ends stay inside the canvas.
    const w = g.measureText(xLabels[i]).width, X = Math.min(Math.max(px(x) - w / 2, 0), cssWidth - w);
    if (X + w > xNameStart) return;
    g.textAlign = 'left';
    g.fillText(xLabels[i], X, top + height + 5);
  });
  g.fillStyle = '#cbd5e1';
  if (margin.tall) {
    if (options.xLabel) { g.textAlign = 'center'; g.fillText(options.xLabel, left + width / 2, top + height + 20); }
    if (options.yLabel) {
      g.save();
      g.translate(12, top + height / 2);
      g.rotate(-Math.PI / 2);
      g.textAlign = 'center';
      g.textBaseline = 'middle';
      g.fillText(options.yLabel, 0, 0);
      g.restore();
    }
  } else if (options.xLabel) {
    g.textAlign = 'right';
    g.fillText(options.xLabel, cssWidth - margin.right, top + height + 5);
  }
  g.textAlign = 'left';
  canvas.dataset.xTicks = xLabels.join('|');
  canvas.dataset.yTicks = yLabels.join('|');
  canvas.dataset.empty = String(empty);

  if (empty) {
    g.fillStyle = '#94a3b8';
    g.font = '13px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(options.emptyText ?? 'no data', left + width / 2, top + height / 2);
    g.textAlign = 'left';
    return;
  }

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
