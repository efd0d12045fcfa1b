// The viewer page: lists the gateway's live sims, recordings and training runs; shows a live sim
// or a replay in 3D with the HUD, the replay's timeline and plots, or a run's learning curves.
// Deep links: #sim=<id>, #recording=<name>, #run=<name>.

import type { SimInfo } from '../../protocol/wire.ts';
import { HttpError, fetchEvaluations, fetchMetrics, fetchRecording, listRecordings, listRuns, pageToken, viewerSocketUrl } from './api.ts';
import type { ViewerHooks, ViewerSnapshot } from './hooks.ts';
import { Hud } from './hud.ts';
import { LiveConnection, type ConnectionState, type LiveFrame } from './live.ts';
import { drawPlot, indexAtPointer } from './plots.ts';
import { readRecording, Timeline, type Recording } from './replay.ts';
import { parseRecordingName } from './recording-name.ts';
import { adaptationCurves, learningCurves } from './curves.ts';
import { drawAdaptationCurves, drawLearningCurves } from './runs.ts';
import { View3D } from './view3d.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page lacks #${id}`);
  return element as T;
};

const ui = {
  connection: $('connection'), sims: $('sims'), recordings: $('recordings'), runs: $('runs'),
  refreshRecordings: $('refresh-recordings'), fileInput: $<HTMLInputElement>('file-input'),
  stage: $('stage'), empty: $('empty'), banner: $('banner'), hud: $('hud'),
  replayPanel: $('replay-panel'), play: $<HTMLButtonElement>('play'), stepBack: $('step-back'), stepForward: $('step-forward'),
  speed: $<HTMLSelectElement>('speed'), scrub: $<HTMLInputElement>('scrub'), frameLabel: $('frame-label'),
  plotReward: $<HTMLCanvasElement>('plot-reward'), plotSuccess: $<HTMLCanvasElement>('plot-success'), plotGripper: $<HTMLCanvasElement>('plot-gripper'),
  runsPanel: $('runs-panel'), runTitle: $('run-title'), runSummary: $('run-summary'),
  plotTrialReturn: $<HTMLCanvasElement>('plot-trial-return'), plotEpisodeReturn: $<HTMLCanvasElement>('plot-episode-return'), plotRunSuccess: $<HTMLCanvasElement>('plot-run-success'),
  plotAdaptation: $<HTMLCanvasElement>('plot-adaptation'),
  dropOverlay: $('drop-overlay'),
};

const view = new View3D(ui.stage);
const hud = new Hud(ui.hud);

const state: ViewerSnapshot = {
  mode: 'idle', connection: 'connecting', sims: [], sim: null, recording: null, bodies: [],
  episode: null, step: null, reward: null, success: null, gripper: null, framesReceived: 0,
  frame: null, frames: null, playing: false, run: null, error: null,
};
let simInfos: SimInfo[] = [];
let replay: { recording: Recording; timeline: Timeline } | null = null;

// ---------------------------------------------------------------------------------------------
// Modes

function setMode(mode: ViewerSnapshot['mode']): void {
  if (state.mode === 'live' && mode !== 'live') live.subscribe(null);
  if (mode !== 'replay') { replay = null; view.setTicker(null); state.frame = state.frames = null; state.playing = false; }
  state.mode = mode;
  ui.stage.hidden = mode === 'runs';
  ui.runsPanel.hidden = mode !== 'runs';
  ui.replayPanel.hidden = mode !== 'replay';
  ui.empty.hidden = mode !== 'idle';
  hud.show(mode === 'live' || mode === 'replay');
  if (mode !== 'live') showBanner(null);
  if (mode !== 'runs') state.run = null;
  if (mode !== 'live') state.sim = null;
  if (mode !== 'replay') state.recording = null;
  markSelected();
}

function showBanner(text: string | null): void {
  ui.banner.hidden = text === null;
  ui.banner.textContent = text ?? '';
}

function showError(message: string): void {
  state.error = message;
  showBanner(message);
  console.error(message);
}

/** A gateway with a token refuses the page's requests (401) when the page was opened without it. */
function explainRefusal(error: unknown): void {
  if (error instanceof HttpError && error.status === 401) showError('This gateway needs a token: open the page as /?token=<token>');
}

function setHash(key: string, value: string): void {
  history.replaceState(null, '', `${location.pathname}${location.search}#${key}=${encodeURIComponent(value)}`);
}

