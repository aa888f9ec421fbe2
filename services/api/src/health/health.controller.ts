import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { APP_CONFIG, AppConfig } from '@cityflow/common';
import { API_VERSION, environmentOf, SERVICE_LABEL } from '../common/api-info';
import { BOTH_PREFIXES } from '../common/api-paths';
import { HealthSchema, ReadySchema } from '../openapi/schemas';
import { RedisProducer } from '../redis/redis-producer.service';

@ApiTags('santé')
@Controller(BOTH_PREFIXES)
export class HealthController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisProducer,
  ) {}

  /** Liveness: 200 while the process serves HTTP, with Redis reported (reads work without it). */
  @Get('health')
  @ApiOperation({ summary: 'État du service (toujours 200 ; indique si Redis répond)' })
  @ApiOkResponse({ schema: HealthSchema })
  async health() {
    return {
      status: 'healthy',
      service: SERVICE_LABEL,
      version: API_VERSION,
      database: this.config.databaseType,
      environment: environmentOf(this.config),
      redis: (await this.redis.ping()) ? 'up' : 'down',
    };
  }

  /** Readiness (k8s): 503 while Redis is unreachable, since runs cannot be queued then. */
  @Get('ready')
  @ApiOperation({ summary: 'Disponibilité (503 tant que Redis est injoignable)' })
  @ApiOkResponse({ schema: ReadySchema })
  @ApiServiceUnavailableResponse({ schema: ReadySchema })
  async ready(@Res() res: Response): Promise<void> {
    const up = await this.redis.ping();
    res.status(up ? 200 : 503).json({ status: up ? 'ready' : 'not ready', redis: up ? 'up' : 'down' });
  }
}
