export * from './bikes-handler';
export { readBikeRecords } from './bikes-input';
export type { RawBikeRecord, RawBikeReject, BikeReadCallbacks } from './bikes-input';
