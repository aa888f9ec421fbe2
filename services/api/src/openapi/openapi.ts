import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { API_VERSION } from '../common/api-info';

export const DOCS_PATH = 'docs';

/** OpenAPI document of every route, with Swagger UI at /docs and the JSON at /docs-json. */
export function mountOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('CityFlow API')
    .setDescription(
      [
        'Métriques quotidiennes de mobilité à Paris, rapport quotidien, lancement et suivi des runs.',
        'Chaque route répond aussi sous `/api/`. Erreurs : `{error, message, statusCode}`.',
        'Tableau de bord : `/`. Console des files (Bull Board, authentification Basic) : `/admin/queues`.',
      ].join('\n\n'),
    )
    .setVersion(API_VERSION)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'Valeur de API_KEY' }, 'api-key')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}-json`, customSiteTitle: 'CityFlow API' });
}
