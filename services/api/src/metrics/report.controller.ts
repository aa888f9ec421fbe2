import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { STORE, Store } from '@cityflow/common';
import { ApiError, errors } from '../common/api-error';
import { BOTH_PREFIXES } from '../common/api-paths';
import { parseDay } from '../common/params';
import { DATE_PARAM, ErrorSchema, ReportEnvelopeSchema } from '../openapi/schemas';

const internal = (e: unknown) => {
  throw e instanceof ApiError ? e : errors.internal('Erreur récupération rapport', e);
};

@ApiTags('rapports')
@Controller(BOTH_PREFIXES)
export class ReportController {
  constructor(@Inject(STORE) private readonly store: Store) {}

  @Get('report')
  @ApiOperation({ summary: 'Sans date : 400 (compatibilité)' })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  missingDate(): never {
    throw errors.missingReportDate();
  }

  @Get('report/:date')
  @ApiOperation({ summary: 'Rapport quotidien (JSON)' })
  @ApiParam(DATE_PARAM)
  @ApiOkResponse({ schema: ReportEnvelopeSchema })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiNotFoundResponse({ schema: ErrorSchema })
  async report(@Param('date') rawDate: string) {
    const date = parseDay(rawDate);
    const report = await this.store.getReport(date).catch(internal);
    if (report === null) throw errors.reportNotFound(date);
    return { date, report };
  }

  @Get('report/:date/csv')
  @ApiOperation({ summary: 'Rapport quotidien (CSV, sections séparées par « ; »), en téléchargement' })
  @ApiParam(DATE_PARAM)
  @ApiProduces('text/csv')
  @ApiOkResponse({ description: 'daily_report_<date>.csv', schema: { type: 'string' } })
  @ApiBadRequestResponse({ schema: ErrorSchema })
  @ApiNotFoundResponse({ schema: ErrorSchema })
  async reportCsv(@Param('date') rawDate: string, @Res() res: Response): Promise<void> {
    const date = parseDay(rawDate);
    const csv = await this.store.getReportCsv(date).catch(internal);
    if (csv === null) throw errors.reportNotFound(date);
    res
      .status(200)
      .set('Content-Type', 'text/csv; charset=utf-8')
      .set('Content-Disposition', `attachment; filename="daily_report_${date}.csv"`)
      .send(csv);
  }
}
