export type { CsvErrorKind, CsvRecord, CsvScanOptions } from './scanner';
export { CsvScanner, DEFAULT_DELIMITER, DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORD_LINES, parseCsv, splitCsvLine, splitRecord } from './scanner';
export type { ChunkPlan, ChunkRange, PlanOptions } from './plan';
export { DEFAULT_PLAN_BUFFER, planChunks } from './plan';
export type { HeaderMatch } from './header';
export { matchHeader, normalizeLabel } from './header';
