/**
 * Chunk-boundary exactness: a file cut by `planChunks` and parsed range by range with `CsvScanner`
 * gives exactly the records of one sequential parse (same count, order, fields, error kinds, line
 * numbers and byte offsets), whatever the chunk size, the read-buffer size and the content:
 * quoted `;`, quoted newlines, CRLF, BOM, last line with or without a terminator, blank lines,
 * malformed quoting. The SIMD line skipper and the record reader alone must give the same plan,
 * and `onRange` must stream exactly the returned ranges.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { ChunkPlan, ChunkRange, CsvRecord, CsvScanner, CsvScanOptions, parseCsv, planChunks, PlanOptions } from '../src/csv';

const ROOT = path.resolve(__dirname, '../../..');
const REAL = path.join(ROOT, 'test/fixtures/real');
const COMPTAGES_FIXTURES = [
  ...fs
    .readdirSync(path.join(REAL, 'comptages-routiers-permanents'))
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => path.join(REAL, 'comptages-routiers-permanents', f)),
  path.join(ROOT, 'data/sample/raw/batch/comptages-routiers-permanents.csv'),
];
// Exports with quoted newlines (CRLF records, LF inside fields).
const CHANTIERS_FIXTURES = fs
  .readdirSync(path.join(REAL, 'chantiers-perturbants'))
  .filter((f) => f.endsWith('.csv'))
  .sort()
  .map((f) => path.join(REAL, 'chantiers-perturbants', f));

const CHUNK_SIZES = [1, 2, 3, 7, 1000];

let tmp: string;
let fileCount = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-chunk-boundaries-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function write(content: Buffer | string): string {
  const p = path.join(tmp, `f${fileCount++}.csv`);
  fs.writeFileSync(p, content);
  return p;
}

type Caps = Pick<CsvScanOptions, 'maxRecordBytes' | 'maxRecordLines'>;

/** One record as a hash of what a consumer sees: fields, error kind, line, byte offset and end. */
function recordHash(r: CsvRecord): string {
  return createHash('sha256')
    .update(r.fields.join('\u0000'))
    .update(`\u0001${r.error ?? ''}\u0001${r.line}\u0001${r.offset}\u0001${r.end}`)
    .digest('hex');
}

/** Records of one range, parsed on their own as a processor would. */
function parseRange(buf: Buffer, r: ChunkRange, caps: Caps): CsvRecord[] {
  return [...new CsvScanner(buf.subarray(r.start, r.end), { ...caps, baseOffset: r.start, bom: r.index === 0, firstLine: r.firstLine })];
}

/** Offsets of every LF of `buf`, in order. */
function lineFeeds(buf: Buffer): number[] {
  const out: number[] = [];
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) out.push(i);
  return out;
}

/** The sequential parse of a file, kept while the same file and caps are checked again. */
let lastParse: { key: string; buf: Buffer; records: CsvRecord[]; hashes: string[] } | null = null;
function sequentialParse(file: string, caps: Caps): { buf: Buffer; records: CsvRecord[]; hashes: string[] } {
  const key = `${file}|${JSON.stringify(caps)}`;
  if (lastParse?.key !== key) {
    const buf = fs.readFileSync(file);
    const records = parseCsv(buf, caps);
    lastParse = { key, buf, records, hashes: records.map(recordHash) };
  }
  return lastParse;
}

