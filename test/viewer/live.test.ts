// The viewer in headless Chromium against a real gateway whose reach sim is driven by its scripted
// expert: the 3D view is drawn and moves, the HUD follows the sim, a lost connection is shown and
// recovered, and a training run's learning curves are drawn.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startGateway, type Gateway } from '../../bridge/server.ts';
import { simBenchmark } from '../../bridge/sims.ts';
import { buildViewer } from '../../viewer/build.ts';
import { launchBrowser, openViewer, pixelDifference, sampleCanvas, saveArtifacts, snapshot, waitForSnapshot, type ViewerPage } from '../../viewer/browser.ts';

const TOKEN = 'viewer-test-token';
let browser: Browser;
let gateway: Gateway;
let viewerDir: string;
let viewer: ViewerPage | null = null;
let simId: string;

const start = (port = 0) => startGateway({ port, token: TOKEN, viewerDir, runRoots: ['training'] });

beforeAll(async () => {
  viewerDir = await buildViewer();
  gateway = await start();
  // Each episode on another goal: the reach expert arrives within half a second and then holds
  // still, so with one goal every episode's resting picture was the same and two samples taken at
  // rest could match across an episode boundary (a flaky comparison).
  simId = gateway.drive({ ...simBenchmark({ family: 'reach' }), schedule: { tasks: [0, 1, 2, 3, 4], episodesPerTask: 1 } }).id;
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
}, 60_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await saveArtifacts(viewer, `live-${context.task.name}`);
  await viewer?.page.close();
  viewer = null;
}, 60_000);

describe('live view', () => {
  it('draws the arm and its scene and redraws as the expert moves it; the HUD follows the sim', async () => {
    viewer = await openViewer(browser, `${gateway.httpUrl}/?token=${TOKEN}#sim=${simId}`);
    const { page } = viewer;
    const first = await waitForSnapshot(page, (s) => s.mode === 'live' && s.framesReceived > 5 && s.bodies.length > 0, 'live frames');
    expect(first.sims).toContain(simId);
    expect(first.bodies).toEqual(expect.arrayContaining(['table', 'column', 'hand', 'leftFinger', 'rightFinger']));

    const before = await sampleCanvas(page);
    expect(before.width).toBeGreaterThan(200);
    // Not blank: the table, arm, floor and background give many colours.
    expect(before.distinctColours).toBeGreaterThan(20);

    // The arm moves while the expert reaches; an episode at 80 Hz lasts about 6 s, and the next one
    // reaches another goal, so within a few seconds the picture must change.
    let difference = 0, stepsSeen = new Set<number>();
    for (let attempt = 0; attempt < 30 && difference < 0.002; attempt++) {
      await page.waitForTimeout(400);
      const after = await sampleCanvas(page);
      difference = pixelDifference(before, after);
      stepsSeen.add((await snapshot(page)).step ?? -1);
    }
    expect(stepsSeen.size).toBeGreaterThan(1);
    expect(difference).toBeGreaterThan(0.002);

    const hud = Object.fromEntries(await page.locator('[data-hud]').evaluateAll((cells) => cells.map((c) => [c.getAttribute('data-hud'), c.textContent])));
    expect(hud.family).toBe('reach');
    expect(hud.policy).toBe('expert');
    expect(hud.source).toContain(simId);
    expect(Number(hud.step)).toBeGreaterThanOrEqual(0);
    expect(['yes', 'no']).toContain(hud.success);
    expect(Number.isFinite(Number.parseFloat(hud.reward ?? ''))).toBe(true);
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect(viewer.errors).toEqual([]);
  }, 180_000);

  it('shows a lost connection and reconnects on its own when the gateway comes back', async () => {
    viewer = await openViewer(browser, `${gateway.httpUrl}/?token=${TOKEN}#sim=${simId}`);
    const { page } = viewer;
    await waitForSnapshot(page, (s) => s.framesReceived > 5, 'live frames');
    const port = gateway.port;
    await gateway.close();
    await waitForSnapshot(page, (s) => s.connection !== 'open', 'the connection to be reported lost', 30_000);
    await page.locator('#banner').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#banner').textContent()).toMatch(/connection lost/i);
    expect(await page.locator('#connection').getAttribute('data-state')).not.toBe('open');

    gateway = await start(port);
    // Ids restart with the new gateway: its first sim is the one the page watched.
    expect(gateway.drive(simBenchmark({ family: 'reach' })).id).toBe(simId);
    const lostAt = (await snapshot(page)).framesReceived;
    await waitForSnapshot(page, (s) => s.connection === 'open' && s.framesReceived > lostAt + 5, 'reconnection and new frames', 60_000);
    await page.locator('#banner').waitFor({ state: 'hidden', timeout: 10_000 });
    // The only errors allowed are the browser's reports of the refused reconnection attempts.
    expect(viewer.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
  }, 180_000);

  it("lists the gateway's training runs and draws a run's learning curves", async () => {
    viewer = await openViewer(browser, `${gateway.httpUrl}/?token=${TOKEN}`);
    const { page } = viewer;
    const run = page.locator('#runs li[data-value="training/ml1-reach"]');
    await run.waitFor({ timeout: 30_000 });
    await run.click();
    await waitForSnapshot(page, (s) => s.mode === 'runs' && s.run === 'training/ml1-reach', 'the runs view');
    await page.locator('#run-summary', { hasText: /iterations/ }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#run-summary').textContent()).toMatch(/^\d+ iterations, \d+ evaluations$/);
    // The curves are drawn: the return plot's canvas is not blank.
    const inked = await page.locator('#plot-trial-return').evaluate((canvas) => {
      const c = canvas as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      return painted;
    });
    expect(inked).toBeGreaterThan(500);
    expect(viewer.errors).toEqual([]);
  }, 120_000);
});
