import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnModuleInit } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { JobContractError, JobResult, ProcessChunk, QueueName } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, LOGGER, Logger } from '@cityflow/common';
import { InputFormatError, RawDirError, SourceChangedError } from '@cityflow/domain';
import { ProcessorService } from './processor.service';

/** Permanent failures: retrying the same bytes cannot succeed. */
const PERMANENT = [JobContractError, InputFormatError, SourceChangedError, RawDirError];

@Processor(QueueName.Process)
export class ProcessChunkProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly processor: ProcessorService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  onModuleInit() {
    this.worker.concurrency = this.config.processorConcurrency;
  }

  async process(job: Job): Promise<JobResult<typeof ProcessChunk>> {
    try {
      const data = ProcessChunk.parse(job.data);
      await job.updateProgress({ rowsDone: 0, rowsTotal: data.rows ?? null });
      const summary = await this.processor.processChunk(data);
      await job.updateProgress({ rowsDone: summary.quality.records, rowsTotal: data.rows ?? summary.quality.records });
      return ProcessChunk.parseResult(summary);
    } catch (e) {
      if (PERMANENT.some((cls) => e instanceof cls)) {
        const err = e as Error & { code?: string };
        this.log.warn({ jobId: job.id, err: err.message, code: err.code }, 'chunk rejected');
        throw new UnrecoverableError(`${err.name}${err.code ? ` [${err.code}]` : ''}: ${err.message}`);
      }
      throw e;
    }
  }
}
