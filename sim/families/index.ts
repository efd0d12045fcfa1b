// The registry of task families, by name.

import type { TaskFamily } from '../family.ts';
import { assembly } from './assembly.ts';
import { basketball } from './basketball.ts';
import { binPicking } from './bin-picking.ts';
import { boxClose } from './box-close.ts';
import { buttonPressTopdown } from './button-press-topdown.ts';
import { disassemble } from './disassemble.ts';
import { doorClose } from './door-close.ts';
import { doorOpen } from './door-open.ts';
import { drawerClose } from './drawer-close.ts';
import { drawerOpen } from './drawer-open.ts';
import { hammerFamily } from './hammer.ts';
import { leverPull } from './lever-pull.ts';
import { pegInsertSide } from './peg-insert-side.ts';
import { pegUnplugSide } from './peg-unplug-side.ts';
import { pickPlace } from './pick-place.ts';
import { push } from './push.ts';
import { reach } from './reach.ts';
import { shelfPlace } from './shelf-place.ts';
import { soccer } from './soccer.ts';
import { stickPull } from './stick-pull.ts';
import { stickPush } from './stick-push.ts';
import { sweep } from './sweep.ts';
import { sweepInto } from './sweep-into.ts';
import { windowClose } from './window-close.ts';
import { windowOpen } from './window-open.ts';
import { dialTurn } from './dial-turn.ts';
import { reachWall } from './reach-wall.ts';
import { pushWall } from './push-wall.ts';
import { pickPlaceWall } from './pick-place-wall.ts';
import { pushBack } from './push-back.ts';
import { buttonPress } from './button-press.ts';
import { buttonPressWall } from './button-press-wall.ts';
import { buttonPressTopdownWall } from './button-press-topdown-wall.ts';
import { handInsert } from './hand-insert.ts';
import { pickOutOfHole } from './pick-out-of-hole.ts';
import { faucetOpen } from './faucet-open.ts';
import { faucetClose } from './faucet-close.ts';
import { coffeeButton } from './coffee-button.ts';
import { coffeePull } from './coffee-pull.ts';
import { coffeePush } from './coffee-push.ts';
import { plateSlide } from './plate-slide.ts';
import { plateSlideSide } from './plate-slide-side.ts';
import { plateSlideBack } from './plate-slide-back.ts';
import { plateSlideBackSide } from './plate-slide-back-side.ts';
import { handlePress } from './handle-press.ts';
import { handlePressSide } from './handle-press-side.ts';
import { handlePull } from './handle-pull.ts';
import { handlePullSide } from './handle-pull-side.ts';
import { doorLock } from './door-lock.ts';
import { doorUnlock } from './door-unlock.ts';

export const FAMILIES: ReadonlyMap<string, TaskFamily> = new Map(
  [
    // MT10
    reach, push, pickPlace, doorOpen, drawerOpen, drawerClose, buttonPressTopdown, pegInsertSide, windowOpen, windowClose,
    // the rest of ML10
    sweep, basketball, doorClose, shelfPlace, sweepInto, leverPull,
    // ML45 families (soccer, bin-picking, box-close, assembly, disassemble, hammer, peg-unplug-side, stick-push, stick-pull)
    soccer, binPicking, boxClose, pegUnplugSide, stickPush, hammerFamily, assembly, disassemble, stickPull,
    // ML45 (articulated fixtures: dial, faucet, handle press/pull, door lock)
    dialTurn, faucetOpen, faucetClose, handlePress, handlePressSide, handlePull, handlePullSide, doorLock, doorUnlock,
    // ML45 (walls, buttons, holes: reach-wall, push-wall, pick-place-wall, push-back, button-press, button-press-wall, button-press-topdown-wall, hand-insert, pick-out-of-hole)
    reachWall, pushWall, pickPlaceWall, pushBack, buttonPress, buttonPressWall, buttonPressTopdownWall, handInsert, pickOutOfHole,
    // ML45 (coffee machine and plate slide: coffee-button, coffee-pull, coffee-push, plate-slide, plate-slide-side, plate-slide-back, plate-slide-back-side)
    coffeeButton, coffeePull, coffeePush, plateSlide, plateSlideSide, plateSlideBack, plateSlideBackSide,
  ].map((f) => [f.name, f]),
);

export function getFamily(name: string): TaskFamily {
  const family = FAMILIES.get(name);
  if (!family) throw new Error(`unknown task family '${name}'; expected one of: ${[...FAMILIES.keys()].join(', ')}`);
  return family;
}
