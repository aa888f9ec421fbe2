import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { FlowJobNode, FlowProducer, Queue } from 'bullmq';
import { ChunkFile, DAILY_SCHEDULER_ID, FinalizeRun, IngestRun, JobData, jobIds, newRunId, ProcessChunk, QueueName, ScheduledRun } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, LOGGER, Logger, RAW_SOURCES, RawSources, RunRecord, STORE, Store, workerConnection } from '@cityflow/common';
import { addDays, FileRef, isSplittable, PARIS_TZ, parisDay } from '@cityflow/domain';

/** Decides, per raw file of the day, whether it is processed whole or goes to the chunker. */
export function planFiles(files: FileRef[], maxFileSizeBytes: number) {
  return files.map((file, fileIndex) => ({ file, fileIndex, chunked: file.size > maxFileSizeBytes && isSplittable(file.source) }));
}

@Injectable()
export class IngestorService implements OnModuleInit, OnModuleDestroy {
  private readonly flows: FlowProducer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(STORE) private readonly store: Store,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(RAW_SOURCES) private readonly rawSources: RawSources,
    @InjectQueue(QueueName.Ingest) private readonly ingestQueue: Queue,
  ) {
    this.flows = new FlowProducer({ connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
    this.flows.on('error', (err) => this.log.error({ err }, 'flow producer error'));
  }

  /**
   * The daily schedule lives in Redis: every replica upserts the same scheduler (idempotent, one
   * result), and removing SCHEDULE_CRON removes it. Times are Europe/Paris, DST included.
   */
  async onModuleInit() {
    if (this.config.scheduleCron) {
      await this.ingestQueue.upsertJobScheduler(
        DAILY_SCHEDULER_ID,
        { pattern: this.config.scheduleCron, tz: PARIS_TZ },
        { name: ScheduledRun.name, data: ScheduledRun.parse({ schemaVersion: 1, daysBack: this.config.scheduleDaysBack }), opts: ScheduledRun.defaults },
      );
      this.log.info({ cron: this.config.scheduleCron, tz: PARIS_TZ, daysBack: this.config.scheduleDaysBack }, 'daily run scheduled');
    } else if (await this.ingestQueue.removeJobScheduler(DAILY_SCHEDULER_ID)) {
      this.log.info('daily schedule removed (SCHEDULE_CRON unset)');
    }
  }

  async onModuleDestroy() {
    await this.flows.close();
  }

  /** A trigger of the daily schedule: run the day `daysBack` before the trigger's Paris date. */
  async scheduled(data: JobData<typeof ScheduledRun>, triggeredAt: number) {
    const date = addDays(parisDay(triggeredAt), -data.daysBack);
    const runId = newRunId(date);
    const result = await this.ingest({ schemaVersion: 1, runId, date });
    return ScheduledRun.parseResult({ runId, date, ...result });
  }

  /**
   * Discover the day's files and add the run's flow. Safe to repeat: the run record is rewritten
   * with the same content and every job id is deterministic, so BullMQ adds nothing twice.
   */
  async ingest(data: JobData<typeof IngestRun>) {
    const rawDir = data.rawDir ?? this.config.rawDir;
    const files = await this.rawSources.forLocation(rawDir).discover(data.date);
    const plan = planFiles(files, this.config.maxFileSizeBytes);
    const existing = await this.store.getRun(data.runId);
    const now = new Date().toISOString();
    const run: RunRecord = {
      runId: data.runId,
      date: data.date,
      status: 'running',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      rawDir,
      files: plan.map((p) => ({ fileIndex: p.fileIndex, source: p.file.source, relPath: p.file.relPath, size: p.file.size, chunked: p.chunked, fileKey: p.file.fileKey })),
    };
    await this.store.putRun(run);

    const children: FlowJobNode[] = plan.map(({ file, fileIndex, chunked }) =>
      chunked
        ? {
            name: ChunkFile.name,
            queueName: QueueName.Chunk,
            data: ChunkFile.parse({ schemaVersion: 1, runId: data.runId, rawDir, file, fileIndex }),
            opts: { ...ChunkFile.defaults, jobId: jobIds.file(data.runId, fileIndex), ignoreDependencyOnFailure: true },
          }
        : {
            name: ProcessChunk.name,
            queueName: QueueName.Process,
            data: ProcessChunk.parse({ schemaVersion: 1, runId: data.runId, rawDir, file, range: { index: 0, start: 0, end: file.size } }),
            opts: { ...ProcessChunk.defaults, jobId: jobIds.chunk(data.runId, fileIndex, 0), ignoreDependencyOnFailure: true },
          },
    );
    await this.flows.add({
      name: FinalizeRun.name,
      queueName: QueueName.Report,
      data: FinalizeRun.parse({ schemaVersion: 1, runId: data.runId, date: data.date }),
      opts: { ...FinalizeRun.defaults, jobId: jobIds.finalize(data.runId) },
      children,
    });
    const chunkedFiles = plan.filter((p) => p.chunked).length;
    this.log.info({ runId: data.runId, date: data.date, files: plan.length, chunkedFiles }, 'run flow added');
    return IngestRun.parseResult({ files: plan.length, chunkedFiles });
  }

  async markFailed(runId: string, date: string, reason: string) {
    const now = new Date().toISOString();
    const run = await this.store.getRun(runId);
    await this.store.putRun({ ...(run ?? { runId, date, createdAt: now, rawDir: this.config.rawDir }), status: 'failed', error: reason, updatedAt: now });
    this.log.error({ runId, err: reason }, 'run failed at ingest');
  }
}
