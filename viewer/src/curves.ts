// Learning curves of a training run, picked out of its metrics rows: mean trial return, the
// episodes' return before and after adaptation, and success. No DOM: shared by the page and tests.

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

