// The training-run view: draws a run's learning curves (see curves.ts) on three 2D canvases, with
// named axes, and says so in words where a plot has nothing to show.

import type { LearningCurves } from './curves.ts';
import { drawPlot } from './plots.ts';

export interface CurveCanvases { trialReturn: HTMLCanvasElement; episodeReturn: HTMLCanvasElement; success: HTMLCanvasElement }

export function drawLearningCurves(canvases: CurveCanvases, curves: LearningCurves): void {
  const emptyText = curves.iterations === 0 ? 'no data yet: the run has not finished an iteration' : 'no data: the run records none of these';
  const common = { x: curves.x, xLabel: curves.xLabel, emptyText };
  drawPlot(canvases.trialReturn, { title: 'Trial return (all episodes of a task)', series: curves.trialReturns, yLabel: 'return', ...common });
  drawPlot(canvases.episodeReturn, { title: 'Episode return: before adaptation (first) / after (last)', series: curves.episodeReturns, yLabel: 'return', ...common });
  drawPlot(canvases.success, { title: 'Success: before / after adaptation', series: curves.success, yRange: [-0.02, 1.02], yLabel: 'success rate', ...common });
}
