// Worker-thread entry of the learner threads (learner-threads.ts): registers the TypeScript loader (a
// worker does not inherit its parent's), then runs the loop of learner-worker.ts until closed.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runLearnerWorker } = await import('./learner-worker.ts');
await runLearnerWorker(workerData, (message) => parentPort.postMessage(message));
