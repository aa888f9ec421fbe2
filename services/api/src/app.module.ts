import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { AppConfig, CoreModule, createLogger, Logger, nestLogger } from '@cityflow/common';
import { mountBoard } from './board/board';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { legacyCors } from './common/cors';
import { mountDashboard } from './dashboard/dashboard.static';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { ReportController } from './metrics/report.controller';
import { mountOpenApi } from './openapi/openapi';
import { RedisProducer } from './redis/redis-producer.service';
import { RunsController } from './runs/runs.controller';
import { RunsService } from './runs/runs.service';

@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [CoreModule.forRoot(config, 'api')],
      controllers: [HealthController, MetricsController, ReportController, RunsController],
      providers: [RedisProducer, RunsService],
    };
  }
}

/**
 * Build the whole HTTP application (not yet listening): security headers, CORS, dashboard,
 * Bull Board, OpenAPI, routes, error envelope. `main.ts` listens; tests call `init()` and use
 * supertest on `getHttpServer()`.
 */
export async function createApp(config: AppConfig, opts: { logger?: Logger } = {}): Promise<NestExpressApplication> {
  const log = opts.logger ?? createLogger(config, 'api');
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config), { logger: nestLogger(log), bodyParser: true });
  app.disable('x-powered-by');
  // Helmet first (order matters). No upgrade-insecure-requests: the stack is often served over
  // plain http on a private host, where that directive would break every asset.
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: true, directives: { 'upgrade-insecure-requests': null } },
      crossOriginResourcePolicy: { policy: 'cross-origin' },
    }),
  );
  app.use(legacyCors);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = Date.now();
    res.on('finish', () => {
      if (req.path === '/health' || req.path === '/api/health' || req.path === '/ready' || req.path === '/api/ready') return;
      log.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Date.now() - started }, 'http');
    });
    next();
  });
  mountDashboard(app);
  mountBoard(app, config, app.get(RedisProducer));
  mountOpenApi(app);
  app.useGlobalFilters(new ApiExceptionFilter(log));
  return app;
}
