/**
 * Reading JSON inputs: one JSON document per file, or JSON Lines (one document per line, as
 * written by the ingestion Lambda).
 *
 * API (stable):
 *
 *   readJsonDocuments(bytes, relPath): JsonInput
 *
 *   - strips a UTF-8 BOM;
 *   - empty or whitespace-only file → throws InputFormatError code `empty_file`;
 *   - if the whole text parses as JSON → `{ documents: [thatValue], badLines: [], format: 'json' }`;
 *   - otherwise, if the text has at least two non-empty lines, each non-empty line is parsed on its
 *     own (JSON Lines). Lines that do not parse are listed in `badLines` with reason `bad_json_line`;
 *     a line that parses to an object `{"_raw": "..."}` (the upstream body was not JSON) is listed
 *     with reason `raw_body` and is NOT returned as a document. Line numbers are 1-based physical
 *     lines. `format: 'jsonl'`;
 *   - if no document at all could be read → throws InputFormatError code `not_json`
 *     (the message names the file and says what was found).
 *
 * Callers count each entry of `badLines` as a rejected record (e.g. with `reject(q, { file, line, reason })`).
 * `documents` keeps file order. Nothing here knows about any source's shape.
 */
import { InputFormatError, QualityCounts, reject } from '../shared/model';

export interface JsonBadLine {
  /** 1-based physical line number in the file. */
  line: number;
  /** Stable snake_case code: `bad_json_line` or `raw_body`. */
  reason: 'bad_json_line' | 'raw_body';
}

export interface JsonInput {
  documents: unknown[];
  badLines: JsonBadLine[];
  format: 'json' | 'jsonl';
}

/** Reason codes used in `JsonBadLine.reason`. */
export const JSON_BAD_LINE = 'bad_json_line';
export const JSON_RAW_BODY = 'raw_body';

function isRawWrapper(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value as Record<string, unknown>);
  return keys.length === 1 && keys[0] === '_raw';
}

/** Parse a JSON or JSON Lines file. See the module comment for the exact contract. */
export function readJsonDocuments(bytes: Buffer, relPath: string): JsonInput {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new InputFormatError(`${relPath}: empty file (no JSON content)`, 'empty_file');

  try {
    const whole: unknown = JSON.parse(text);
    if (isRawWrapper(whole)) {
      throw new InputFormatError(`${relPath}: the upstream body was not JSON (file holds only a {"_raw": …} wrapper)`, 'not_json');
    }
    return { documents: [whole], badLines: [], format: 'json' };
  } catch (e) {
    if (e instanceof InputFormatError) throw e;
    // fall through to JSON Lines
  }

  const lines = text.split(/\r?\n/);
  const nonEmpty = lines.filter((l) => l.trim() !== '').length;
  if (nonEmpty < 2) {
    throw new InputFormatError(`${relPath}: not JSON (the content does not parse as a JSON document)`, 'not_json');
  }

  const documents: unknown[] = [];
  const badLines: JsonBadLine[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      badLines.push({ line: i + 1, reason: 'bad_json_line' });
      return;
    }
    if (isRawWrapper(value)) badLines.push({ line: i + 1, reason: 'raw_body' });
    else documents.push(value);
  });

  if (documents.length === 0) {
    throw new InputFormatError(
      `${relPath}: not JSON (neither a JSON document nor JSON Lines: ${badLines.length} line(s), none usable)`,
      'not_json',
    );
  }
  return { documents, badLines, format: 'jsonl' };
}

/** Count each unreadable JSON Lines line as one rejected record of the file. */
export function countBadLines(quality: QualityCounts, file: string, badLines: JsonBadLine[]): void {
  for (const b of badLines) {
    quality.records++;
    reject(quality, { file, line: b.line, reason: b.reason });
  }
}
