import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, Type } from '@nestjs/common';
import type { Logger } from 'pino';
import { ConfigError, loadConfig } from '../config/load-config';
import type { AppConfig } from '../config/config.schema';
import { createLogger } from '../logging/logger';
import { redisHealthCheck } from '../health/redis-ping';

/** Adapts pino to Nest's LoggerService so framework messages are JSON lines too. */
export function nestLogger(log: Logger) {
  return {
    log: (m: unknown, ctx?: string) => log.debug({ ctx }, String(m)),
    error: (m: unknown, trace?: string, ctx?: string) => log.error({ ctx, trace }, String(m)),
    warn: (m: unknown, ctx?: string) => log.warn({ ctx }, String(m)),
    debug: (m: unknown, ctx?: string) => log.debug({ ctx }, String(m)),
    verbose: (m: unknown, ctx?: string) => log.trace({ ctx }, String(m)),
  };
}

/** Load config or exit 1 with every problem listed: a service never runs half-configured. */
export function loadConfigOrExit(service: string): AppConfig {
  try {
    return loadConfig({ ...process.env, SERVICE_NAME: process.env.SERVICE_NAME || service });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`[${service}] ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

/**
 * Start a worker service (no HTTP): Nest application context with shutdown hooks, so SIGTERM
 * closes BullMQ workers (waiting for active jobs) before the connections close.
 */
export async function bootstrapWorker(service: string, makeModule: (config: AppConfig) => Type<unknown> | import('@nestjs/common').DynamicModule): Promise<INestApplicationContext> {
  const config = loadConfigOrExit(service);
  const log = createLogger(config, service);
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  // A Redis that evicts keys is refused outright; an unreachable one is waited for (BullMQ reconnects).
  const redis = await redisHealthCheck(config.redisUrl);
  if (redis.misconfigured) {
    log.fatal(`refusing to start: ${redis.reason}`);
    process.exit(1);
  }
  if (!redis.ok) log.warn({ reason: redis.reason }, 'redis not reachable yet; waiting for it');
  const app = await NestFactory.createApplicationContext(makeModule(config), { logger: nestLogger(log) });
  installGracefulShutdown(app, log);
  log.info({ redis: config.redisUrl.replace(/\/\/[^@]*@/, '//***@'), prefix: config.queuePrefix, rawDir: config.rawDir, outputDir: config.outputDir }, `${service} started`);
  return app;
}

/**
 * SIGTERM/SIGINT → `app.close()`, which runs every shutdown hook (BullMQ workers stop taking jobs
 * and wait for the active ones, then queues and connections close), then exit 0. Nest's own
 * `enableShutdownHooks` runs the same hooks but re-raises the signal, so a clean drain would end
 * as "killed by SIGTERM" (exit 143 in containers); a second signal (2 s or more later) forces the exit.
 */
export function installGracefulShutdown(app: INestApplicationContext, log: Logger): void {
  let closingSince = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closingSince) {
      // Ctrl-C reaches every process of the terminal's group and `npm start` forwards SIGTERM
      // too: a repeat within 2 s is that echo, not a request to hurry.
      if (Date.now() - closingSince < 2000) return;
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    closingSince = Date.now();
    log.info({ signal }, 'shutting down: finishing active jobs');
    app.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
