export type { ReferentielPartial, ReferentielPiece } from './referentiel';
export {
  finalizeReferentielDay,
  processReferentielChunk,
  REFERENTIEL_COLUMNS,
  REFERENTIEL_REQUIRED_COLUMNS,
  referentielHandler,
  referentielLookup,
} from './referentiel';
