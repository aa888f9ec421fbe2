/**
 * Validation of a daily report against `libs/domain/report.schema.json` (JSON Schema draft 2020-12),
 * plus the two rules a schema cannot say: every number is finite, and the top-level `statut`
 * equals `completude.statut`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { DailyReport } from './types';

/** Path of the report schema (resolved from this module, so it works from `src/` and from `dist/`). */
export const REPORT_SCHEMA_FILE = path.resolve(__dirname, '../../report.schema.json');

/** A report that does not match the schema, or a schema that cannot be loaded. */
export class ReportSchemaError extends Error {
  readonly errors: string[];

  constructor(message: string, errors: string[] = []) {
    super(message);
    this.name = 'ReportSchemaError';
    this.errors = errors;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

let schema: Record<string, unknown> | null = null;
let validator: ValidateFunction | null = null;

/** The parsed report schema (read once). */
export function loadReportSchema(): Record<string, unknown> {
  if (schema) return schema;
  try {
    schema = JSON.parse(fs.readFileSync(REPORT_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ReportSchemaError(`cannot read the report schema ${REPORT_SCHEMA_FILE}: ${(err as Error).message}`);
  }
  return schema;
}

/**
 * Compile the report schema now (about 0.25 s) rather than on the first report, so a service that
 * writes reports pays it at start-up and a broken schema stops it there. Throws ReportSchemaError.
 */
export function prepareReportValidator(): void {
  getValidator();
}

function getValidator(): ValidateFunction {
  if (validator) return validator;
  try {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    validator = ajv.compile(loadReportSchema());
  } catch (err) {
    if (err instanceof ReportSchemaError) throw err;
    throw new ReportSchemaError(`cannot compile the report schema ${REPORT_SCHEMA_FILE}: ${(err as Error).message}`);
  }
  return validator;
}

function formatError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '/' : e.instancePath;
  const p = e.params as Record<string, unknown>;
  let detail = '';
  if (e.keyword === 'additionalProperties') detail = ` (${String(p.additionalProperty)})`;
  else if (e.keyword === 'enum') detail = ` (${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')})`;
  else if (e.keyword === 'propertyNames') detail = ` (${String(p.propertyName)})`;
  return `${where} ${e.message ?? e.keyword}${detail}`;
}

/** JSON pointer escaping of one path segment. */
const pointer = (seg: string | number): string => String(seg).replace(/~/g, '~0').replace(/\//g, '~1');

function findNonFinite(value: unknown, at: string, out: string[], depth = 0): void {
  if (depth > 64) return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) out.push(`${at === '' ? '/' : at} must be a finite number (got ${String(value)})`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => findNonFinite(v, `${at}/${i}`, out, depth + 1));
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) findNonFinite(v, `${at}/${pointer(k)}`, out, depth + 1);
  }
}

/** Check a report against `report.schema.json`. Never throws for a bad report; throws ReportSchemaError if the schema itself cannot be loaded. */
export function validateReport(report: unknown): { valid: boolean; errors: string[] } {
  const validate = getValidator();
  const errors: string[] = [];
  findNonFinite(report, '', errors);
  if (!validate(report)) {
    for (const e of validate.errors ?? []) {
      const text = formatError(e);
      if (!errors.includes(text)) errors.push(text);
    }
  }
  if (report !== null && typeof report === 'object') {
    const r = report as { statut?: unknown; completude?: { statut?: unknown } | null };
    const inner = r.completude && typeof r.completude === 'object' ? r.completude.statut : undefined;
    if (r.statut !== undefined && inner !== undefined && r.statut !== inner) {
      errors.push(`/statut must equal /completude/statut (${JSON.stringify(r.statut)} ≠ ${JSON.stringify(inner)})`);
    }
  }
  return { valid: errors.length === 0, errors };
}

/** Throw a ReportSchemaError listing every problem when `report` does not match the schema. */
export function assertValidReport(report: unknown): asserts report is DailyReport {
  const { valid, errors } = validateReport(report);
  if (!valid) {
    const shown = errors.slice(0, 10).join('; ');
    const more = errors.length > 10 ? ` (+${errors.length - 10} more)` : '';
    throw new ReportSchemaError(`daily report does not match report.schema.json: ${shown}${more}`, errors);
  }
}