/** Everything a plan of `file` must satisfy against its sequential parse. */
function checkPlan(file: string, plan: ChunkPlan, rowsPerChunk: number, caps: Caps): void {
  const { buf, records: sequential, hashes } = sequentialParse(file, caps);
  const ranges = plan.ranges;
  // Ranges tile [0, size): numbered in order, each starting where the previous one ends.
  expect(plan.fileSize).toBe(buf.length);
  expect(ranges.length).toBeGreaterThan(0);
  expect(ranges.map((r) => [r.index, r.start])).toEqual(ranges.map((_, i) => [i, i === 0 ? 0 : ranges[i - 1].end]));
  expect(ranges.every((r) => r.end >= r.start)).toBe(true);
  expect(ranges[ranges.length - 1].end).toBe(buf.length);
  // firstLine is the physical line of the range's first byte.
  const lfs = lineFeeds(buf);
  let lfsBefore = 0;
  const firstLines = ranges.map((r) => {
    while (lfsBefore < lfs.length && lfs[lfsBefore] < r.start) lfsBefore++;
    return 1 + lfsBefore;
  });
  expect(ranges.map((r) => r.firstLine)).toEqual(firstLines);

  // Joined per-range records = the sequential records, hash for hash.
  const perRange = ranges.map((r) => parseRange(buf, r, caps));
  const joined = perRange.flat();
  expect(joined.length).toBe(sequential.length);
  expect(joined.map(recordHash)).toEqual(hashes);

  // Row counts: the header is the first record; every range but the last is full and ends right
  // after its last record's terminator (blank lines after it open the next range).
  expect(plan.totalRows).toBe(Math.max(0, sequential.length - 1));
  expect(ranges.map((r) => r.rows)).toEqual(perRange.map((records, i) => (i === 0 ? Math.max(0, records.length - 1) : records.length)));
  const full = ranges.slice(0, -1);
  expect(full.map((r) => [r.rows, r.end])).toEqual(full.map((_, i) => [rowsPerChunk, perRange[i][perRange[i].length - 1].end]));
  if (sequential.length) {
    expect(plan.headerEnd).toBe(sequential[0].end);
    // The header's raw text without its terminator (a malformed header is its first line only).
    let raw = buf.subarray(sequential[0].offset, sequential[0].end).toString('utf8');
    if (raw.endsWith('\n')) raw = raw.slice(0, -1);
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    expect(plan.header).toBe(raw);
  } else {
    expect(plan.header).toBe('');
  }
}

/**
 * Plan with the SIMD skipper, with the record reader alone and with `onRange`; all three must
 * agree, and the streamed ranges must be the returned ones, each final when passed.
 */
async function planAll(file: string, rowsPerChunk: number, opts: PlanOptions = {}): Promise<ChunkPlan> {
  const plan = await planChunks(file, rowsPerChunk, opts);
  expect(await planChunks(file, rowsPerChunk, { ...opts, simd: false })).toEqual(plan);
  const streamed: string[] = [];
  const streamedPlan = await planChunks(file, rowsPerChunk, {
    ...opts,
    onRange: (range, header) => {
      streamed.push(JSON.stringify({ range, header }));
    },
  });
  expect(streamedPlan).toEqual(plan);
  expect(streamed).toEqual(plan.ranges.map((range) => JSON.stringify({ range, header: plan.header })));
  return plan;
}

async function planAndCheck(file: string, rowsPerChunk: number, caps: Caps = {}, bufferSize?: number): Promise<ChunkPlan> {
  const plan = await planAll(file, rowsPerChunk, { ...caps, bufferSize });
  checkPlan(file, plan, rowsPerChunk, caps);
  return plan;
}

// ───────── crafted files: one case per rule ─────────

const BOM = '\uFEFF';
const HEADER = 'Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;geo_shape';
const GEO = '"{""coordinates"": [[2.3697998850148316, 48.83345490415774], [2.369271708257021, 48.832678497566114]], ""type"": ""LineString""}"';
const row = (i: number, libelle = `Rue_${i}`, geo = GEO): string => `${i};${libelle};2024-10-01T${String(i % 24).padStart(2, '0')}:00:00+02:00;${i * 7};${geo}`;

/** Rows of a comptages-like export, with every special case somewhere. */
function kitchenSink(eol: string): string[] {
  return [
    HEADER,
    row(1),
    row(2, '"Rue; de la Paix"'), // quoted ;
    row(3, 'Quai', `"{""coordinates"": [[2.3,${eol} 48.8], [2.4,\n 48.9]], ""type"": ""LineString""}"`), // quoted newlines
    '', // blank line
    row(4, 'Pont"Neuf'), // stray quote
    row(5, '"Quai"Nord'), // characters after a closing quote
    row(6, '"unclosed', 'x'), // quote never closed: one bad line
    row(7),
    eol === '\n' ? '\r' : '', // a lone CR (before LF) is blank too
    row(8, '""'), // empty quoted field
    row(9, '"é ""€"" 😀"'),
    row(10),
  ];
}

