import { isSourceName, isValidDay, SourceName } from '@cityflow/domain';
import { RunIdSchema } from '@cityflow/contracts';
import { errors } from './api-error';

/**
 * A day from a path or body: strict `YYYY-MM-DD` and a real calendar date. Express has already
 * percent-decoded path parameters, so `..%2f`, NUL and friends arrive decoded and fail the regex;
 * nothing reaches the store unless it is exactly ten digits and dashes.
 */
export function parseDay(raw: unknown): string {
  if (typeof raw !== 'string' || !isValidDay(raw)) throw errors.badDate();
  return raw;
}

export function parseMetricType(raw: unknown): SourceName {
  if (typeof raw !== 'string' || !isSourceName(raw)) throw errors.badType();
  return raw;
}

export function parseRunId(raw: unknown): string {
  if (typeof raw !== 'string' || !RunIdSchema.safeParse(raw).success) throw errors.badRunId();
  return raw;
}

/** Integer query parameter within bounds; absent → default. Repeated parameters are refused. */
export function parseIntParam(name: string, raw: unknown, def: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return def;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw)) throw errors.badParam(name, `entier entre ${min} et ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw errors.badParam(name, `entier entre ${min} et ${max}`);
  return n;
}

/** Optional single-valued string query parameter. */
export function parseStringParam(name: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 100 || raw.includes('\0')) throw errors.badParam(name, 'valeur simple attendue');
  return raw;
}
