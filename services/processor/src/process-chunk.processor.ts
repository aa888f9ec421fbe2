import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnModuleInit } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { JobContractError, JobResult, ProcessChunk, QueueName } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, assertWorkerOptions, InvalidStoreKeyError, LOGGER, Logger, UnstorableValueError, WORKER_OPTIONS } from '@cityflow/common';
import { InputFormatError, RawDirError, SourceChangedError } from '@cityflow/domain';
import { ProcessorService } from './processor.service';

/**
 * Permanent failures: retrying the same bytes cannot succeed. (A store write that ran out of
 * retries, DynamoWriteError, is not one of them: a later attempt may get through.)
 */
const PERMANENT = [JobContractError, InputFormatError, SourceChangedError, RawDirError, UnstorableValueError, InvalidStoreKeyError];

/**
 * Lock duration, stall detection and worker name come from the configuration (WORKER_*): a
 * processor killed mid-chunk (SIGKILL, OOM) leaves its job locked until the lock expires, then
 * another processor's stalled checker puts it back in the queue and the chunk runs again from
 * the start. Its partials are keyed by (source, day, fileKey, chunk), so the re-run overwrites
 * the same entries with the same bytes.
 */
@Processor(QueueName.Process, WORKER_OPTIONS)
export class ProcessChunkProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly processor: ProcessorService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  onModuleInit() {
    assertWorkerOptions(this.worker, this.config);
    this.worker.concurrency = this.config.processorConcurrency;
  }

  async process(job: Job): Promise<JobResult<typeof ProcessChunk>> {
    try {
      const data = ProcessChunk.parse(job.data);
      // Which process holds which chunk (the worker name carries host and pid), and how often
      // the chunk was started before: a value above 1 means a retry or a stalled re-run.
      this.log.debug(
        { jobId: job.id, runId: data.runId, attempt: job.attemptsStarted, stalls: job.stalledCounter, worker: this.worker.opts.name },
        'chunk started',
      );
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
