// The controller role over a real ws client: full episodes, determinism, batched steps, refused
// actions leaving the env unchanged, out-of-order requests, ownership and resume after a disconnect.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WsPeer, type Message } from './ws-peer.ts';
import { SimHub, simBenchmark, startGateway, type Gateway } from '../../bridge/index.ts';
import { isNdArray, ndarray, type NdArray } from '../../protocol/ndarray.ts';
import { ML10, MT1, getFamily, makeEnv } from '../../sim/index.ts';

const obsOf = (reply: Message) => {
  expect(isNdArray(reply.obs)).toBe(true);
  return (reply.obs as NdArray).data as Float32Array;
};

describe('controller role', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway({ port: 0, graceMs: 300 });
  });
  afterAll(() => gateway.close());

  it('greets with a hello holding a resume token and the limits', async () => {
    const client = await WsPeer.connect(`${gateway.url}/controller`);
    const hello = await client.next();
    expect(hello).toMatchObject({ type: 'hello', protocol: 1, role: 'controller', graceMs: 300 });
    expect(typeof hello.resumeToken).toBe('string');
    expect((hello.limits as { maxBatch: number }).maxBatch).toBeGreaterThan(1);
    client.close();
  });

  it('runs a full 500-step expert episode that matches a local env bit for bit', async () => {
    const client = await WsPeer.connect(`${gateway.url}/controller`);
    await client.next();
    const opened = await client.request({ type: 'open', family: 'reach', split: 'test', task: 3, seed: 7 });
    expect(opened).toMatchObject({ type: 'open', info: { family: 'reach', benchmark: null, split: 'test', task: 3, seed: 7, policy: 'controller', episode: 0 } });
    expect(opened.observationSpace).toMatchObject({ type: 'Box', shape: [39], dtype: 'float32' });
    expect(opened.actionSpace).toMatchObject({ type: 'Box', shape: [4], low: [-1, -1, -1, -1], high: [1, 1, 1, 1] });
    const sim = opened.sim as string;

    const benchmark = MT1('reach', 7);
    const local = makeEnv(benchmark, benchmark.test[3]);
    const expert = getFamily('reach').expert;
    const reset = await client.request({ type: 'reset', sim, seed: 1 });
    let obs = obsOf(reset);
    expect(obs).toEqual(local.reset({ seed: 1 }).obs);
    let success = false;
    let steps = 0;
    for (let done = false; !done; steps++) {
      const action = Float32Array.from(expert(obs, local.goalPosition));
      const reply = await client.request({ type: 'step', sim, action: ndarray(action) });
      const expected = local.step(action);
      obs = obsOf(reply);
      expect(Buffer.from(obs.buffer).equals(Buffer.from(expected.obs.buffer))).toBe(true);
      expect(reply.reward).toBe(expected.reward);
      expect(reply.terminated).toBe(false);
      success ||= (reply.info as { success: number }).success === 1;
      done = reply.truncated as boolean;
    }
    expect(steps).toBe(500);
    expect(success).toBe(true);
    // After truncation a step is out of order until the next reset.
    const late = await client.request({ type: 'step', sim, action: [0, 0, 0, 0] });
    expect(late).toMatchObject({ type: 'error', code: 'episode_over' });
    expect(late.message).toContain('send reset');
    expect(await client.request({ type: 'close', sim })).toMatchObject({ type: 'close', sim });
    expect(gateway.sims.has(sim)).toBe(false);
    local.close();
    client.close();
  });

  it('switches an ML10 sim across families and splits, matching a local env bit for bit, and refuses bad resets leaving it as it was', async () => {
    const client = await WsPeer.connect(`${gateway.url}/controller`);
    await client.next();
    const opened = await client.request({ type: 'open', benchmark: 'ML10', split: 'train', task: 0, seed: 3 });
    expect(opened.info).toMatchObject({ benchmark: 'ML10', family: 'reach', split: 'train', task: 0, seed: 3 });
    expect(opened.observationSpace).toMatchObject({ shape: [39] });
    const sim = opened.sim as string;
    const benchmark = ML10(3);
    const local = makeEnv(benchmark);
    // Train tasks of three families, then held-out families of the test split, then back.
    const visits: Array<{ split: 'train' | 'test'; task: number; family: string }> = [
      { split: 'train', task: 60, family: 'push' }, { split: 'train', task: 499, family: 'basketball' },
      { split: 'test', task: 0, family: 'drawer-open' }, { split: 'test', task: 249, family: 'lever-pull' },
      { split: 'train', task: 120, family: 'pick-place' },
    ];
    for (const [k, visit] of visits.entries()) {
      const reset = await client.request({ type: 'reset', sim, task: visit.task, ...(visit.split === 'test' || k === visits.length - 1 ? { split: visit.split } : {}), seed: k });
      expect(reset).toMatchObject({ type: 'reset', sim });
      const expectedReset = local.reset({ task: benchmark[visit.split][visit.task], seed: k });
      expect(Buffer.from(obsOf(reset).buffer).equals(Buffer.from(expectedReset.obs.buffer))).toBe(true);
      expect(Array.from(obsOf(reset).subarray(36, 39))).toEqual([0, 0, 0]);
      for (let step = 0; step < 3; step++) {
        const action = [0.5, -0.5, 0.2 * step, 1];
        const reply = await client.request({ type: 'step', sim, action });
        const expected = local.step(action);
        expect(Buffer.from(obsOf(reply).buffer).equals(Buffer.from(expected.obs.buffer))).toBe(true);
        expect(reply.reward).toBe(expected.reward);
      }
      expect(gateway.sims.info(sim)).toMatchObject({ family: visit.family, split: visit.split, task: visit.task, step: 3 });
    }
    // Refused: an index past the split, a split without tasks on MT10, an unknown split. The sim
    // keeps its task and its running episode.
    const before = gateway.sims.info(sim);
    const past = await client.request({ type: 'reset', sim, split: 'test', task: 250 });
    expect(past).toMatchObject({ type: 'error', code: 'bad_task' });
    expect(past.message).toContain('task 250 is not a task of ML10 test; expected an index in [0, 249]');
    const badSplit = await client.request({ type: 'reset', sim, split: 'valid', task: 0 });
    expect(badSplit).toMatchObject({ type: 'error', code: 'bad_message' });
    expect(gateway.sims.info(sim)).toEqual(before);
    const stepped = await client.request({ type: 'step', sim, action: [0, 0, 0, 0] });
    expect(stepped).toMatchObject({ type: 'step', sim });
    expect(gateway.sims.info(sim).step).toBe(before.step + 1);

    // MT10: goal visible and the family one-hot, which follows the family across resets.
    const mt = await client.request({ type: 'open', benchmark: 'MT10', task: 0 });
    expect(mt.observationSpace).toMatchObject({ shape: [49] });
    const mtSim = mt.sim as string;
    for (const [task, slot] of [[0, 0], [260, 5], [499, 9]]) {
      const obs = obsOf(await client.request({ type: 'reset', sim: mtSim, task }));
      expect(obs.length).toBe(49);
      expect(obs.subarray(39).indexOf(1)).toBe(slot);
      expect(obsOf(await client.request({ type: 'step', sim: mtSim, action: [0, 0, 0, 0] })).subarray(39).indexOf(1)).toBe(slot);
    }
    expect(await client.request({ type: 'reset', sim: mtSim, split: 'test' })).toMatchObject({ type: 'error', code: 'bad_task', message: expect.stringContaining('MT10 has no test tasks') });
    const unknown = await client.request({ type: 'open', benchmark: 'ML11' });
    expect(unknown).toMatchObject({ type: 'error', code: 'bad_task' });
    expect(unknown.message).toContain("unknown benchmark 'ML11' (did you mean 'ML10'?); expected one of: MT1:<family>, ML1:<family>, MT10, ML10");
    local.close();
    client.close();
  });

  it('opens benchmark tasks and is deterministic for the same seed and task', async () => {
    const client = await WsPeer.connect(`${gateway.url}/controller`);
    await client.next();
    const a = await client.request({ type: 'open', benchmark: 'ML1:push', split: 'train', task: 5, seed: 2 });
    const b = await client.request({ type: 'open', benchmark: 'ML1:push', split: 'train', task: 5, seed: 2 });
    expect(a.info).toMatchObject({ benchmark: 'ML1:push', family: 'push' });
    const ra = await client.request({ type: 'reset', sim: a.sim });
    const rb = await client.request({ type: 'reset', sim: b.sim });
    expect(obsOf(ra)).toEqual(obsOf(rb));
    expect(Array.from(obsOf(ra).subarray(36, 39))).toEqual([0, 0, 0]); // ML hides the goal
    for (let i = 0; i < 20; i++) {
      const action = [Math.sin(i), Math.cos(i), 0.3, i % 2 ? 1 : -1];
      const sa = await client.request({ type: 'step', sim: a.sim, action });
      const sb = await client.request({ type: 'step', sim: b.sim, action });
      expect(obsOf(sa)).toEqual(obsOf(sb));
      expect(sa.reward).toBe(sb.reward);
    }
    const unknown = await client.request({ type: 'open', benchmark: 'ML11' });
    expect(unknown).toMatchObject({ type: 'error', code: 'bad_task' });
    expect(unknown.message).toContain("unknown benchmark 'ML11'");
    const badTask = await client.request({ type: 'open', family: 'reach', task: 50 });
    expect(badTask).toMatchObject({ type: 'error', code: 'bad_task', message: expect.stringContaining('[0, 49]') });
    client.close();
  });

  it('steps many sims in one batched frame, all or nothing', async () => {
    const client = await WsPeer.connect(`${gateway.url}/controller`);
    await client.next();
    const sims: string[] = [];
    for (const family of ['reach', 'push', 'door-open']) sims.push((await client.request({ type: 'open', family })).sim as string);
    for (const sim of sims) await client.request({ type: 'reset', sim });
    const actions = new Float32Array(12).fill(0.5);
    const batch = await client.request({ type: 'step_batch', sims, actions: ndarray(actions, [3, 4]) });
    expect(batch.type).toBe('step_batch');
    const results = batch.results as Message[];
    expect(results.map((r) => r.sim)).toEqual(sims);
    for (const r of results) expect(obsOf(r)).toHaveLength(39);
    expect(gateway.sims.info(sims[0]).step).toBe(1);

    // A NaN in one row refuses the whole batch; no sim moves.
    actions[6] = Number.NaN;
    const refused = await client.request({ type: 'step_batch', sims, actions: ndarray(actions, [3, 4]) });
    expect(refused).toMatchObject({ type: 'error', code: 'bad_action' });
    expect(refused.message).toContain('actions[1]');
    expect(sims.map((s) => gateway.sims.info(s).step)).toEqual([1, 1, 1]);
    const wrongShape = await client.request({ type: 'step_batch', sims, actions: ndarray(new Float32Array(8), [2, 4]) });
    expect(wrongShape).toMatchObject({ type: 'error', code: 'bad_action', message: expect.stringContaining('[3, 4]') });
    const twice = await client.request({ type: 'step_batch', sims: [sims[0], sims[0]], actions: [[0, 0, 0, 0], [0, 0, 0, 0]] });
    expect(twice).toMatchObject({ type: 'error', code: 'bad_message', message: expect.stringContaining('twice') });
    client.close();
  });

  it('refuses NaN, Inf and wrong-length actions with the env state unchanged', async () => {
    const client = await WsPeer.connect(`${gateway.url}/controller`);
    await client.next();
    const { sim } = await client.request({ type: 'open', family: 'pick-place' });
    const early = await client.request({ type: 'step', sim, action: [0, 0, 0, 0] });
    expect(early).toMatchObject({ type: 'error', code: 'not_reset', id: expect.any(Number) });
    await client.request({ type: 'reset', sim });
    const first = await client.request({ type: 'step', sim, action: [0.1, 0.1, 0.1, 0.1] });
    for (const action of [[Number.NaN, 0, 0, 0], [0, Number.POSITIVE_INFINITY, 0, 0], [0, 0, 0], ndarray(new Float64Array(5)), ['a', 0, 0, 0]]) {
      const reply = await client.request({ type: 'step', sim, action });
      expect(reply).toMatchObject({ type: 'error', code: 'bad_action' });
    }
    expect(gateway.sims.info(sim as string).step).toBe(1);
    // The next good step continues from where the first one left off, as if nothing was refused.
    const benchmark = MT1('pick-place', 0);
    const local = makeEnv(benchmark, benchmark.train[0]);
    local.reset();
    local.step([0.1, 0.1, 0.1, 0.1]);
    const second = await client.request({ type: 'step', sim, action: [0.2, -0.1, 0, 1] });
    expect(obsOf(second)).toEqual(local.step([0.2, -0.1, 0, 1]).obs);
    expect(obsOf(first)).toHaveLength(39);
    local.close();
    client.close();
  });

  it('answers unknown types, bad fields and foreign sims with errors naming the problem', async () => {
    const owner = await WsPeer.connect(`${gateway.url}/controller`);
    const other = await WsPeer.connect(`${gateway.url}/controller`);
    await owner.next();
    await other.next();
    const { sim } = await owner.request({ type: 'open', family: 'reach' });
    await owner.request({ type: 'reset', sim });
    expect(await other.request({ type: 'step', sim, action: [0, 0, 0, 0] })).toMatchObject({ type: 'error', code: 'not_owner' });
    expect(await other.request({ type: 'close', sim })).toMatchObject({ type: 'error', code: 'not_owner' });
    expect(await other.request({ type: 'reset', sim: 's999999' })).toMatchObject({ type: 'error', code: 'unknown_sim' });
    const unknown = await other.request({ type: 'fly' });
    expect(unknown).toMatchObject({ type: 'error', code: 'unknown_type', message: expect.stringContaining('expected one of: open, reset, step') });
    const typo = await other.request({ type: 'reset', sim, sed: 3 });
    expect(typo).toMatchObject({ type: 'error', code: 'bad_message', message: expect.stringContaining("'sed'") });
    const wrongType = await other.request({ type: 'open', family: 'reach', task: 'three' });
    expect(wrongType).toMatchObject({ type: 'error', code: 'bad_message', message: expect.stringContaining('task') });
    // The list shows every sim, the owner's included.
    const list = await other.request({ type: 'list' });
    expect((list.sims as Array<{ id: string }>).map((s) => s.id)).toContain(sim);
    expect(await owner.request({ type: 'step', sim, action: [0, 0, 0, 0] })).toMatchObject({ type: 'step', sim });
    owner.close();
    other.close();
  });

  it('keeps a disconnected client\'s sims for the grace period and resumes them with the token', async () => {
    const first = await WsPeer.connect(`${gateway.url}/controller`);
    const { resumeToken } = await first.next();
    const { sim } = await first.request({ type: 'open', family: 'reach' });
    await first.request({ type: 'reset', sim });
    await first.request({ type: 'step', sim, action: [1, 0, 0, 0] });
    first.close();
    await first.closed;

    const second = await WsPeer.connect(`${gateway.url}/controller`);
    await second.next();
    const resumed = await second.request({ type: 'resume', token: resumeToken });
    expect(resumed).toMatchObject({ type: 'resume', resumeToken, sims: [{ id: sim, step: 1 }] });
    const step = await second.request({ type: 'step', sim, action: [1, 0, 0, 0] });
    expect(step).toMatchObject({ type: 'step', sim });
    expect(gateway.sims.info(sim as string).step).toBe(2);

    // Resume after opening a sim is out of order; an unknown token is refused.
    const third = await WsPeer.connect(`${gateway.url}/controller`);
    await third.next();
    expect(await third.request({ type: 'resume', token: 'nope' })).toMatchObject({ type: 'error', code: 'bad_resume_token' });
    await third.request({ type: 'open', family: 'reach' });
    expect(await third.request({ type: 'resume', token: resumeToken })).toMatchObject({ type: 'error', code: 'out_of_order' });
    third.close();

    // Without a resume the sims are closed after the grace period.
    second.close();
    await second.closed;
    expect(gateway.sims.has(sim as string)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(gateway.sims.has(sim as string)).toBe(false);
  });

  it('closes a resumed session\'s old connection when a new one takes it over', async () => {
    const first = await WsPeer.connect(`${gateway.url}/controller`);
    const { resumeToken } = await first.next();
    const { sim } = await first.request({ type: 'open', family: 'reach' });
    const second = await WsPeer.connect(`${gateway.url}/controller`);
    await second.next();
    expect(await second.request({ type: 'resume', token: resumeToken })).toMatchObject({ type: 'resume', sims: [{ id: sim }] });
    expect(await first.closed).toMatchObject({ code: 4001 });
    expect(await second.request({ type: 'reset', sim })).toMatchObject({ type: 'reset', sim });
    second.close();
  });
});

