// Worker-thread entry for the determinism test: loads the TypeScript fixture through tsx (a
// worker does not inherit the test runner's transform), runs the rollout and posts the record.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { rollout } = await import('./rollout-fixture.ts');
parentPort.postMessage(rollout(workerData));
