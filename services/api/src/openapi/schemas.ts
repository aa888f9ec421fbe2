/**
 * OpenAPI schemas of the api's answers. Metric and report documents are described by their
 * envelope only: their full shape lives in libs/domain (metrics-types.ts, report.schema.json).
 */
import type { ApiParamOptions, SchemaObject } from '@nestjs/swagger';
import { METRIC_TYPES } from '@cityflow/domain';

export const DATE_PARAM: ApiParamOptions = { name: 'date', description: 'Jour (Europe/Paris), YYYY-MM-DD', example: '2025-11-04', schema: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } };
export const TYPE_PARAM: ApiParamOptions = { name: 'type', description: 'Type de métrique', enum: [...METRIC_TYPES] };

export const ErrorSchema: SchemaObject = {
  type: 'object',
  required: ['error', 'message', 'statusCode'],
  properties: {
    error: { type: 'string', example: 'Format de date invalide' },
    message: { type: 'string', example: 'Format attendu: YYYY-MM-DD' },
    statusCode: { type: 'integer', example: 400 },
  },
};

export const HealthSchema: SchemaObject = {
  type: 'object',
  properties: {
    status: { type: 'string', example: 'healthy' },
    service: { type: 'string', example: 'CityFlow Analytics API' },
    version: { type: 'string', example: '1.0.0' },
    database: { type: 'string', example: 'filesystem' },
    environment: { type: 'string', enum: ['Local', 'AWS'] },
    redis: { type: 'string', enum: ['up', 'down'] },
  },
};

export const ReadySchema: SchemaObject = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ready', 'not ready'] }, redis: { type: 'string', enum: ['up', 'down'] } },
};

export const StatsSchema: SchemaObject = {
  type: 'object',
  properties: {
    api_version: { type: 'string' },
    database_type: { type: 'string', example: 'filesystem' },
    environment: { type: 'string', enum: ['Local', 'AWS'] },
    timestamp: { type: 'string', format: 'date-time' },
    metric_types_available: { type: 'array', items: { type: 'string', enum: [...METRIC_TYPES] } },
    database_stats: { type: 'object', properties: { metrics_count: { type: 'integer' }, reports_count: { type: 'integer' } } },
  },
};

export const MetricEnvelopeSchema: SchemaObject = {
  type: 'object',
  properties: {
    metric_type: { type: 'string', enum: [...METRIC_TYPES] },
    date: { type: 'string', format: 'date' },
    data: { type: 'object', description: 'Document de métriques du jour (voir libs/domain/src/shared/metrics-types.ts)' },
  },
};

export const MetricsByDateSchema: SchemaObject = {
  type: 'object',
  properties: {
    date: { type: 'string', format: 'date' },
    metrics: { type: 'object', description: 'Un document par type présent pour ce jour', additionalProperties: { type: 'object' } },
  },
};

export const ReportEnvelopeSchema: SchemaObject = {
  type: 'object',
  properties: {
    date: { type: 'string', format: 'date' },
    report: { type: 'object', description: 'Rapport quotidien (voir libs/domain/report.schema.json)' },
  },
};

export const DatesSchema: SchemaObject = {
  type: 'object',
  properties: {
    metrics: { type: 'object', description: 'Jours disponibles par type, croissants', additionalProperties: { type: 'array', items: { type: 'string', format: 'date' } } },
    reports: { type: 'array', items: { type: 'string', format: 'date' } },
  },
};

export const ArcsPageSchema: SchemaObject = {
  type: 'object',
  properties: {
    date: { type: 'string', format: 'date' },
    page: { type: 'integer' },
    limit: { type: 'integer' },
    total: { type: 'integer', description: 'Nombre de tronçons après filtre' },
    pages: { type: 'integer' },
    sort: { type: 'string' },
    arrondissement: { type: 'string', nullable: true },
    items: { type: 'array', items: { type: 'object', description: 'Métriques d’un tronçon (ArcMetric)' } },
  },
};

const RUN_STATUS = ['queued', 'running', 'completed', 'incomplete', 'failed'];

export const RunAcceptedSchema: SchemaObject = {
  type: 'object',
  properties: {
    runId: { type: 'string', example: '2025-11-04-1a2b3c4d' },
    date: { type: 'string', format: 'date' },
    status: { type: 'string', enum: RUN_STATUS },
    links: { type: 'object', properties: { self: { type: 'string' }, report: { type: 'string' }, reportCsv: { type: 'string' }, board: { type: 'string' } } },
  },
};

