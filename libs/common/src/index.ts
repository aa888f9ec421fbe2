export * from './config/config.schema';
export * from './config/load-config';
export * from './store/store';
export * from './store/fs.store';