describe('crafted files: every rule at every cut', () => {
  const variants: [string, string][] = [];
  for (const eol of ['\n', '\r\n']) {
    for (const bom of ['', BOM]) {
      for (const final of [true, false]) {
        const text = bom + kitchenSink(eol).join(eol) + (final ? eol : '');
        variants.push([`${eol === '\n' ? 'LF' : 'CRLF'}${bom ? ', BOM' : ''}, ${final ? 'with' : 'without'} a final newline`, text]);
      }
    }
  }

  it.each(variants)('%s', async (_name, text) => {
    const file = write(text);
    const records = parseCsv(Buffer.from(text, 'utf8'));
    // The sequential parse itself: the header and 10 rows, the three malformed ones one line each.
    expect(records.map((r) => r.error)).toEqual([
      null,
      null,
      null,
      null,
      'stray_quote',
      'garbage_after_quote',
      'unclosed_quote',
      null,
      null,
      null,
      null,
    ]);
    expect(records[2].fields[1]).toBe('Rue; de la Paix');
    expect(records[3].lines).toBe(3);
    expect(records[3].fields[4]).toContain('48.8]');
    expect(records[6].lines).toBe(1);
    for (const rows of CHUNK_SIZES) await planAndCheck(file, rows);
    // Small read buffers cut records (and multibyte characters) at every position.
    for (const bufferSize of [1024, 1031, 1100, 1283]) await planAndCheck(file, 3, { maxRecordBytes: 500 }, bufferSize);
  });

  it('a range boundary falls right after a multi-line record and before the blank lines that follow', async () => {
    const text = [HEADER, row(1, 'Quai', '"a\r\nb\nc"'), '', '', row(2), row(3)].join('\r\n') + '\r\n';
    const plan = await planAndCheck(write(text), 1);
    const buf = Buffer.from(text, 'utf8');
    expect(plan.ranges.map((r) => r.rows)).toEqual([1, 1, 1]);
    expect(buf.subarray(plan.ranges[0].end - 4, plan.ranges[0].end).toString()).toBe('c"\r\n');
    expect(plan.ranges[1].firstLine).toBe(5);
    expect(buf.subarray(plan.ranges[1].start, plan.ranges[1].start + 4).toString()).toBe('\r\n\r\n');
  });

  it('trailing blank lines extend the last full range; onRange passes it only once extended', async () => {
    const text = `${HEADER}\n${row(1)}\n${row(2)}\n\n\r\n\n`;
    const file = write(text);
    const seen: ChunkRange[] = [];
    const plan = await planChunks(file, 1, { onRange: (r) => void seen.push({ ...r }) });
    expect(plan.ranges.map((r) => [r.rows, r.end])).toEqual([
      [1, Buffer.byteLength(`${HEADER}\n${row(1)}\n`)],
      [1, Buffer.byteLength(text)],
    ]);
    expect(seen).toEqual(plan.ranges);
    await planAndCheck(file, 1);
    await planAndCheck(file, 2);
  });

  it('an unclosed quote near the end of the data, and a quoted field closed many lines later', async () => {
    const far = [HEADER, row(1, '"spans'), 'a', 'b', 'c', 'd;"', row(2), row(3, '"open at the end')].join('\n');
    for (const maxRecordLines of [1, 2, 5, 6, 50]) {
      for (const rows of CHUNK_SIZES) await planAndCheck(write(far), rows, { maxRecordLines });
    }
  });

  it('the last line without a terminator, whatever bytes the read buffer holds after it', async () => {
    // 4 kB of short lines: several reads, and a line feed in nearly every 16 bytes of the buffer.
    // The stale bytes after the end of the data in the last read must never pass for the last
    // line's terminator.
    const body = Array.from({ length: 600 }, (_, i) => `${i};ab`).join('\n');
    for (let extra = 1; extra <= 16; extra++) {
      const file = write(`${HEADER}\n${body}\n${'z'.repeat(extra)};end`);
      for (const bufferSize of [1024, 1037]) await planAndCheck(file, 1000, { maxRecordBytes: 300 }, bufferSize);
    }
  });

  it('empty file, header-only file, blank lines only', async () => {
    for (const text of ['', `${BOM}${HEADER}`, `${HEADER}\r\n`, '\n\r\n\n', `\n\n${HEADER}\n\n${row(1)}`]) {
      for (const rows of [1, 2]) await planAndCheck(write(text), rows);
    }
  });
});

// ───────── real exports ─────────

