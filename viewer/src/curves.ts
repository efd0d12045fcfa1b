// Learning curves of a training run, picked out of its metrics rows: mean trial return, the
// episodes' return before and after adaptation, and success; and its adaptation curves (success or
// return by episode of the trial) from its evaluations. No DOM: shared by the page and tests.

/** One row of a run's metrics.jsonl; evaluation fields are null in iterations without an evaluation. */
export type MetricsRow = Record<string, number | null | string | boolean>;

/** A line of a plot (plots.ts draws them). */
export interface Series {
  label: string;
  colour: string;
  values: ReadonlyArray<number | null>;
  /** Draw as steps (a flag such as success) instead of straight segments. */
  stepped?: boolean;
  /** Dots at each value; for sparse series such as evaluations. */
  dots?: boolean;
  /** Join the values across nulls (a sparse series) instead of leaving a gap. */
  connectGaps?: boolean;
}

const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export interface LearningCurves {
  x: number[];
  xLabel: string;
  /** Whole trials (all episodes of a task): training and evaluation. */
  trialReturns: Series[];
  /** Single episodes before adaptation (first of a trial) and after it (last). */
  episodeReturns: Series[];
  success: Series[];
  iterations: number;
  evaluations: number;
}

/** Picks the curves out of metrics rows (any row lacking a field simply leaves a gap). */
export function learningCurves(rows: MetricsRow[]): LearningCurves {
  const useSteps = rows.every((r) => numberOrNull(r.envSteps) !== null);
  const x = rows.map((r, i) => (useSteps ? (r.envSteps as number) : numberOrNull(r.iteration) ?? i));
  const column = (key: string) => rows.map((r) => numberOrNull(r[key]));
  const evalBeforeReturn = column('evalBeforeReturn'), evalAfterReturn = column('evalAfterReturn');
  const trialReturns: Series[] = [
    { label: 'train', colour: '#60a5fa', values: column('meanTrialReturn') },
    { label: 'eval', colour: '#c084fc', values: column('evalTrialReturn'), dots: true, connectGaps: true },
  ];
  const episodeReturns: Series[] = [
    { label: 'train first ep.', colour: '#93c5fd', values: column('firstEpisodeReturn') },
    { label: 'train last ep.', colour: '#3b82f6', values: column('lastEpisodeReturn') },
    { label: 'eval before', colour: '#f59e0b', values: evalBeforeReturn, dots: true, connectGaps: true },
    { label: 'eval after', colour: '#22c55e', values: evalAfterReturn, dots: true, connectGaps: true },
  ];
  const success: Series[] = [
    { label: 'train first ep.', colour: '#93c5fd', values: column('firstEpisodeSuccess') },
    { label: 'train last ep.', colour: '#3b82f6', values: column('lastEpisodeSuccess') },
    { label: 'eval before', colour: '#f59e0b', values: column('evalBeforeSuccess'), dots: true, connectGaps: true },
    { label: 'eval after', colour: '#22c55e', values: column('evalAfterSuccess'), dots: true, connectGaps: true },
  ];
  const hasData = (s: Series) => s.values.some((v) => v !== null);
  return {
    x,
    xLabel: useSteps ? 'env steps' : 'iteration',
    trialReturns: trialReturns.filter(hasData),
    episodeReturns: episodeReturns.filter(hasData),
    success: success.filter(hasData),
    iterations: rows.length,
    evaluations: evalAfterReturn.filter((v) => v !== null).length,
  };
}

/** One line of a run's evaluations.jsonl (agent/run.ts EvaluationEntry), as the gateway serves it. */
export interface EvaluationLine {
  iteration: number;
  envSteps: number;
  byEpisode: ReadonlyArray<{ episode: number; phase: string; meanReturn: number; successRate: number; medianStepsToSuccess: number | null }>;
}

export interface AdaptationCurves {
  /** Episode index within the trial, 1-based. */
  x: number[];
  /** Success rate by episode (tasks with a success flag), else mean return by episode. */
  measure: 'success' | 'return';
  /** The first, a middle and the latest evaluation (as many as there are, up to three), oldest first. */
  series: Series[];
  /** Episodes of the trial that adapt before the evaluation episodes (0 when every episode is one trial). */
  adaptationEpisodes: number;
  evaluations: number;
}

const ADAPTATION_COLOURS = ['#fcd34d', '#fb923c', '#22c55e'];

/** The few-shot curve: how each evaluation's success (or return) grows with the episode index of the trial. */
export function adaptationCurves(evaluations: readonly EvaluationLine[], hasSuccess: boolean): AdaptationCurves {
  const measure = hasSuccess ? 'success' : 'return';
  const picks = [...new Set([0, Math.floor((evaluations.length - 1) / 2), evaluations.length - 1])].filter((i) => i >= 0 && i < evaluations.length);
  const episodes = Math.max(0, ...evaluations.map((e) => e.byEpisode.length));
  const latest = evaluations.at(-1);
  return {
    x: Array.from({ length: episodes }, (_, i) => i + 1),
    measure,
    series: picks.map((index, k) => {
      const e = evaluations[index];
      return {
        label: `@${compactSteps(e.envSteps)} steps`,
        colour: ADAPTATION_COLOURS[ADAPTATION_COLOURS.length - picks.length + k],
        values: Array.from({ length: episodes }, (_, i) => {
          const point = e.byEpisode[i];
          return point ? (measure === 'success' ? point.successRate : point.meanReturn) : null;
        }),
        dots: true,
      };
    }),
    adaptationEpisodes: latest ? latest.byEpisode.filter((p) => p.phase === 'adaptation').length : 0,
    evaluations: evaluations.length,
  };
}

/** 1300000 -> "1.3M", 25000 -> "25k". */
function compactSteps(steps: number): string {
  if (steps >= 1e6) return `${Number((steps / 1e6).toPrecision(3))}M`;
  if (steps >= 1e3) return `${Number((steps / 1e3).toPrecision(3))}k`;
  return String(steps);
}
