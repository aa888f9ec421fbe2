export * from './velib-handler';
export { readVelibSnapshots } from './velib-input';
export type { VelibInfoEntry, VelibRawSnapshot, VelibReadResult, VelibStatusRaw } from './velib-input';
