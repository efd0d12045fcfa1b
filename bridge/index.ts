// Public surface of the gateway (bridge/): start one, and drive its sims in-process. The shapes and
// codec its clients use are in protocol/ (wire.ts, ndarray.ts, scene.ts, policy.ts).
export { startGateway, type Gateway, type GatewayOptions } from './server.ts';
export { SimHub, SimError, expertDriver, simBenchmark, type Driver, type DriverContext, type OpenSpec } from './sims.ts';
