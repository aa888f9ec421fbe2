export * from './queues';
export * from './define-job';
export * from './pipeline';
export * from './jobs/common';
export * from './jobs/ingest-run.job';
export * from './jobs/chunk-file.job';
export * from './jobs/process-chunk.job';
export * from './jobs/finalize-run.job';
