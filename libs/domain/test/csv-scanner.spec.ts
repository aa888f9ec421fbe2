import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { CsvRecord, CsvScanner, parseCsv, splitCsvLine } from '../src/csv';

const REAL = path.resolve(__dirname, '../../../test/fixtures/real');

function realCsvFiles(): string[] {
  const out: string[] = [];
  for (const dir of fs.readdirSync(REAL)) {
    const abs = path.join(REAL, dir);
    if (!fs.statSync(abs).isDirectory()) continue;
    for (const f of fs.readdirSync(abs)) if (f.endsWith('.csv')) out.push(path.join(abs, f));
  }
  return out.sort();
}

function delimiterOf(buf: Buffer): string {
  const firstLine = buf.subarray(0, Math.max(0, buf.indexOf(10))).toString('utf8');
  return firstLine.includes(';') ? ';' : ',';
}

const fieldsOf = (text: string, opts = {}) => parseCsv(Buffer.from(text, 'utf8'), opts).map((r) => (r.error ? r.error : r.fields));

describe('CsvScanner: RFC 4180', () => {
  it('splits plain records with ; by default, LF or CRLF, last line with or without terminator', () => {
    expect(fieldsOf('a;b;c\n1;2;3\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
    expect(fieldsOf('a;b;c\r\n1;2;3')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
    expect(fieldsOf('a;b;c\r\n1;2;3\r\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
    expect(fieldsOf('x;;\n;\n')).toEqual([
      ['x', '', ''],
      ['', ''],
    ]);
  });

  it('handles quoted fields, doubled quotes, delimiters and newlines inside quotes', () => {
    expect(fieldsOf('"a;b";"say ""hi""";""\r\n"multi\nline\r\nfield";x\n')).toEqual([
      ['a;b', 'say "hi"', ''],
      ['multi\nline\r\nfield', 'x'],
    ]);
    expect(fieldsOf('1;"{""coordinates"": [[2.3, 48.8]], ""type"": ""LineString""}"\r\n')).toEqual([
      ['1', '{"coordinates": [[2.3, 48.8]], "type": "LineString"}'],
    ]);
    // A quoted field last, with and without a trailing delimiter.
    expect(fieldsOf('a;"b"\na;"b";\n')).toEqual([
      ['a', 'b'],
      ['a', 'b', ''],
    ]);
  });

  it('doubled quotes at the ends of the lines of a multi-line field', () => {
    // Line 1 has 3 quotes (the field stays open), line 2 has 4 (still open), line 3 closes it.
    const recs = parseCsv(Buffer.from('1;"x""\n""y""\n";e\n2;z\n'));
    expect(recs.map((r) => [r.fields, r.lines, r.error])).toEqual([
      [['1', 'x"\n"y"\n', 'e'], 3, null],
      [['2', 'z'], 1, null],
    ]);
  });

  it('strips a BOM at byte 0 only, and decodes UTF-8', () => {
    const buf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Débit;État\r\né;€\r\n', 'utf8')]);
    const recs = parseCsv(buf);
    expect(recs.map((r) => r.fields)).toEqual([
      ['Débit', 'État'],
      ['é', '€'],
    ]);
    expect(recs[0].offset).toBe(3);
    // With bom: false the BOM stays part of the first field.
    expect(parseCsv(buf, { bom: false })[0].fields[0]).toBe('\uFEFFDébit');
  });

  it('reports lines, byte offsets and ends (quoted newlines and multibyte characters included)', () => {
    const text = 'h1;h2\r\n"é\nè";x\r\n\r\nz;"w"\n';
    const recs = parseCsv(Buffer.from(text, 'utf8'));
    expect(recs.map((r) => [r.line, r.offset, r.end, r.lines])).toEqual([
      [1, 0, 7, 1],
      [2, 7, 18, 2], // '"é\nè";x\r\n' is 11 bytes (é and è take 2 each)
      [5, 20, 26, 1],
    ]);
    expect(Buffer.from(text, 'utf8').length).toBe(26);
  });

  it('skips blank lines (counted in line numbers), or returns them when asked', () => {
    expect(fieldsOf('a\n\n\r\nb\n')).toEqual([['a'], ['b']]);
    expect(fieldsOf('a\n\nb', { skipEmptyLines: false })).toEqual([['a'], [''], ['b']]);
    expect(parseCsv(Buffer.from('a\n\n\nb\n')).map((r) => r.line)).toEqual([1, 4]);
  });

  it('accepts another delimiter', () => {
    expect(fieldsOf('a,"b,c",d\n', { delimiter: ',' })).toEqual([['a', 'b,c', 'd']]);
    expect(() => new CsvScanner(Buffer.from(''), { delimiter: '"' })).toThrow(RangeError);
  });

  it('keepColumns skips materialising quoted fields it does not keep', () => {
    const recs = parseCsv(Buffer.from('1;"x""y";"z"\n'), { keepColumns: [true, false, true] });
    expect(recs[0].fields).toEqual(['1', '', 'z']);
  });
});

describe('CsvScanner: malformed quoting is reported per record, never thrown, and costs one line', () => {
  it('stray quote in an unquoted field', () => {
    const recs = parseCsv(Buffer.from('a;b"c;d\n1;2;3\n'));
    expect(recs.map((r) => r.error)).toEqual(['stray_quote', null]);
    expect(recs[1].fields).toEqual(['1', '2', '3']);
    expect(recs[1].line).toBe(2);
  });

  it('garbage after a closing quote', () => {
    const recs = parseCsv(Buffer.from('4;"bad"quote;x\n5;ok;z\n'));
    expect(recs.map((r) => r.error)).toEqual(['garbage_after_quote', null]);
    expect(recs[1].fields).toEqual(['5', 'ok', 'z']);
  });

  it('an unclosed quote does not swallow the following rows (csv-parse loses them)', () => {
    const rows = ['h;g', '1;"unclosed', ...Array.from({ length: 10 }, (_, i) => `${i};"ok ${i}"`)];
    const recs = parseCsv(Buffer.from(rows.join('\r\n') + '\r\n'));
    expect(recs).toHaveLength(12);
    expect(recs[1].error).not.toBeNull();
    expect(recs[1].lines).toBe(1);
    expect(recs[1].end - recs[1].offset).toBe(Buffer.byteLength('1;"unclosed\r\n'));
    expect(recs.slice(2).map((r) => r.fields)).toEqual(Array.from({ length: 10 }, (_, i) => [String(i), `ok ${i}`]));
  });

  it('a quote open at the end of the data is unclosed_quote, its first line only', () => {
    const recs = parseCsv(Buffer.from('a;b\n1;"x\ny\nz'));
    expect(recs.map((r) => r.error ?? r.fields)).toEqual([['a', 'b'], 'unclosed_quote', ['y'], ['z']]);
  });

  it('caps a record at maxRecordLines physical lines and maxRecordBytes', () => {
    const many = '1;"' + Array.from({ length: 60 }, (_, i) => `l${i}`).join('\n') + '"\n2;ok\n';
    const recs = parseCsv(Buffer.from(many));
    expect(recs[0].error).toBe('unclosed_quote');
    expect(recs.length).toBe(61); // the 60 physical lines come back one by one (the last is 'l59"' → error)
    expect(recs[recs.length - 1].fields).toEqual(['2', 'ok']);
    // Within the caps the same record is fine.
    expect(parseCsv(Buffer.from(many), { maxRecordLines: 100 })[0].fields[1].split('\n')).toHaveLength(60);

    const big = '1;"' + 'x'.repeat(300) + '\n' + 'y'.repeat(300) + '"\n2;ok\n';
    const capped = parseCsv(Buffer.from(big), { maxRecordBytes: 400 });
    expect(capped[0].error).toBe('unclosed_quote');
    expect(capped[capped.length - 1].fields).toEqual(['2', 'ok']);
    const long = parseCsv(Buffer.from('1;' + 'x'.repeat(500) + '\n2;ok\n'), { maxRecordBytes: 400 });
    expect(long.map((r) => r.error ?? r.fields)).toEqual(['record_too_large', ['2', 'ok']]);
  });

  it('a multi-line record malformed further down is unclosed_quote on its first line', () => {
    // The quote opened on line 1 would close on line 3, but line 2 has garbage after a quote.
    const recs = parseCsv(Buffer.from('"a\nb"x;"c\nd"\n'));
    expect(recs[0].error).toBe('unclosed_quote');
    expect(recs[0].lines).toBe(1);
    expect(recs[1].line).toBe(2);
  });

  it('splitCsvLine parses one header line, null when malformed', () => {
    expect(splitCsvLine('\uFEFFa;"b;c";d\r\n')).toEqual(['a', 'b;c', 'd']);
    expect(splitCsvLine('"Identifiant arc;Libelle')).toBeNull();
  });
});

// ───────── randomised: well-formed records round-trip; any bytes scan deterministically ─────────

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const PIECES = ['a', 'é', '€', '😀', ';', '"', '\n', '\r\n', ' ', 'x1', '{"k": 1}', ','];

function randomField(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

function quoteField(f: string): string {
  return /[;"\r\n]/.test(f) || f === '' ? `"${f.replace(/"/g, '""')}"` : f;
}

describe('CsvScanner: randomised round trip', () => {
  it('returns exactly the fields that were written (LF and CRLF, with and without a last terminator)', () => {
    const r = rng(7);
    for (let round = 0; round < 200; round++) {
      const rows: string[][] = [];
      const nRows = 1 + Math.floor(r() * 8);
      for (let i = 0; i < nRows; i++) rows.push(Array.from({ length: 1 + Math.floor(r() * 5) }, () => randomField(r)));
      const eol = r() < 0.5 ? '\n' : '\r\n';
      let text = rows.map((row) => row.map(quoteField).join(';')).join(eol);
      if (r() < 0.5) text += eol;
      const got = parseCsv(Buffer.from(text, 'utf8'));
      expect(got.map((x) => x.error)).toEqual(rows.map(() => null));
      expect(got.map((x) => x.fields)).toEqual(rows);
    }
  });
});

// ───────── cross-check against csv-parse on every real CSV fixture ─────────

describe('CsvScanner agrees with csv-parse on every real CSV fixture', () => {
  const files = realCsvFiles();
  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });
  for (const file of files) {
    const name = path.relative(REAL, file);
    if (name.includes('malformed-header')) {
      it(`${name}: header swallowed by csv-parse, reported as one bad line here`, () => {
        const buf = fs.readFileSync(file);
        const ours = parseCsv(buf);
        expect(ours[0].error).toBe('unclosed_quote');
        expect(ours[0].lines).toBe(1);
        // Every other line is a good 15-field record; csv-parse (relaxed) yields one record fewer.
        expect(ours.slice(1).every((rec) => rec.error === null && rec.fields.length === 15)).toBe(true);
        const theirs = parse(buf, { delimiter: ';', bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
        expect(ours.slice(2).map((x) => x.fields)).toEqual(theirs.slice(1));
      });
      continue;
    }
    it(name, () => {
      const buf = fs.readFileSync(file);
      const delimiter = delimiterOf(buf);
      const theirs = parse(buf, { delimiter, bom: true, relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as {
        record: string[];
        info: { lines: number; bytes: number };
      }[];
      const ours: CsvRecord[] = parseCsv(buf, { delimiter });
      expect(ours.every((x) => x.error === null)).toBe(true);
      expect(ours.map((x) => x.fields)).toEqual(theirs.map((x) => x.record));
      // Byte ends agree too (csv-parse's info.bytes is just past the record terminator).
      expect(ours.map((x) => x.end)).toEqual(theirs.map((x) => x.info.bytes));
    });
  }
});