function markSelected(): void {
  const mark = (list: HTMLElement, key: string, value: string | null) => {
    for (const li of list.querySelectorAll<HTMLElement>('li[data-key]')) li.classList.toggle('selected', li.dataset.key === key && li.dataset.value === value);
  };
  mark(ui.sims, 'sim', state.sim);
  mark(ui.recordings, 'recording', state.recording);
  mark(ui.runs, 'run', state.run);
}

function resetStep(): void {
  state.episode = state.step = state.reward = state.success = state.gripper = null;
  hud.clearStep();
}

// ---------------------------------------------------------------------------------------------
// Live

function watchSim(id: string): void {
  setMode('live');
  state.sim = id;
  state.error = null;
  view.clear();
  view.refit();
  resetStep();
  const info = simInfos.find((s) => s.id === id);
  if (info) hud.describe(`live sim ${id}`, info);
  live.subscribe(id);
  setHash('sim', id);
  markSelected();
  if (state.connection !== 'open') showBanner('Not connected to the gateway: reconnecting…');
}

function showConnection(connection: ConnectionState): void {
  state.connection = connection.kind;
  ui.connection.dataset.state = connection.kind;
  const text = connection.kind === 'open' ? 'connected'
    : connection.kind === 'connecting' ? (connection.attempt > 1 ? `reconnecting (attempt ${connection.attempt})…` : 'connecting…')
    : `disconnected: ${connection.reason}; retrying in ${(connection.retryInMs / 1000).toFixed(1)} s`;
  ui.connection.textContent = text;
  if (state.mode === 'live') showBanner(connection.kind === 'open' ? null : `Connection lost: ${connection.kind === 'lost' ? `retrying in ${(connection.retryInMs / 1000).toFixed(1)} s` : 'reconnecting…'}`);
}

function listSims(sims: SimInfo[]): void {
  simInfos = sims;
  state.sims = sims.map((s) => s.id);
  fillList(ui.sims, sims.map((s) => ({
    key: 'sim', value: s.id,
    text: `${s.id} ${s.benchmark ?? s.family}`,
    detail: `${s.split} #${s.task} · ${s.policy}`,
    choose: () => watchSim(s.id),
  })));
  const watched = sims.find((s) => s.id === state.sim);
  if (state.mode === 'live' && watched) hud.describe(`live sim ${watched.id}`, watched);
  refreshRecordingsSoon();
  followHash();
}

const live = new LiveConnection({ url: viewerSocketUrl(), token: pageToken() }, {
  sims: listSims,
  scene(sim, info, scene) {
    if (state.mode !== 'live' || sim !== state.sim) return;
    view.setScene(scene);
    state.bodies = view.bodyNames();
    hud.describe(`live sim ${sim}`, info);
  },
  frame(frame: LiveFrame) {
    if (state.mode !== 'live' || frame.sim !== state.sim) return;
    state.framesReceived++;
    view.applyPoses(frame.poses);
    Object.assign(state, { episode: frame.episode, step: frame.step, reward: frame.reward, success: frame.success, gripper: frame.gripper });
    hud.update(frame);
    if (state.error === null && state.connection === 'open') showBanner(null);
  },
  closed(sim) {
    if (state.mode === 'live' && sim === state.sim) showBanner(`Sim ${sim} was closed`);
  },
  error(code, message) {
    showError(`Gateway: ${message} (${code})`);
  },
  state: showConnection,
});

// ---------------------------------------------------------------------------------------------
// Replay

async function openRecording(name: string, load: () => Promise<Uint8Array>): Promise<void> {
  try {
    showBanner(`Loading ${name}…`);
    const recording = await readRecording(await load());
    setMode('replay');
    state.recording = name;
    state.error = null;
    showBanner(null);
    view.clear();
    view.refit();
    view.setScene(recording.episode.scene);
    state.bodies = view.bodyNames();
    const parsed = parseRecordingName(name);
    hud.describe(parsed ? `recording: ${parsed.sim} episode ${parsed.episode}, ${parsed.time} UTC` : `recording ${name}`, recording.episode.info, name);
    const timeline = new Timeline(recording.steps.length, recording.stepSeconds);
    replay = { recording, timeline };
    ui.scrub.max = String(timeline.last);
    state.frames = timeline.length;
    view.setTicker((seconds) => { if (timeline.advance(seconds)) showReplayFrame(); else if (state.playing !== timeline.playing) showReplayFrame(); });
    markSelected();
    showReplayFrame();
  } catch (error) {
    showError(`Could not open ${name}: ${(error as Error).message}`);
  }
}

