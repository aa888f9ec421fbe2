import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppConfig } from '@cityflow/common';
import type { RedisProducer } from '../redis/redis-producer.service';

export const BOARD_PATH = '/admin/queues';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/**
 * HTTP Basic auth in front of Bull Board, which has none of its own ("treat dashboard access as
 * Redis access"). No password configured → the board is off (503), never open.
 */
export function boardAuth(config: Pick<AppConfig, 'boardUser' | 'boardPassword'>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!config.boardPassword) {
      res.status(503).json({ error: 'board disabled: set BOARD_PASSWORD', message: 'Bull Board est désactivé tant que BOARD_PASSWORD n’est pas défini', statusCode: 503 });
      return;
    }
    const header = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (m) {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        // Evaluate both comparisons: no early exit that would tell a right user from a wrong one.
        const userOk = same(decoded.slice(0, colon), config.boardUser);
        const passOk = same(decoded.slice(colon + 1), config.boardPassword);
        if (userOk && passOk) return next();
      }
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="CityFlow queues", charset="UTF-8"')
      .json({ error: 'Non autorisé', message: 'Identifiants requis pour la console des files', statusCode: 401 });
  };
}

/** Mount Bull Board on every pipeline queue (contracts' list, configured prefix), behind Basic auth. */
export function mountBoard(app: INestApplication, config: AppConfig, redis: RedisProducer): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const readOnlyMode = config.env.NODE_ENV === 'production';
  createBullBoard({
    queues: redis.allQueues().map((q) => new BullMQAdapter(q, { readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'CityFlow' } },
  });
  app.use(BOARD_PATH, boardAuth(config), serverAdapter.getRouter());
}
