// The training-run view: draws a run's learning curves (see curves.ts) on three 2D canvases.

import type { LearningCurves } from './curves.ts';
import { drawPlot } from './plots.ts';

export interface CurveCanvases { trialReturn: HTMLCanvasElement; episodeReturn: HTMLCanvasElement; success: HTMLCanvasElement }

export function drawLearningCurves(canvases: CurveCanvases, curves: LearningCurves): void {
  const common = { x: curves.x, xLabel: curves.xLabel };
  drawPlot(canvases.trialReturn, { title: 'Trial return (all episodes of a task)', series: curves.trialReturns, ...common });
  drawPlot(canvases.episodeReturn, { title: 'Episode return: before adaptation (first) / after (last)', series: curves.episodeReturns, ...common });
  drawPlot(canvases.success, { title: 'Success: before / after adaptation', series: curves.success, yRange: [-0.02, 1.02], ...common });
}
