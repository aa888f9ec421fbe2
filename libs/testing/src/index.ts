export * from './redis-server';
export * from './fixtures';
