import { InputFormatError } from '../src/shared/model';
import { readJsonDocuments } from '../src/sources/json-input';
import { formatError } from './helpers';

const buf = (s: string) => Buffer.from(s, 'utf8');


describe('readJsonDocuments', () => {
  it('reads one JSON document (pretty-printed, several lines) as one document', () => {
    const r = readJsonDocuments(buf('{\n  "a": 1,\n  "b": [1, 2]\n}\n'), 'x.json');
    expect(r).toEqual({ documents: [{ a: 1, b: [1, 2] }], badLines: [], format: 'json' });
  });

  it('strips a UTF-8 BOM', () => {
    const r = readJsonDocuments(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf('[1,2]')]), 'x.json');
    expect(r.documents).toEqual([[1, 2]]);
  });

  it('reads JSON Lines, listing bad lines and {"_raw"} bodies by 1-based line number', () => {
    const text = ['{"n":1}', '', '{"_raw":"<html>502 Bad Gateway</html>"}', '{"n":2', '{"n":3}', ''].join('\r\n');
    const r = readJsonDocuments(buf(text), 'api/traffic/2025-02-04/stream-data-1.jsonl');
    expect(r.format).toBe('jsonl');
    expect(r.documents).toEqual([{ n: 1 }, { n: 3 }]);
    expect(r.badLines).toEqual([
      { line: 3, reason: 'raw_body' },
      { line: 4, reason: 'bad_json_line' },
    ]);
  });

  it('an object with more keys than _raw is a normal document', () => {
    const r = readJsonDocuments(buf('{"_raw":"x","other":1}\n{"a":1}\n'), 'x.jsonl');
    expect(r.documents).toEqual([{ _raw: 'x', other: 1 }, { a: 1 }]);
    expect(r.badLines).toEqual([]);
  });

  it('empty and whitespace-only files fail with empty_file', () => {
    expect(formatError(() => readJsonDocuments(buf(''), 'e.json')).code).toBe('empty_file');
    expect(formatError(() => readJsonDocuments(buf(' \r\n\t\n'), 'e.json')).code).toBe('empty_file');
    expect(formatError(() => readJsonDocuments(Buffer.from([0xef, 0xbb, 0xbf]), 'e.json')).code).toBe('empty_file');
  });

  it('text that is not JSON fails with not_json and names the file', () => {
    const e = formatError(() => readJsonDocuments(buf('<html>oops</html>'), 'api/weather/x.json'));
    expect(e.code).toBe('not_json');
    expect(e.message).toContain('api/weather/x.json');
    expect(formatError(() => readJsonDocuments(buf('not json\nstill not json\n'), 'x.json')).code).toBe('not_json');
  });

  it('a file holding only {"_raw"} wrappers fails with not_json', () => {
    expect(formatError(() => readJsonDocuments(buf('{"_raw":"<html/>"}'), 'x.json')).code).toBe('not_json');
    expect(formatError(() => readJsonDocuments(buf('{"_raw":"a"}\n{"_raw":"b"}\n'), 'x.jsonl')).code).toBe('not_json');
  });
});
