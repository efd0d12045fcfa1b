// The WebGPU backend in Node: Dawn (the optional `webgpu` package) under @tensorflow/tfjs-backend-webgpu,
// with the adapter check (hardware only unless asked for), and the synchronous readback tfjs's dataSync needs.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** The adapter the backend runs on, as reported in the backend choice and a run's metadata. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (SwiftShader, lavapipe/llvmpipe, WARP): right numbers at a software rasteriser's speed. */
  software: boolean;
  /** The Vulkan driver file this process pointed the Vulkan loader at, when it chose one itself. */
  vulkanDriver?: string;
}

/** Where browsers install SwiftShader's Vulkan driver (Debian/Ubuntu chromium, Fedora, Google Chrome). */
export const SWIFTSHADER_ICD_PATHS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

// The slices of the WebGPU and Dawn-for-Node APIs used here; the packages are optional, so their
// types cannot be imported.
interface GpuAdapterInfo { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
interface GpuAdapter { info?: GpuAdapterInfo; isFallbackAdapter?: boolean; requestDevice(descriptor?: unknown): Promise<unknown> }
interface Gpu { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null>; getPreferredCanvasFormat(): string; wgslLanguageFeatures?: unknown }
interface DawnModule { create(flags: string[]): Gpu; globals: Record<string, unknown> }
interface GpuDevice { addEventListener(type: 'uncapturederror', listener: (event: { error?: { message?: string } }) => void): void }
interface GpuBuffer { size: number; mapState: 'unmapped' | 'pending' | 'mapped'; mapAsync(mode: number): Promise<void>; getMappedRange(): ArrayBuffer; unmap(): void }
interface TensorData { values: unknown; dtype: string; resource: GpuBuffer; complexTensorInfos?: unknown }
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): TensorData };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(buffer: GpuBuffer): void };
  commandEncoder: { copyBufferToBuffer(source: GpuBuffer, sourceOffset: number, target: GpuBuffer, targetOffset: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: unknown): unknown;
  readSync(dataId: object): unknown;
}
interface WebGpuBackendModule { WebGPUBackend: { prototype: WebGpuBackendInternals } }

// Imported through variables, so the type checker does not insist that the optional packages exist.
const DAWN_PACKAGE: string = 'webgpu';
const TFJS_WEBGPU_PACKAGE: string = '@tensorflow/tfjs-backend-webgpu';

/**
 * Finds an adapter, makes it the one tfjs-backend-webgpu will use and registers that backend as
 * 'webgpu'. A software adapter is taken only with `allowSoftware` (webgpu asked for by name); then,
 * where the Vulkan loader has no driver to offer and VK_ICD_FILENAMES / VK_DRIVER_FILES are unset,
 * SwiftShader's driver from an installed Chromium or Chrome is used. Throws, with the reason, when
 * there is no adapter to take.
 */
