import { ArgumentsHost, Catch, ExceptionFilter, HttpException, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from '@cityflow/common';
import { ApiError, ErrorBody, errors } from './api-error';

const CLIENT_ERROR_LABELS: Record<number, string> = {
  400: 'Requête invalide',
  401: 'Non autorisé',
  403: 'Accès refusé',
  404: 'Endpoint non trouvé',
  405: 'Méthode non autorisée',
  413: 'Requête trop volumineuse',
  415: 'Type de contenu non supporté',
  429: 'Trop de requêtes',
};

/** Status of errors raised outside Nest handlers (body-parser, router decoding): http-errors objects. */
function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown; statusCode?: unknown } | null)?.status ?? (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : undefined;
}

/**
 * Every error leaves as `{error, message, statusCode}` (the old API's envelope). Unknown paths get
 * the old "Endpoint non trouvé". Internal details are logged, never sent.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const body = this.toBody(exception, req);
    if (body.statusCode >= 500) {
      const cause = exception instanceof ApiError ? ((exception as { cause?: unknown }).cause ?? exception) : exception;
      // 503s are expected while a dependency is down: one line, no stack.
      if (body.statusCode === 503) this.log.warn({ method: req.method, path: req.path, reason: (cause as Error)?.message }, body.error);
      else this.log.error({ err: cause, method: req.method, path: req.path }, body.error);
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, req: Request): ErrorBody {
    if (exception instanceof ApiError) return exception.body;
    // Our handlers never throw NotFoundException: this one comes from the router (no such route).
    if (exception instanceof NotFoundException) return errors.endpointNotFound(req.path).body;
    const status = exception instanceof HttpException ? exception.getStatus() : statusOf(exception);
    if (status && status < 500) {
      const expose = exception instanceof HttpException || (exception as { expose?: boolean }).expose === true;
      const message = expose && exception instanceof Error ? exception.message : CLIENT_ERROR_LABELS[status] ?? 'Requête invalide';
      return { error: CLIENT_ERROR_LABELS[status] ?? 'Requête invalide', message, statusCode: status };
    }
    if (status === 503) return { error: 'Service indisponible', message: 'Service indisponible', statusCode: 503 };
    return { error: 'Erreur interne du serveur', message: 'Erreur interne du serveur', statusCode: 500 };
  }
}
