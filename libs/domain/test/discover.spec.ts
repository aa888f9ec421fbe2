import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverRawFiles, fileKeyOf, RawDirError, resolveInside } from '@cityflow/domain';

function tree(files: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-discover-'));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), f);
  }
  return root;
}

describe('raw discovery', () => {
  const root = tree([
    'api/bikes/dt=2025-02-04/hour=02/a.json',
    'api/bikes/dt=2025-02-04/hour=23/b.json',
    'api/bikes/2025-02-04/stream-data-1-ab.jsonl',
    'api/bikes/dt=2025-02-05/hour=00/next.json', // holds the hour ending at midnight
    'api/bikes/dt=2025-02-06/hour=00/later.json',
    'api/bikes/dt=2025-02-04/hour=05/export.csv',
    'api/weather/dt=2025-02-04/hour=06/vc.json',
    'api/weather/dt=2025-02-05/hour=06/vc.json', // other day: not for weather
    'api/traffic/2025-02-04/stream.jsonl',
    'api/velib/dt=2025-02-04/hour=08/station_status.json',
    'api/velib/dt=2025-02-04/hour=08/.hidden.json',
    'api/velib/dt=2025-02-04/hour=08/notes.txt',
    'api/unknown/dt=2025-02-04/x.json',
    'batch/comptages-routiers-permanents.csv',
    'batch/comptages-2.csv',
    'batch/chantiers-perturbants.csv',
    'batch/referentiel-comptages-routiers.csv',
    'batch/other.csv',
  ]);

  it('finds every file of the day in both layouts, every hour, and every batch match', () => {
    const refs = discoverRawFiles(root, '2025-02-04');
    expect(refs.map((r) => `${r.source} ${r.relPath}`)).toEqual([
      'bikes api/bikes/2025-02-04/stream-data-1-ab.jsonl',
      'bikes api/bikes/dt=2025-02-04/hour=02/a.json',
      'bikes api/bikes/dt=2025-02-04/hour=05/export.csv',
      'bikes api/bikes/dt=2025-02-04/hour=23/b.json',
      'bikes api/bikes/dt=2025-02-05/hour=00/next.json',
      'traffic api/traffic/2025-02-04/stream.jsonl',
      'velib api/velib/dt=2025-02-04/hour=08/station_status.json',
      'weather api/weather/dt=2025-02-04/hour=06/vc.json',
      'comptages batch/comptages-2.csv',
      'comptages batch/comptages-routiers-permanents.csv',
      'chantiers batch/chantiers-perturbants.csv',
      'referentiel batch/referentiel-comptages-routiers.csv',
    ].sort((a, b) => a.split(' ')[1].localeCompare(b.split(' ')[1])));
  });

  it('versions files by size and mtime, so a rewritten file gets a new key', () => {
    const [before] = discoverRawFiles(root, '2025-02-04').filter((r) => r.relPath === 'batch/other.csv' || r.relPath === 'batch/comptages-2.csv');
    const file = path.join(root, before.relPath);
    fs.writeFileSync(file, 'a longer content than before');
    const [after] = discoverRawFiles(root, '2025-02-04').filter((r) => r.relPath === before.relPath);
    expect(after.version).not.toBe(before.version);
    expect(after.fileKey).toBe(fileKeyOf('comptages', before.relPath, after.version));
    expect(after.fileKey).not.toBe(before.fileKey);
  });

  it('refuses a missing raw folder, a bad date and paths that escape the raw folder', () => {
    expect(() => discoverRawFiles(path.join(root, 'nope'), '2025-02-04')).toThrow(RawDirError);
    expect(() => discoverRawFiles(root, '2025-02-30')).toThrow(RangeError);
    for (const bad of ['../etc/passwd', '/etc/passwd', 'batch/../../x', 'a\0b']) expect(() => resolveInside(root, bad)).toThrow(RawDirError);
    expect(resolveInside(root, 'batch/comptages-2.csv')).toBe(path.join(root, 'batch/comptages-2.csv'));
  });
});
