export * from './shared/model';
export * from './shared/time';
export * from './shared/metrics-types';
export * from './geo/geo';
export * from './sources/source-handler';
