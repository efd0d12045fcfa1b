// Replays in headless Chromium: episodes recorded by the gateway's recorder (real reach and push
// sims), opened from the gateway's list, dropped onto the page, or cut off mid-file; the timeline
// plays, steps and scrubs, and the HUD shows what the file holds.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startGateway, type Gateway } from '../../bridge/server.ts';
import { SimHub, expertDriver, simBenchmark } from '../../bridge/sims.ts';
import { Recorder, listRecordings, readRecording, type Recording } from '../../bridge/recorder.ts';
import { buildViewer } from '../../viewer/build.ts';
import { launchBrowser, openViewer, saveArtifacts, snapshot, waitForSnapshot, type ViewerPage } from '../../viewer/browser.ts';

let dir: string;
let browser: Browser;
let gateway: Gateway;
let viewer: ViewerPage | null = null;
/** The reach expert's full episode and a short episode of random pushes, as the recorder wrote them. */
let expert: { name: string; recording: Recording };
let random: { name: string; recording: Recording };

async function recordEpisodes(): Promise<void> {
  const hub = new SimHub();
  const recorder = new Recorder({ dir, chunkSize: 16 * 1024 });
  recorder.attach(hub);
  // The expert, stepped as fast as the timers allow, for exactly one episode.
  const reach = hub.open({ ...simBenchmark({ family: 'reach' }), policy: 'expert' }).id;
  const ended = new Promise<void>((resolve) => hub.on('episodeEnd', (info) => { if (info.id === reach) resolve(); }));
  const stop = hub.drive(reach, expertDriver(), { rateHz: 4000 });
  await ended;
  stop();
  hub.close(reach);
  // Random actions, cut short: the file ends when the sim closes mid-episode.
  const push = hub.open({ ...simBenchmark({ family: 'push' }), policy: 'random' }).id;
  hub.reset(push, { seed: 3 });
  let state = 12345;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let i = 0; i < 120; i++) hub.step(push, [uniform(), uniform(), uniform(), uniform()]);
  hub.close(push);
  await recorder.close();
  const files = await listRecordings(dir);
  const find = async (family: string) => {
    const entry = files.find((f) => f.name.includes(`-${family}-`));
    if (!entry) throw new Error(`no ${family} recording among ${files.map((f) => f.name).join(', ')}`);
    return { name: entry.name, recording: await readRecording(join(dir, entry.name)) };
  };
  expert = await find('reach');
  random = await find('push');
}

const hudText = async (field: string) => (await viewer!.page.locator(`[data-hud="${field}"]`).textContent()) ?? '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metamanip-viewer-replay-'));
  await recordEpisodes();
  const viewerDir = await buildViewer();
  gateway = await startGateway({ port: 0, recordDir: dir, viewerDir, runRoots: [] });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await saveArtifacts(viewer, `replay-${context.task.name}`);
  await viewer?.page.close();
  viewer = null;
}, 60_000);

