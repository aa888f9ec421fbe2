/**
 * Our scanner and csv-parse (the reference RFC 4180 parser) agree on well-formed CSV: every record,
 * field for field, and where each record ends. Checked on fast-check generated documents and on
 * every CSV file of the repository (real exports and the sample data set).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { CsvRecord, parseCsv } from '../src/csv';

const ROOT = path.resolve(__dirname, '../../..');

interface ParsedWithInfo {
  record: string[];
  info: { bytes: number };
}

/** csv-parse with the reference options (blank lines are records of one empty field there). */
function csvParse(buf: Buffer, delimiter: string, extra: Record<string, unknown> = {}): ParsedWithInfo[] {
  return parse(buf, { delimiter, bom: true, relax_column_count: true, info: true, ...extra }) as unknown as ParsedWithInfo[];
}

/** Our records in the same shape: fields, and the byte just past each record (csv-parse's info.bytes). */
function ours(buf: Buffer, delimiter: string, skipEmptyLines: boolean): { fields: string[][]; ends: number[]; errors: CsvRecord[] } {
  const records = parseCsv(buf, { delimiter, skipEmptyLines });
  return { fields: records.map((r) => r.fields), ends: records.map((r) => r.end), errors: records.filter((r) => r.error !== null) };
}

/** `toEqual`, with a quick string comparison first (deep equality of 30,000 records is slow). */
function expectSame<T>(actual: T, expected: T): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toEqual(expected);
}

// ───────── property: generated well-formed documents ─────────

/** Cell text over the characters that matter: delimiter, quote, CR, LF, multibyte, spaces. */
const cellText = fc
  .array(fc.constantFrom('a', 'Z', '7', ' ', '.', 'é', '€', '😀', ';', ',', '"', '""', '\n', '\r\n', '\r', '{', '}'), { maxLength: 8 })
  .map((parts) => parts.join(''));

/** RFC 4180 serialisation: quoted when it holds `;`, `"`, CR or LF (or by choice), quotes doubled. */
function serialise(record: { text: string; quote: boolean }[]): string {
  return record
    .map(({ text, quote }) => (quote || /[;"\r\n]/.test(text) || (record.length === 1 && text === '') ? `"${text.replace(/"/g, '""')}"` : text))
    .join(';');
}

const documentArb = fc.record({
  records: fc.array(fc.array(fc.record({ text: cellText, quote: fc.boolean() }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 25 }),
  eol: fc.constantFrom('\n', '\r\n'),
  bom: fc.boolean(),
  finalEol: fc.boolean(),
});

describe('parseCsv = csv-parse on generated well-formed CSV', () => {
  it('same records, same fields, same record ends', () => {
    fc.assert(
      fc.property(documentArb, (d) => {
        // A record of one empty field is written `""`, so no line is blank.
        const text = (d.bom ? '\uFEFF' : '') + d.records.map(serialise).join(d.eol) + (d.finalEol ? d.eol : '');
        const buf = Buffer.from(text, 'utf8');
        const theirs = csvParse(buf, ';');
        const expected = d.records.map((r) => r.map((c) => c.text));
        expect(theirs.map((t) => t.record)).toEqual(expected);
        for (const skipEmptyLines of [true, false]) {
          const got = ours(buf, ';', skipEmptyLines);
          expect(got.errors).toEqual([]);
          expect(got.fields).toEqual(expected);
          expect(got.ends).toEqual(theirs.map((t) => t.info.bytes));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

// ───────── every CSV file of the repository ─────────

const CSV_FILES = execFileSync('git', ['ls-files', 'data', 'test', 'libs'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => /\.csv$/i.test(f))
  .sort();

/** `;` when the header line has one, else `,` (the open-meteo and some velib exports). */
function delimiterOf(buf: Buffer): string {
  const firstLine = buf.subarray(0, Math.max(0, buf.indexOf(10))).toString('utf8');
  return firstLine.includes(';') ? ';' : ',';
}

/** The one malformed real export: its header opens a quote that never closes. */
const MALFORMED = 'test/fixtures/real/comptages-routiers-permanents/bcg_comptages-routiers-permanents_arc4264_2022-11-01_to_2022-12-01_malformed-header.csv';

describe('parseCsv = csv-parse on every CSV file of the repository', () => {
  it('finds the files (sample data and real exports)', () => {
    expect(CSV_FILES).toContain('data/sample/raw/batch/comptages-routiers-permanents.csv');
    expect(CSV_FILES).toContain(MALFORMED);
    expect(CSV_FILES.length).toBeGreaterThanOrEqual(20);
  });

  for (const rel of CSV_FILES.filter((f) => f !== MALFORMED)) {
    it(rel, () => {
      const buf = fs.readFileSync(path.join(ROOT, rel));
      const delimiter = delimiterOf(buf);
      const theirs = csvParse(buf, delimiter);
      // Blank lines kept: csv-parse returns them as one empty field, and so do we.
      const got = ours(buf, delimiter, false);
      expect(got.errors).toEqual([]);
      expectSame(got.fields, theirs.map((t) => t.record));
      expectSame(got.ends, theirs.map((t) => t.info.bytes));
      // Blank lines skipped (our default): the same as csv-parse's skip_empty_lines (parsed again
      // only when the file has blank lines: csv-parse takes seconds on the 10 MB sample).
      const skipping = ours(buf, delimiter, true);
      if (skipping.fields.length === got.fields.length) expectSame(skipping.fields, got.fields);
      else expectSame(skipping.fields, csvParse(buf, delimiter, { skip_empty_lines: true }).map((t) => t.record));
    });
  }

  it(`${MALFORMED} is malformed: csv-parse rejects it, and with relax_quotes agrees with us after the header`, () => {
    const buf = fs.readFileSync(path.join(ROOT, MALFORMED));
    // The header's opening quote makes csv-parse read on into the next lines and fail there.
    expect(() => csvParse(buf, ';')).toThrow(expect.objectContaining({ code: 'CSV_INVALID_CLOSING_QUOTE' }));
    // We report the header as one bad line and read every following line as a 15-field record.
    const records = parseCsv(buf);
    expect(records[0].error).toBe('unclosed_quote');
    expect(records[0].lines).toBe(1);
    expect(records.slice(1).every((r) => r.error === null && r.fields.length === 15)).toBe(true);
    // Relaxed, csv-parse swallows the header and the first data line into one record; the rest match.
    const relaxed = csvParse(buf, ';', { relax_quotes: true, skip_empty_lines: true });
    expect(relaxed.length).toBe(records.length - 1);
    expect(records.slice(2).map((r) => r.fields)).toEqual(relaxed.slice(1).map((t) => t.record));
    expect(records.slice(2).map((r) => r.end)).toEqual(relaxed.slice(1).map((t) => t.info.bytes));
  });
});
