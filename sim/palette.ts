// The scene's colours (visual only: physics never reads them), chosen so that a person sees at a
// glance what a task is about: a fixture's fixed body is a quiet grey or wood, the part that moves
// (door, drawer, sash, lever, button) a strong teal, and whatever the hand takes hold of or pushes
// (handle, knob, button cap) a bright yellow; the arm is Sawyer red with dark joint housings.

export const PALETTE = {
  /** Fixed fixture bodies: safe, cabinet, window frame, button box, lever pedestal. */
  fixture: '#596270',
  /** Darker fixed fixture details: stops, brackets, rims. */
  fixtureDetail: '#3b424c',
  /** The part of a fixture that moves on its joint. */
  moving: '#14a89c',
  /** What the hand grasps or pushes on a moving part: handle bar, lever knob, button cap. */
  handle: '#ffd23f',
  /** Arm links (Sawyer red), joint housings, the end caps that show each joint's axis, the pedestal. */
  armLink: '#c62f2f',
  armJoint: '#23272e',
  armJointCap: '#b4bcc6',
  armBase: '#4b5563',
  /** Gripper fingers. */
  finger: '#e2e6ea',
} as const;
