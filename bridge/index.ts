// Public surface of the gateway (bridge/): start one, and the shapes and codec its clients use.
export { startGateway, type Gateway, type GatewayOptions } from './server.ts';
export { SimHub, SimError, expertDriver, type Driver, type DriverContext, type OpenSpec } from './sims.ts';
export { encodeFrame, decodeFrame, ndarray, isNdArray, FrameError, type NdArray, type DType } from './ndarray.ts';
export * from './protocol.ts';
