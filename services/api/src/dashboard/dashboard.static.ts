import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';

/** services/api/public (same relative place from src/ under jest and from dist/ when built). */
export const PUBLIC_DIR = path.resolve(__dirname, '../../public');

/** The arrondissement polygons of libs/domain, drawn by the dashboard's map. */
export function arrondissementsFile(): string {
  try {
    return path.join(path.dirname(require.resolve('@cityflow/domain/package.json')), 'data', 'arrondissements.geojson');
  } catch {
    return path.resolve(__dirname, '../../../../libs/domain/data/arrondissements.geojson');
  }
}

/**
 * The web dashboard: `/` is a static page; its scripts and styles live under `/assets/` (no CDN,
 * no build step); data comes from the JSON API. the static handler refuses paths outside PUBLIC_DIR.
 */
export function mountDashboard(app: NestExpressApplication): void {
  const indexFile = path.join(PUBLIC_DIR, 'index.html');
  const geojson = arrondissementsFile();
  const sendIndex = (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-cache').sendFile(indexFile);
  };
  app.use((req: Request, res: Response, next: () => void) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.path === '/' || req.path === '/index.html')) return sendIndex(req, res);
    if ((req.method === 'GET' || req.method === 'HEAD') && req.path === '/assets/arrondissements.geojson') {
      if (!fs.existsSync(geojson)) return next();
      res.set('Cache-Control', 'public, max-age=86400').type('application/geo+json').sendFile(geojson);
      return;
    }
    next();
  });
  app.useStaticAssets(path.join(PUBLIC_DIR, 'assets'), { prefix: '/assets', fallthrough: true, index: false, maxAge: '5m' });
}
