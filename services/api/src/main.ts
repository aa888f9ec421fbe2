import 'reflect-metadata';
import { createLogger, installGracefulShutdown, loadConfigOrExit } from '@cityflow/common';
import { createApp } from './app.module';
import { BOARD_PATH } from './board/board';
import { DOCS_PATH } from './openapi/openapi';

async function main(): Promise<void> {
  const config = loadConfigOrExit('api');
  const log = createLogger(config, 'api');
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  const app = await createApp(config, { logger: log });
  // SIGTERM/SIGINT close the app (the Redis connection, queues and flow producer), then exit 0.
  installGracefulShutdown(app, log);
  await app.listen(config.apiPort, '0.0.0.0');
  const base = `http://localhost:${config.apiPort}`;
  log.info(
    {
      dashboard: `${base}/`,
      api: `${base}/api/health`,
      docs: `${base}/${DOCS_PATH}`,
      board: `${base}${BOARD_PATH}${config.boardPassword ? '' : ' (disabled: BOARD_PASSWORD unset)'}`,
      runs: config.apiKey ? 'POST /runs enabled' : 'POST /runs disabled: API_KEY unset',
      prefix: config.queuePrefix,
      outputDir: config.outputDir,
    },
    `api listening on 0.0.0.0:${config.apiPort}`,
  );
}

void main().catch((e: unknown) => {
  process.stderr.write(`[api] failed to start: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
