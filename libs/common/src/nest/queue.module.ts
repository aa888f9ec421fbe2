import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { DEFAULT_JOB_OPTIONS, QueueName } from '@cityflow/contracts';
import type { AppConfig } from '../config/config.schema';
import { workerConnection } from '../queue/redis-connection';

/** BullMQ wiring with our connection rules; `queues` are the queues this service produces to or consumes. */
@Module({})
export class QueueModule {
  static forRoot(config: AppConfig, queues: QueueName[]): DynamicModule {
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
