// What the page exposes on `window.metamanipViewer` for browser tests and the frame-time benchmark.
// Types only, no DOM: Node-side tests import them.

export interface ViewerSnapshot {
  mode: 'idle' | 'live' | 'replay' | 'runs';
  connection: 'connecting' | 'open' | 'lost';
  /** Sim ids in the live list. */
  sims: string[];
  /** The sim being watched (live mode). */
  sim: string | null;
  /** Recording name or dropped file name (replay mode). */
  recording: string | null;
  bodies: string[];
  episode: number | null;
  step: number | null;
  reward: number | null;
  success: 0 | 1 | null;
  gripper: number | null;
  /** Live frames received since the page opened. */
  framesReceived: number;
  /** Replay timeline. */
  frame: number | null;
  frames: number | null;
  playing: boolean;
  run: string | null;
  error: string | null;
}

export interface CanvasSampleJson {
  width: number;
  height: number;
  distinctColours: number;
  pixels: number[];
}

export interface ViewerHooks {
  snapshot(): ViewerSnapshot;
  /** Renders and samples the 3D canvas on a grid. */
  sample(grid?: number): CanvasSampleJson;
  /**
   * Pixels of each part in view (name `body/index`, index in the scene description's parts), from
   * an off-screen render `width` pixels wide with each part in a flat colour of its own: a part off
   * screen or hidden behind others is absent.
   */
  partPixels(width?: number): Record<string, number>;
  /** rAF timestamps (ms) collected so far (the latest 1,000 to 2,000); cleared by resetFrameTimes(). */
  frameTimes(): number[];
  /** Durations (ms) of the WebGL renders since resetFrameTimes(). */
  renderTimes(): number[];
  resetFrameTimes(): void;
  /** The WebGL renderer's name and whether the 3D canvas multisamples (off under software GL). */
  gl(): { renderer: string; antialias: boolean };
  /** Number of WebGL renders so far. */
  renders(): number;
}
