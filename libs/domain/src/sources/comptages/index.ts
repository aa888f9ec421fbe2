export * from './constants';
export type { ComptagesPartial, PartialArc } from './partial';
export { concatComptagesPartials, decodeComptagesPartial, encodeComptagesPartial, ETAT_CODE, PartialBuilder, PartialFormatError } from './partial';
export type { ComptagesScanOptions } from './parse';
export { ComptagesChunkScanner, normalizeArcId, normalizeGeoPoint, parseDecimal, processComptagesChunk } from './parse';
export type { MergedDay } from './metrics';
export { finalizeComptagesDay, mergeComptagesPartials } from './metrics';
export { comptagesHandler, createComptagesHandler } from './comptages';
