// Loads the Rapier physics engine once. The simd build is used: about twice as fast as the plain
// compat build on our scenes, and bit-for-bit reproducible from run to run and thread to thread.
import RAPIER from '@dimforge/rapier3d-simd-compat';

await RAPIER.init();

export { RAPIER };
export type { World, RigidBody, ImpulseJoint, PrismaticImpulseJoint, RevoluteImpulseJoint } from '@dimforge/rapier3d-simd-compat';
