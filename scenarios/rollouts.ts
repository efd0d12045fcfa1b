// Where `metamanip train` samples: in its own process, or on rollout workers over NATS when the scenario
// says `rollouts: {nats: URL}` or the command line gives --nats URL (the flags win over the file). The
// NATS client is loaded only then.

import type { Rl2Sampler, Rl2SamplerContext } from '../agent/rollouts.ts';
import type { TrainScenario } from './scenario.ts';

/** The command line's say on rollouts (each overrides the scenario's field). */
export interface RolloutFlags {
  nats?: string;
  natsToken?: string;
  natsUser?: string;
  natsPassword?: string;
  natsSubject?: string;
  lanesPerJob?: number;
  deadlineSeconds?: number;
}

/**
 * The sampler factory train() takes, or undefined to sample in the trainer's process. Credentials are
 * checked here, before anything starts: rollouts never connect without them.
 */
export async function rolloutSampler(fromScenario: TrainScenario['rollouts'], flags: RolloutFlags): Promise<((context: Rl2SamplerContext) => Promise<Rl2Sampler>) | undefined> {
  const url = flags.nats ?? fromScenario?.nats;
  if (url === undefined) {
    const stray = (['natsToken', 'natsUser', 'natsPassword', 'natsSubject', 'lanesPerJob', 'deadlineSeconds'] as const).filter((k) => flags[k] !== undefined);
    if (stray.length) throw new Error(`${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ${stray.length > 1 ? 'apply' : 'applies'} to rollouts over NATS: give --nats URL too (or rollouts.nats in the scenario)`);
    return undefined;
  }
  const { natsCredentials, natsServers } = await import('../bridge/nats.ts');
  natsServers(url);
  const credentials = natsCredentials({ token: flags.natsToken, user: flags.natsUser, password: flags.natsPassword });
  const { NatsRolloutFarm } = await import('../bridge/rollouts-nats.ts');
  return (context) => NatsRolloutFarm.start(context, {
    url, credentials,
    subject: flags.natsSubject ?? fromScenario?.subject,
    lanesPerJob: flags.lanesPerJob ?? fromScenario?.lanesPerJob,
    deadlineSeconds: flags.deadlineSeconds ?? fromScenario?.deadlineSeconds,
  });
}
