import * as fs from 'node:fs';
import request from 'supertest';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RedisProducer } from '../src/redis/redis-producer.service';
import { ARCS, BOARD_PASSWORD, BOARD_USER, DAY, makeOutputDir, OTHER_DAY, REPORT, REPORT_CSV, startApp, testConfig, waitFor, WEATHER } from './helpers';

const PREFIXES = ['', '/api'];
const VALID_TYPES = 'Types valides: bikes, traffic, weather, comptages, chantiers, referentiel, velib';

describe('api: compatible routes, new read routes, docs, dashboard, board', () => {
  let root: string;
  let app: NestExpressApplication;
  let http: ReturnType<NestExpressApplication['getHttpServer']>;

  beforeAll(async () => {
    root = makeOutputDir();
    app = await startApp(testConfig(root));
    http = app.getHttpServer();
    await waitFor(() => app.get(RedisProducer).isUp(), 5000, 'redis connection');
  });

  afterAll(async () => {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe.each(PREFIXES)('under "%s"', (p) => {
    it('GET /health: the old envelope plus redis', async () => {
      const res = await request(http).get(`${p}/health`).expect(200).expect('Content-Type', /application\/json/);
      expect(res.body).toEqual({
        status: 'healthy',
        service: 'CityFlow Analytics API',
        version: expect.any(String),
        database: 'filesystem',
        environment: 'Local',
        redis: 'up',
      });
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    });

    it('GET /ready: 200 while redis answers', async () => {
      await request(http).get(`${p}/ready`).expect(200, { status: 'ready', redis: 'up' });
    });

    it('GET /stats', async () => {
      const res = await request(http).get(`${p}/stats`).expect(200);
      expect(res.body).toEqual({
        api_version: expect.any(String),
        database_type: 'filesystem',
        environment: 'Local',
        timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        metric_types_available: ['comptages', 'referentiel', 'chantiers', 'bikes', 'traffic', 'weather', 'velib'],
        database_stats: { metrics_count: 3, reports_count: 1 },
      });
    });

    it('GET /metrics/{type}/{date}: the stored document, numbers as numbers', async () => {
      const res = await request(http).get(`${p}/metrics/weather/${DAY}`).expect(200);
      expect(res.body).toEqual({ metric_type: 'weather', date: DAY, data: WEATHER });
      expect(typeof res.body.data.metrics.temp_moyenne).toBe('number');
    });

    it('GET /metrics/{type}/{date}: 404 with the old French message', async () => {
      await request(http)
        .get(`${p}/metrics/bikes/${DAY}`)
        .expect(404, { error: 'Métriques non trouvées', message: `Aucune métrique bikes pour la date ${DAY}`, statusCode: 404 });
    });

    it('GET /metrics/{date}: every type present that day', async () => {
      const res = await request(http).get(`${p}/metrics/${DAY}`).expect(200);
      expect(res.body.date).toBe(DAY);
      expect(Object.keys(res.body.metrics).sort()).toEqual(['comptages', 'weather']);
      expect(res.body.metrics.comptages.global_metrics.total_vehicules_jour).toBe(50800);
      const other = await request(http).get(`${p}/metrics/${OTHER_DAY}`).expect(200);
      expect(Object.keys(other.body.metrics)).toEqual(['weather']);
    });

    it('GET /metrics/{date}: 404 when no type exists for that day (old bug B26 fixed)', async () => {
      await request(http)
        .get(`${p}/metrics/2024-01-01`)
        .expect(404, { error: 'Métriques non trouvées', message: 'Aucune métrique pour la date 2024-01-01', statusCode: 404 });
    });

    it('GET /report/{date} and 404', async () => {
      const res = await request(http).get(`${p}/report/${DAY}`).expect(200);
      expect(res.body).toEqual({ date: DAY, report: REPORT });
      await request(http).get(`${p}/report/2024-01-01`).expect(404, { error: 'Rapport non trouvé', message: 'Aucun rapport pour la date 2024-01-01', statusCode: 404 });
    });

    it('GET /report/{date}/csv: a download, byte for byte', async () => {
      const res = await request(http).get(`${p}/report/${DAY}/csv`).buffer(true).parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe(`attachment; filename="daily_report_${DAY}.csv"`);
      expect((res.body as Buffer).toString('utf8')).toBe(REPORT_CSV);
      await request(http).get(`${p}/report/2024-01-01/csv`).expect(404);
    });

    it('GET /dates', async () => {
      const res = await request(http).get(`${p}/dates`).expect(200);
      expect(res.body).toEqual({
        metrics: { comptages: [DAY], referentiel: [], chantiers: [], bikes: [], traffic: [], weather: [OTHER_DAY, DAY], velib: [] },
        reports: [DAY],
      });
    });

    it('GET /metrics/comptages/{date}/arcs: paginated, filtered, sorted', async () => {
      const first = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?limit=2`).expect(200);
      expect(first.body).toMatchObject({ date: DAY, page: 1, limit: 2, total: 5, pages: 3, sort: '-debit_journalier_total', arrondissement: null });
      expect(first.body.items.map((a: { identifiant_arc: string }) => a.identifiant_arc)).toEqual(['103', '101']);
      const last = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?limit=2&page=3`).expect(200);
      expect(last.body.items.map((a: { identifiant_arc: string }) => a.identifiant_arc)).toEqual(['102']);
      const beyond = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?limit=2&page=9`).expect(200);
      expect(beyond.body.items).toEqual([]);
      const first1 = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?arrondissement=75001&sort=debit_journalier_total`).expect(200);
      expect(first1.body.total).toBe(2);
      expect(first1.body.items).toEqual([ARCS[1], ARCS[0]]);
      const short = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?arrondissement=1`).expect(200);
      expect(short.body.arrondissement).toBe('75001');
      // Null occupancy sorts last whatever the direction.
      const occ = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?sort=-taux_occupation_moyen`).expect(200);
      expect(occ.body.items.at(-1).identifiant_arc).toBe('102');
      const hors = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?arrondissement=Hors%20Paris`).expect(200);
      expect(hors.body.items.map((a: { identifiant_arc: string }) => a.identifiant_arc)).toEqual(['105']);
    });

    it('GET /metrics/comptages/{date}/arcs: 400 on bad parameters, 404 without a document', async () => {
      for (const q of ['page=0', 'limit=501', 'limit=abc', 'sort=secret', 'arrondissement=75021', 'page=1&page=2']) {
        const res = await request(http).get(`${p}/metrics/comptages/${DAY}/arcs?${q}`).expect(400);
        expect(res.body).toMatchObject({ error: 'Paramètre invalide', statusCode: 400 });
      }
      await request(http).get(`${p}/metrics/comptages/2024-01-01/arcs`).expect(404);
      await request(http).get(`${p}/metrics/comptages/2024-02-30/arcs`).expect(400);
    });
  });

  describe('400 on bad dates and types', () => {
    const BAD_DATES = [
      '2025-02-30',
      '2025-13-01',
      '2025-1-5',
      '20251104',
      '2025-11-04x',
      ' 2025-11-04',
      '..',
      '..%2f..%2fcanary',
      '..%2F..%2F..%2Fetc%2Fpasswd',
      '%2e%2e%2f%2e%2e%2fcanary',
      '2025-11-04%00',
      '%00',
      'canary.json',
      '%2Fetc%2Fpasswd',
    ];
    const badDate = { error: 'Format de date invalide', message: 'Format attendu: YYYY-MM-DD', statusCode: 400 };

    it.each(BAD_DATES)('date %s → 400 on every date route', async (d) => {
      for (const p of PREFIXES) {
        await request(http).get(`${p}/metrics/weather/${d}`).expect(400, badDate);
        await request(http).get(`${p}/metrics/${d}`).expect(400, badDate);
        await request(http).get(`${p}/report/${d}`).expect(400, badDate);
        await request(http).get(`${p}/report/${d}/csv`).expect(400, badDate);
      }
    });

    it('the date is checked before the type (old order)', async () => {
      await request(http).get('/metrics/nope/2025-02-30').expect(400, badDate);
    });

    it.each(['nope', 'Weather', '..', 'weather%00', '__proto__'])('type %s → 400', async (t) => {
      for (const p of PREFIXES) {
        await request(http).get(`${p}/metrics/${t}/${DAY}`).expect(400, { error: 'Type de métrique invalide', message: VALID_TYPES, statusCode: 400 });
      }
    });

    it('missing date → the old 400s', async () => {
      await request(http).get('/metrics').expect(400, { error: 'Paramètres manquants', message: 'Date requise', statusCode: 400 });
      await request(http).get('/api/report/').expect(400, { error: 'Date manquante', message: 'Date requise', statusCode: 400 });
    });

    it('a malformed percent-encoding is a 400 envelope, not a crash', async () => {
      const res = await request(http).get('/report/%E0%A4%A').expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: expect.any(String), message: expect.any(String) });
    });
  });

  it('an unreadable document → 500 with the old label, no internals in the body', async () => {
    fs.writeFileSync(`${root}/output/metrics/chantiers_metrics_2025-11-05.json`, '{"truncated": ');
    const res = await request(http).get('/metrics/chantiers/2025-11-05').expect(500);
    expect(res.body).toEqual({ error: 'Erreur récupération métriques', message: 'Erreur interne du serveur', statusCode: 500 });
    await request(http).get('/api/metrics/2025-11-05').expect(500);
    fs.rmSync(`${root}/output/metrics/chantiers_metrics_2025-11-05.json`);
  });

  describe('404 on unknown paths', () => {
    it.each(['/nope', '/api/nope', '/metrics/weather/2025-11-04/extra', '/report/../canary.json', '/assets/../../package.json'])('%s', async (path) => {
      const res = await request(http).get(path).expect(404);
      expect(res.body).toMatchObject({ error: 'Endpoint non trouvé', statusCode: 404 });
      expect(res.body.message).toMatch(/^Chemin invalide: /);
    });

    it('wrong method on a known path → 404 envelope', async () => {
      await request(http).delete(`/report/${DAY}`).expect(404);
    });
  });

  it('CORS preflight', async () => {
    const res = await request(http).options('/runs').set('Origin', 'https://example.org').set('Access-Control-Request-Method', 'POST').expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-headers']).toMatch(/x-api-key/);
  });

  it('security headers are set', async () => {
    const res = await request(http).get('/health').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('GET /docs-json lists every route; /docs serves Swagger UI', async () => {
    const res = await request(http).get('/docs-json').expect(200);
    const paths = Object.keys(res.body.paths);
    for (const route of [
      '/health',
      '/ready',
      '/stats',
      '/dates',
      '/metrics/{date}',
      '/metrics/{type}/{date}',
      '/metrics/comptages/{date}/arcs',
      '/report/{date}',
      '/report/{date}/csv',
      '/runs',
      '/runs/{id}',
    ]) {
      expect(paths).toContain(route);
      expect(paths).toContain(`/api${route}`);
    }
    expect(res.body.paths['/runs'].post).toBeDefined();
    expect(res.body.components.securitySchemes['api-key']).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    const ui = await request(http).get('/docs').redirects(1).expect(200);
    expect(ui.text).toMatch(/swagger-ui/);
  });

  it('GET / serves the dashboard; its assets and the arrondissement polygons are served locally', async () => {
    const res = await request(http).get('/').expect(200).expect('Content-Type', /text\/html/);
    expect(res.text).toMatch(/<title>CityFlow/);
    // No external CDN: every script and stylesheet is local.
    expect(res.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...res.text.matchAll(/(?:src|href)="\/?(assets\/[^"]+)"/g)].map((m) => `/${m[1]}`);
    expect(assets).toEqual(expect.arrayContaining(['/assets/app.css', '/assets/app.js']));
    for (const a of [...assets, '/assets/dom.js', '/assets/charts.js', '/assets/map.js']) await request(http).get(a).expect(200);
    const geo = await request(http).get('/assets/arrondissements.geojson').expect(200).expect('Content-Type', /geo\+json/);
    expect(JSON.parse(geo.text ?? '{}').features ?? geo.body.features).toHaveLength(20);
  });

  describe('Bull Board', () => {
    it('401 without credentials, 401 with wrong ones, 200 with the right ones', async () => {
      const res = await request(http).get('/admin/queues').expect(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
      await request(http).get('/admin/queues').auth(BOARD_USER, 'wrong').expect(401);
      await request(http).get('/admin/queues').auth('someone', BOARD_PASSWORD).expect(401);
      const ok = await request(http).get('/admin/queues').auth(BOARD_USER, BOARD_PASSWORD).expect(200);
      expect(ok.text).toMatch(/<div id="root">/);
      const api = await request(http).get('/admin/queues/api/queues').auth(BOARD_USER, BOARD_PASSWORD).expect(200);
      expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['chunk', 'ingest', 'merge', 'process', 'report']);
      await request(http).get('/admin/queues/api/queues').expect(401);
    });
  });
});

describe('api: Bull Board without BOARD_PASSWORD', () => {
  it('answers 503 instead of opening', async () => {
    const root = makeOutputDir();
    const app = await startApp(testConfig(root, { BOARD_PASSWORD: undefined }));
    try {
      const res = await request(app.getHttpServer()).get('/admin/queues').auth('admin', '').expect(503);
      expect(res.body.error).toBe('board disabled: set BOARD_PASSWORD');
    } finally {
      await app.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

