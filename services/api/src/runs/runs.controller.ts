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
import { parseDay, parseIntParam, parseRunId } from '../common/params';
import { ErrorSchema, RunAcceptedSchema, RunListSchema, RunViewSchema } from '../openapi/schemas';
import { assertApiKey } from './api-key';
import { RunAccepted, RunsService } from './runs.service';

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
  @ApiOperation({ summary: 'Un run, avec sa progression en direct par fichier et par chunk' })
  @ApiParam({ name: 'id', example: '2025-11-04-1a2b3c4d', schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{2,80}$' } })
  @ApiOkResponse({ schema: RunViewSchema })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiNotFoundResponse({ schema: ErrorSchema })
  async get(@Param('id') rawId: string) {
    const id = parseRunId(rawId);
    const run = await this.runs.get(id).catch(internal);
    if (!run) throw errors.runNotFound(id);
    return run;
  }
}
