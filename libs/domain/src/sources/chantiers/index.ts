export * from './chantiers';
