import type { Logger } from 'pino';
import type { AppConfig } from '../config/config.schema';
import { DynamoDbStore } from './dynamodb.store';
import { FsStore } from './fs.store';
import { MongoStore } from './mongo.store';
import type { Store } from './store';

export type StoreConfig = Pick<AppConfig, 'databaseType' | 'outputDir' | 'createResources' | 'aws' | 'mongo' | 'dynamo'>;

/**
 * The configured store backend (DATABASE_TYPE, USE_DYNAMODB, AWS_EXECUTION_ENV). Not connected
 * yet: call `init()` (when the backend has one) before use and `close()` at shutdown, or use
 * `openStore`.
 */
export function createStore(config: StoreConfig, log?: Logger): Store {
  switch (config.databaseType) {
    case 'filesystem':
      return new FsStore(config.outputDir);
    case 'mongodb':
      return new MongoStore({ url: config.mongo.url, database: config.mongo.database, createResources: config.createResources, log });
    case 'dynamodb':
      return new DynamoDbStore({
        region: config.aws.region,
        endpoint: config.aws.dynamodbEndpoint,
        metricsTable: config.dynamo.metricsTable,
        reportsTable: config.dynamo.reportsTable,
        maxAttempts: config.dynamo.maxAttempts,
        retryBaseMs: config.dynamo.retryBaseMs,
        createResources: config.createResources,
        log,
      });
    default: {
      const unknown: never = config.databaseType;
      throw new Error(`unknown store backend ${String(unknown)}`);
    }
  }
}

/** createStore, then init: a store ready to use (or the named error saying why it is not). */
export async function openStore(config: StoreConfig, log?: Logger): Promise<Store> {
  const store = createStore(config, log);
  try {
    await store.init?.();
  } catch (e) {
    await store.close?.().catch(() => undefined);
    throw e;
  }
  return store;
}
