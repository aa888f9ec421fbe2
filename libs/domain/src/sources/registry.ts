import type { SourceName } from '../shared/model';
import type { SourceHandler } from './source-handler';
import { comptagesHandler } from './comptages';
import { referentielHandler } from './referentiel';
import { chantiersHandler } from './chantiers';
import { bikesHandler } from './bikes';
import { trafficHandler } from './traffic';
import { weatherHandler } from './weather';
import { velibHandler } from './velib';

/** One handler per source. */
export const HANDLERS: Record<SourceName, SourceHandler> = {
  comptages: comptagesHandler as SourceHandler,
  referentiel: referentielHandler as SourceHandler,
  chantiers: chantiersHandler as SourceHandler,
  bikes: bikesHandler as SourceHandler,
  traffic: trafficHandler as SourceHandler,
  weather: weatherHandler as SourceHandler,
  velib: velibHandler as SourceHandler,
};

export function handlerFor(source: SourceName): SourceHandler {
  const h = HANDLERS[source];
  if (!h) throw new Error(`no handler for source ${source}`);
  return h;
}

/** Whether the chunker may split large files of this source into byte ranges. */
export function isSplittable(source: SourceName): boolean {
  return handlerFor(source).splittable;
}

/**
 * Sources whose files carry their own timestamps over many days (the batch counts export):
 * a run writes metrics for every day they contain. The others are written for the run's day only,
 * so a late record in day D's folder never overwrites the metrics of D−1.
 */
export const BACKFILL_SOURCES: ReadonlySet<SourceName> = new Set<SourceName>(['comptages']);
