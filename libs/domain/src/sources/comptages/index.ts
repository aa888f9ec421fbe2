export * from './constants';
export * from './parse';
export * from './metrics';
export * from './comptages';
