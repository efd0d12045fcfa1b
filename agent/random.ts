// The agent's random numbers: streams and seeds named by labels (so nothing random is carried as state,
// and a resumed run draws what an uninterrupted one would), and the draws built on them.

import { type Rng, createRng, hashString } from '../sim/rng.ts';

export type { Rng } from '../sim/rng.ts';

/** A stream named by labels, e.g. rngFor(seed, 'actions', iteration, lane): no state to save or restore. */
export function rngFor(seed: number, ...labels: Array<string | number>): Rng {
  return createRng(seed, hashString(labels.join('/')));
}

/** A 32-bit seed named by labels (episode seeds, evaluation seeds): no state to save. */
export const seedFor = (seed: number, ...labels: Array<string | number>): number => hashString(`${seed}/${labels.join('/')}`);

/** Standard normal by Box-Muller (one draw per call keeps the stream position easy to reason about). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

export function uniformValues(rng: Rng, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}

export function normalValues(rng: Rng, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = std * gaussian(rng);
  return out;
}
