/**
 * The local raw source behind the RawSource seam: discovery is `discoverRawFiles`, readers pin
 * the discovered version (size and mtime) at open and check it again after the last read, and
 * the read helpers close the readers they are given.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  classifyRawPath,
  discoverRawFiles,
  LocalRawSource,
  openLocalFile,
  planChunks,
  RawDirError,
  RawReader,
  rawDayFolders,
  readFileRange,
  scanFileRange,
  SourceChangedError,
} from '@cityflow/domain';

const DAY = '2025-02-04';

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-raw-source-'));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

/** Records whether the helper under test closed its reader. */
function tracked(reader: RawReader): RawReader & { closed: boolean } {
  const t = Object.assign(Object.create(reader) as RawReader, { closed: false });
  t.read = (buf, off, len, pos) => reader.read(buf, off, len, pos);
  t.verify = () => reader.verify();
  t.close = async () => {
    t.closed = true;
    await reader.close();
  };
  return t as RawReader & { closed: boolean };
}

/** A later mtime, as a rewrite within the same millisecond would not give one. */
function touchLater(file: string): void {
  const later = new Date(fs.statSync(file).mtimeMs + 5000);
  fs.utimesSync(file, later, later);
}

describe('raw layout', () => {
  it('lists the folders of a day and accepts exactly the paths discovery keeps', () => {
    expect(rawDayFolders(DAY)).toEqual([
      `api/bikes/dt=${DAY}`,
      `api/bikes/${DAY}`,
      'api/bikes/dt=2025-02-05',
      'api/bikes/2025-02-05',
      `api/traffic/dt=${DAY}`,
      `api/traffic/${DAY}`,
      `api/weather/dt=${DAY}`,
      `api/weather/${DAY}`,
      `api/velib/dt=${DAY}`,
      `api/velib/${DAY}`,
      'batch',
    ]);
    const cases: [string, string | null][] = [
      [`api/bikes/dt=${DAY}/hour=02/a.json`, 'bikes'],
      [`api/bikes/dt=${DAY}/a.jsonl`, 'bikes'],
      ['api/bikes/2025-02-05/b.csv', 'bikes'],
      ['api/weather/2025-02-05/b.json', null],
      [`api/traffic/${DAY}/deep/er/x.JSON`, 'traffic'],
      [`api/traffic/${DAY}/.x.json`, null],
      [`api/traffic/${DAY}/x.txt`, null],
      [`api/traffic/dt=${DAY}x/x.json`, null],
      [`api/other/${DAY}/x.json`, null],
      ['batch/comptages.csv', 'comptages'],
      ['batch/y/CHANTIERS-1.csv', 'chantiers'],
      ['batch/referentiel.json', null],
      ['batch/other.csv', null],
      ['comptages.csv', null],
      ['batch//comptages.csv', null],
      ['batch/../batch/comptages.csv', null],
    ];
    for (const [relPath, source] of cases) expect([relPath, classifyRawPath(relPath, DAY)]).toEqual([relPath, source]);
  });
});

describe('LocalRawSource', () => {
  const csv = 'a;b\n1;x\n2;y\n3;z\n';
  const root = tree({ 'batch/comptages-1.csv': csv, [`api/bikes/dt=${DAY}/hour=01/x.json`]: '[]', 'batch/notes.txt': '' });
  const source = new LocalRawSource(root);

  it('discovers what discoverRawFiles discovers', async () => {
    expect(await source.discover(DAY)).toEqual(discoverRawFiles(root, DAY));
    await expect(new LocalRawSource(path.join(root, 'missing')).discover(DAY)).rejects.toThrow(RawDirError);
  });

  it('reads ranges block by block and whole, closing the reader', async () => {
    const [ref] = (await source.discover(DAY)).filter((r) => r.source === 'comptages');
    const reader = tracked(await source.open(ref));
    expect(reader.size).toBe(csv.length);
    expect((await readFileRange(reader, 4, 12)).toString()).toBe('1;x\n2;y\n');
    expect(reader.closed).toBe(true);

    const blocks: string[] = [];
    const scanned = tracked(await source.open(ref));
    await scanFileRange(scanned, { start: 4, end: csv.length }, { push: (buf, final) => (blocks.push(buf.toString()), final ? buf.length : buf.lastIndexOf(10) + 1) }, 5);
    expect(blocks.join('|')).toBe('1;x\n2|2;y\n3|3;z\n');
    expect(scanned.closed).toBe(true);

    const planned = tracked(await source.open(ref));
    expect((await planChunks(planned, 2)).ranges.map((r) => [r.start, r.end])).toEqual([[0, 12], [12, 16]]);
    expect(planned.closed).toBe(true);
  });

  it('refuses paths outside the raw folder', async () => {
    const [ref] = await source.discover(DAY);
    await expect(source.open({ ...ref, relPath: '../outside.csv' })).rejects.toThrow(RawDirError);
  });

  it('pins the discovered version: at open, after the last read, and against a shorter file', async () => {
    const file = path.join(root, 'batch/comptages-1.csv');
    const [ref] = (await source.discover(DAY)).filter((r) => r.source === 'comptages');

    // Rewritten after discovery: opening fails.
    fs.writeFileSync(file, csv);
    touchLater(file);
    await expect(source.open(ref)).rejects.toThrow(SourceChangedError);

    // Rewritten during the read: the check after the last read fails, and the reader is closed.
    const [fresh] = (await source.discover(DAY)).filter((r) => r.source === 'comptages');
    const reader = tracked(await source.open(fresh));
    const consumer = {
      push: (buf: Buffer) => {
        fs.appendFileSync(file, '4;w\n');
        touchLater(file);
        return buf.length;
      },
    };
    const err = await scanFileRange(reader, { start: 0, end: fresh.size }, consumer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceChangedError);
    expect((err as Error).message).toMatch(/^batch\/comptages-1\.csv changed since the run discovered it \(now \d+-\d+, run pinned \d+-\d+\); start a new run$/);
    expect(reader.closed).toBe(true);

    // Truncated in place while open: the read itself fails.
    const [latest] = (await source.discover(DAY)).filter((r) => r.source === 'comptages');
    const open = await source.open(latest);
    fs.truncateSync(file, 3);
    await expect(readFileRange(open, 0, latest.size)).rejects.toThrow(SourceChangedError);
  });

  it('opens any local file by path for tools and tests, without a pinned version', async () => {
    const file = path.join(root, 'batch/notes.txt');
    const reader = await openLocalFile(file);
    expect(reader.relPath).toBe(file);
    fs.writeFileSync(file, 'changed');
    await expect(reader.verify()).resolves.toBeUndefined();
    await reader.close();
    await reader.close(); // twice is fine
  });
});
