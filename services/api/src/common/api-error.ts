import { HttpException } from '@nestjs/common';

/** Body of every error answer, as the old API sent it: `{error, message, statusCode}`. */
export interface ErrorBody {
  error: string;
  message: string;
  statusCode: number;
}

/** An HTTP error with the old API's envelope. `cause` is logged, never sent. */
export class ApiError extends HttpException {
  constructor(status: number, error: string, message: string, cause?: unknown) {
    super({ error, message, statusCode: status } satisfies ErrorBody, status, cause === undefined ? undefined : { cause });
  }

  get body(): ErrorBody {
    return this.getResponse() as ErrorBody;
  }
}

/** Old-API names of the metric types, in the old order, then the new ones. */
export const VALID_TYPES_TEXT = 'bikes, traffic, weather, comptages, chantiers, referentiel, velib';

export const errors = {
  badDate: () => new ApiError(400, 'Format de date invalide', 'Format attendu: YYYY-MM-DD'),
  badType: () => new ApiError(400, 'Type de métrique invalide', `Types valides: ${VALID_TYPES_TEXT}`),
  missingDate: () => new ApiError(400, 'Paramètres manquants', 'Date requise'),
  missingReportDate: () => new ApiError(400, 'Date manquante', 'Date requise'),
  badParam: (name: string, expected: string) => new ApiError(400, 'Paramètre invalide', `${name}: ${expected}`),
  metricsNotFound: (type: string, date: string) => new ApiError(404, 'Métriques non trouvées', `Aucune métrique ${type} pour la date ${date}`),
  noMetricsForDate: (date: string) => new ApiError(404, 'Métriques non trouvées', `Aucune métrique pour la date ${date}`),
  reportNotFound: (date: string) => new ApiError(404, 'Rapport non trouvé', `Aucun rapport pour la date ${date}`),
  badRunId: () => new ApiError(400, 'Identifiant de run invalide', 'Attendu: lettres minuscules, chiffres et tirets'),
  runNotFound: (id: string) => new ApiError(404, 'Run non trouvé', `Aucun run ${id}`),
  endpointNotFound: (path: string) => new ApiError(404, 'Endpoint non trouvé', `Chemin invalide: ${path.slice(0, 200)}`),
  unauthorized: () => new ApiError(401, 'Non autorisé', 'Clé API manquante ou invalide (en-tête x-api-key)'),
  apiKeyUnset: () => new ApiError(503, 'API_KEY non configurée', "Le lancement de runs est désactivé tant que la variable API_KEY n'est pas définie"),
  queueUnavailable: (cause?: unknown) =>
    new ApiError(503, 'Service indisponible', 'Redis est injoignable: le run ne peut pas être mis en file, réessayez plus tard', cause),
  /** 500 with the old route-specific label ("Erreur récupération métriques", …). */
  internal: (label: string, cause: unknown) => new ApiError(500, label, 'Erreur interne du serveur', cause),
};
