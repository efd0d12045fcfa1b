// Child process of recorder-crash.test.ts: records a reach episode through a Recorder and prints
// every frame it sends (a JSON line each, before the recorder sees it) until it is killed.
// Usage: node --import tsx test/bridge/recorder-crash-child.ts <dir> <chunkSize>

import { Recorder } from '../../bridge/recorder.ts';
import { FakeLiveSims } from './fake-live-sims.ts';
import type { StepFrame } from '../../protocol/wire.ts';

const [dir, chunkSize] = process.argv.slice(2);
const sims = new FakeLiveSims();
const recorder = new Recorder({ dir, chunkSize: Number(chunkSize), onError: (error) => { console.error(error); process.exit(2); } });
recorder.attach(sims);

// Logged from the hub's own event, so each line is out (stdout to a pipe is synchronous on Linux) before the recorder queues the frame.
const print = (frame: StepFrame) => process.stdout.write(`${JSON.stringify({ step: frame.step, reward: frame.reward, obs: Array.from(frame.obs), poses: Array.from(frame.poses), action: frame.action ? Array.from(frame.action) : null })}\n`);
sims.prependListener('frame', (_info: unknown, frame: StepFrame) => print(frame));
sims.prependListener('episode', (_info: unknown, _scene: unknown, frame: StepFrame) => print(frame));

const id = sims.open('reach', 3);
sims.reset(id);
// Short of the 500-step time limit, so the episode is still open when the parent kills us.
for (let step = 1; step < 490; step++) {
  sims.step(id);
  // Let the recorder's file writes run between steps, as they would under the gateway's event loop.
  await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write('idle\n');
setInterval(() => undefined, 1000);
