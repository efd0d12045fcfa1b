// The viewer in headless Chromium against a real gateway whose sims are driven by their scripted
// experts: the 3D view is drawn and moves, the arm shows its joints and a fixture its moving part and
// handle, the HUD follows the sim and stays readable at 1280x800, an ML10 sim's scene is redrawn when
// it switches family, a lost connection is shown and recovered, and a training run's learning
// curves are drawn with their axes (an empty run says it has no data).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startGateway, type Gateway } from '../../bridge/server.ts';
import { simBenchmark } from '../../bridge/sims.ts';
import { ManipulationEnv } from '../../sim/index.ts';
import { PALETTE } from '../../sim/palette.ts';
import type { SceneDescription } from '../../protocol/scene.ts';
import type { CanvasSampleJson, ViewerHooks, ViewerSnapshot } from '../../viewer/src/hooks.ts';
import { buildViewer } from '../../viewer/build.ts';
import { train } from '../../agent/trainer.ts';
import { resolveScenario } from '../../scenarios/scenario.ts';
import { ARTIFACTS, launchBrowser, openViewer, partPixels, pixelDifference, sampleCanvas, saveArtifacts, snapshot, waitForSnapshot, type ViewerPage } from '../../viewer/browser.ts';

const TOKEN = 'viewer-test-token';
let browser: Browser;
let gateway: Gateway;
let viewerDir: string;
let viewer: ViewerPage | null = null;
let simId: string;
/** A run root holding one run that has not finished an iteration (an empty metrics.jsonl). */
let runRoot: string;

const start = (port = 0) => startGateway({ port, token: TOKEN, viewerDir, runRoots: ['training', runRoot] });

/** Sampled pixels near a colour's hue, saturated and bright enough to be that colour lit, not a grey or the table's brown. */
function pixelsOfHue(sample: CanvasSampleJson, hex: string, hueTolerance = 12): number {
  const hsv = (r: number, g: number, b: number) => {
    const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
    const h = d === 0 ? 0 : max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    return { h: h * 60, s: max === 0 ? 0 : d / max, v: max / 255 };
  };
  const target = hsv(parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16));
  let count = 0;
  for (let i = 0; i < sample.pixels.length; i += 4) {
    const { h, s, v } = hsv(sample.pixels[i], sample.pixels[i + 1], sample.pixels[i + 2]);
    const dh = Math.min(Math.abs(h - target.h), 360 - Math.abs(h - target.h));
    if (dh <= hueTolerance && s >= 0.45 && v >= 0.25) count++;
  }
  return count;
}

/** Pixels in view of each body's parts, by part index (the scene description's order). */
const bodyPixels = (parts: Record<string, number>, body: string): number =>
  Object.entries(parts).filter(([name]) => name.startsWith(`${body}/`)).reduce((sum, [, n]) => sum + n, 0);

/** Indices of a body's parts that match a test, in the scene description. */
const partIndices = (scene: SceneDescription, body: string, test: (part: SceneDescription['bodies'][number]['parts'][number]) => boolean): number[] =>
  scene.bodies.find((b) => b.name === body)!.parts.flatMap((part, i) => (test(part) ? [i] : []));

/** The page's state, HUD text and the parts in view, read in one go (between two frames). */
const readView = (page: Page) => page.evaluate(() => {
  const hooks = (globalThis as unknown as { metamanipViewer: ViewerHooks }).metamanipViewer;
  const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
  return { state: hooks.snapshot(), family: doc.querySelector('[data-hud="family"]')?.textContent ?? '', parts: hooks.partPixels(160) } as { state: ViewerSnapshot; family: string; parts: Record<string, number> };
});

