// Worker-thread entry of VectorEnv: registers the TypeScript loader (a worker does not inherit its
// parent's), then runs the worker loop of sim/vector-worker.ts until the vector env closes.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runVectorWorker } = await import('./vector-worker.ts');
runVectorWorker(workerData, () => parentPort.postMessage('ready'));
