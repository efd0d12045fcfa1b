// The registry of task families, by name.

import type { TaskFamily } from '../family.ts';
import { basketball } from './basketball.ts';
import { drawerClose } from './drawer-close.ts';
import { drawerOpen } from './drawer-open.ts';
import { pegInsertSide } from './peg-insert-side.ts';
import { pickPlace } from './pick-place.ts';
import { push } from './push.ts';
import { reach } from './reach.ts';
import { shelfPlace } from './shelf-place.ts';
import { sweep } from './sweep.ts';
import { sweepInto } from './sweep-into.ts';

export const FAMILIES: ReadonlyMap<string, TaskFamily> = new Map(
  [reach, push, pickPlace, drawerOpen, drawerClose, pegInsertSide, sweep, sweepInto, basketball, shelfPlace].map((f) => [f.name, f]),
);

export function getFamily(name: string): TaskFamily {
  const family = FAMILIES.get(name);
  if (!family) throw new Error(`unknown task family '${name}'; expected one of: ${[...FAMILIES.keys()].join(', ')}`);
  return family;
}
