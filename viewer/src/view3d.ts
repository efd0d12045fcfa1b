// The 3D view: renderer, Z-up camera with orbit/pan/zoom, lights and floor, and the current
// scene graph. Renders on demand (a new frame, a camera move, a resize) from one rAF loop, whose
// timestamps are also kept for the frame-time benchmark.

import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { SceneDescription } from '../../protocol/scene.ts';
import { buildScene, sameGeometry, type BuiltScene } from './scene-builder.ts';

export interface CanvasSample {
  width: number;
  height: number;
  /** Distinct colours among sampled pixels (1 for a blank canvas). */
  distinctColours: number;
  /** Sampled RGBA bytes, for comparing two captures. */
  pixels: number[];
}

/**
 * Multisampling costs little on a GPU but about 1.6 times the frame time under software GL
 * (SwiftShader, llvmpipe), so it is on unless the renderer is software; ?antialias=0|1 overrides.
 */
function antialiasWanted(): boolean {
  const forced = new URLSearchParams(window.location.search).get('antialias');
  if (forced !== null) return forced !== '0';
  const probe = document.createElement('canvas').getContext('webgl2');
  if (!probe) return false;
  const debug = probe.getExtension('WEBGL_debug_renderer_info');
  const name = String(probe.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : probe.RENDERER));
  probe.getExtension('WEBGL_lose_context')?.loseContext();
  return !/swiftshader|llvmpipe|softpipe|software/i.test(name);
}

export class View3D {
  readonly renderer: THREE.WebGLRenderer;
  readonly camera: THREE.PerspectiveCamera;
  readonly controls: OrbitControls;
  private readonly scene = new THREE.Scene();
  private readonly floor: THREE.GridHelper;
  private built: BuiltScene | null = null;
  private description: SceneDescription | null = null;
  private needsFit = true;
  private dirty = true;
  private onTick: ((seconds: number) => void) | null = null;
  private lastTime: number | null = null;
  /** rAF timestamps (ms) of the most recent frames, for frame-time statistics. */
  readonly frameTimes: number[] = [];
  /** Wall time (ms) of the most recent WebGL renders (CPU side, including software GL). */
  readonly renderTimes: number[] = [];
  renders = 0;

  constructor(private readonly container: HTMLElement) {
    this.renderer = new THREE.WebGLRenderer({ antialias: antialiasWanted() });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.setClearColor(0x0f172a);
    this.renderer.domElement.id = 'view3d';
    container.appendChild(this.renderer.domElement);

    this.camera = new THREE.PerspectiveCamera(45, 1, 0.01, 50);
    // The simulator is Z-up; three's controls orbit about camera.up, so set it before they start.
    this.camera.up.set(0, 0, 1);
    this.camera.position.set(1.5, 2.0, 1.0);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.target.set(0, 0.5, 0);
    this.controls.enableDamping = true;
    this.controls.addEventListener('change', () => { this.dirty = true; });

    this.scene.add(new THREE.HemisphereLight(0xe2e8f0, 0x1e293b, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.8);
    // From above the robot's right side, as the camera looks: the faces fixtures turn to the robot are lit.
    sun.position.set(1.5, -1, 2.5);
    this.scene.add(sun);
    this.floor = new THREE.GridHelper(4, 40, 0x475569, 0x1e293b);
    // GridHelper lies in three's XZ plane; the floor is the sim's XY plane.
    this.floor.rotation.x = Math.PI / 2;
    this.floor.visible = false;
    this.scene.add(this.floor);

    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
    requestAnimationFrame(this.loop);
  }

  /** Called once per animation frame with the elapsed seconds (playback). */
  setTicker(tick: ((seconds: number) => void) | null): void { this.onTick = tick; }

  /** Shows a scene; keeps the graph (and the camera) when only the goal changed. */
  setScene(description: SceneDescription): void {
    if (this.built && this.description && sameGeometry(this.description, description)) {
      this.built.goal.position.set(...description.goal);
    } else {
      this.clear();
      this.built = buildScene(description);
      this.scene.add(this.built.root);
    }
    this.description = description;
    this.dirty = true;
  }

  clear(): void {
    if (this.built) {
      this.scene.remove(this.built.root);
      this.built.dispose();
    }
    this.built = null;
    this.description = null;
    this.floor.visible = false;
    this.dirty = true;
  }

  /** Camera framing the scene once, at its first pose (later episodes keep the person's view). */
  refit(): void { this.needsFit = true; }

  applyPoses(poses: ArrayLike<number>): void {
    if (!this.built) return;
    this.built.applyPoses(poses);
    if (this.needsFit) this.fit();
    this.dirty = true;
  }

  /** The GL renderer's name and whether the canvas multisamples. */
  glInfo(): { renderer: string; antialias: boolean } {
    const context = this.renderer.getContext();
    const debug = context.getExtension('WEBGL_debug_renderer_info');
    return { renderer: String(context.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : context.RENDERER)), antialias: context.getContextAttributes()?.antialias ?? false };
  }

  /** Names of the bodies in the scene graph (for tests and the HUD). */
  bodyNames(): string[] { return this.built ? [...this.built.bodies.keys()] : []; }

