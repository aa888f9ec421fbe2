import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { IngestRun, JobContractError, JobResult, QueueName, ScheduledRun } from '@cityflow/contracts';
import { LOGGER, Logger } from '@cityflow/common';
import { RawDirError } from '@cityflow/domain';
import { IngestorService } from './ingestor.service';

@Processor(QueueName.Ingest)
export class IngestRunProcessor extends WorkerHost {
  constructor(
    private readonly ingestor: IngestorService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  async process(job: Job): Promise<JobResult<typeof IngestRun> | JobResult<typeof ScheduledRun>> {
    try {
      switch (job.name) {
        case IngestRun.name:
          return await this.ingestor.ingest(IngestRun.parse(job.data));
        case ScheduledRun.name:
          return await this.ingestor.scheduled(ScheduledRun.parse(job.data), job.timestamp);
        default:
          throw new JobContractError(job.name, `unknown job name on queue ${QueueName.Ingest}`);
      }
    } catch (e) {
      this.log.warn({ jobId: job.id, err: e }, 'ingest failed');
      // Bad payloads and missing raw folders will not fix themselves: no retry.
      if (e instanceof JobContractError || e instanceof RawDirError || e instanceof RangeError) throw new UnrecoverableError(`${(e as Error).name}: ${(e as Error).message}`);
      throw e;
    }
  }

  /** A run whose ingest failed for good is marked failed, so nobody waits for it. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job, err: Error) {
    if (job.attemptsMade < (job.opts.attempts ?? 1) && !(err instanceof UnrecoverableError)) return;
    const { runId, date } = (job.data ?? {}) as { runId?: string; date?: string };
    if (runId) await this.ingestor.markFailed(runId, date ?? '', err.message);
  }
}
