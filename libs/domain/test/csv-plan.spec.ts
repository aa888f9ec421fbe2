import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChunkPlan, CsvScanOptions, parseCsv, planChunks } from '../src/csv';
import { InputFormatError } from '../src/shared/model';

const REAL = path.resolve(__dirname, '../../../test/fixtures/real');
const COMPTAGES = path.join(REAL, 'comptages-routiers-permanents');
const LEXPARMAP = path.join(REAL, 'chantiers-perturbants/lexparmap_chantiers-perturbants_snapshot-2025.csv');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-csv-plan-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function write(name: string, content: Buffer | string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content);
  return p;
}

type Caps = Pick<CsvScanOptions, 'maxRecordBytes' | 'maxRecordLines' | 'delimiter'>;

/** Ranges must tile [0, size), and parsing each range separately must give the sequential parse. */
function checkPlan(buf: Buffer, plan: ChunkPlan, rowsPerChunk: number, caps: Caps = {}): void {
  expect(plan.fileSize).toBe(buf.length);
  expect(plan.ranges[0].start).toBe(0);
  plan.ranges.forEach((r, i) => {
    expect(r.index).toBe(i);
    expect(r.end).toBeGreaterThanOrEqual(r.start);
    if (i > 0) expect(r.start).toBe(plan.ranges[i - 1].end);
  });
  expect(plan.ranges[plan.ranges.length - 1].end).toBe(buf.length);

  const sequential = parseCsv(buf, caps);
  const joined = plan.ranges.flatMap((r) =>
    parseCsv(buf.subarray(r.start, r.end), { ...caps, baseOffset: r.start, firstLine: r.firstLine, bom: r.start === 0 }),
  );
  expect(joined).toEqual(sequential);

  // Row counts: the header is the first record; every range but the last holds rowsPerChunk rows.
  expect(plan.totalRows).toBe(Math.max(0, sequential.length - 1));
  expect(plan.ranges.reduce((s, r) => s + r.rows, 0)).toBe(plan.totalRows);
  plan.ranges.slice(0, -1).forEach((r) => expect(r.rows).toBe(rowsPerChunk));
  if (sequential.length) {
    const h = sequential[0];
    expect(plan.headerEnd).toBe(h.end);
    let raw = buf.subarray(h.offset, h.end).toString('utf8');
    if (h.error) raw = raw.split('\n')[0];
    if (raw.endsWith('\n')) raw = raw.slice(0, -1);
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    expect(plan.header).toBe(raw);
  }
}

async function planAndCheck(file: string, rowsPerChunk: number, caps: Caps = {}, bufferSize?: number): Promise<ChunkPlan> {
  const plan = await planChunks(file, rowsPerChunk, { ...caps, bufferSize });
  checkPlan(fs.readFileSync(file), plan, rowsPerChunk, caps);
  return plan;
}

describe('planChunks on the real comptages fixtures', () => {
  for (const name of fs.readdirSync(COMPTAGES).sort()) {
    it(name, async () => {
      const file = path.join(COMPTAGES, name);
      for (const rows of [1, 7, 100, 50_000]) await planAndCheck(file, rows);
      // A small read buffer forces many refills that cut records and multibyte characters.
      await planAndCheck(file, 13, { maxRecordBytes: 2048 }, 4098);
    });
  }

  it('header and offsets of a file with a BOM and CRLF', async () => {
    const file = path.join(COMPTAGES, 'louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');
    const plan = await planAndCheck(file, 500);
    expect(plan.header.startsWith('Identifiant arc;Libelle;')).toBe(true);
    expect(plan.header.endsWith(';geo_shape')).toBe(true);
    expect(plan.totalRows).toBe(1168);
    expect(plan.ranges.map((r) => r.rows)).toEqual([500, 500, 168]);
    const buf = fs.readFileSync(file);
    expect(buf.subarray(plan.headerEnd - 2, plan.headerEnd).toString('latin1')).toBe('\r\n');
  });

  it('the malformed header is one bad line; its text is the raw first line', async () => {
    const file = path.join(COMPTAGES, 'bcg_comptages-routiers-permanents_arc4264_2022-11-01_to_2022-12-01_malformed-header.csv');
    const plan = await planAndCheck(file, 100);
    expect(plan.header.startsWith('"Identifiant arc;')).toBe(true);
    expect(plan.header).not.toContain('\n');
    expect(plan.totalRows).toBe(721);
  });
});

