export * from './constants';
export type { ComptagesPartial, PartialArc } from './partial';
export { decodeComptagesPartial, encodeComptagesPartial, ETAT_CODE, PartialBuilder, PartialFormatError } from './partial';
export type { ComptagesScanOptions } from './parse';
export { ComptagesChunkScanner, processComptagesChunk } from './parse';
export type { MergedDay } from './metrics';
export { finalizeComptagesDay, mergeComptagesPartials } from './metrics';
export { comptagesHandler, createComptagesHandler } from './comptages';