describe('real comptages and chantiers exports', () => {
  it.each([...COMPTAGES_FIXTURES, ...CHANTIERS_FIXTURES].map((f) => [path.relative(ROOT, f), f]))('%s', async (_name, file) => {
    const size = fs.statSync(file).size;
    // Chunk size 1 on the 10 MB sample means 30,000 ranges: run the smallest sizes on small files.
    for (const rows of size > 2_000_000 ? [7, 1000] : CHUNK_SIZES) await planAndCheck(file, rows);
    await planAndCheck(file, size > 2_000_000 ? 3001 : 3, { maxRecordBytes: 8192 }, 16386);
  });
});

// ───────── property: random documents, random cuts ─────────

/** Cell text with the characters that matter to the record rules. */
const cell = fc
  .array(fc.constantFrom('a', 'Z', '0', ' ', 'é', '€', '😀', ';', '"', '""', '\n', '\r\n', '\r', '{', ':', ','), { maxLength: 6 })
  .map((parts) => parts.join(''));

/** A field serialised as a writer would (quoted when needed, sometimes when not). */
const field = fc.tuple(cell, fc.boolean()).map(([text, forceQuotes]) => (forceQuotes || /[;"\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text));

/** One physical piece of a document: a good record, a blank line, or malformed quoting. */
const piece = fc.oneof(
  { weight: 12, arbitrary: fc.array(field, { minLength: 1, maxLength: 5 }).map((fields) => fields.join(';')) },
  { weight: 1, arbitrary: fc.constantFrom('', '\r') },
  { weight: 1, arbitrary: fc.constantFrom('1;a"b;c', '"x"y;z', '2;"never closed', 'k;"open', '";', '"', 'q"', '"a""') },
);

const documentArb = fc.record({
  bom: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n'),
  finalEol: fc.boolean(),
  pieces: fc.array(piece, { minLength: 1, maxLength: 60 }),
  rowsPerChunk: fc.integer({ min: 1, max: 12 }),
  bufferSize: fc.option(fc.integer({ min: 1024, max: 1400 }), { nil: undefined }),
  maxRecordBytes: fc.integer({ min: 40, max: 400 }),
  maxRecordLines: fc.integer({ min: 1, max: 6 }),
});

describe('property: random CSV documents cut anywhere', () => {
  it('per-range parses join to the sequential parse, SIMD or not, streamed or not', async () => {
    await fc.assert(
      fc.asyncProperty(documentArb, async (d) => {
        // The pieces four times over, so that small read buffers are refilled several times.
        const body = d.pieces.join(d.eol);
        const file = write((d.bom ? BOM : '') + [body, body, body, body].join(d.eol) + (d.finalEol ? d.eol : ''));
        await planAndCheck(file, d.rowsPerChunk, { maxRecordBytes: d.maxRecordBytes, maxRecordLines: d.maxRecordLines }, d.bufferSize);
      }),
      { numRuns: 300 },
    );
  });
});

// ───────── streaming ─────────

describe('onRange streams ranges while the file is still being read', () => {
  it('passes the first range before the end of the file, and waits for the callback', async () => {
    const file = COMPTAGES_FIXTURES[COMPTAGES_FIXTURES.length - 1]; // the 10 MB sample
    const events: string[] = [];
    let inCallback = false;
    const plan = await planChunks(file, 5000, {
      bufferSize: 1 << 20,
      onProgress: (scanned, size) => {
        // Back-pressure: no reading while a callback is pending.
        expect(inCallback).toBe(false);
        events.push(scanned === size ? 'end' : 'read');
      },
      onRange: async (range) => {
        inCallback = true;
        events.push(`range ${range.index}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inCallback = false;
      },
    });
    expect(plan.ranges.length).toBeGreaterThan(3);
    expect(events.indexOf('range 0')).toBeLessThan(events.indexOf('end'));
    expect(events.filter((e) => e.startsWith('range'))).toEqual(plan.ranges.map((r) => `range ${r.index}`));
  });

  it('a failing callback stops the plan with its error', async () => {
    const file = COMPTAGES_FIXTURES[0];
    await expect(
      planChunks(file, 10, {
        onRange: (range) => {
          if (range.index === 2) throw new Error('queue down');
        },
      }),
    ).rejects.toThrow('queue down');
  });
});
