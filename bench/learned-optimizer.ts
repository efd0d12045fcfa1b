// The learned optimiser against Adam on held-out tasks: the same small DQN learning each test task from
// scratch, its updates from the meta-trained LSTM (dqn-learned-optimizer) or from Adam at the learning rate
// tuned on training tasks (dqn-adam), on the same test tasks, env seeds, initial networks and action
// streams (`metamanip eval`'s protocol). Prints mean return per episode against the inner update steps
// made by the episode's end, for the benchmark's trial and for longer ones (beyond the unrolls the LSTM
// was meta-trained on), and writes bench/results/learned-optimizer.json.
//
//   npx tsx bench/learned-optimizer.ts [--learned FILE|RUN] [--adam FILE|RUN] [--trials 10:1000,30:200] [--seed 0] [--out FILE]
//
// --trials: episodes per trial and test tasks for each trial length. Adam at every candidate learning rate
// of its grid is also run on the held-out tasks, for context only: the comparison uses the rate chosen
// on training tasks.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { learnerFromCheckpoint } from '../agent/algorithms.ts';
import { initBackend } from '../agent/backend.ts';
import { readCheckpoint } from '../agent/checkpoint.ts';
import { distributionByName } from '../agent/distributions.ts';
import { type EvaluationReport, evaluate } from '../agent/evaluate.ts';
import { AdamDqnLearner } from '../agent/learned-optimizer.ts';
import { resolveCheckpointPath } from '../agent/run.ts';

interface Curve { label: string; trialReturn: number; stdError: number; byEpisode: number[]; seconds: number }

const { values } = parseArgs({ options: { learned: { type: 'string' }, adam: { type: 'string' }, trials: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } } });
const learnedPath = resolveCheckpointPath(values.learned ?? 'checkpoints/dqn-learned-optimizer-mdp-n10.json');
const adamPath = resolveCheckpointPath(values.adam ?? 'checkpoints/dqn-adam-mdp-n10.json');
const evaluationSeed = Number(values.seed ?? 0);
const trials = (values.trials ?? '10:1000,30:200').split(',').map((part) => {
  const [episodes, tasks] = part.split(':').map(Number);
  if (!(episodes >= 1 && tasks >= 1)) throw new Error(`--trials: expected EPISODES:TASKS pairs separated by commas, got '${part}'`);
  return { episodes, tasks };
});
const out = values.out ?? 'bench/results/learned-optimizer.json';

const backend = await initBackend('wasm');
const learnedCheckpoint = readCheckpoint(learnedPath), adamCheckpoint = readCheckpoint(adamPath);
if (learnedCheckpoint.algorithm !== 'dqn-learned-optimizer') throw new Error(`--learned: ${learnedPath} is a ${learnedCheckpoint.algorithm} checkpoint, not dqn-learned-optimizer`);
if (adamCheckpoint.algorithm !== 'dqn-adam') throw new Error(`--adam: ${adamPath} is a ${adamCheckpoint.algorithm} checkpoint, not dqn-adam`);
const family = learnedCheckpoint.benchmark.replace(/n\d+$/, '');
if (adamCheckpoint.benchmark.replace(/n\d+$/, '') !== family || adamCheckpoint.seed !== learnedCheckpoint.seed) {
  throw new Error(`the checkpoints were trained on different task distributions (${learnedCheckpoint.benchmark} seed ${learnedCheckpoint.seed}, ${adamCheckpoint.benchmark} seed ${adamCheckpoint.seed})`);
}
const learned = await learnerFromCheckpoint(learnedCheckpoint);
const adam = await learnerFromCheckpoint(adamCheckpoint) as AdamDqnLearner;
const tunedRate = adam.learningRate, adamScores = Array.from(adam.scores);