export async function loadWebGpu(options: { allowSoftware: boolean }): Promise<WebGpuAdapter> {
  // tfjs keeps the first device it made for the rest of the process; so does this module.
  if (loaded) {
    if (loaded.software && !options.allowSoftware) throw new Error(softwareRefusal(loaded));
    return loaded;
  }
  // An absent package is reported as such (ERR_MODULE_NOT_FOUND, "not installed"), before anything else.
  for (const name of [DAWN_PACKAGE, TFJS_WEBGPU_PACKAGE]) {
    try { createRequire(import.meta.url).resolve(name); } catch { throw Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' }); }
  }
  const vulkan = process.platform === 'linux' ? vulkanSetup() : null;
  // Without a Vulkan loader or driver Dawn prints warnings to stderr before failing: answer without
  // asking it (asked for by name, webgpu may still take SwiftShader as the driver).
  if (vulkan && !vulkan.loader) throw new Error('no Vulkan loader (libvulkan.so.1; Debian/Ubuntu: apt-get install libvulkan1)');
  let vulkanDriver: string | undefined;
  if (vulkan && vulkan.drivers.length === 0) {
    if (userChoseVulkanDrivers()) throw new Error('no Vulkan driver: VK_ICD_FILENAMES / VK_DRIVER_FILES name no existing file');
    if (!options.allowSoftware) throw new Error('no Vulkan driver (no ICD file in the Vulkan loader\'s search path)');
    vulkanDriver = useSwiftShader();
    if (!vulkanDriver) throw new Error('no Vulkan driver, and no SwiftShader driver of a Chromium or Chrome install (Debian/Ubuntu: apt-get install chromium)');
  }
  const dawn = (await import(/* @vite-ignore */ DAWN_PACKAGE)) as DawnModule;
  let { gpu, adapter } = await requestAdapter(dawn);
  const softwareOrNone = !adapter || isSoftware(adapter);
  if (softwareOrNone && options.allowSoftware && vulkan && !vulkanDriver && !userChoseVulkanDrivers()) {
    // Only a software driver the loader found (or none that Dawn accepts, as with Debian 12's lavapipe): try SwiftShader.
    const icd = findSwiftShaderIcd();
    if (icd) {
      vulkanDriver = useSwiftShader(icd);
      const retry = await requestAdapter(dawn);
      if (retry.adapter) ({ gpu, adapter } = retry);
      else vulkanDriver = undefined;
    }
  }
  if (!adapter) {
    const hint = vulkan && !findSwiftShaderIcd() ? '; for a software adapter install chromium (SwiftShader) and ask for webgpu by name' : '';
    throw new Error(`no WebGPU adapter${vulkanDriver ? ` (Vulkan driver ${vulkanDriver})` : ''}${hint}`);
  }
  const info = describeAdapter(adapter, vulkanDriver);
  if (info.software && !options.allowSoftware) throw new Error(softwareRefusal(info));
  // tfjs-backend-webgpu registers itself on import only where navigator.gpu exists, and its factory
  // asks navigator.gpu for an adapter: hand it the one checked above.
  Object.assign(globalThis, dawn.globals);
  const chosen = adapter;
  // Creating the device is the first task Dawn schedules its event pump for: keep the pump then. And
  // listen for the device's validation errors, which WebGPU reports only in an event, so that the next
  // read fails instead of returning whatever the failed kernel left in memory.
  const requestDevice = chosen.requestDevice.bind(chosen);
  Object.defineProperty(chosen, 'requestDevice', {
    configurable: true,
    value: async (descriptor?: unknown) => {
      const device = (await capturePump(() => requestDevice(descriptor))) as GpuDevice;
      device.addEventListener('uncapturederror', (event) => { deviceError ??= event.error?.message?.split('\n')[0] ?? 'unknown error'; });
      return device;
    },
  });
  setNavigatorGpu({ requestAdapter: async () => chosen, getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(), wgslLanguageFeatures: gpu.wgslLanguageFeatures });
  const module = (await import(/* @vite-ignore */ TFJS_WEBGPU_PACKAGE)) as WebGpuBackendModule;
  installSyncRead(module.WebGPUBackend.prototype);
  chunkAddN();
  // The gradient registrations live in @tensorflow/tfjs, which the agent imports (backend.ts does).
  loaded = info;
  return info;
}

let loaded: WebGpuAdapter | null = null;

const softwareRefusal = (a: WebGpuAdapter) => `only a software adapter (${formatAdapter(a)}), not chosen automatically: ask for webgpu by name to take it`;

/** An adapter's identity and whether it is a CPU implementation. */
export function describeAdapter(adapter: GpuAdapter, vulkanDriver?: string): WebGpuAdapter {
  const info = adapter.info ?? {};
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return {
    vendor: text(info.vendor), architecture: text(info.architecture), device: text(info.device), description: text(info.description),
    software: isSoftware(adapter),
    ...(vulkanDriver ? { vulkanDriver } : {}),
  };
}

/** WebGPU's fallback flag (in `info` since 2024, on the adapter before), or a known CPU implementation's name. */
export function isSoftware(adapter: GpuAdapter): boolean {
  const info = adapter.info ?? {};
  if (info.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return true;
  return /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** One line: "SwiftShader driver 5.0.0 (google swiftshader, software)". */
export function formatAdapter(a: WebGpuAdapter): string {
  const name = a.description || a.device || a.vendor || 'unnamed adapter';
  const detail = [[a.vendor, a.architecture].filter(Boolean).join(' '), a.software ? 'software' : ''].filter(Boolean).join(', ');
  return detail ? `${name} (${detail})` : name;
}

export function findSwiftShaderIcd(): string | undefined {
  return SWIFTSHADER_ICD_PATHS.find((path) => existsSync(path));
}

async function requestAdapter(dawn: DawnModule): Promise<{ gpu: Gpu; adapter: GpuAdapter | null }> {
  // A new Dawn instance asks the Vulkan loader again, so a driver set in the environment since the last one counts.
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return { gpu, adapter };
}

function setNavigatorGpu(gpu: unknown): void {
  const global = globalThis as { navigator?: object };
  // Node 21+ has a navigator without gpu; Node 20 has none.
  if (global.navigator) Object.defineProperty(global.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

/**
 * tfjs-backend-webgpu's AddN binds every input as a storage buffer of one shader, and the device it
 * creates keeps WebGPU's default of 8 per shader stage: tf.addN over more than 7 tensors (Adam's
 * gradient norm over a network's parameters) makes an invalid pipeline and returns stale memory.
 * Summing in groups of at most that many gives the same result.
 */
function chunkAddN(): void {
  const original = tf.getKernel(tf.AddN, 'webgpu');
  if (!original || (original as { chunked?: boolean }).chunked) return;
  const addN = original.kernelFunc as unknown as (args: { inputs: tf.TensorInfo[]; backend: unknown; attrs?: unknown }) => tf.TensorInfo;
  const chunked = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo => {
    const backend = args.backend as { device: { limits: { maxStorageBuffersPerShaderStage: number } }; disposeData(dataId: object): void };
    const group = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    let tensors = args.inputs as unknown as tf.TensorInfo[];
    const made: tf.TensorInfo[] = [];
    while (tensors.length > group) {
      const sums: tf.TensorInfo[] = [];
      for (let i = 0; i < tensors.length; i += group) {
        const part = tensors.slice(i, i + group);
        if (part.length === 1) { sums.push(part[0]); continue; }
        const sum = addN({ inputs: part, backend, attrs: args.attrs });
        made.push(sum);
        sums.push(sum);
      }
      tensors = sums;
    }
    const result = addN({ inputs: tensors, backend, attrs: args.attrs });
    for (const t of made) backend.disposeData(t.dataId);
    return result;
  };
  tf.unregisterKernel(tf.AddN, 'webgpu');
  tf.registerKernel({ ...original, kernelFunc: chunked as unknown as tf.KernelFunc, chunked: true } as tf.KernelConfig);
}

// ---------------------------------------------------------------------------------------------
// Vulkan (Linux): whether the loader and a driver are there, and SwiftShader as the driver

const userChoseVulkanDrivers = () => Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES);

function useSwiftShader(icd = findSwiftShaderIcd()): string | undefined {
  if (!icd) return undefined;
  // The Vulkan loader reads this when an instance is created, so setting it here reaches Dawn.
  process.env.VK_ICD_FILENAMES = icd;
  return icd;
}

/** The Vulkan loader library and the driver (ICD) files it would find, by the loader's own search rules. */
export function vulkanSetup(env: NodeJS.ProcessEnv = process.env): { loader: boolean; drivers: string[] } {
  const explicit = (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || '').split(':').filter(Boolean);
  const added = (env.VK_ADD_DRIVER_FILES || '').split(':').filter(Boolean);
  const home = env.HOME || homedir();
  const dirs = [
    env.XDG_CONFIG_HOME || join(home, '.config'),
    ...(env.XDG_CONFIG_DIRS || '/etc/xdg').split(':'),
    '/etc',
    env.XDG_DATA_HOME || join(home, '.local/share'),
    ...(env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':'),
  ].filter(Boolean).map((dir) => join(dir, 'vulkan/icd.d'));
  const found = explicit.length ? explicit : dirs.flatMap((dir) => {
    try { return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f)); } catch { return []; }
  });
  return { loader: hasVulkanLoader(env), drivers: [...found, ...added].filter((path) => existsSync(path)) };
}

function hasVulkanLoader(env: NodeJS.ProcessEnv): boolean {
  const name = 'libvulkan.so.1';
  const dirs = [...(env.LD_LIBRARY_PATH || '').split(':'), '/lib', '/usr/lib', '/lib64', '/usr/lib64', `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '/usr/local/lib'];
  if (dirs.some((dir) => dir && existsSync(join(dir, name)))) return true;
  try { return readFileSync('/etc/ld.so.cache', 'latin1').includes(name); } catch { return false; }
}

// ---------------------------------------------------------------------------------------------
// Synchronous readback. WebGPU only maps buffers asynchronously; tfjs-backend-webgpu's readSync goes
// through an OffscreenCanvas, which Node lacks, so every dataSync() throws there. Dawn for Node
// delivers a map's completion in a callback it schedules with setImmediate (wgpuInstanceProcessEvents);
// calling that callback ourselves until the buffer is mapped gives a blocking read, the way a native
// backend's dataSync waits for its device.

type Pump = () => void;
let pump: Pump | null = null;
/** The first WebGPU error since the last read (a read then throws it). */
let deviceError: string | undefined;

/** Runs `start` with setImmediate watched, keeping the native function Dawn schedules: its event pump. */
async function capturePump<T>(start: () => Promise<T>): Promise<T> {
  const realSetImmediate = globalThis.setImmediate;
  const watch = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (typeof fn === 'function' && /\[native code\]/.test(Function.prototype.toString.call(fn))) pump = fn as Pump;
    return realSetImmediate(fn, ...args);
  }) as typeof setImmediate;
  globalThis.setImmediate = watch;
  try {
    return await start();
  } finally {
    if (globalThis.setImmediate === watch) globalThis.setImmediate = realSetImmediate;
  }
}

/** Seconds a blocking read waits for the device before giving up (software adapters are slow). */
const READ_TIMEOUT_S = 600;

/** Maps `buffer` for reading and blocks until it is mapped (true) or the map failed (false). */
function mapSync(buffer: GpuBuffer): boolean {
  const realSetImmediate = globalThis.setImmediate;
  let scheduled: Pump | null = null;
  // While pumping, Dawn's requests for another turn are collected rather than queued on the event loop
  // (one per pump otherwise); the last one is handed back to the event loop afterwards.
  globalThis.setImmediate = ((fn: Pump) => { scheduled = fn; return { ref() { return this; }, unref() { return this; }, hasRef: () => false } as unknown as NodeJS.Immediate; }) as unknown as typeof setImmediate;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const started = performance.now();
  try {
    buffer.mapAsync(1 /* GPUMapMode.READ */).catch(() => {}); // a failed map shows in mapState
    for (let spins = 0; buffer.mapState === 'pending'; spins++) {
      const next = scheduled ?? pump;
      if (!next) throw new Error('cannot wait for the GPU: no Dawn event pump captured');
      scheduled = null;
      pump = next;
      next();
      // Spin briefly, then yield the core (to a software adapter's threads, or other work) between checks.
      if (spins > 200) Atomics.wait(pause, 0, 0, spins > 2000 ? 1 : 0.05);
      if (performance.now() - started > READ_TIMEOUT_S * 1000) throw new Error(`GPU readback did not finish within ${READ_TIMEOUT_S} s`);
    }
  } finally {
    globalThis.setImmediate = realSetImmediate;
    if (scheduled) realSetImmediate(scheduled);
  }
  return buffer.mapState === 'mapped';
}

let installed = false;

function installSyncRead(backend: WebGpuBackendInternals): void {
  if (installed) return;
  installed = true;
  const canvasReadSync = backend.readSync;
  backend.readSync = function readSync(this: WebGpuBackendInternals, dataId: object): unknown {
    const data = this.tensorMap.get(dataId);
    if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64') return canvasReadSync.call(this, dataId);
    // What the backend's async read does (getBufferData), with the map awaited by pumping Dawn's events.
    const source = data.resource, size = source.size;
    const staging = this.bufferManager.acquireBuffer(size, 0x0008 | 0x0001 /* COPY_DST | MAP_READ */);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    this.commandEncoder.copyBufferToBuffer(source, 0, staging, 0, size);
    this.submitQueue();
    if (!mapSync(staging)) throw new Error('GPU readback failed: the buffer could not be mapped');
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.bufferManager.releaseBuffer(staging);
    if (deviceError) {
      const message = deviceError;
      deviceError = undefined;
      throw new Error(`WebGPU error before this read: ${message}`);
    }
    return this.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype as tf.DataType));
  };
}
