import { DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from '../config/config.schema';
import { createLogger } from '../logging/logger';
import { createStore } from '../store/create-store';
import { APP_CONFIG, LOGGER, STORE } from './tokens';

/**
 * Configuration (validated once, before Nest starts), the pino logger and the store,
 * provided to every module of a service.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, service: string): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: LOGGER, useValue: createLogger(config, service) },
        { provide: STORE, useFactory: () => createStore(config) },
      ],
      exports: [APP_CONFIG, LOGGER, STORE],
    };
  }
}
