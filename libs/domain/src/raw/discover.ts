/**
 * Discovery of a day's raw inputs in a local raw tree (SPEC §2). The layout rules themselves are
 * in `layout.ts`, shared with discovery under an S3 prefix.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FileRef, SourceName } from '../shared/model';
import { isValidDay } from '../shared/time';
import { classifyRawPath, compareRelPath, rawDayFolders } from './layout';

/** The raw location (a folder, an S3 bucket or prefix) does not exist or is not readable. */
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

/** Files below `dir` (recursively, in name order); a missing folder has none. */
function walk(dir: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, out);
    else if (e.isFile()) out.push(full);
  }
  return out;
}

function toRelPath(rawDir: string, absPath: string): string {
  return path.relative(rawDir, absPath).split(path.sep).join('/');
}

export function fileRefFor(rawDir: string, absPath: string, source: SourceName): FileRef {
  const stat = fs.statSync(absPath);
  const relPath = toRelPath(rawDir, absPath);
  const version = localVersion(stat);
  return { source, relPath, size: stat.size, version, fileKey: fileKeyOf(source, relPath, version) };
}

/** Every raw file that feeds `day`, sorted by relative path (the merge order). */
export function discoverRawFiles(rawDir: string, day: string): FileRef[] {
  if (!isValidDay(day)) throw new RangeError(`invalid day: ${day}`);
  if (!fs.existsSync(rawDir) || !fs.statSync(rawDir).isDirectory()) throw new RawDirError(`raw folder not found: ${rawDir}`);
  const refs: FileRef[] = [];
  for (const folder of rawDayFolders(day)) {
    for (const abs of walk(path.join(rawDir, folder))) {
      const relPath = toRelPath(rawDir, abs);
      const source = classifyRawPath(relPath, day);
      if (source) refs.push(fileRefFor(rawDir, abs, source));
    }
  }
  return refs.sort(compareRelPath);
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
