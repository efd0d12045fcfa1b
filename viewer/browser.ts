// Headless Chromium for the viewer's browser tests and benchmark: Debian's chromium driven by
// playwright-core, software WebGL (SwiftShader), kept off the network, with failure artefacts.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CanvasSampleJson, ViewerHooks, ViewerSnapshot } from './src/hooks.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve('.artifacts/viewer');

const FLAGS = [
  // Software GL: no GPU on CI machines.
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  // Off the network: only loopback resolves, and no background services phone home.
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater',
  '--metrics-recording-only',
  '--no-pings',
  '--mute-audio',
  // Keep rendering at full rate although nothing is on a screen.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...(root ? ['--no-sandbox'] : [])], timeout: 60_000 });
}

export interface ViewerPage {
  page: Page;
  /** Page errors and console errors seen so far. */
  errors: string[];
}

export async function openViewer(browser: Browser, url: string, viewport = { width: 1100, height: 760 }): Promise<ViewerPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(`console: ${message.text()}`); });
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  await page.waitForFunction(() => 'metamanipViewer' in globalThis, undefined, { timeout: 30_000 });
  return { page, errors };
}

type Hooks = { metamanipViewer: ViewerHooks };

export const snapshot = (page: Page): Promise<ViewerSnapshot> => page.evaluate(() => (globalThis as unknown as Hooks).metamanipViewer.snapshot());

export const sampleCanvas = (page: Page, grid = 48): Promise<CanvasSampleJson> =>
  page.evaluate((g) => (globalThis as unknown as Hooks).metamanipViewer.sample(g), grid);

/** Pixels of each part (`body/index`) the 3D view shows, not hidden behind others (ViewerHooks.partPixels). */
export const partPixels = (page: Page, width = 320): Promise<Record<string, number>> =>
  page.evaluate((w) => (globalThis as unknown as Hooks).metamanipViewer.partPixels(w), width);

/** Waits until the page's snapshot satisfies `test` (polled), or throws with the last snapshot. */
export async function waitForSnapshot(page: Page, test: (s: ViewerSnapshot) => boolean, what: string, timeoutMs = 60_000): Promise<ViewerSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: ViewerSnapshot | null = null;
  while (Date.now() < deadline) {
    last = await snapshot(page);
    if (test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last viewer state: ${JSON.stringify(last)}`);
}

/** Fraction of sampled pixels that differ between two captures. */
export function pixelDifference(a: CanvasSampleJson, b: CanvasSampleJson): number {
  const n = Math.min(a.pixels.length, b.pixels.length) / 4;
  let differing = 0;
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    if (Math.abs(a.pixels[o] - b.pixels[o]) + Math.abs(a.pixels[o + 1] - b.pixels[o + 1]) + Math.abs(a.pixels[o + 2] - b.pixels[o + 2]) > 6) differing++;
  }
  return n === 0 ? 0 : differing / n;
}

/** Keeps a screenshot and the page's errors under .artifacts/viewer/ (git-ignored) for a failed test. */
export async function saveArtifacts(viewer: ViewerPage | null, name: string): Promise<void> {
  if (!viewer) return;
  await mkdir(ARTIFACTS, { recursive: true });
  const stem = name.replace(/[^A-Za-z0-9_.-]+/g, '_');
  await viewer.page.screenshot({ path: join(ARTIFACTS, `${stem}.png`), timeout: 20_000 }).catch(() => {});
  const state = await snapshot(viewer.page).catch((error: Error) => `unavailable: ${error.message}`);
  await writeFile(join(ARTIFACTS, `${stem}.json`), JSON.stringify({ errors: viewer.errors, state }, null, 2));
}
