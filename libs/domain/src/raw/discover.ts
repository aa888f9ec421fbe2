/**
 * Discovery of a day's raw inputs in a local raw tree (SPEC §2):
 *
 *   api/<source>/dt=YYYY-MM-DD/hour=HH/*.json|*.jsonl|*.csv   (the old system's layout; every hour)
 *   api/<source>/YYYY-MM-DD/*.json|*.jsonl|*.csv              (the ingestion Lambda's layout)
 *   (bike counters: also the next day's folders, which hold the hour ending at midnight)
 *   batch/comptages*.csv  batch/chantiers*.csv  batch/referentiel*.csv   (every match, not the first)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FileRef, SourceName } from '../shared/model';
import { addDays, isValidDay } from '../shared/time';

export const API_SOURCES: readonly SourceName[] = ['bikes', 'traffic', 'weather', 'velib'];
/**
 * Hourly counts stamped at the END of their hour: the last hour of D is stamped D+1 00:00 and is
 * usually fetched into D+1's folder, so a run for D also reads that folder (records are assigned
 * to days by their own timestamps; the others are ignored for D).
 */
export const NEXT_DAY_SOURCES: readonly SourceName[] = ['bikes'];
export const BATCH_PREFIXES: readonly SourceName[] = ['comptages', 'chantiers', 'referentiel'];

/** The raw folder does not exist or is not readable. */
export class RawDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RawDirError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Opaque version of a local file: changes when its size or modification time changes. */
export function localVersion(stat: fs.Stats): string {
  return `${stat.size}-${Math.floor(stat.mtimeMs)}`;
}

/** Stable, filesystem-safe key of one version of one file. */
export function fileKeyOf(source: SourceName, relPath: string, version: string): string {
  const h = createHash('sha256').update(`${relPath}\0${version}`).digest('hex').slice(0, 20);
  return `${source}-${h}`;
}

function walk(dir: string, accept: (name: string) => boolean, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, accept, out);
    else if (e.isFile() && accept(e.name)) out.push(full);
  }
  return out;
}

export function fileRefFor(rawDir: string, absPath: string, source: SourceName): FileRef {
  const stat = fs.statSync(absPath);
  const relPath = path.relative(rawDir, absPath).split(path.sep).join('/');
  const version = localVersion(stat);
  return { source, relPath, size: stat.size, version, fileKey: fileKeyOf(source, relPath, version) };
}

/** Every raw file that feeds `day`, sorted by relative path (the merge order). */
export function discoverRawFiles(rawDir: string, day: string): FileRef[] {
  if (!isValidDay(day)) throw new RangeError(`invalid day: ${day}`);
  if (!fs.existsSync(rawDir) || !fs.statSync(rawDir).isDirectory()) throw new RawDirError(`raw folder not found: ${rawDir}`);
  const refs: FileRef[] = [];
  // JSON, JSON Lines, or an ODS CSV export (bike counters, Vélib'): handlers recognise the format.
  const isApiFile = (n: string) => /\.(jsonl?|csv)$/i.test(n) && !n.startsWith('.');
  for (const source of API_SOURCES) {
    const days = NEXT_DAY_SOURCES.includes(source) ? [day, addDays(day, 1)] : [day];
    const dirs = days.flatMap((d) => [path.join(rawDir, 'api', source, `dt=${d}`), path.join(rawDir, 'api', source, d)]);
    for (const dayDir of dirs) {
      for (const f of walk(dayDir, isApiFile)) refs.push(fileRefFor(rawDir, f, source));
    }
  }
  for (const f of walk(path.join(rawDir, 'batch'), (n) => /\.csv$/i.test(n))) {
    const name = path.basename(f).toLowerCase();
    const source = BATCH_PREFIXES.find((p) => name.startsWith(p));
    if (source) refs.push(fileRefFor(rawDir, f, source));
  }
  return refs.sort((a, b) => a.relPath.localeCompare(b.relPath));
}

/** Resolve a relative raw path inside rawDir, refusing anything that escapes it. */
export function resolveInside(rawDir: string, relPath: string): string {
  const base = path.resolve(rawDir);
  const full = path.resolve(base, relPath);
  if (relPath.includes('\0') || path.isAbsolute(relPath) || !full.startsWith(base + path.sep)) {
    throw new RawDirError(`path escapes the raw folder: ${JSON.stringify(relPath)}`);
  }
  return full;
}
