import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { IngestRun, jobIds, newRunId, QueueName } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, LOGGER, Logger, RunRecord, STORE, Store } from '@cityflow/common';
import { errors } from '../common/api-error';
import { RedisProducer, withTimeout } from '../redis/redis-producer.service';
import { ChunkListing, JobSnapshot, RunProgress, summarizeRun } from './run-progress';

/** Longest a request waits on Redis. */
const REDIS_DEADLINE_MS = 2000;
/** A run's flow has one child per file and one grandchild per chunk; read them all. */
const MAX_CHILDREN = 10_000;
/** Default listing: every chunk, at most 100 per file. */
export const DEFAULT_CHUNK_LISTING: ChunkListing = { filter: 'all', offset: 0, limit: 100 };

export interface RunAccepted {
  runId: string;
  date: string;
  status: RunRecord['status'];
  links: { self: string; report: string; reportCsv: string; board: string };
}

export type RunView = Omit<RunRecord, 'files'> & RunProgress & { live: boolean };

@Injectable()
export class RunsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(STORE) private readonly store: Store,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly redis: RedisProducer,
  ) {}

  /**
   * Record the run as queued, then add its IngestRun job. Redis down → 503 at once (the
   * connection has no offline queue) and the record says why the run never started.
   */
  async start(date: string): Promise<RunAccepted> {
    if (!this.redis.isUp()) throw errors.queueUnavailable();
    const runId = newRunId(date);
    const now = new Date().toISOString();
    const record: RunRecord = { runId, date, status: 'queued', createdAt: now, updatedAt: now, rawDir: this.config.rawDir };
    await this.store.putRun(record);
    try {
      const data = IngestRun.parse({ schemaVersion: 1, runId, date });
      await withTimeout(
        this.redis.queue(QueueName.Ingest).add(IngestRun.name, data, { ...IngestRun.defaults, jobId: jobIds.ingest(runId) }),
        REDIS_DEADLINE_MS,
        'enqueue',
      );
    } catch (e) {
      await this.store.putRun({ ...record, status: 'failed', error: `mise en file impossible: ${(e as Error).message}`, updatedAt: new Date().toISOString() });
      throw errors.queueUnavailable(e);
    }
    this.log.info({ runId, date }, 'run queued');
    return {
      runId,
      date,
      status: 'queued',
      links: { self: `/runs/${runId}`, report: `/report/${date}`, reportCsv: `/report/${date}/csv`, board: '/admin/queues' },
    };
  }

  list(limit: number): Promise<RunRecord[]> {
    return this.store.listRuns(limit);
  }

  /**
   * The stored record merged with what Redis knows right now; `live: false` when Redis could not
   * be read. Each file lists one page of its chunks, chosen by `listing`.
   */
  async get(runId: string, listing: ChunkListing = DEFAULT_CHUNK_LISTING): Promise<RunView | null> {
    const record = await this.store.getRun(runId);
    if (!record) return null;
    let flow: JobSnapshot | null = null;
    let ingest: JobSnapshot | null = null;
    let live = false;
    if (this.redis.isUp()) {
      try {
        [flow, ingest] = await withTimeout(Promise.all([this.readFlow(runId), this.readIngest(runId)]), REDIS_DEADLINE_MS * 2, 'run progress');
        live = true;
      } catch (e) {
        this.log.warn({ runId, err: { message: (e as Error).message } }, 'live run progress unavailable');
      }
    }
    const progress = summarizeRun(record, flow, ingest, listing);
    const { files: _files, ...rest } = record;
    const view: RunView = { ...rest, ...progress, live };
    // The ingestor writes nothing when the IngestRun job fails for good: show that failure here.
    if (record.status === 'queued' && ingest?.state === 'failed') {
      view.status = 'failed';
      view.error = view.error ?? ingest.failedReason ?? 'ingest failed';
    }
    return view;
  }

  private async readIngest(runId: string): Promise<JobSnapshot | null> {
    const job = await this.redis.queue(QueueName.Ingest).getJob(jobIds.ingest(runId));
    return job ? snapshot(job, []) : null;
  }

  private async readFlow(runId: string): Promise<JobSnapshot | null> {
    const tree = await this.redis.flowProducer().getFlow({ id: jobIds.finalize(runId), queueName: QueueName.Report, maxChildren: MAX_CHILDREN, depth: 3 });
    if (!tree) return null;
    const toSnapshot = async (node: { job: Job; children?: ({ job: Job; children?: unknown[] } | undefined)[] }): Promise<JobSnapshot> => {
      // Children pruned by removeOnComplete come back undefined.
      const kids = (node.children ?? []).filter((c): c is { job: Job; children?: never[] } => !!c?.job);
      return snapshot(node.job, await Promise.all(kids.map(toSnapshot)));
    };
    return toSnapshot(tree as never);
  }
}

async function snapshot(job: Job, children: JobSnapshot[]): Promise<JobSnapshot> {
  const rows = (job.data as { rows?: unknown } | undefined)?.rows;
  return {
    id: job.id!,
    queueName: job.queueName,
    state: await job.getState(),
    progress: job.progress,
    plannedRows: typeof rows === 'number' ? rows : undefined,
    failedReason: job.failedReason || undefined,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    stalledCounter: job.stalledCounter,
    children: children.length ? children : undefined,
  };
}
