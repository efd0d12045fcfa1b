// The heads-up display over the 3D view: what is shown (live sim or recording) and the current
// step's family, task, trial (on a task schedule), policy, episode, step, reward, success and
// gripper opening. Long values wrap (style.css), so nothing is cut at any page size.

import type { SimInfo } from '../../protocol/wire.ts';

export interface HudStep {
  episode: number;
  step: number;
  reward: number;
  success: 0 | 1;
  gripper: number;
}

const FIELDS = ['source', 'family', 'task', 'trial', 'policy', 'episode', 'step', 'reward', 'success', 'gripper'] as const;
type Field = (typeof FIELDS)[number];

export class Hud {
  private readonly cells = new Map<Field, HTMLElement>();

  constructor(private readonly root: HTMLElement) {
    for (const field of FIELDS) {
      const cell = root.querySelector<HTMLElement>(`[data-hud="${field}"]`);
      if (!cell) throw new Error(`the page lacks the HUD field ${field}`);
      this.cells.set(field, cell);
    }
  }

  private set(field: Field, text: string): void {
    const cell = this.cells.get(field)!;
    if (cell.textContent !== text) cell.textContent = text;
  }

  show(visible: boolean): void { this.root.hidden = !visible; }

  /** What is shown (`title`: its full name, as a tooltip) and the sim's family, task, trial and policy. */
  describe(source: string, info: SimInfo, title = source): void {
    this.set('source', source);
    this.cells.get('source')!.title = title;
    this.set('family', info.family);
    this.set('task', `${info.benchmark ?? info.family} · ${info.split} #${info.task} · seed ${info.seed}`);
    // On a task schedule, say where in the trial the policy is (exploring/adapting, then showing).
    this.set('trial', info.trial ? `episode ${info.trial.episode} of ${info.trial.episodes}` : '');
    this.cells.get('trial')!.parentElement!.hidden = !info.trial;
    this.set('policy', info.policy);
  }

  update(step: HudStep): void {
    this.set('episode', String(step.episode));
    this.set('step', String(step.step));
    this.set('reward', step.reward.toFixed(3));
    this.set('success', step.success ? 'yes' : 'no');
    this.cells.get('success')!.dataset.success = String(step.success);
    this.set('gripper', `${(step.gripper * 1000).toFixed(1)} mm`);
  }

  clearStep(): void {
    for (const field of ['episode', 'step', 'reward', 'success', 'gripper'] as const) this.set(field, '–');
    delete this.cells.get('success')!.dataset.success;
  }
}
