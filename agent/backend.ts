// Chooses the TensorFlow.js backend at start-up: tfjs-node-gpu, tfjs-node, webgpu, wasm, then cpu, or the
// one forced by METAMANIP_BACKEND / a flag. An absent or broken backend is reported and skipped, never fatal.

import * as tf from '@tensorflow/tfjs';
import { type WebGpuAdapter, formatAdapter, loadWebGpu } from './webgpu.ts';

/** Our names for the backends, in the order they are tried. */
export const BACKEND_CHAIN = ['node-gpu', 'node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_CHAIN)[number];

export interface BackendAttempt { backend: BackendName; ok: boolean; error?: string }

export interface BackendChoice {
  /** The backend every tensor op now runs on. */
  backend: BackendName;
  /** tfjs's own name for it ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  tfjsBackend: string;
  /** webgpu only: the adapter it runs on. */
  adapter?: WebGpuAdapter;
  /** What was asked for: 'auto' or a forced backend. */
  requested: BackendName | 'auto';
  /** Every backend tried, in order, with the reason a failed one was skipped. */
  attempts: BackendAttempt[];
  tfjsVersion: string;
}

export const BACKEND_ENV_VAR = 'METAMANIP_BACKEND';

/**
 * Loads a backend's package (which registers the backend) and returns tfjs's name for it, with the
 * adapter for webgpu; throws (any error) when it cannot. `requested` is what the chain was asked for.
 */
type Loader = (context: { requested: BackendName | 'auto' }) => Promise<string | { tfjsBackend: string; adapter: WebGpuAdapter }>;

// The node and webgpu packages are optionalDependencies: absent (import rejects with
// ERR_MODULE_NOT_FOUND) or present without their native binary (import throws a plain Error); both are
// caught by the caller. webgpu takes a software adapter (SwiftShader) only when asked for by name: a
// CPU running WebGPU is far slower than wasm, so only a real GPU is worth choosing automatically.
const LOADERS: Record<BackendName, Loader> = {
  'node-gpu': async () => { await import(/* @vite-ignore */ nodePackage('gpu')); return 'tensorflow'; },
  node: async () => { await import(/* @vite-ignore */ nodePackage('cpu')); return 'tensorflow'; },
  webgpu: async ({ requested }) => ({ tfjsBackend: 'webgpu', adapter: await loadWebGpu({ allowSoftware: requested === 'webgpu' }) }),
  wasm: async () => { await import('@tensorflow/tfjs-backend-wasm'); return 'wasm'; },
  cpu: async () => 'cpu',
};

// Computed names keep bundlers and the type checker from insisting the optional packages exist.
function nodePackage(kind: 'gpu' | 'cpu'): string {
  return kind === 'gpu' ? ['@tensorflow', 'tfjs-node-gpu'].join('/') : ['@tensorflow', 'tfjs-node'].join('/');
}

export function parseBackendName(value: string): BackendName | 'auto' {
  if (value === 'auto' || (BACKEND_CHAIN as readonly string[]).includes(value)) return value as BackendName | 'auto';
  throw new Error(`unknown backend '${value}'; expected one of: auto, ${BACKEND_CHAIN.join(', ')}`);
}

let current: BackendChoice | null = null;
let pending: Promise<BackendChoice> | null = null;

/**
 * Sets up the backend once per process (later calls return the first choice). `requested` (or
 * METAMANIP_BACKEND) names a backend to start from; the chain continues below it when that one fails,
 * so forcing an absent backend still gives a working program and says why in `attempts`.
 */
export function initBackend(requested?: string, options: { loaders?: Partial<Record<BackendName, Loader>> } = {}): Promise<BackendChoice> {
  if (pending) return pending;
  pending = chooseBackend(requested ?? process.env[BACKEND_ENV_VAR] ?? 'auto', options.loaders).then((choice) => (current = choice));
  return pending;
}

/** The choice made by initBackend, or null before it finished. */
export const backendChoice = (): BackendChoice | null => current;

/** Walks the chain from `requestedName` and makes the first backend that works current (uncached). */
export async function chooseBackend(requestedName: string, overrides: Partial<Record<BackendName, Loader>> = {}): Promise<BackendChoice> {
  const loaders = { ...LOADERS, ...overrides };
  // Production mode skips tfjs's debug checks and its console banners (the cpu backend's "install
  // our node backend" note would land in the middle of a run's output; we report the chain ourselves).
  tf.enableProdMode();
  const requested = parseBackendName(requestedName.trim().toLowerCase() || 'auto');
  const start = requested === 'auto' ? 0 : BACKEND_CHAIN.indexOf(requested);
  const attempts: BackendAttempt[] = [];
  for (const backend of BACKEND_CHAIN.slice(start)) {
    try {
      const loaded = await loaders[backend]({ requested });
      const name = typeof loaded === 'string' ? loaded : loaded.tfjsBackend;
      // setBackend resolves false (or throws) when the backend's initialisation fails.
      if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
      await tf.ready();
      // A smoke op: some broken backends only fail on first use. Large enough that webgpu runs it on
      // the device (it hands small ops on CPU-held data to its CPU kernels) and reads it back.
      const probe = tf.tidy(() => tf.sum(tf.add(tf.ones([2048]), 2)).dataSync()[0]);
      if (probe !== 6144) throw new Error(`smoke test gave ${probe}, expected 6144`);
      attempts.push({ backend, ok: true });
      const adapter = typeof loaded === 'string' ? undefined : loaded.adapter;
      return { backend, tfjsBackend: tf.getBackend(), ...(adapter ? { adapter } : {}), requested, attempts, tfjsVersion: tf.version.tfjs };
    } catch (error) {
      attempts.push({ backend, ok: false, error: describeError(error) });
    }
  }
  // cpu is pure JavaScript and cannot fail to load, but a failed setBackend leaves tfjs pointing at
  // the broken backend, so the fallback is always set explicitly.
  await tf.setBackend('cpu');
  return { backend: 'cpu', tfjsBackend: 'cpu', requested, attempts, tfjsVersion: tf.version.tfjs };
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    const firstLine = error.message.split('\n')[0];
    return code ? `${code}: ${firstLine}` : firstLine;
  }
  return String(error);
}

/** One line for logs: "backend wasm (requested node-gpu; skipped node-gpu: not installed; ...)", with webgpu's adapter. */
export function describeBackend(choice: BackendChoice): string {
  // The full errors are in `attempts` (and every run's metadata); one line only needs the gist.
  const gist = (error = '') => (error.startsWith('ERR_MODULE_NOT_FOUND') ? 'not installed' : error);
  const failed = choice.attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${gist(a.error)}`);
  const why = [choice.requested !== 'auto' ? `requested ${choice.requested}` : '', ...(failed.length ? [`skipped ${failed.join('; ')}`] : [])].filter(Boolean);
  const adapter = choice.adapter ? ` on ${formatAdapter(choice.adapter)}` : '';
  return `backend ${choice.backend}${adapter}${why.length ? ` (${why.join('; ')})` : ''}`;
}