export const RunRecordSchema: SchemaObject = {
  type: 'object',
  properties: {
    runId: { type: 'string' },
    date: { type: 'string', format: 'date' },
    status: { type: 'string', enum: RUN_STATUS },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    rawDir: { type: 'string' },
    error: { type: 'string' },
    result: { type: 'object' },
  },
};

export const RunListSchema: SchemaObject = {
  type: 'object',
  properties: { count: { type: 'integer' }, runs: { type: 'array', items: RunRecordSchema } },
};

const ChunkCountsSchema: SchemaObject = {
  type: 'object',
  properties: { total: { type: 'integer' }, completed: { type: 'integer' }, failed: { type: 'integer' }, active: { type: 'integer' }, waiting: { type: 'integer' } },
};

const ChunkViewSchema: SchemaObject = {
  type: 'object',
  description: 'Un job process-chunk',
  properties: {
    id: { type: 'string', example: '2025-11-04-1a2b3c4d-f1-c12', description: '<runId>-f<fichier>-c<chunk>' },
    index: { type: 'integer', description: 'Numéro du chunk dans son fichier' },
    state: { type: 'string', description: 'État BullMQ : completed, failed, active, waiting, delayed (attente d’une nouvelle tentative), prioritized, unknown' },
    rowsDone: { type: 'integer', description: 'Lignes traitées (progression du job)' },
    rowsTotal: { type: 'integer', nullable: true, description: 'Lignes du chunk comptées par le découpage ; null si inconnu' },
    attemptsMade: { type: 'integer', description: 'Tentatives terminées, réussie ou échouée (compte BullMQ)' },
    attemptsStarted: { type: 'integer', description: 'Fois où un worker a pris le job (tentatives et relances après blocage)' },
    stalls: { type: 'integer', description: 'Relances après blocage (processeur arrêté ou verrou perdu)' },
    failedReason: { type: 'string', nullable: true, description: 'Dernière erreur, y compris pour un chunk qui attend une nouvelle tentative' },
  },
};

const ChunkPageSchema: SchemaObject = {
  type: 'object',
  description: 'Une page des chunks du fichier, dans l’ordre des chunks, après le filtre `chunks`',
  properties: {
    filter: { type: 'string', enum: ['all', 'active', 'failed', 'none'] },
    offset: { type: 'integer' },
    limit: { type: 'integer' },
    total: { type: 'integer', description: 'Chunks du fichier qui passent le filtre' },
    items: { type: 'array', items: ChunkViewSchema },
  },
};

export const RunViewSchema: SchemaObject = {
  type: 'object',
  properties: {
    ...RunRecordSchema.properties,
    live: { type: 'boolean', description: 'false quand Redis n’a pas pu être lu (seul l’enregistrement stocké est montré)' },
    state: { type: 'string', nullable: true, description: 'État BullMQ du job du run (finalize, ou ingest avant que le flow existe)' },
    stage: { type: 'string', enum: ['queued', 'ingesting', 'processing', 'finalizing', 'completed', 'incomplete', 'failed', 'unknown'] },
    ingest: { type: 'object', nullable: true, properties: { state: { type: 'string' }, failedReason: { type: 'string', nullable: true }, attemptsMade: { type: 'integer' } } },
    files: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          fileIndex: { type: 'integer' },
          relPath: { type: 'string', nullable: true },
          source: { type: 'string', nullable: true },
          size: { type: 'integer', nullable: true },
          chunked: { type: 'boolean' },
          state: { type: 'string' },
          chunks: ChunkCountsSchema,
          rowsDone: { type: 'integer' },
          rowsTotal: { type: 'integer', nullable: true },
          failedReason: { type: 'string', nullable: true },
          percent: { type: 'number' },
          chunkList: ChunkPageSchema,
        },
      },
    },
    chunksTotal: { type: 'integer' },
    chunksCompleted: { type: 'integer' },
    chunksFailed: { type: 'integer' },
    rowsDone: { type: 'integer' },
    rowsTotal: { type: 'integer', nullable: true },
    percent: { type: 'number' },
  },
};
