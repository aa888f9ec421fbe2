export * from './types';
export * from './build-report';
export * from './csv';
export * from './schema';