function showReplayFrame(): void {
  if (!replay) return;
  const { recording, timeline } = replay;
  const step = recording.steps[timeline.frame];
  view.applyPoses(step.poses);
  Object.assign(state, { episode: step.episode, step: step.step, reward: step.reward, success: step.success, gripper: step.gripper, frame: timeline.frame, playing: timeline.playing });
  hud.update(step);
  ui.scrub.value = String(timeline.frame);
  ui.frameLabel.textContent = `${timeline.frame} / ${timeline.last}`;
  ui.play.textContent = timeline.playing ? 'Pause' : 'Play';
  drawReplayPlots();
}

function drawReplayPlots(): void {
  if (!replay) return;
  const { steps } = replay.recording, cursor = replay.timeline.frame;
  drawPlot(ui.plotReward, { title: 'reward', series: [{ label: 'reward', colour: '#60a5fa', values: steps.map((s) => s.reward) }], cursor, xLabel: 'step' });
  drawPlot(ui.plotSuccess, { title: 'success', series: [{ label: 'success', colour: '#4ade80', values: steps.map((s) => s.success), stepped: true }], cursor, yRange: [-0.05, 1.05], xLabel: 'step' });
  drawPlot(ui.plotGripper, { title: 'gripper opening (m)', series: [{ label: 'gripper', colour: '#f59e0b', values: steps.map((s) => s.gripper) }], cursor, xLabel: 'step' });
}

function replayControl(action: (timeline: Timeline) => void): void {
  if (!replay) return;
  action(replay.timeline);
  showReplayFrame();
}

ui.play.addEventListener('click', () => replayControl((t) => t.toggle()));
ui.stepBack.addEventListener('click', () => replayControl((t) => t.stepBy(-1)));
ui.stepForward.addEventListener('click', () => replayControl((t) => t.stepBy(1)));
ui.speed.addEventListener('change', () => replayControl((t) => { t.speed = Number(ui.speed.value) || 1; }));
ui.scrub.addEventListener('input', () => replayControl((t) => { t.pause(); t.seek(Number(ui.scrub.value)); }));
for (const canvas of [ui.plotReward, ui.plotSuccess, ui.plotGripper]) {
  const scrubTo = (event: PointerEvent) => replayControl((t) => { t.pause(); t.seek(indexAtPointer(canvas, event.clientX, t.length)); });
  canvas.addEventListener('pointerdown', (event) => { canvas.setPointerCapture(event.pointerId); scrubTo(event); });
  canvas.addEventListener('pointermove', (event) => { if (event.buttons & 1) scrubTo(event); });
}
window.addEventListener('keydown', (event) => {
  if (state.mode !== 'replay' || (event.target instanceof HTMLElement && ['INPUT', 'SELECT'].includes(event.target.tagName) && event.target !== ui.scrub)) return;
  const keys: Record<string, (t: Timeline) => void> = {
    ' ': (t) => t.toggle(), ArrowLeft: (t) => t.stepBy(-1), ArrowRight: (t) => t.stepBy(1),
    Home: (t) => { t.pause(); t.seek(0); }, End: (t) => { t.pause(); t.seek(t.last); },
  };
  const act = keys[event.key];
  if (act) { event.preventDefault(); replayControl(act); }
});
window.addEventListener('resize', () => { drawReplayPlots(); if (state.mode === 'runs') void showRun(state.run); });

async function refreshRecordings(): Promise<void> {
  try {
    const recordings = await listRecordings();
    recordings.sort((a, b) => String(b.modified).localeCompare(String(a.modified)));
    fillList(ui.recordings, recordings.map((r) => {
      // The family and episode first (a long file name would be cut there), when and how big below.
      const parsed = parseRecordingName(r.name), size = `${(r.bytes / 1024).toFixed(0)} KiB`;
      return {
        key: 'recording', value: r.name,
        text: parsed ? `${parsed.family} · episode ${parsed.episode}` : r.name,
        detail: parsed ? `${parsed.sim} · ${parsed.time} · ${size}` : size,
        choose: () => { setHash('recording', r.name); void openRecording(r.name, () => fetchRecording(r.name)); },
      };
    }));
  } catch (error) {
    fillList(ui.recordings, []);
    explainRefusal(error);
  }
  markSelected();
}

let recordingsTimer: ReturnType<typeof setTimeout> | null = null;
/** New episodes bring new recordings; refresh at most every few seconds. */
function refreshRecordingsSoon(): void {
  if (recordingsTimer === null) recordingsTimer = setTimeout(() => { recordingsTimer = null; void refreshRecordings(); }, 3000);
}

