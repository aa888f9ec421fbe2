import type { NextFunction, Request, Response } from 'express';

/**
 * CORS as the old API sent it: any origin, on every answer, with the methods and headers listed
 * even outside preflight. Credentials are never allowed, so `*` exposes nothing a browser would
 * not already send without cookies. Preflight requests end here with 204.
 */
export function legacyCors(req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    'Access-Control-Allow-Headers': 'Content-Type, Authorization, x-api-key',
    'Access-Control-Max-Age': '300',
  });
  if (req.method === 'OPTIONS') {
    res.status(204).end();
    return;
  }
  next();
}
