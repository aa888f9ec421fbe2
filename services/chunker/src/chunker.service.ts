import { Inject, Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Job, Queue } from 'bullmq';
import { ChunkFile, JobData, jobIds, ProcessChunk, QueueName } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, LOGGER, Logger, RAW_SOURCES, RawSources } from '@cityflow/common';
import { ChunkPlan, ChunkRange, planChunks } from '@cityflow/domain';

@Injectable()
export class ChunkerService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(RAW_SOURCES) private readonly rawSources: RawSources,
    @InjectQueue(QueueName.Process) private readonly processQueue: Queue,
  ) {}

  /**
   * Scan the file once for record boundaries (quote-aware, bounded memory, no copy) and add one
   * `process-chunk` child per `EC2_CHUNK_SIZE` rows, each as soon as its range is planned, so the
   * processors start on the first chunks while the rest of the file is still being scanned.
   * Child ids are deterministic, so a retried plan step adds nothing twice.
   */
  async addChunks(job: Job, data: JobData<typeof ChunkFile>): Promise<number> {
    // Opening checks the file is still the version the run discovered (SourceChangedError if not).
    const reader = await this.rawSources.forLocation(data.rawDir).open(data.file);
    const started = Date.now();
    let firstChunkMs: number | undefined;
    // One add in flight at a time: its Redis round trip overlaps the scan of the next range, the
    // children still arrive in order, and a slow Redis holds the scan back (planChunks awaits).
    let adding: Promise<unknown> = Promise.resolve();
    const addChunk = (range: ChunkRange, header: string): Promise<unknown> =>
      this.processQueue.add(
        ProcessChunk.name,
        ProcessChunk.parse({
          schemaVersion: 1,
          runId: data.runId,
          rawDir: data.rawDir,
          file: data.file,
          range: { index: range.index, start: range.start, end: range.end, firstLine: range.firstLine },
          header: range.index === 0 ? undefined : header,
          rows: range.rows,
        }),
        {
          ...ProcessChunk.defaults,
          jobId: jobIds.chunk(data.runId, data.fileIndex, range.index),
          parent: { id: job.id!, queue: job.queueQualifiedName },
          ignoreDependencyOnFailure: true,
        },
      );

    let plan: ChunkPlan;
    try {
      plan = await planChunks(reader, this.config.chunkRows, {
        onRange: async (range, header) => {
          await adding;
          adding = addChunk(range, header);
          // Awaited later; this handler only keeps a failure meanwhile from counting as unhandled.
          adding.catch(() => undefined);
          firstChunkMs ??= Date.now() - started;
        },
      });
    } catch (e) {
      await adding.catch(() => undefined);
      throw e;
    }
    await adding;
    this.log.info(
      {
        runId: data.runId,
        file: data.file.relPath,
        bytes: data.file.size,
        rows: plan.totalRows,
        chunks: plan.ranges.length,
        ms: Date.now() - started,
        firstChunkMs,
      },
      'file split into chunks',
    );
    return plan.ranges.length;
  }
}
