// `metamanip worker --nats URL`: a rollout worker until Ctrl-C (or SIGTERM), which lets the job in hand
// finish and its answer go out before the worker leaves; a second signal stops at once.

import type { RolloutWorkerSummary } from '../bridge/rollout-worker.ts';

export interface WorkerCommandOptions {
  nats: string;
  token?: string;
  user?: string;
  password?: string;
  subject?: string;
  threads?: number;
  name?: string;
  maxJobs?: number;
  quiet?: boolean;
}

export async function workerCommand(options: WorkerCommandOptions): Promise<RolloutWorkerSummary> {
  const { natsCredentials, natsServers } = await import('../bridge/nats.ts');
  natsServers(options.nats);
  const credentials = natsCredentials({ token: options.token, user: options.user, password: options.password });
  const { runRolloutWorker } = await import('../bridge/rollout-worker.ts');
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    process.stderr.write(`worker: ${signal}: stopping after the job in hand (again to stop now)\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runRolloutWorker({
      url: options.nats, credentials, subject: options.subject, threads: options.threads, name: options.name, maxJobs: options.maxJobs,
      signal: stop.signal, log: options.quiet ? () => undefined : (line) => process.stderr.write(`${line}\n`),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
