// The training-run view: draws a run's learning curves and its adaptation curve (see curves.ts) on
// 2D canvases, with named axes, and says so in words where a plot has nothing to show.

import type { AdaptationCurves, LearningCurves } from './curves.ts';
import { drawPlot } from './plots.ts';

export interface CurveCanvases { trialReturn: HTMLCanvasElement; episodeReturn: HTMLCanvasElement; success: HTMLCanvasElement }

export function drawLearningCurves(canvases: CurveCanvases, curves: LearningCurves): void {
  const emptyText = curves.iterations === 0 ? 'no data yet: the run has not finished an iteration' : 'no data: the run records none of these';
  const common = { x: curves.x, xLabel: curves.xLabel, emptyText };
  drawPlot(canvases.trialReturn, { title: 'Trial return (all episodes of a task)', series: curves.trialReturns, yLabel: 'return', ...common });
  drawPlot(canvases.episodeReturn, { title: 'Episode return: before adaptation (first) / after (last)', series: curves.episodeReturns, yLabel: 'return', ...common });
  drawPlot(canvases.success, { title: 'Success: before / after adaptation', series: curves.success, yRange: [-0.02, 1.02], yLabel: 'success rate', ...common });
}

/** The adaptation (few-shot) curve: success or return by episode of the trial, for a few evaluations. */
export function drawAdaptationCurves(canvas: HTMLCanvasElement, curves: AdaptationCurves): void {
  const split = curves.adaptationEpisodes > 0 && curves.adaptationEpisodes < curves.x.length ? ` (episodes 1-${curves.adaptationEpisodes} adapt, then evaluation)` : '';
  drawPlot(canvas, {
    title: `Adaptation: ${curves.measure === 'success' ? 'success' : 'return'} by episode of the trial${split}`,
    series: curves.series,
    x: curves.x,
    xLabel: 'episode',
    yLabel: curves.measure === 'success' ? 'success rate' : 'return',
    ...(curves.measure === 'success' ? { yRange: [-0.02, 1.02] as const } : {}),
    emptyText: 'no adaptation curve: the run has no evaluation in evaluations.jsonl yet',
  });
}
