import * as os from 'node:os';
import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import type { Worker, WorkerOptions } from 'bullmq';
import { DEFAULT_JOB_OPTIONS, QueueName } from '@cityflow/contracts';
import type { AppConfig } from '../config/config.schema';
import { workerConnection } from '../queue/redis-connection';

/** What `@Processor(queue, options)` accepts: BullMQ's worker options, the connection aside. */
export type ProcessorWorkerOptions = Omit<WorkerOptions, 'connection'>;

/** The worker options that come from the configuration (see WORKER_* in the config schema). */
export type ConfiguredWorkerOptions = Required<Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount' | 'name'>>;

/**
 * Lock and stall settings of a BullMQ worker, and its name. BullMQ stores the name on every job
 * the worker takes (`job.processedBy`), so an active job can be traced to the process holding
 * it: `<service>@<host>#<pid>` (the host is the pod name under Kubernetes).
 */
export function workerOptions(config: AppConfig): ConfiguredWorkerOptions {
  return {
    lockDuration: config.workerLockDurationMs,
    stalledInterval: config.workerStalledIntervalMs,
    maxStalledCount: config.workerMaxStalledCount,
    name: `${config.serviceName}@${os.hostname()}#${process.pid}`,
  };
}

/**
 * Worker options for `@Processor(queue, WORKER_OPTIONS)`.
 *
 * A decorator's arguments are evaluated when the class is declared, before the configuration is
 * loaded. @nestjs/bullmq keeps a reference to this object and spreads it into `new Worker(...)`
 * only when the application starts (its explorer's onModuleInit); `QueueModule.forRoot(config)`
 * fills it in between. `assertWorkerOptions` checks at init that the worker really got them, so
 * a change in that behaviour fails loudly instead of silently falling back to BullMQ's defaults.
 * One set of options per process: every service process builds one Nest application.
 */
export const WORKER_OPTIONS: ProcessorWorkerOptions = {};

/** Throws when `worker` was not created with the configured lock and stall settings. */
export function assertWorkerOptions(worker: Pick<Worker, 'opts'>, config: AppConfig): void {
  const want = workerOptions(config);
  const got = worker.opts;
  if (got.lockDuration !== want.lockDuration || got.stalledInterval !== want.stalledInterval || got.maxStalledCount !== want.maxStalledCount) {
    throw new Error(
      `BullMQ worker options not applied: lockDuration ${got.lockDuration}, stalledInterval ${got.stalledInterval}, maxStalledCount ${got.maxStalledCount} ` +
        `(configured ${want.lockDuration}, ${want.stalledInterval}, ${want.maxStalledCount})`,
    );
  }
}

/** BullMQ wiring with our connection rules; `queues` are the queues this service produces to or consumes. */
@Module({})
export class QueueModule {
  static forRoot(config: AppConfig, queues: QueueName[]): DynamicModule {
    // Before any worker exists: processors declared with WORKER_OPTIONS pick these up at init.
    Object.assign(WORKER_OPTIONS, workerOptions(config));
    return {
      module: QueueModule,
      imports: [
        BullModule.forRoot({
          connection: workerConnection(config.redisUrl),
          prefix: config.queuePrefix,
          defaultJobOptions: DEFAULT_JOB_OPTIONS,
        }),
        ...queues.map((name) => BullModule.registerQueue({ name })),
      ],
      exports: [BullModule],
    };
  }
}
