// The registry of task families, by name.

import type { TaskFamily } from '../family.ts';
import { drawerClose } from './drawer-close.ts';
import { drawerOpen } from './drawer-open.ts';
import { pickPlace } from './pick-place.ts';
import { push } from './push.ts';
import { reach } from './reach.ts';

export const FAMILIES: ReadonlyMap<string, TaskFamily> = new Map([reach, push, pickPlace, drawerOpen, drawerClose].map((f) => [f.name, f]));

export function getFamily(name: string): TaskFamily {
  const family = FAMILIES.get(name);
  if (!family) throw new Error(`unknown task family '${name}'; expected one of: ${[...FAMILIES.keys()].join(', ')}`);
  return family;
}
