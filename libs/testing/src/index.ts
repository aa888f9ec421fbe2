export * from './redis-server';
export * from './fixtures';
export * from './s3rver';
export * from './dynalite';
export * from './s3-service-fixture';
