import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { chooseBackend, describeBackend, parseBackendName } from '../../agent/backend.ts';

describe('backend chain', () => {
  it('falls back to wasm when the forced node-gpu backend is not installed, and says why', async () => {
    // tfjs-node-gpu and tfjs-node are optionalDependencies that cannot be installed here: a real absent backend.
    const choice = await chooseBackend('node-gpu');
    expect(choice.requested).toBe('node-gpu');
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.attempts.map((a) => [a.backend, a.ok])).toEqual([['node-gpu', false], ['node', false], ['wasm', true]]);
    expect(choice.attempts[0].error).toMatch(/ERR_MODULE_NOT_FOUND|Cannot find/);
    expect(describeBackend(choice)).toContain('backend wasm');
    expect(tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0])).toBe(5);
  });

  it('survives a backend whose package loads but throws (a node binding without its binary) and one whose setBackend fails', async () => {
    const choice = await chooseBackend('auto', {
      'node-gpu': async () => { throw new Error('libtensorflow.so: cannot open shared object file'); },
      // Registered under a name tfjs does not know: setBackend fails and must not leave tfjs pointing at it.
      node: async () => 'no-such-backend',
    });
    expect(choice.backend).toBe('wasm');
    expect(choice.attempts[0]).toMatchObject({ backend: 'node-gpu', ok: false, error: expect.stringContaining('libtensorflow') });
    expect(choice.attempts[1]).toMatchObject({ backend: 'node', ok: false });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('ends on cpu when everything above it fails, with cpu set explicitly', async () => {
    const fail = async () => { throw new Error('broken'); };
    const choice = await chooseBackend('auto', { 'node-gpu': fail, node: fail, wasm: fail });
    expect(choice.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await chooseBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects unknown backend names with the list of known ones', () => {
    expect(parseBackendName('auto')).toBe('auto');
    expect(() => parseBackendName('webgpu')).toThrow(/unknown backend 'webgpu'; expected one of: auto, node-gpu, node, wasm, cpu/);
  });
});
