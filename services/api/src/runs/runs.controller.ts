import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { APP_CONFIG, AppConfig } from '@cityflow/common';
import { ApiError, errors } from '../common/api-error';
import { BOTH_PREFIXES } from '../common/api-paths';
import { parseDay, parseIntParam, parseRunId, parseStringParam } from '../common/params';
import { ErrorSchema, RunAcceptedSchema, RunListSchema, RunViewSchema } from '../openapi/schemas';
import { assertApiKey } from './api-key';
import { CHUNK_FILTERS, ChunkFilter } from './run-progress';
import { DEFAULT_CHUNK_LISTING, RunAccepted, RunsService } from './runs.service';

/** Most chunks listed per file in one answer. */
const MAX_CHUNK_LIMIT = 1000;

const internal = (e: unknown) => {
  throw e instanceof ApiError ? e : errors.internal('Erreur récupération runs', e);
};

@ApiTags('runs')
@Controller(BOTH_PREFIXES)
export class RunsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly runs: RunsService,
  ) {}

  @Post('runs')
  @HttpCode(202)
  @ApiSecurity('api-key')
  @ApiOperation({
    summary: 'Lancer le traitement d’un jour',
    description: 'En-tête x-api-key requis. 503 si API_KEY n’est pas configurée ou si Redis est injoignable.',
  })
  @ApiBody({ schema: { type: 'object', required: ['date'], properties: { date: { type: 'string', format: 'date', example: '2025-11-04' } } } })
  @ApiAcceptedResponse({ schema: RunAcceptedSchema })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiUnauthorizedResponse({ schema: ErrorSchema })
  @ApiServiceUnavailableResponse({ schema: ErrorSchema })
  async start(@Headers('x-api-key') key: string | undefined, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<RunAccepted> {
    assertApiKey(key, this.config.apiKey);
    const date = parseDay(body && typeof body === 'object' ? (body as { date?: unknown }).date : undefined);
    const accepted = await this.runs.start(date);
    res.location(accepted.links.self);
    return accepted;
  }

  @Get('runs')
  @ApiOperation({ summary: 'Runs récents (enregistrements stockés, du plus récent au plus ancien)' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiOkResponse({ schema: RunListSchema })
  async list(@Query('limit') rawLimit: unknown) {
    const limit = parseIntParam('limit', rawLimit, 50, 1, 200);
    const runs = await this.runs.list(limit).catch(internal);
    return { count: runs.length, runs };
  }

  @Get('runs/:id')
  @ApiOperation({
    summary: 'Un run, avec sa progression en direct par fichier et par chunk',
    description:
      'Chaque fichier donne ses compteurs de chunks (tous les chunks) et une page de ses chunks (`chunkList`) : ' +
      'état, lignes traitées/prévues, tentatives, relances après blocage et raison d’échec. ' +
      '`chunks` choisit lesquels lister, `chunkOffset` et `chunkLimit` la page, par fichier.',
  })
  @ApiParam({ name: 'id', example: '2025-11-04-1a2b3c4d', schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{2,80}$' } })
  @ApiQuery({ name: 'chunks', required: false, description: 'Chunks listés par fichier', schema: { type: 'string', enum: [...CHUNK_FILTERS], default: DEFAULT_CHUNK_LISTING.filter } })
  @ApiQuery({ name: 'chunkOffset', required: false, description: 'Premier chunk listé (après le filtre), par fichier', schema: { type: 'integer', minimum: 0, default: 0 } })
  @ApiQuery({ name: 'chunkLimit', required: false, description: 'Nombre maximal de chunks listés par fichier', schema: { type: 'integer', minimum: 1, maximum: MAX_CHUNK_LIMIT, default: DEFAULT_CHUNK_LISTING.limit } })
  @ApiOkResponse({ schema: RunViewSchema })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiNotFoundResponse({ schema: ErrorSchema })
  async get(@Param('id') rawId: string, @Query('chunks') rawFilter: unknown, @Query('chunkOffset') rawOffset: unknown, @Query('chunkLimit') rawLimit: unknown) {
    const id = parseRunId(rawId);
    const filter = parseStringParam('chunks', rawFilter) ?? DEFAULT_CHUNK_LISTING.filter;
    if (!(CHUNK_FILTERS as readonly string[]).includes(filter)) throw errors.badParam('chunks', CHUNK_FILTERS.join(', '));
    const listing = {
      filter: filter as ChunkFilter,
      offset: parseIntParam('chunkOffset', rawOffset, 0, 0, 1_000_000),
      limit: parseIntParam('chunkLimit', rawLimit, DEFAULT_CHUNK_LISTING.limit, 1, MAX_CHUNK_LIMIT),
    };
    const run = await this.runs.get(id, listing).catch(internal);
    if (!run) throw errors.runNotFound(id);
    return run;
  }
}