describe('SimHub', () => {
  it('emits episode, frame and episodeEnd events, and a throwing watcher does not fail the step', async () => {
    const failures: string[] = [];
    const hub = new SimHub({ onListenerError: (error, event) => failures.push(`${event}: ${error.message}`) });
    const events: string[] = [];
    hub.on('episode', (info, scene, frame) => events.push(`episode ${info.episode} ${scene.bodies.length > 5} ${frame.step}`));
    hub.on('frame', () => { throw new Error('broken watcher'); });
    hub.on('episodeEnd', (info, reason) => events.push(`end ${info.step} ${reason}`));
    hub.on('closed', (info) => events.push(`closed ${info.id}`));
    const { id } = hub.open({ ...simBenchmark({ family: 'reach' }), policy: 'test' });
    hub.reset(id);
    for (let i = 0; i < 500; i++) hub.step(id, [0, 0, 0, 0]);
    hub.reset(id);
    hub.step(id, [0, 0, 0, 0]);
    hub.reset(id); // abandons episode 1 mid-way
    hub.close(id);
    expect(events).toEqual(['episode 1 true 0', 'end 500 truncated', 'episode 2 true 0', 'end 1 closed', 'episode 3 true 0', 'end 0 closed', `closed ${id}`]);
    expect(failures).toHaveLength(501);
    expect(failures[0]).toBe('frame: broken watcher');
  });

  it('drives a sim with a pluggable driver: reset hook, previous reward, looping episodes', async () => {
    const hub = new SimHub();
    const { id } = hub.open({ ...simBenchmark({ family: 'reach' }), policy: 'test' });
    const resets: number[] = [];
    const rewards: number[] = [];
    let steps = 0;
    const done = new Promise<void>((resolve) => {
      hub.drive(id, {
        name: 'scripted',
        reset: (context) => resets.push(context.info.episode),
        act: (_obs, context) => {
          rewards.push(context.reward);
          if (++steps === 520) resolve();
          return [0.5, 0, 0, 0];
        },
      }, { rateHz: 10_000 });
    });
    await done;
    hub.close(id);
    expect(resets).toEqual([1, 2]);
    expect(rewards[0]).toBe(0);
    expect(rewards[1]).toBeGreaterThan(0);
    expect(rewards[500]).toBe(0); // first step of episode 2
    expect(hub.has(id)).toBe(false);
  });
});
