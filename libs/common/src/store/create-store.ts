import type { AppConfig } from '../config/config.schema';
import { FsStore } from './fs.store';
import type { Store } from './store';

/** The configured store backend. The config schema already refused backends this version lacks. */
export function createStore(config: Pick<AppConfig, 'databaseType' | 'outputDir'>): Store {
  switch (config.databaseType) {
    case 'filesystem':
      return new FsStore(config.outputDir);
    default:
      throw new Error(`store backend ${config.databaseType} is not available in this version`);
  }
}
