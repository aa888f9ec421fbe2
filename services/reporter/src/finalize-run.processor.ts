import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnModuleInit } from '@nestjs/common';
import { Job, Queue, UnrecoverableError, WaitingChildrenError } from 'bullmq';
import { ChunkFile, ChunkSummary, FinalizeRun, JobContractError, JobData, jobIds, JobResult, MergeDay, QueueName } from '@cityflow/contracts';
import { LOGGER, Logger } from '@cityflow/common';
import { DayMergeResult, prepareReportValidator } from '@cityflow/domain';
import { ReporterService } from './reporter.service';

type ChildValue = ChunkSummary | JobResult<typeof ChunkFile> | JobResult<typeof MergeDay>;

/** Children of the run job live in these queues: file jobs (chunk, process) and day merges (merge). */
const queueOfKey = (key: string): string => key.split(':').slice(-2, -1)[0];

/**
 * Runs when every file of the run's flow is done (or failed and was ignored). Two steps on one
 * job (BullMQ "process step jobs" pattern):
 *  - `merge`: add one MergeDay child per day of a backfill source, park in waiting-children;
 *    processors merge the days in parallel. A failed merge fails the run (failParentOnFailure):
 *    a report must not silently miss a day's metrics.
 *  - `report`: merge the other sources of the run's day and write the report.
 */
@Processor(QueueName.Report)
export class FinalizeRunProcessor extends WorkerHost implements OnModuleInit {
  constructor(
    private readonly reporter: ReporterService,
    @InjectQueue(QueueName.Merge) private readonly mergeQueue: Queue,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  onModuleInit() {
    // Every report is checked against the schema before it is written: compile it at start-up.
    prepareReportValidator();
  }

  async process(job: Job, token?: string): Promise<JobResult<typeof FinalizeRun>> {
    let data: JobData<typeof FinalizeRun>;
    try {
      data = FinalizeRun.parse(job.data);
    } catch (e) {
      throw new UnrecoverableError((e as JobContractError).message);
    }
    const values = await job.getChildrenValues<ChildValue>();
    const chunks: ChunkSummary[] = [];
    const merged: DayMergeResult[] = [];
    for (const [key, v] of Object.entries(values)) {
      if (queueOfKey(key) === QueueName.Merge) merged.push(v as DayMergeResult);
      else chunks.push(...('chunks' in v ? v.chunks : [v as ChunkSummary]));
    }
    const failures = await job.getIgnoredChildrenFailures();
    const failedJobs: Record<string, string> = {};
    for (const [key, reason] of Object.entries(failures)) failedJobs[key.split(':').pop()!] = reason;

    if ((data.step ?? 'merge') === 'merge') {
      const { plans, prepared } = await this.reporter.prepareMerges(data.runId, data.date, chunks, failedJobs);
      if (plans.length) {
        await this.mergeQueue.addBulk(
          plans.map((p) => ({
            name: MergeDay.name,
            data: MergeDay.parse({ schemaVersion: 1, runId: data.runId, date: data.date, ...p }),
            opts: {
              ...MergeDay.defaults,
              jobId: jobIds.merge(data.runId, p.source, p.day),
              parent: { id: job.id!, queue: job.queueQualifiedName },
              failParentOnFailure: true,
            },
          })),
        );
        this.log.info({ runId: data.runId, merges: plans.length }, 'day merges added');
      }
      data = { ...data, step: 'report', prepared };
      await job.updateData(data);
      if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
    }
    merged.push(...(data.prepared ?? []));
    const out = await this.reporter.finalize(data.runId, data.date, chunks, failedJobs, merged);
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