describe('replay', () => {
  it('opens a recording from the list; the last frame shows the success the file holds', async () => {
    const { steps } = expert.recording;
    expect(steps.length).toBe(501);
    viewer = await openViewer(browser, `${gateway.httpUrl}/`);
    const { page } = viewer;
    const item = page.locator(`#recordings li[data-value="${expert.name}"]`);
    await item.waitFor({ timeout: 30_000 });
    // The family and episode lead the item, on a line of their own; nothing of it is cut.
    expect(await item.evaluate((li) => (li.firstChild as unknown as { textContent: string }).textContent)).toBe('reach · episode 0');
    expect(await item.evaluate((li) => (li as unknown as { scrollWidth: number }).scrollWidth <= (li as unknown as { clientWidth: number }).clientWidth)).toBe(true);
    expect(await item.getAttribute('title')).toBe(expert.name);
    await item.click();
    const opened = await waitForSnapshot(page, (s) => s.mode === 'replay' && s.frames === steps.length, 'the replay to open');
    expect(opened.recording).toBe(expert.name);
    expect(opened.frame).toBe(0);
    expect(opened.bodies).toEqual(expert.recording.episode!.scene.bodies.map((b) => b.name));
    expect(await hudText('step')).toBe('0');
    expect(await hudText('family')).toBe('reach');
    expect(await hudText('policy')).toBe('expert');
    expect(await hudText('source')).toMatch(/^recording: s\d+ episode 0, \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    // The replay's plots have ticks along the steps.
    expect((await page.locator('#plot-reward').getAttribute('data-x-ticks'))!.split('|')).toContain('0');

    // Scrub to the end.
    const last = steps.length - 1;
    await page.locator('#scrub').fill(String(last));
    const end = await waitForSnapshot(page, (s) => s.frame === last, 'the last frame');
    const final = steps[last];
    expect(end.step).toBe(final.step);
    expect(end.success).toBe(final.success);
    expect(await hudText('success')).toBe(final.success ? 'yes' : 'no');
    expect(await hudText('reward')).toBe(final.reward.toFixed(3));
    expect(await hudText('step')).toBe(String(final.step));
    expect(final.success).toBe(1);

    // Frame by frame, and back to the start with the keyboard.
    await page.locator('#step-back').click();
    expect((await snapshot(page)).frame).toBe(last - 1);
    await page.keyboard.press('Home');
    expect((await snapshot(page)).frame).toBe(0);
    await page.keyboard.press('ArrowRight');
    expect((await snapshot(page)).frame).toBe(1);

    // Playback advances at the recorded rate (x4 here) and pauses.
    await page.locator('#speed').selectOption('4');
    await page.locator('#play').click();
    await waitForSnapshot(page, (s) => s.playing && (s.frame ?? 0) > 20, 'playback to advance', 30_000);
    await page.locator('#play').click();
    const paused = await snapshot(page);
    expect(paused.playing).toBe(false);
    await page.waitForTimeout(300);
    expect((await snapshot(page)).frame).toBe(paused.frame);
    expect(viewer.errors).toEqual([]);
  }, 180_000);

  it('replays a recording dropped onto the page', async () => {
    viewer = await openViewer(browser, `${gateway.httpUrl}/`);
    const { page } = viewer;
    const base64 = (await readFile(join(dir, random.name))).toString('base64');
    await page.evaluate(({ base64, name }) => {
      const g = globalThis as unknown as {
        atob(text: string): string;
        DataTransfer: new () => { items: { add(file: unknown): void } };
        File: new (parts: unknown[], name: string) => unknown;
        DragEvent: new (type: string, init: object) => unknown;
        document: { body: { dispatchEvent(event: unknown): boolean } };
      };
      const transfer = new g.DataTransfer();
      const bytes = Uint8Array.from(g.atob(base64), (c) => c.charCodeAt(0));
      transfer.items.add(new g.File([bytes], name));
      g.document.body.dispatchEvent(new g.DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, { base64, name: random.name });
    const { steps } = random.recording;
    const opened = await waitForSnapshot(page, (s) => s.mode === 'replay' && s.frames === steps.length, 'the dropped replay to open');
    expect(opened.recording).toBe(random.name);
    await page.keyboard.press('End');
    await waitForSnapshot(page, (s) => s.frame === steps.length - 1, 'the last frame');
    expect(await hudText('success')).toBe(steps[steps.length - 1].success ? 'yes' : 'no');
    expect(await hudText('family')).toBe('push');
    expect(await hudText('policy')).toBe('random');
    expect(viewer.errors).toEqual([]);
  }, 120_000);

  it('replays the complete part of a cut-off recording and says what is wrong with a file that is not one', async () => {
    const whole = await readFile(join(dir, expert.name));
    const cut = join(dir, 'cut-off.mcap.part');
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const expected = (await readRecording(cut)).steps.length;
    expect(expected).toBeGreaterThan(10);
    expect(expected).toBeLessThan(expert.recording.steps.length);

    viewer = await openViewer(browser, `${gateway.httpUrl}/`);
    const { page } = viewer;
    await page.locator('#file-input').setInputFiles(cut);
    const opened = await waitForSnapshot(page, (s) => s.mode === 'replay' && s.frames !== null, 'the cut-off replay to open');
    expect(opened.frames).toBe(expected);

    const junk = join(dir, 'junk.mcap.part');
    await writeFile(junk, 'this is not an MCAP file');
    await page.locator('#file-input').setInputFiles(junk);
    await page.locator('#banner', { hasText: /Could not open junk\.mcap\.part/ }).waitFor({ timeout: 30_000 });
  }, 120_000);
});
