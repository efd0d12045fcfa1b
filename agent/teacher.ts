// A trained tabular learner as RL2's demonstrator (Rl2Config demonstrator: teacher). A Q-learner from a
// qtable-* checkpoint learns each demonstration trial's task as it goes, by Q-learning from its start
// table with its tuned settings, on the steps the lane really takes (on DAgger lanes the RL2 policy's
// own), and labels every step with the action it would draw there. The run's task distribution carries
// it (withTeacher), so that the trainer and every rollout worker build the same demonstrators.

import type { Demonstrator, TaskDistribution } from './envs.ts';
import { algorithmByName } from './algorithms.ts';
import { readCheckpoint } from './checkpoint.ts';
import { QLearningLanes, type QLearningSettings, type QTableAlgorithm, QTableLearner, type QTableSettings } from './qtable.ts';
import { rngFor } from './random.ts';
import type { Rl2Config } from './rl2.ts';
import { resolveCheckpointPath } from './run.ts';

const TEACHERS: readonly string[] = ['qtable-maml', 'qtable-reptile', 'qtable-zeros'];

/** `distribution` with the teacher of `config` as its demonstrator; unchanged unless config's demonstrator is `teacher`. */
export function withTeacher(distribution: TaskDistribution, config: Pick<Rl2Config, 'demonstrator' | 'teacher'>): TaskDistribution {
  if (config.demonstrator !== 'teacher' || config.teacher === null) return distribution;
  const { q0, learning } = loadTeacher(config.teacher, distribution);
  const { spec } = distribution;
  const states = spec.obsSize, actions = spec.action.kind === 'discrete' ? spec.action.n : 0;
  return {
    ...distribution,
    demonstrator(_task, _kind, seed): Demonstrator {
      if (seed === undefined) throw new Error('teacher: a demonstration trial needs a seed for the teacher\'s action draws');
      const lane = new QLearningLanes(1, states, actions, q0, learning, [rngFor(seed, 'teacher')]);
      return (obs, previous) => {
        if (previous) {
          lane.tookInstead(previous.action);
          lane.observe([previous.reward], [previous.done ? 1 : 0]);
        }
        return lane.act(obs);
      };
    },
  };
}

/** The start table and the Q-learning settings of a qtable-* checkpoint trained on `distribution`'s spaces. */
function loadTeacher(path: string, distribution: TaskDistribution): { q0: Float32Array; learning: QLearningSettings } {
  let file: string;
  try {
    file = resolveCheckpointPath(path);
  } catch (error) {
    throw new Error(`teacher: ${(error as Error).message}`);
  }
  const checkpoint = readCheckpoint(file);
  if (!TEACHERS.includes(checkpoint.algorithm)) throw new Error(`teacher: ${file} is a ${checkpoint.algorithm} checkpoint; a teacher is a tabular Q-learner (${TEACHERS.join(', ')})`);
  if (JSON.stringify(checkpoint.spec) !== JSON.stringify(distribution.spec)) {
    throw new Error(`teacher: ${file} was trained on ${checkpoint.benchmark}, whose spaces differ from ${distribution.name}'s`);
  }
  const name = checkpoint.algorithm as QTableAlgorithm;
  const learner = new QTableLearner(name, checkpoint.spec, algorithmByName(name).withDefaults(checkpoint.config) as QTableSettings, checkpoint.seed);
  try {
    learner.load({ params: checkpoint.state.params });
    return { q0: learner.q0, learning: learner.chosen };
  } finally {
    learner.dispose();
  }
}