  /** Renders now and samples the canvas on a grid (in the same task, so no preserved buffer is needed). */
  sample(grid = 48): CanvasSample {
    this.render();
    const source = this.renderer.domElement;
    const canvas = document.createElement('canvas');
    canvas.width = grid;
    canvas.height = grid;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    if (!g) throw new Error('no 2D context to sample the 3D view');
    g.drawImage(source, 0, 0, grid, grid);
    const data = g.getImageData(0, 0, grid, grid).data;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return { width: source.width, height: source.height, distinctColours: colours.size, pixels: Array.from(data) };
  }

  /**
   * Pixels of each part (mesh `body/index`, index in the scene description's parts) in the current
   * view: one off-screen render with every part in a flat colour of its own and no floor, so a part
   * off screen or hidden behind another counts nothing. For tests: "the door's handle is in view".
   */
  partPixels(width = 320): Record<string, number> {
    if (!this.built) return {};
    const source = this.renderer.domElement;
    const height = Math.max(1, Math.round((width * source.height) / Math.max(1, source.width)));
    const target = new THREE.WebGLRenderTarget(width, height);
    const meshes: THREE.Mesh[] = [];
    this.built.root.traverseVisible((object) => { if (object instanceof THREE.Mesh) meshes.push(object); });
    // Part i is drawn as red = i + 1 with fixed green and blue, linear values written as they are.
    const MARK_G = 0x40, MARK_B = 0xc0;
    const originals = meshes.map((mesh) => mesh.material);
    const flats = meshes.map((mesh, i) => {
      const flat = new THREE.MeshBasicMaterial();
      flat.color.setRGB((i + 1) / 255, MARK_G / 255, MARK_B / 255, THREE.LinearSRGBColorSpace);
      mesh.material = flat;
      return flat;
    });
    const clearColour = this.renderer.getClearColor(new THREE.Color()), clearAlpha = this.renderer.getClearAlpha(), floorShown = this.floor.visible;
    const pixels = new Uint8Array(width * height * 4);
    try {
      this.floor.visible = false;
      this.renderer.setClearColor(0x000000, 1);
      this.renderer.setRenderTarget(target);
      this.renderer.render(this.scene, this.camera);
      this.renderer.readRenderTargetPixels(target, 0, 0, width, height, pixels);
    } finally {
      this.renderer.setRenderTarget(null);
      this.renderer.setClearColor(clearColour, clearAlpha);
      this.floor.visible = floorShown;
      meshes.forEach((mesh, i) => { mesh.material = originals[i]; });
      for (const flat of flats) flat.dispose();
      target.dispose();
      this.dirty = true;
    }
    const counts: Record<string, number> = {};
    for (let i = 0; i < pixels.length; i += 4) {
      const part = pixels[i] - 1;
      if (part < 0 || part >= meshes.length || pixels[i + 1] !== MARK_G || pixels[i + 2] !== MARK_B) continue;
      const name = meshes[part].name;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  private fit(): void {
    if (!this.built) return;
    // Frame what is simulated (table top, arm, objects, fixtures), not the stands drawn under them
    // (table leg, robot pedestal), which would make the workspace small; the floor goes under all.
    const everything = new THREE.Box3().setFromObject(this.built.root);
    if (everything.isEmpty()) return;
    const box = new THREE.Box3();
    this.built.root.updateMatrixWorld(true);
    this.built.root.traverseVisible((object) => {
      if (object instanceof THREE.Mesh && !object.userData.visualOnly) box.expandByObject(object);
    });
    if (box.isEmpty()) box.copy(everything);
    this.needsFit = false;
    const centre = box.getCenter(new THREE.Vector3());
    const size = box.getSize(new THREE.Vector3());
    const radius = Math.max(0.3, 0.5 * Math.hypot(size.x, size.y, size.z));
    // Look at the tabletop from beside the robot, over its right shoulder and above: fixtures face
    // the robot (doors, drawers, windows open towards it), so their moving parts and handles are in
    // view, and the arm's pitch joints turn across the picture, not towards the camera.
    const tableTop = Math.max(box.min.z, Math.min(box.max.z, 0));
    this.controls.target.set(centre.x, centre.y + 0.1 * radius, tableTop + 0.1 * radius);
    const distance = radius / Math.sin(THREE.MathUtils.degToRad(this.camera.fov / 2));
    const direction = new THREE.Vector3(0.85, -0.45, 0.6).normalize();
    this.camera.position.copy(this.controls.target).addScaledVector(direction, distance);
    this.camera.near = distance / 100;
    this.camera.far = distance * 10;
    this.camera.updateProjectionMatrix();
    this.controls.update();
    this.floor.position.set(centre.x, centre.y, everything.min.z);
    this.floor.visible = true;
  }

  private resize(): void {
    const width = this.container.clientWidth || 1, height = this.container.clientHeight || 1;
    this.renderer.setSize(width, height, false);
    this.renderer.domElement.style.width = '100%';
    this.renderer.domElement.style.height = '100%';
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.dirty = true;
  }

  private render(): void {
    const started = performance.now();
    this.renderer.render(this.scene, this.camera);
    this.renderTimes.push(performance.now() - started);
    if (this.renderTimes.length > 2000) this.renderTimes.splice(0, 1000);
    this.renders++;
    this.dirty = false;
  }

  private readonly loop = (time: number): void => {
    requestAnimationFrame(this.loop);
    this.frameTimes.push(time);
    if (this.frameTimes.length > 2000) this.frameTimes.splice(0, 1000);
    const seconds = this.lastTime === null ? 0 : (time - this.lastTime) / 1000;
    this.lastTime = time;
    this.onTick?.(seconds);
    this.controls.update();
    if (this.dirty) this.render();
  };
}
