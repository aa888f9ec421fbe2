export * from './scanner';
export * from './plan';
export * from './header';
