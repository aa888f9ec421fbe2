export * from './referentiel';
