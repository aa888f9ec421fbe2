import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnModuleInit } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { JobContractError, JobResult, MergeDay, QueueName } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, assertWorkerOptions, InvalidStoreKeyError, LOGGER, Logger, STORE, Store, UnstorableValueError, WORKER_OPTIONS } from '@cityflow/common';
import { loadReferentiel, mergeSourceDay, PartialFormatError, ReferentielMetrics } from '@cityflow/domain';

/**
 * One (source, day) of a run's fan-in: read the day's partials, merge, write the metric document.
 * The reporter adds these once every chunk is done and waits for them, so the days of a long
 * export are merged by all processor replicas at once.
 */
@Processor(QueueName.Merge, WORKER_OPTIONS)
export class MergeDayProcessor extends WorkerHost implements OnModuleInit {
  /**
   * The référentiel of the last run seen. The reporter writes it once, before it adds the run's
   * merges, so one read serves every day of that run merged here (it is ~1 MB of JSON, read
   * otherwise once per day).
   */
  private referentiel: { runId: string; mapping: Promise<ReferentielMetrics['mapping'] | undefined> } | null = null;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  onModuleInit() {
    assertWorkerOptions(this.worker, this.config);
  }

  async process(job: Job): Promise<JobResult<typeof MergeDay>> {
    let data;
    try {
      data = MergeDay.parse(job.data);
    } catch (e) {
      throw new UnrecoverableError((e as JobContractError).message);
    }
    const started = Date.now();
    try {
      const result = await mergeSourceDay(this.store, data, {
        referentiel: (store, date) => {
          if (this.referentiel?.runId !== data.runId) {
            const mapping = loadReferentiel(store, date);
            // A failed read is not kept: the next merge reads again.
            mapping.catch(() => (this.referentiel = null));
            this.referentiel = { runId: data.runId, mapping };
          }
          return this.referentiel.mapping;
        },
      });
      this.log.debug({ runId: data.runId, source: data.source, day: data.day, partials: data.partials.length, ms: Date.now() - started }, 'day merged');
      return MergeDay.parseResult({ source: data.source, day: data.day, quality: result.quality });
    } catch (e) {
      // A partial that cannot be read back will not become readable on a retry, and a document
      // the store refuses (a value it cannot hold) will be refused again.
      if (e instanceof PartialFormatError || e instanceof UnstorableValueError || e instanceof InvalidStoreKeyError) {
        throw new UnrecoverableError(`${e.name}: ${e.message}`);
      }
      throw e;
    }
  }
}