const curve = (label: string, report: EvaluationReport): Curve => ({
  label, trialReturn: report.meanTrialReturn, stdError: report.trialReturnStdError, byEpisode: report.byEpisode.map((p) => p.meanReturn), seconds: report.seconds,
});
/** Per task, learned minus Adam: the paired difference's mean and standard error. */
function paired(a: EvaluationReport, b: EvaluationReport): { mean: number; stdError: number } {
  const d = a.perTask.map((t, i) => t.trialReturn - b.perTask[i].trialReturn);
  const m = d.reduce((x, y) => x + y, 0) / d.length;
  const variance = d.reduce((x, y) => x + (y - m) ** 2, 0) / (d.length - 1);
  return { mean: m, stdError: Math.sqrt(variance / d.length) };
}

const results: unknown[] = [];
for (const { episodes, tasks } of trials) {
  const distribution = distributionByName(`${family}n${episodes}`, { seed: learnedCheckpoint.seed });
  const options = { tasks, evaluationSeed };
  const learnedReport = await evaluate(learned, distribution, options);
  const adamReport = await evaluate(adam, distribution, options);
  const grid: Array<Curve & { learningRate: number }> = [];
  for (const learningRate of adam.settings.learningRates) {
    const fixed = new AdamDqnLearner(distribution.spec, { ...adam.settings, learningRates: [learningRate] }, adamCheckpoint.seed);
    grid.push({ learningRate, ...curve(`Adam lr ${learningRate}`, await evaluate(fixed, distribution, options)) });
    fixed.dispose();
  }
  const stepsPerEpisode = distribution.spec.episodeSteps;
  const difference = paired(learnedReport, adamReport);
  results.push({
    benchmark: distribution.name, tasks, taskSource: learnedReport.taskSource, evaluationSeed,
    innerStepsAtEpisodeEnd: learnedReport.byEpisode.map((p) => p.episode * stepsPerEpisode),
    learned: curve('learned optimiser', learnedReport),
    adam: { learningRate: tunedRate, ...curve(`Adam lr ${tunedRate} (tuned on training tasks)`, adamReport) },
    learnedMinusAdam: difference,
    adamByLearningRateOnHeldOut: grid,
  });
  const lines = [
    `${distribution.name}: ${tasks} held-out tasks (${learnedReport.taskSource}), evaluation seed ${evaluationSeed}; mean return per episode`,
    'episode  inner steps   learned    Adam (lr ' + tunedRate + ')   ' + grid.map((g) => `lr ${g.learningRate}`.padStart(9)).join(' '),
  ];
  learnedReport.byEpisode.forEach((p, e) => {
    lines.push(`${String(p.episode).padStart(7)}  ${String(p.episode * stepsPerEpisode).padStart(11)}  ${p.meanReturn.toFixed(2).padStart(8)}  ${adamReport.byEpisode[e].meanReturn.toFixed(2).padStart(14)}   ${grid.map((g) => g.byEpisode[e].toFixed(2).padStart(9)).join(' ')}`);
  });
  lines.push(`trial return: learned ${learnedReport.meanTrialReturn.toFixed(2)} ± ${learnedReport.trialReturnStdError.toFixed(2)}, Adam ${adamReport.meanTrialReturn.toFixed(2)} ± ${adamReport.trialReturnStdError.toFixed(2)}; learned - Adam ${difference.mean.toFixed(2)} ± ${difference.stdError.toFixed(2)} (paired over tasks)`);
  lines.push(`seconds: learned ${learnedReport.seconds.toFixed(1)}, Adam ${adamReport.seconds.toFixed(1)}`, '');
  console.log(lines.join('\n'));
}
learned.dispose();
adam.dispose();

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({
  date: new Date().toISOString(), command: `npx tsx bench/learned-optimizer.ts ${process.argv.slice(2).join(' ')}`.trim(), backend: backend.backend,
  learned: { checkpoint: learnedPath, iteration: learnedCheckpoint.iteration, envSteps: learnedCheckpoint.envSteps },
  adam: { checkpoint: adamPath, iteration: adamCheckpoint.iteration, envSteps: adamCheckpoint.envSteps, learningRate: tunedRate, learningRates: adam.settings.learningRates, scoresOnTrainingTasks: adamScores },
  results,
}, null, 2) + '\n');
console.log(`wrote ${out}`);