beforeAll(async () => {
  runRoot = mkdtempSync(join(tmpdir(), 'metamanip-viewer-runs-'));
  mkdirSync(join(runRoot, 'empty-run'));
  writeFileSync(join(runRoot, 'empty-run', 'config.json'), JSON.stringify({ benchmark: 'ML1:reach', iterations: 10 }));
  writeFileSync(join(runRoot, 'empty-run', 'metrics.jsonl'), '');
  // A real (tiny) training run with an evaluation at each iteration: its evaluations.jsonl holds the
  // adaptation curves the run page plots.
  await train(resolveScenario({
    name: 'bandit-run', benchmark: 'bandit:k5n10', seed: 2, iterations: 3,
    rl2: { tasksPerIteration: 100, hidden: 16, ppo: { epochs: 1, minibatches: 1 } },
    evaluation: { every: 1, tasks: 100 }, checkpoints: { keepLast: 1 },
  }), { runDir: join(runRoot, 'bandit-run'), quiet: true, backend: 'wasm' });
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
  if (runRoot) rmSync(runRoot, { recursive: true, force: true });
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

  it("shows the arm's links and joints and the door's moving panel and handle; the HUD stays readable at 1280x800", async () => {
    // The arm holds still: every frame shows the same closed door, so the pixel counts below do not
    // depend on how far an expert got before the screenshot (a loaded machine delays it).
    const still = { name: 'still', act: () => [0, 0, 0, -1] };
    const door = gateway.drive({ ...simBenchmark({ family: 'door-open' }), driver: still, schedule: { tasks: [0], episodesPerTask: 13 } }).id;
    try {
      viewer = await openViewer(browser, `${gateway.httpUrl}/?token=${TOKEN}#sim=${door}`, { width: 1280, height: 800 });
      const { page } = viewer;
      await waitForSnapshot(page, (s) => s.framesReceived > 5 && s.bodies.includes('door'), 'the door-open scene');
      await page.screenshot({ path: join(ARTIFACTS, 'live-door-open-1280x800.png') });

      // Parts in view, each in its own flat colour (hidden ones count nothing).
      const env = new ManipulationEnv({ family: 'door-open' });
      const scene = env.describeScene();
      env.close();
      const parts = await partPixels(page);
      for (const link of ['column', 'upperArm', 'forearm', 'wrist', 'hand']) expect(bodyPixels(parts, link), link).toBeGreaterThan(20);
      // The pedestal (base) and a joint housing at the shoulder, elbow and wrist, drawn only.
      expect(parts[`column/${partIndices(scene, 'column', (p) => p.visualOnly && p.colour === PALETTE.armBase)[0]}`], 'pedestal').toBeGreaterThan(100);
      for (const link of ['upperArm', 'forearm', 'wrist']) {
        const housing = partIndices(scene, link, (p) => p.visualOnly && p.colour === PALETTE.armJoint)[0];
        expect(parts[`${link}/${housing}`] ?? 0, `${link} joint housing`).toBeGreaterThan(10);
      }
      // The door's panel and its handle (post and bar) are in view, not hidden by the safe or the arm.
      expect(parts['door/0'] ?? 0, 'door panel').toBeGreaterThan(100);
      const handle = partIndices(scene, 'door', (p) => p.colour === PALETTE.handle).reduce((sum, i) => sum + (parts[`door/${i}`] ?? 0), 0);
      expect(handle, 'door handle').toBeGreaterThan(15);

      // As drawn (lit): the arm's red, the moving part's teal and the handle's yellow stand out.
      const picture = await sampleCanvas(page, 200);
      // (About 800, 400 and 20 of the 40,000 samples; none of the teal or yellow in a reach scene.)
      expect(pixelsOfHue(picture, PALETTE.armLink), 'arm red').toBeGreaterThan(300);
      expect(pixelsOfHue(picture, PALETTE.moving), 'door teal').toBeGreaterThan(150);
      expect(pixelsOfHue(picture, PALETTE.handle), 'handle yellow').toBeGreaterThan(8);

      // Every HUD value shows in full, inside the 3D view: family, task, trial and episode included.
      const cells = await page.locator('#hud tr:not([hidden]) td').evaluateAll((tds) => {
        const stage = (tds[0].closest('#stage') as unknown as { getBoundingClientRect(): { right: number } }).getBoundingClientRect();
        return tds.map((td) => {
          const cell = td as unknown as { dataset: { hud: string }; textContent: string; scrollWidth: number; clientWidth: number; getBoundingClientRect(): { right: number } };
          return { field: cell.dataset.hud, text: cell.textContent, cut: cell.scrollWidth > cell.clientWidth + 1, inside: cell.getBoundingClientRect().right <= stage.right };
        });
      });
      const hud = Object.fromEntries(cells.map((c) => [c.field, c.text]));
      expect(hud.family).toBe('door-open');
      expect(hud.task).toBe('door-open · train #0 · seed 0');
      expect(hud.trial).toMatch(/^episode \d+ of 13$/);
      expect(hud.episode).toMatch(/^\d+$/);
      expect(cells.filter((c) => c.cut || !c.inside)).toEqual([]);
      expect(viewer.errors).toEqual([]);
    } finally {
      gateway.sims.close(door);
    }
  }, 180_000);

  it('redraws the scene when an ML10 sim switches family at reset', async () => {
    // ML10's train task 0 is a reach task, task 150 a door-open one: one episode each, in turn, fast.
    const ml10 = gateway.drive({ ...simBenchmark({ benchmark: 'ML10' }), rateHz: 400, schedule: { tasks: [0, 150], episodesPerTask: 1 } }).id;
    try {
      viewer = await openViewer(browser, `${gateway.httpUrl}/?token=${TOKEN}#sim=${ml10}`);
      const { page } = viewer;
      const until = async (test: (view: Awaited<ReturnType<typeof readView>>) => boolean, what: string) => {
        for (let attempt = 0; attempt < 300; attempt++) {
          const view = await readView(page);
          if (test(view)) return view;
          await page.waitForTimeout(100);
        }
        throw new Error(`timed out waiting for ${what}`);
      };
      const drawn = (view: Awaited<ReturnType<typeof readView>>, body: string) => bodyPixels(view.parts, body) > 0;
      const doorScene = await until((v) => v.state.bodies.includes('door') && drawn(v, 'door'), 'the door-open episode');
      expect(doorScene.family).toBe('door-open');
      expect(doorScene.state.bodies).not.toContain('puck');
      const reachScene = await until((v) => v.state.bodies.includes('puck') && !v.state.bodies.includes('door'), 'the next reach episode');
      expect(reachScene.family).toBe('reach');
      expect(Object.keys(reachScene.parts).filter((name) => /^(door|safe|doorMount)\//.test(name))).toEqual([]);
      expect(drawn(reachScene, 'hand')).toBe(true);
      expect(viewer.errors).toEqual([]);
    } finally {
      gateway.sims.close(ml10);
    }
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
    // Axes with ticks and their labels; the x axis in environment steps.
    for (const id of ['#plot-trial-return', '#plot-episode-return', '#plot-run-success']) {
      const plot = page.locator(id);
      expect(await plot.getAttribute('data-empty')).toBe('false');
      expect((await plot.getAttribute('data-x-ticks'))!.split('|').length, id).toBeGreaterThanOrEqual(3);
      expect((await plot.getAttribute('data-y-ticks'))!.split('|').length, id).toBeGreaterThanOrEqual(2);
    }
    expect(await page.locator('#plot-run-success').getAttribute('data-y-ticks')).toContain('1.00');
    await page.screenshot({ path: join(ARTIFACTS, 'runs-ml1-reach.png') });
    // A run from before evaluations.jsonl says it has no adaptation curve.
    expect(await page.locator('#plot-adaptation').getAttribute('data-empty')).toBe('true');

    // A run with evaluations: its adaptation curve, return by pull (a bandit has no success flag) of the trial.
    const bandit = `${basename(runRoot)}/bandit-run`;
    await page.locator(`#runs li[data-value="${bandit}"]`).click();
    await waitForSnapshot(page, (s) => s.run === bandit, 'the bandit run');
    await page.locator('#run-summary', { hasText: /^3 iterations/ }).waitFor({ timeout: 30_000 });
    const adaptation = page.locator('#plot-adaptation');
    await expect.poll(() => adaptation.getAttribute('data-empty')).toBe('false');
    expect((await adaptation.getAttribute('data-x-ticks'))!.split('|').length).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: join(ARTIFACTS, 'runs-adaptation.png') });

    // A run that has not finished an iteration says so instead of drawing empty axes.
    const empty = `${basename(runRoot)}/empty-run`;
    await page.locator(`#runs li[data-value="${empty}"]`).click();
    await waitForSnapshot(page, (s) => s.run === empty, 'the empty run');
    await page.locator('#run-summary', { hasText: /^0 iterations/ }).waitFor({ timeout: 30_000 });
    for (const id of ['#plot-trial-return', '#plot-episode-return', '#plot-run-success', '#plot-adaptation']) expect(await page.locator(id).getAttribute('data-empty'), id).toBe('true');
    expect(viewer.errors).toEqual([]);
  }, 120_000);
});
