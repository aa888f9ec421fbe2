/**
 * Queue names. Values are Redis keys: renaming one strands the jobs already in it, so a rename
 * needs a drain-and-migrate plan.
 */
export enum QueueName {
  Ingest = 'ingest',
  Chunk = 'chunk',
  Process = 'process',
  Report = 'report',
  Merge = 'merge',
}

export const ALL_QUEUES: readonly QueueName[] = [QueueName.Ingest, QueueName.Chunk, QueueName.Process, QueueName.Merge, QueueName.Report];

/** Default BullMQ key prefix; tests use a unique one per file. */
export const DEFAULT_QUEUE_PREFIX = 'cityflow';
