// Viewer frame-time benchmark: headless Chromium with software GL (SwiftShader) watching one live
// sim (the reach expert at 80 Hz) on a local gateway. Frame times come from requestAnimationFrame
// timestamps collected in the page; render times are the WebGL render calls' wall time. Prints a
// table and writes bench/results/viewer.json. Run: `npx tsx bench/viewer.ts [--seconds 10]`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { startGateway } from '../bridge/server.ts';
import { simBenchmark } from '../bridge/sims.ts';
import { buildViewer } from '../viewer/build.ts';
import type { ViewerHooks } from '../viewer/src/hooks.ts';
import { CHROMIUM, launchBrowser } from '../viewer/browser.ts';

export interface ViewerBenchOptions {
  /** Timed seconds per row (default 10). */
  seconds?: number;
  /** Untimed seconds after the first frame arrives (default 3). */
  warmupSeconds?: number;
  family?: string;
  /** Page sizes (CSS pixels); the 3D view is the page less the sidebar and HUD margins. */
  viewports?: Array<{ width: number; height: number }>;
  log?: (line: string) => void;
}

export interface ViewerBenchRow {
  viewport: string;
  canvas: string;
  frames: number;
  medianFrameMs: number;
  p95FrameMs: number;
  maxFrameMs: number;
  fps: number;
  renders: number;
  rendersPerSec: number;
  medianRenderMs: number;
  p95RenderMs: number;
  /** Live frames the page received per second (the sim's rate as seen through the gateway). */
  liveFramesPerSec: number;
}

export interface ViewerBenchResult {
  date: string;
  /** loadAverage: the 1-minute load average at the end (other processes share the cores and the software GL). */
  machine: { cpus: number; model: string; node: string; loadAverage: number };
  chromium: string;
  gl: string;
  /** Whether the 3D canvas multisampled (the viewer turns it off under software GL). */
  antialias: boolean;
  family: string;
  seconds: number;
  rows: ViewerBenchRow[];
}

const quantile = (sorted: number[], q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

type Hooks = { metamanipViewer: ViewerHooks };

export async function runViewerBench(options: ViewerBenchOptions = {}): Promise<ViewerBenchResult> {
  const seconds = options.seconds ?? 10, warmup = options.warmupSeconds ?? 3, family = options.family ?? 'reach';
  const viewports = options.viewports ?? [{ width: 1100, height: 760 }, { width: 1920, height: 1080 }];
  const log = options.log ?? (() => {});
  const viewerDir = await buildViewer();
  const gateway = await startGateway({ port: 0, viewerDir, runRoots: [] });
  const sim = gateway.drive(simBenchmark({ family })).id;
  const browser = await launchBrowser();
  const rows: ViewerBenchRow[] = [];
  let gl = 'unknown', antialias = false;
  try {
    for (const viewport of viewports) {
      const page = await browser.newPage({ viewport });
      await page.goto(`${gateway.httpUrl}/#sim=${sim}`, { waitUntil: 'load', timeout: 60_000 });
      await page.waitForFunction(() => {
        const hooks = (globalThis as unknown as Partial<Hooks>).metamanipViewer;
        return hooks !== undefined && hooks.snapshot().framesReceived > 0;
      }, undefined, { timeout: 60_000 });
      const glInfo = await page.evaluate(() => (globalThis as unknown as Hooks).metamanipViewer.gl());
      gl = glInfo.renderer;
      antialias = glInfo.antialias;
      log(`${viewport.width}x${viewport.height}: warming up ${warmup} s`);
      await page.waitForTimeout(warmup * 1000);
      const before = await page.evaluate(() => {
        const hooks = (globalThis as unknown as Hooks).metamanipViewer;
        hooks.resetFrameTimes();
        return { received: hooks.snapshot().framesReceived, renders: hooks.renders(), time: performance.now() };
      });
      log(`${viewport.width}x${viewport.height}: measuring ${seconds} s`);
      await page.waitForTimeout(seconds * 1000);
      const after = await page.evaluate(() => {
        const hooks = (globalThis as unknown as Hooks).metamanipViewer;
        const canvas = hooks.sample(4);
        return { frameTimes: hooks.frameTimes(), renderTimes: hooks.renderTimes(), received: hooks.snapshot().framesReceived, renders: hooks.renders(), time: performance.now(), canvas: `${canvas.width}x${canvas.height}` };
      });
      await page.close();
      const elapsed = (after.time - before.time) / 1000;
      const intervals = after.frameTimes.slice(1).map((t, i) => t - after.frameTimes[i]).sort((a, b) => a - b);
      const renderTimes = [...after.renderTimes].sort((a, b) => a - b);
      const span = after.frameTimes.length > 1 ? after.frameTimes[after.frameTimes.length - 1] - after.frameTimes[0] : NaN;
      const renders = after.renders - before.renders - 1; // less the sampling render
      rows.push({
        viewport: `${viewport.width}x${viewport.height}`,
        canvas: after.canvas,
        frames: intervals.length,
        medianFrameMs: quantile(intervals, 0.5),
        p95FrameMs: quantile(intervals, 0.95),
        maxFrameMs: intervals[intervals.length - 1] ?? NaN,
        fps: intervals.length / (span / 1000),
        renders,
        rendersPerSec: renders / elapsed,
        medianRenderMs: quantile(renderTimes, 0.5),
        p95RenderMs: quantile(renderTimes, 0.95),
        liveFramesPerSec: (after.received - before.received) / elapsed,
      });
    }
  } finally {
    await browser.close();
    await gateway.close();
  }
  const version = await chromiumVersion();
  return { date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: loadavg()[0] }, chromium: version, gl, antialias, family, seconds, rows };
}

async function chromiumVersion(): Promise<string> {
  const browser = await launchBrowser();
  try {
    return `${CHROMIUM} ${browser.version()}`;
  } finally {
    await browser.close();
  }
}

export function formatViewerBench(r: ViewerBenchResult): string {
  const lines = [
    `viewer benchmark: ${r.family} expert live at 80 Hz, headless Chromium (${r.chromium}), GL: ${r.gl}, antialias ${r.antialias ? 'on' : 'off'}`,
    `${r.machine.cpus} cores (${r.machine.model}, load average ${r.machine.loadAverage.toFixed(1)}), ${r.seconds} s per row; frame = interval between requestAnimationFrame callbacks`,
    '',
    'viewport    canvas      frame median   frame p95   fps    renders/s   render median   render p95   live frames/s',
    ...r.rows.map((row) => `${row.viewport.padEnd(11)} ${row.canvas.padEnd(11)} ${row.medianFrameMs.toFixed(1).padStart(9)} ms ${row.p95FrameMs.toFixed(1).padStart(8)} ms ${row.fps.toFixed(1).padStart(6)} ${row.rendersPerSec.toFixed(1).padStart(10)} ${row.medianRenderMs.toFixed(2).padStart(12)} ms ${row.p95RenderMs.toFixed(2).padStart(9)} ms ${row.liveFramesPerSec.toFixed(1).padStart(13)}`),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, out: { type: 'string' }, family: { type: 'string' } } });
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(seconds > 0)) throw new Error(`--seconds must be a positive number, got '${values.seconds}'`);
  const result = await runViewerBench({ seconds, family: values.family, log: (line) => process.stderr.write(line + '\n') });
  const out = values.out ?? 'bench/results/viewer.json';
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`${formatViewerBench(result)}\n\nwrote ${out}`);
}