ui.refreshRecordings.addEventListener('click', () => void refreshRecordings());
ui.fileInput.addEventListener('change', () => {
  const file = ui.fileInput.files?.[0];
  if (file) void openRecording(file.name, async () => new Uint8Array(await file.arrayBuffer()));
  ui.fileInput.value = '';
});

let dragDepth = 0;
window.addEventListener('dragenter', (event) => { event.preventDefault(); dragDepth++; ui.dropOverlay.hidden = false; });
window.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; ui.dropOverlay.hidden = true; } });
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  ui.dropOverlay.hidden = true;
  const file = event.dataTransfer?.files[0];
  if (file) void openRecording(file.name, async () => new Uint8Array(await file.arrayBuffer()));
});

// ---------------------------------------------------------------------------------------------
// Training runs

async function showRun(name: string | null): Promise<void> {
  if (name === null) return;
  setMode('runs');
  state.run = name;
  setHash('run', name);
  markSelected();
  ui.runTitle.textContent = name;
  ui.runSummary.textContent = 'loading metrics…';
  try {
    const [rows, evaluations] = await Promise.all([fetchMetrics(name), fetchEvaluations(name)]);
    if (state.run !== name) return;
    const curves = learningCurves(rows);
    ui.runSummary.textContent = `${curves.iterations} iterations, ${curves.evaluations} evaluations`;
    drawLearningCurves({ trialReturn: ui.plotTrialReturn, episodeReturn: ui.plotEpisodeReturn, success: ui.plotRunSuccess }, curves);
    drawAdaptationCurves(ui.plotAdaptation, adaptationCurves(evaluations, curves.success.length > 0));
  } catch (error) {
    ui.runSummary.textContent = `Could not load the metrics: ${(error as Error).message}`;
  }
}

async function refreshRuns(): Promise<void> {
  try {
    const runs = await listRuns();
    fillList(ui.runs, runs.map((r) => ({
      key: 'run', value: r.name, text: r.name,
      detail: [r.benchmark, r.iterations !== undefined ? `${r.iterations}${r.plannedIterations ? `/${r.plannedIterations}` : ''} it.` : null].filter(Boolean).join(' · '),
      choose: () => void showRun(r.name),
    })));
  } catch (error) {
    fillList(ui.runs, []);
    explainRefusal(error);
  }
  markSelected();
}

// ---------------------------------------------------------------------------------------------
// Lists and deep links

interface ListItem { key: string; value: string; text: string; detail?: string; choose: () => void }

function fillList(list: HTMLElement, items: ListItem[]): void {
  list.replaceChildren(...(items.length ? items.map((item) => {
    const li = document.createElement('li');
    li.dataset.key = item.key;
    li.dataset.value = item.value;
    li.title = item.value;
    li.textContent = item.text;
    if (item.detail) {
      const small = document.createElement('small');
      small.textContent = item.detail;
      li.append(small);
    }
    li.addEventListener('click', item.choose);
    return li;
  }) : [Object.assign(document.createElement('li'), { className: 'none', textContent: 'none' })]));
}

let hashFollowed = false;
/** Acts once on the page's #sim= / #recording= / #run= link (a sim once the list names it). */
function followHash(): void {
  if (hashFollowed) return;
  const match = /^#(sim|recording|run)=(.+)$/.exec(location.hash);
  if (!match) { hashFollowed = true; return; }
  const [, key, raw] = match;
  const value = decodeURIComponent(raw);
  if (key === 'sim') {
    if (!simInfos.some((s) => s.id === value)) return;
    hashFollowed = true;
    watchSim(value);
  } else {
    hashFollowed = true;
    if (key === 'recording') void openRecording(value, () => fetchRecording(value));
    else void showRun(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Hooks for tests and the benchmark

const hooks: ViewerHooks = {
  snapshot: () => ({ ...state, sims: [...state.sims], bodies: [...state.bodies] }),
  sample: (grid) => view.sample(grid),
  partPixels: (width) => view.partPixels(width),
  frameTimes: () => [...view.frameTimes],
  renderTimes: () => [...view.renderTimes],
  resetFrameTimes: () => { view.frameTimes.length = 0; view.renderTimes.length = 0; },
  renders: () => view.renders,
  gl: () => view.glInfo(),
};
(window as unknown as { metamanipViewer: ViewerHooks }).metamanipViewer = hooks;

setMode('idle');
followHash();
void refreshRecordings();
void refreshRuns();
