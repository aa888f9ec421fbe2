import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, AppConfig, STORE, Store } from '@cityflow/common';
import { ArcMetric, METRIC_TYPES } from '@cityflow/domain';
import { ApiError, errors } from '../common/api-error';
import { API_VERSION, environmentOf } from '../common/api-info';
import { BOTH_PREFIXES } from '../common/api-paths';
import { parseDay, parseIntParam, parseMetricType, parseStringParam } from '../common/params';
import { ArcsPageSchema, DATE_PARAM, DatesSchema, ErrorSchema, MetricEnvelopeSchema, MetricsByDateSchema, StatsSchema, TYPE_PARAM } from '../openapi/schemas';
import { ARC_SORT_FIELDS, ArcPage, DEFAULT_ARC_SORT, pageArcs, parseArrondissement } from './arcs';

/** Rethrow our own answers; wrap anything else as a 500 with the old route label. */
const internal = (label: string) => (e: unknown) => {
  throw e instanceof ApiError ? e : errors.internal(label, e);
};

@ApiTags('métriques')
@Controller(BOTH_PREFIXES)
export class MetricsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(STORE) private readonly store: Store,
  ) {}

  @Get('stats')
  @ApiOperation({ summary: 'Statistiques du stockage' })
  @ApiOkResponse({ schema: StatsSchema })
  async stats() {
    const database_stats = await this.store.stats().catch(internal('Erreur récupération statistiques'));
    return {
      api_version: API_VERSION,
      database_type: this.config.databaseType,
      environment: environmentOf(this.config),
      timestamp: new Date().toISOString(),
      metric_types_available: [...METRIC_TYPES],
      database_stats,
    };
  }

  @Get('dates')
  @ApiOperation({ summary: 'Jours disponibles : métriques par type et rapports' })
  @ApiOkResponse({ schema: DatesSchema })
  async dates() {
    const list = async () => {
      const metrics: Record<string, string[]> = {};
      for (const type of METRIC_TYPES) metrics[type] = await this.store.listMetricDates(type);
      return { metrics, reports: await this.store.listReportDates() };
    };
    return list().catch(internal('Erreur récupération métriques'));
  }

  /** The old API answered 400 "Paramètres manquants" when the date was missing. */
  @Get('metrics')
  @ApiOperation({ summary: 'Sans date : 400 (compatibilité)' })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  missingDate(): never {
    throw errors.missingDate();
  }

  @Get('metrics/:date')
  @ApiOperation({ summary: 'Toutes les métriques d’un jour', description: '404 quand aucun type n’existe pour ce jour.' })
  @ApiParam(DATE_PARAM)
  @ApiOkResponse({ schema: MetricsByDateSchema })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiNotFoundResponse({ schema: ErrorSchema })
  async byDate(@Param('date') rawDate: string) {
    const date = parseDay(rawDate);
    const metrics: Record<string, unknown> = {};
    await (async () => {
      for (const type of METRIC_TYPES) {
        const doc = await this.store.getMetrics(type, date);
        if (doc !== null) metrics[type] = doc;
      }
    })().catch(internal('Erreur récupération métriques'));
    if (!Object.keys(metrics).length) throw errors.noMetricsForDate(date);
    return { date, metrics };
  }

  @Get('metrics/:type/:date')
  @ApiOperation({ summary: 'Métriques d’un type pour un jour' })
  @ApiParam(TYPE_PARAM)
  @ApiParam(DATE_PARAM)
  @ApiOkResponse({ schema: MetricEnvelopeSchema })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiNotFoundResponse({ schema: ErrorSchema })
  async byTypeAndDate(@Param('type') rawType: string, @Param('date') rawDate: string) {
    // The old API checked the date before the type.
    const date = parseDay(rawDate);
    const type = parseMetricType(rawType);
    const data = await this.store.getMetrics(type, date).catch(internal('Erreur récupération métriques'));
    if (data === null) throw errors.metricsNotFound(type, date);
    return { metric_type: type, date, data };
  }

  @Get('metrics/comptages/:date/arcs')
  @ApiOperation({ summary: 'Métriques par tronçon (comptages), paginées, filtrables par arrondissement' })
  @ApiParam(DATE_PARAM)
  @ApiQuery({ name: 'page', required: false, schema: { type: 'integer', minimum: 1, default: 1 } })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } })
  @ApiQuery({ name: 'arrondissement', required: false, description: '75001…75020, 1…20, ou "Hors Paris"', schema: { type: 'string' } })
  @ApiQuery({
    name: 'sort',
    required: false,
    description: `Champ de tri, "-" pour décroissant : ${ARC_SORT_FIELDS.join(', ')}`,
    schema: { type: 'string', default: DEFAULT_ARC_SORT },
  })
  @ApiOkResponse({ schema: ArcsPageSchema })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiNotFoundResponse({ schema: ErrorSchema })
  async arcs(@Param('date') rawDate: string, @Query() query: Record<string, unknown>): Promise<ArcPage> {
    const date = parseDay(rawDate);
    const page = parseIntParam('page', query.page, 1, 1, 1_000_000);
    const limit = parseIntParam('limit', query.limit, 50, 1, 500);
    const arrondissement = parseArrondissement(parseStringParam('arrondissement', query.arrondissement));
    const sort = parseStringParam('sort', query.sort) ?? DEFAULT_ARC_SORT;
    const doc = await this.store.getMetrics<{ metrics?: ArcMetric[] }>('comptages', date).catch(internal('Erreur récupération métriques'));
    if (doc === null) throw errors.metricsNotFound('comptages', date);
    return pageArcs(date, Array.isArray(doc.metrics) ? doc.metrics : [], { page, limit, arrondissement, sort });
  }
}
