import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { chooseBackend, describeBackend, parseBackendName } from '../../agent/backend.ts';
import { isSoftware, vulkanSetup } from '../../agent/webgpu.ts';

// webgpu is installed here but finds a GPU only on some machines: the chain tests below that are not
// about webgpu stand in a loader that fails as on a machine without one (backend-webgpu.test.ts runs the real one).
const noGpu = async () => { throw new Error('no Vulkan driver (no ICD file in the Vulkan loader\'s search path)'); };

describe('backend chain', () => {
  it('falls back to wasm when the forced node-gpu backend is not installed, and says why', async () => {
    // tfjs-node-gpu and tfjs-node are optionalDependencies that cannot be installed here: a real absent backend.
    const choice = await chooseBackend('node-gpu', { webgpu: noGpu });
    expect(choice.requested).toBe('node-gpu');
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.attempts.map((a) => [a.backend, a.ok])).toEqual([['node-gpu', false], ['node', false], ['webgpu', false], ['wasm', true]]);
    expect(choice.attempts[0].error).toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
    expect(describeBackend(choice)).toContain('backend wasm');
    expect(tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0])).toBe(5);
  });

  it('survives a backend whose package loads but throws (a node binding without its binary) and one whose setBackend fails', async () => {
    const choice = await chooseBackend('auto', {
      'node-gpu': async () => { throw new Error('libtensorflow.so: cannot open shared object file'); },
      // Registered under a name tfjs does not know: setBackend fails and must not leave tfjs pointing at it.
      node: async () => 'no-such-backend',
      webgpu: noGpu,
    });
    expect(choice.backend).toBe('wasm');
    expect(choice.attempts[0]).toMatchObject({ backend: 'node-gpu', ok: false, error: expect.stringContaining('libtensorflow') });
    expect(choice.attempts[1]).toMatchObject({ backend: 'node', ok: false });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('ends on cpu when everything above it fails, with cpu set explicitly', async () => {
    const fail = async () => { throw new Error('broken'); };
    const choice = await chooseBackend('auto', { 'node-gpu': fail, node: fail, webgpu: fail, wasm: fail });
    expect(choice.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await chooseBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects unknown backend names with the list of known ones', () => {
    expect(parseBackendName('auto')).toBe('auto');
    expect(parseBackendName('webgpu')).toBe('webgpu');
    expect(() => parseBackendName('gpu')).toThrow(/unknown backend 'gpu'; expected one of: auto, node-gpu, node, webgpu, wasm, cpu/);
  });

  it('tells the webgpu loader whether it was asked for by name (only then may it take a software adapter)', async () => {
    const asked: string[] = [];
    const webgpu = async ({ requested }: { requested: string }) => { asked.push(requested); throw new Error('no WebGPU adapter'); };
    await chooseBackend('auto', { 'node-gpu': noGpu, node: noGpu, webgpu });
    await chooseBackend('webgpu', { webgpu });
    expect(asked).toEqual(['auto', 'webgpu']);
  });

  it('reports the webgpu adapter it runs on', async () => {
    const adapter = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3090', software: false };
    // Stands in for webgpu with the cpu backend: what is checked is the report.
    const absent = async () => { throw Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node'"), { code: 'ERR_MODULE_NOT_FOUND' }); };
    const choice = await chooseBackend('auto', { 'node-gpu': absent, node: absent, webgpu: async () => ({ tfjsBackend: 'cpu', adapter }) });
    expect(choice).toMatchObject({ backend: 'webgpu', adapter });
    expect(describeBackend(choice)).toBe('backend webgpu on NVIDIA GeForce RTX 3090 (nvidia ampere) (skipped node-gpu: not installed; node: not installed)');
    await chooseBackend('wasm');
  });
});

describe('webgpu adapter checks', () => {
  it('counts fallback adapters and CPU Vulkan drivers as software, GPUs as hardware', () => {
    expect(isSoftware({ info: { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true }, requestDevice: noGpu })).toBe(true);
    expect(isSoftware({ isFallbackAdapter: true, requestDevice: noGpu })).toBe(true);
    expect(isSoftware({ info: { vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, requestDevice: noGpu })).toBe(true);
    expect(isSoftware({ info: { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3090', isFallbackAdapter: false }, requestDevice: noGpu })).toBe(false);
  });

  it('finds Vulkan drivers where the loader looks: the environment variables first, then the icd.d folders', () => {
    const here = new URL(import.meta.url).pathname;
    const empty = { HOME: '/nonexistent', XDG_CONFIG_DIRS: '/nonexistent', XDG_DATA_DIRS: '/nonexistent' };
    expect(vulkanSetup({ ...empty, VK_ICD_FILENAMES: here }).drivers).toEqual([here]);
    expect(vulkanSetup({ ...empty, VK_DRIVER_FILES: '/nonexistent/icd.json' }).drivers).toEqual([]);
    expect(vulkanSetup({ ...empty, VK_ADD_DRIVER_FILES: here }).drivers).toContain(here);
  });
});
