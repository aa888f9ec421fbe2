export * from './constants';
export type { ArcPartial, ComptagesPartial, HourTuple } from './parse';
export { processComptagesChunk } from './parse';
export { finalizeComptagesDay, mergeComptagesPartials } from './metrics';
export { comptagesHandler, createComptagesHandler } from './comptages';
