// The registry of task families, by name.

import type { TaskFamily } from '../family.ts';
import { basketball } from './basketball.ts';
import { buttonPressTopdown } from './button-press-topdown.ts';
import { doorClose } from './door-close.ts';
import { doorOpen } from './door-open.ts';
import { drawerClose } from './drawer-close.ts';
import { drawerOpen } from './drawer-open.ts';
import { leverPull } from './lever-pull.ts';
import { pegInsertSide } from './peg-insert-side.ts';
import { pickPlace } from './pick-place.ts';
import { push } from './push.ts';
import { reach } from './reach.ts';
import { shelfPlace } from './shelf-place.ts';
import { sweep } from './sweep.ts';
import { sweepInto } from './sweep-into.ts';
import { windowClose } from './window-close.ts';
import { windowOpen } from './window-open.ts';

export const FAMILIES: ReadonlyMap<string, TaskFamily> = new Map(
  [
    // MT10
    reach, push, pickPlace, doorOpen, drawerOpen, drawerClose, buttonPressTopdown, pegInsertSide, windowOpen, windowClose,
    // the rest of ML10
    sweep, basketball, doorClose, shelfPlace, sweepInto, leverPull,
  ].map((f) => [f.name, f]),
);

export function getFamily(name: string): TaskFamily {
  const family = FAMILIES.get(name);
  if (!family) throw new Error(`unknown task family '${name}'; expected one of: ${[...FAMILIES.keys()].join(', ')}`);
  return family;
}
