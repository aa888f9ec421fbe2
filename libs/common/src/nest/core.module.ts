import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/config.schema';
import { createLogger, Logger } from '../logging/logger';
import { openStore } from '../store/create-store';
import type { Store } from '../store/store';
import { APP_CONFIG, LOGGER, STORE } from './tokens';

/**
 * Configuration (validated once, before Nest starts), the pino logger and the store,
 * provided to every module of a service. The store is opened once per process (one database
 * client, B25) before any module that uses it starts, and closed at shutdown.
 */
@Global()
@Module({})
export class CoreModule implements OnApplicationShutdown {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  static forRoot(config: AppConfig, service: string): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: LOGGER, useValue: createLogger(config, service) },
        // Async: Nest waits for init (connect, check or create tables/indexes) before booting on.
        { provide: STORE, useFactory: (log: Logger) => openStore(config, log), inject: [LOGGER] },
      ],
      exports: [APP_CONFIG, LOGGER, STORE],
    };
  }

  /**
   * Last shutdown phase. Nest runs it for global modules after the others, in reverse order of
   * registration, so with CoreModule imported first (every service does) the BullMQ workers have
   * finished their active jobs before the store's connections close.
   */
  async onApplicationShutdown(): Promise<void> {
    try {
      await this.store.close?.();
    } catch (err) {
      this.log.warn({ err }, 'store close failed');
    }
  }
}
