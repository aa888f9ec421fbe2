import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { ChunkFile, ChunkSummary, FinalizeRun, JobContractError, JobResult, QueueName } from '@cityflow/contracts';
import { LOGGER, Logger } from '@cityflow/common';
import { ReporterService } from './reporter.service';

type ChildValue = ChunkSummary | JobResult<typeof ChunkFile>;

/** Runs when every child of the run's flow is done (or failed and was ignored). */
@Processor(QueueName.Report)
export class FinalizeRunProcessor extends WorkerHost {
  constructor(
    private readonly reporter: ReporterService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  async process(job: Job): Promise<JobResult<typeof FinalizeRun>> {
    let data;
    try {
      data = FinalizeRun.parse(job.data);
    } catch (e) {
      throw new UnrecoverableError((e as JobContractError).message);
    }
    const values = Object.values(await job.getChildrenValues<ChildValue>());
    const chunks = values.flatMap((v) => ('chunks' in v ? v.chunks : [v]));
    const failures = await job.getIgnoredChildrenFailures();
    const failedJobs: Record<string, string> = {};
    for (const [key, reason] of Object.entries(failures)) failedJobs[key.split(':').pop()!] = reason;
    const out = await this.reporter.finalize(data.runId, data.date, chunks, failedJobs);
    return FinalizeRun.parseResult({ date: data.date, ...out });
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job, err: Error) {
    if (job.attemptsMade < (job.opts.attempts ?? 1) && !(err instanceof UnrecoverableError)) return;
    this.log.error({ jobId: job.id, err: err.message }, 'run failed');
    const runId = (job.data as { runId?: string }).runId;
    if (runId) await this.reporter.markFailed(runId, err.message);
  }
}
