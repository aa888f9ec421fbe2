/**
 * The raw layout (SPEC §2), as pure functions over paths relative to the raw root, so a local
 * folder and an S3 prefix are read by the same rules:
 *
 *   api/<source>/dt=YYYY-MM-DD/hour=HH/*.json|*.jsonl|*.csv   (the old system's layout; every hour)
 *   api/<source>/YYYY-MM-DD/*.json|*.jsonl|*.csv              (the ingestion Lambda's layout)
 *   (bike counters: also the next day's folders, which hold the hour ending at midnight)
 *   batch/comptages*.csv  batch/chantiers*.csv  batch/referentiel*.csv   (every match, not the first)
 *
 * Files are identified by their whole relative path, never by their base name: two hours of the
 * same day may hold files with the same name.
 */
import type { SourceName } from '../shared/model';
import { addDays } from '../shared/time';

export const API_SOURCES: readonly SourceName[] = ['bikes', 'traffic', 'weather', 'velib'];
/**
 * Hourly counts stamped at the END of their hour: the last hour of D is stamped D+1 00:00 and is
 * usually fetched into D+1's folder, so a run for D also reads that folder (records are assigned
 * to days by their own timestamps; the others are ignored for D).
 */
export const NEXT_DAY_SOURCES: readonly SourceName[] = ['bikes'];
export const BATCH_PREFIXES: readonly SourceName[] = ['comptages', 'chantiers', 'referentiel'];

/** Folder of the batch exports, relative to the raw root. */
export const BATCH_FOLDER = 'batch';

/** Days whose API folders feed a run for `day`. */
function apiDays(source: SourceName, day: string): string[] {
  return NEXT_DAY_SOURCES.includes(source) ? [day, addDays(day, 1)] : [day];
}

/**
 * Folders (relative, `/`-separated, no trailing slash) that can hold a file feeding `day`: every
 * file of the day lies somewhere below one of them. Listing them (recursively) and keeping the
 * paths `classifyRawPath` accepts is discovery.
 */
export function rawDayFolders(day: string): string[] {
  const folders: string[] = [];
  for (const source of API_SOURCES) {
    for (const d of apiDays(source, day)) folders.push(`api/${source}/dt=${d}`, `api/${source}/${d}`);
  }
  folders.push(BATCH_FOLDER);
  return folders;
}

/** A relative path with no empty, `.` or `..` segment and no NUL: it names one file below the root. */
export function isSafeRelPath(relPath: string): boolean {
  return relPath.split('/').every((p) => p !== '' && p !== '.' && p !== '..' && !p.includes('\0'));
}

/** JSON, JSON Lines, or an ODS CSV export (bike counters, Vélib'): handlers recognise the format. */
function isApiFileName(name: string): boolean {
  return /\.(jsonl?|csv)$/i.test(name) && !name.startsWith('.');
}

/**
 * The source a raw file feeds on `day`, or null when it is not one of the day's inputs.
 * `relPath` is relative to the raw root and `/`-separated; paths with empty, `.` or `..`
 * segments (and folder markers ending in `/`) are never inputs.
 */
export function classifyRawPath(relPath: string, day: string): SourceName | null {
  if (!isSafeRelPath(relPath)) return null;
  const parts = relPath.split('/');
  const name = parts[parts.length - 1];
  if (parts[0] === 'api' && parts.length >= 4) {
    const source = API_SOURCES.find((s) => s === parts[1]);
    if (!source || !isApiFileName(name)) return null;
    return apiDays(source, day).some((d) => parts[2] === d || parts[2] === `dt=${d}`) ? source : null;
  }
  if (parts[0] === BATCH_FOLDER && parts.length >= 2 && /\.csv$/i.test(name)) {
    const lower = name.toLowerCase();
    return BATCH_PREFIXES.find((p) => lower.startsWith(p)) ?? null;
  }
  return null;
}

/** Discovery order (the merge order): by relative path. */
export function compareRelPath(a: { relPath: string }, b: { relPath: string }): number {
  return a.relPath.localeCompare(b.relPath);
}