describe('planChunks never splits inside a quoted field', () => {
  it('multi-line records of the chantiers export (CRLF records, LF inside fields), repeated', async () => {
    const buf = fs.readFileSync(LEXPARMAP);
    const nl = buf.indexOf('\n') + 1;
    const body = buf.subarray(nl);
    const file = write('chantiers-x5.csv', Buffer.concat([buf, body, body, body, body]));
    const sequential = parseCsv(fs.readFileSync(file));
    expect(sequential.some((r) => r.lines > 1)).toBe(true);
    expect(sequential.every((r) => r.error === null)).toBe(true);
    for (const rows of [1, 2, 3, 10, 1000]) await planAndCheck(file, rows);
    await planAndCheck(file, 4, { maxRecordBytes: 8192 }, 16386);
  });

  it('last line with and without a terminator, LF and CRLF', async () => {
    const src = fs.readFileSync(path.join(COMPTAGES, 'bcg_data-input_arc4264_2022-12-05_to_2022-12-08.csv'));
    const noEol = write('no-eol.csv', src.subarray(0, src.length - 2));
    const lf = write('lf.csv', Buffer.from(src.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'));
    const lfNoEol = write('lf-no-eol.csv', Buffer.from(src.toString('latin1').replace(/\r\n/g, '\n').replace(/\n$/, ''), 'latin1'));
    for (const f of [noEol, lf, lfNoEol]) {
      for (const rows of [1, 5, 72, 73, 74]) {
        const plan = await planAndCheck(f, rows);
        expect(plan.totalRows).toBe(73);
      }
    }
  });

  it('multibyte characters and quoted newlines right at read-buffer boundaries', async () => {
    // Records of varying sizes full of 2-, 3- and 4-byte characters, some with quoted CRLF.
    const lines = ['id;texte;geo'];
    for (let i = 0; i < 400; i++) {
      const t = 'é€😀'.repeat(i % 7) + 'x'.repeat(i % 5);
      lines.push(i % 3 === 0 ? `${i};"${t}\r\n${t};""q""";"{""a"": ${i}}"` : `${i};${t};"${t}"`);
    }
    const file = write('multibyte.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines.join('\r\n') + '\r\n', 'utf8')]));
    for (const bufferSize of [514, 515, 517, 600, 1000]) {
      for (const rows of [1, 3, 50]) await planAndCheck(file, rows, { maxRecordBytes: 256 }, bufferSize);
    }
  });

  it('blank lines, empty file, header-only file', async () => {
    const blank = write('blank.csv', 'a;b\r\n\r\n1;2\r\n\r\n\r\n3;4\r\n\r\n');
    const p = await planAndCheck(blank, 1);
    expect(p.ranges.map((r) => r.rows)).toEqual([1, 1]);
    const empty = await planChunks(write('empty.csv', ''), 10);
    expect(empty).toEqual({ header: '', headerEnd: 0, totalRows: 0, fileSize: 0, ranges: [{ index: 0, start: 0, end: 0, rows: 0, firstLine: 1 }] });
    const headerOnly = await planAndCheck(write('header-only.csv', '\uFEFFa;b\n'), 10);
    expect(headerOnly.header).toBe('a;b');
    expect(headerOnly.ranges).toEqual([{ index: 0, start: 0, end: 7, rows: 0, firstLine: 1 }]);
  });

  it('a line longer than the read buffer is one bad record, read with bounded memory', async () => {
    const file = write('long-line.csv', 'a;b\n1;' + 'x'.repeat(5000) + '\n2;ok\n3;"' + 'y'.repeat(3000) + '\n4;ok\n');
    const plan = await planAndCheck(file, 1, { maxRecordBytes: 512 }, 1026);
    expect(plan.totalRows).toBe(4);
    await expect(planChunks(write('long-header.csv', 'h'.repeat(3000) + '\n1\n'), 1, { maxRecordBytes: 512, bufferSize: 1026 })).rejects.toBeInstanceOf(
      InputFormatError,
    );
  });

  it('randomised files with malformed quoting: ranges agree with the scanner for every buffer size', async () => {
    let s = 12345;
    const r = () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s / 2 ** 32;
    };
    const pieces = ['a', 'é', '😀', ';', '"', '""', '\n', '\r\n', 'xyz', '"q"', '\r'];
    for (let round = 0; round < 40; round++) {
      let text = '';
      const n = 20 + Math.floor(r() * 300);
      for (let i = 0; i < n; i++) text += pieces[Math.floor(r() * pieces.length)];
      const file = write(`fuzz-${round}.csv`, text);
      const caps: Caps = { maxRecordBytes: 40, maxRecordLines: 1 + Math.floor(r() * 6) };
      for (const bufferSize of [82, 83, 128, 4096]) {
        for (const rows of [1, 2, 5]) await planAndCheck(file, rows, caps, bufferSize);
      }
    }
  });
});
