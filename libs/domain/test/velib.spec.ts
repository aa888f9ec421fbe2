/**
 * Vélib' (`velib`): GBFS snapshots and the ODS CSV export. Every expected value is recomputed
 * here from the raw files with a separate, simple implementation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { velibHandler, type VelibPartial } from '../src/sources/velib';
import { arrondissementOf, HORS_PARIS } from '../src/geo/geo';
import { ANY_DAY, InputFormatError, mergeQuality, type FileRef } from '../src/shared/model';

const ROOT = path.resolve(__dirname, '../../..');
const REAL = (f: string) => path.join(ROOT, 'test/fixtures/real/velib', f);
const BUILT = (f: string) => path.join(ROOT, 'test/fixtures/built/velib', f);
const STATUS_2025 = REAL('dariusbengo_gbfs_station_status_2025-10-18.json');
const INFO_2025 = REAL('dariusbengo_gbfs_station_information_2025-10-18.json');
const STATUS_2022 = REAL('samhrrl_gbfs_station_status_2022-02.json');
const INFO_2022 = REAL('samhrrl_gbfs_station_information_2022-02.json');
const CSV_2026 = REAL('mxvml_velib-disponibilite-en-temps-reel_2026-04-06.csv');
const EMPLACEMENTS = REAL('teoale_velib-emplacement-des-stations.csv');
const SNAP2 = BUILT('station_status_2025-10-18_snapshot2.json');
const SNAP3 = BUILT('station_status_2025-10-18_snapshot3.json');
const DAY = '2025-10-18';

function chunk(relPath: string, content: Buffer | string) {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const file: FileRef = { source: 'velib', relPath, size: bytes.length, version: '1', fileKey: relPath.replace(/[^\w.-]/g, '_') };
  return velibHandler.processChunk({ file, range: { index: 0, start: 0, end: bytes.length }, bytes });
}
const read = (p: string) => fs.readFileSync(p);

/** Partials of `day` then ANY_DAY, file by file (the order the run uses). */
function partialsFor(outs: { partials: Record<string, VelibPartial> }[], day: string): VelibPartial[] {
  return outs.flatMap((o) => [o.partials[day], o.partials[ANY_DAY]].filter((p): p is VelibPartial => !!p));
}

// ───────────── independent reference implementation ─────────────

interface RawStatus {
  stationCode?: string;
  num_bikes_available: number;
  num_docks_available: number;
  num_bikes_available_types?: Record<string, number>[];
  is_installed: number;
  last_reported?: number;
}
interface Entry {
  code: string;
  bikes: number;
  docks: number;
  mech: number;
  ebike: number;
}

/** Installed, reported within 7 days of the snapshot. */
function usable(doc: { lastUpdatedOther: number; data: { stations: RawStatus[] } }): Entry[] {
  const t = doc.lastUpdatedOther;
  return doc.data.stations
    .filter((s) => s.is_installed === 1 && s.last_reported && s.last_reported >= t - 7 * 24 * 3600)
    .map((s) => {
      const types = Object.assign({}, ...(s.num_bikes_available_types ?? [])) as Record<string, number>;
      return { code: s.stationCode!, bikes: s.num_bikes_available, docks: s.num_docks_available, mech: types.mechanical, ebike: types.ebike };
    });
}

function expectedStats(snapshots: Entry[][], info: Map<string, { name: string; lat: number; lon: number }>) {
  const all = snapshots.flat();
  const n = all.length;
  const mean = (f: (e: Entry) => number) => all.reduce((a, e) => a + f(e), 0) / n;
  const perStation = new Map<string, Entry[]>();
  for (const e of all) perStation.set(e.code, [...(perStation.get(e.code) ?? []), e]);
  const shares = [...perStation.entries()].map(([code, es]) => ({ code, empty: es.filter((e) => e.bikes === 0).length, n: es.length }));
  const top = shares
    .filter((s) => s.empty > 0)
    .sort((a, b) => b.empty / b.n - a.empty / a.n || b.empty - a.empty || Number.parseInt(a.code) - Number.parseInt(b.code) || (a.code < b.code ? -1 : 1))
    .slice(0, 10)
    .map((s) => ({ station_code: s.code, nom: info.get(s.code)?.name ?? null, part_vide: (100 * s.empty) / s.n }));
  const arr: Record<string, { codes: Set<string>; bikes: number; n: number; empty: number }> = {};
  for (const e of all) {
    const i = info.get(e.code);
    const a = i ? arrondissementOf(i.lat, i.lon) : 'Inconnu';
    arr[a] ??= { codes: new Set(), bikes: 0, n: 0, empty: 0 };
    arr[a].codes.add(e.code);
    arr[a].bikes += e.bikes;
    arr[a].n++;
    if (e.bikes === 0) arr[a].empty++;
  }
  const par: Record<string, { stations: number; velos_disponibles_moyen: number; part_vide: number }> = {};
  for (const [k, v] of Object.entries(arr)) par[k] = { stations: v.codes.size, velos_disponibles_moyen: v.bikes / v.n, part_vide: (100 * v.empty) / v.n };
  return {
    snapshots: snapshots.length,
    stations: perStation.size,
    velos_disponibles_moyen: mean((e) => e.bikes),
    velos_mecaniques_moyen: mean((e) => e.mech),
    velos_electriques_moyen: mean((e) => e.ebike),
    part_stations_vides: (100 * all.filter((e) => e.bikes === 0).length) / n,
    part_stations_pleines: (100 * all.filter((e) => e.docks === 0).length) / n,
    stations_souvent_vides: top,
    par_arrondissement: par,
  };
}

function infoMap(file: string) {
  const doc = JSON.parse(read(file).toString('utf8')) as { data: { stations: { stationCode: string; name: string; lat: number; lon: number }[] } };
  return new Map(doc.data.stations.map((s) => [s.stationCode, s]));
}

/** Compare numbers with a tolerance for summation order, everything else exactly. */
function expectClose(actual: unknown, expected: unknown, where = ''): void {
  if (typeof expected === 'number') {
    expect(typeof actual).toBe('number');
    expect(Math.abs((actual as number) - expected)).toBeLessThan(1e-9);
    return;
  }
  if (expected && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort()).toEqual(Object.keys(expected).sort());
    for (const k of Object.keys(expected)) expectClose((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${where}.${k}`);
    return;
  }
  expect(actual).toEqual(expected);
}

// ───────────── tests ─────────────

describe('velib: one real GBFS snapshot (2025-10-18)', () => {
  const statusDoc = JSON.parse(read(STATUS_2025).toString('utf8'));
  const status = chunk('api/velib/2025-10-18/station_status.json', read(STATUS_2025));
  const info = chunk('api/velib/2025-10-18/station_information.json', read(INFO_2025));
  const res = velibHandler.finalizeDay(DAY, partialsFor([status, info], DAY), {});

  it('tells status from information by the station fields and keys them by day / ANY_DAY', () => {
    expect(Object.keys(status.partials)).toEqual([DAY]);
    expect(Object.keys(info.partials)).toEqual([ANY_DAY]);
    expect(info.quality).toMatchObject({ records: 1495, accepted: 1495, rejected: {} });
  });

  it('counts not-installed and stale stations and leaves them out', () => {
    const t = statusDoc.lastUpdatedOther as number;
    const st = statusDoc.data.stations as RawStatus[];
    const notInstalled = st.filter((s) => s.is_installed !== 1).length;
    const stale = st.filter((s) => s.is_installed === 1 && s.last_reported! < t - 7 * 86400).length;
    expect(notInstalled).toBe(11);
    expect(status.quality).toEqual({
      records: 1495,
      accepted: 1495 - notInstalled - stale,
      rejected: { not_installed: notInstalled, stale_station: stale },
      samples: expect.any(Array),
    });
  });

  it('computes means and shares like a direct computation on the raw JSON', () => {
    const exp = expectedStats([usable(statusDoc)], infoMap(INFO_2025));
    const { date, qualite, ...rest } = res.metrics;
    expect(date).toBe(DAY);
    expect(qualite).toEqual({ records: 0, accepted: 0, rejected: {}, samples: [] });
    expectClose(rest, exp);
    expect(rest.par_arrondissement[HORS_PARIS].stations).toBeGreaterThan(400);
    expect(Object.keys(rest.par_arrondissement)).toHaveLength(21);
  });
});

describe('velib: a day of three snapshots (real + 2 built)', () => {
  const files = [STATUS_2025, SNAP2, SNAP3];
  const outs = files.map((f, i) => chunk(`api/velib/2025-10-18/status-${i}.json`, read(f)));
  const info = chunk('api/velib/2025-10-18/info.json', read(INFO_2025));
  const res = velibHandler.finalizeDay(DAY, partialsFor([...outs, info], DAY), {});

  it('averages over every station-snapshot of the day', () => {
    const exp = expectedStats(
      files.map((f) => usable(JSON.parse(read(f).toString('utf8')))),
      infoMap(INFO_2025),
    );
    expect(exp.snapshots).toBe(3);
    const { date: _d, qualite: _q, ...rest } = res.metrics;
    expectClose(rest, exp);
  });

  it('sees the changed stations (by hand)', () => {
    // 16107 is empty in 2 of 3 snapshots; 40001 is full in 1 of 3.
    const m = res.metrics;
    const total = (1495 - 11 - 21) * 3;
    const emptyReal = usable(JSON.parse(read(STATUS_2025).toString('utf8'))).filter((e) => e.bikes === 0).length;
    // snapshot 2 adds 16107; snapshot 3 adds 16107 and 32304.
    expect(m.part_stations_vides).toBeCloseTo((100 * (3 * emptyReal + 1 + 2)) / total, 9);
    expect(m.stations).toBe(1495 - 11 - 21);
  });

  it('counts a snapshot stored twice once', () => {
    const again = chunk('api/velib/dt=2025-10-18/hour=11/station_status.json', read(STATUS_2025));
    const res2 = velibHandler.finalizeDay(DAY, partialsFor([...outs, again, info], DAY), {});
    expect(res2.metrics.snapshots).toBe(3);
    const { qualite: _a, ...m1 } = res.metrics;
    const { qualite: _b, ...m2 } = res2.metrics;
    expect(m2).toEqual(m1);
    const kept = 1495 - 11 - 21;
    expect(res2.quality.rejected).toEqual({ duplicate: kept });
    expect(res2.quality.accepted).toBe(-kept);
    const all = mergeQuality([...outs.map((o) => o.quality), again.quality, res2.quality]);
    expect(all.records).toBe(4 * 1495);
    expect(all.accepted + Object.values(all.rejected).reduce((a, b) => a + b, 0)).toBe(all.records);
  });

  it('is a plain-JSON partial and does not depend on file order for the statistics', () => {
    const rt = JSON.parse(JSON.stringify(partialsFor([info, ...outs.slice().reverse()], DAY))) as VelibPartial[];
    const res3 = velibHandler.finalizeDay(DAY, rt, {});
    expectClose(res3.metrics, res.metrics);
  });

  it('reads several snapshots from one JSON Lines file', () => {
    const jsonl = files.map((f) => read(f).toString('utf8')).join('\n') + '\n';
    const one = chunk('api/velib/2025-10-18/stream.jsonl', jsonl);
    expect(one.quality.records).toBe(3 * 1495);
    const m = velibHandler.finalizeDay(DAY, partialsFor([one, info], DAY), {}).metrics;
    expectClose(m, res.metrics);
  });
});

describe('velib: stations never reported and bad entries', () => {
  const doc = JSON.parse(read(STATUS_2025).toString('utf8'));
  const st = doc.data.stations as Record<string, unknown>[];
  // Pick three installed, fresh stations by hand and break them.
  const fresh = st.filter((s) => s.is_installed === 1 && (s.last_reported as number) >= doc.lastUpdatedOther - 7 * 86400);
  const [a, b, c, d, e, f] = fresh.slice(0, 6).map((s) => s.stationCode as string);
  const find = (code: string) => st.find((s) => s.stationCode === code)!;
  find(a).last_reported = 0;
  delete find(b).last_reported;
  find(c).num_bikes_available = -1;
  find(d).num_docks_available = 'n/a';
  delete find(e).stationCode;
  find(f).num_bikes_available_types = [{ mechanical: 2 }, { ebike: -4 }];
  st.push({ ...find(fresh[10].stationCode as string) }); // same station twice in one snapshot
  const out = chunk('broken.json', JSON.stringify(doc));

  it('counts each reason and keeps the rest', () => {
    expect(out.quality.records).toBe(1496);
    expect(out.quality.rejected).toEqual({
      bad_value: 3,
      duplicate: 1,
      missing_id: 1,
      never_reported: 2,
      not_installed: 11,
      stale_station: 21,
    });
    expect(out.quality.accepted).toBe(1496 - 39);
  });

  it('leaves never-reported stations out of the statistics', () => {
    const m = velibHandler.finalizeDay(DAY, partialsFor([out, chunk('i.json', read(INFO_2025))], DAY), {}).metrics;
    expect(m.stations).toBe(1495 - 11 - 21 - 6);
    const seen = new Set<string>();
    const kept = usable(doc).filter((x) => {
      if ([a, b, c, d, f].includes(x.code) || x.code === undefined || seen.has(x.code)) return false;
      seen.add(x.code);
      return true;
    });
    expect(kept).toHaveLength(m.stations);
    expect(m.velos_disponibles_moyen).toBeCloseTo(kept.reduce((s, x) => s + x.bikes, 0) / kept.length, 9);
  });

  it('puts stations without information in Inconnu', () => {
    const m = velibHandler.finalizeDay(DAY, partialsFor([chunk('s.json', read(STATUS_2025))], DAY), {}).metrics;
    expect(Object.keys(m.par_arrondissement)).toEqual(['Inconnu']);
    expect(m.par_arrondissement.Inconnu.stations).toBe(m.stations);
    expect(m.stations_souvent_vides.every((s) => s.nom === null)).toBe(true);
  });
});

describe('velib: older feed (2022-02) with information from another day', () => {
  it('uses the ANY_DAY information of 2022-02-25 for the status of 2022-02-23', () => {
    const s = chunk('s.json', read(STATUS_2022));
    const i = chunk('i.json', read(INFO_2022));
    expect(Object.keys(s.partials)).toEqual(['2022-02-23']);
    const m = velibHandler.finalizeDay('2022-02-23', partialsFor([s, i], '2022-02-23'), {}).metrics;
    const exp = expectedStats([usable(JSON.parse(read(STATUS_2022).toString('utf8')))], infoMap(INFO_2022));
    const { date: _d, qualite: _q, ...rest } = m;
    expectClose(rest, exp);
    expect(m.stations_souvent_vides.every((x) => typeof x.nom === 'string')).toBe(true);
  });
});

describe('velib: ODS CSV exports', () => {
  const lines = read(CSV_2026).toString('utf8').replace(/^\uFEFF/, '').split('\r\n').filter((l) => l);
  const rows = lines.slice(1).map((l) => l.split(';'));

  it('reads the availability export as one snapshot at its latest update', () => {
    const out = chunk('velib.csv', read(CSV_2026));
    const stamps = rows.map((r) => Date.parse(r[10]));
    const instant = Math.max(...stamps);
    expect(new Date(instant).toISOString()).toBe('2026-04-06T10:50:01.000Z'); // 12:50:01+02:00, the latest stamp
    expect(Object.keys(out.partials)).toEqual(['2026-04-06']);
    const ok = rows.filter((r) => r[2] === 'OUI' && Date.parse(r[10]) >= instant - 7 * 86400_000);
    const notInstalled = rows.filter((r) => r[2] !== 'OUI').length;
    expect(out.quality.records).toBe(rows.length);
    expect(out.quality.accepted).toBe(ok.length);
    expect(out.quality.rejected).toEqual({ not_installed: notInstalled, stale_station: rows.length - ok.length - notInstalled });

    const m = velibHandler.finalizeDay('2026-04-06', partialsFor([out], '2026-04-06'), {}).metrics;
    const n = ok.length;
    expect(m.snapshots).toBe(1);
    expect(m.stations).toBe(n);
    expect(m.velos_disponibles_moyen).toBeCloseTo(ok.reduce((a, r) => a + Number(r[5]), 0) / n, 9);
    expect(m.velos_mecaniques_moyen).toBeCloseTo(ok.reduce((a, r) => a + Number(r[6]), 0) / n, 9);
    expect(m.velos_electriques_moyen).toBeCloseTo(ok.reduce((a, r) => a + Number(r[7]), 0) / n, 9);
    expect(m.part_stations_vides).toBeCloseTo((100 * ok.filter((r) => r[5] === '0').length) / n, 9);
    expect(m.part_stations_pleines).toBeCloseTo((100 * ok.filter((r) => r[4] === '0').length) / n, 9);
    // Names and positions come from the export itself.
    expect(m.par_arrondissement.Inconnu).toBeUndefined();
    const paris = ok.filter((r) => r[13] === '75056').length;
    const inParis = Object.entries(m.par_arrondissement)
      .filter(([k]) => k !== HORS_PARIS)
      .reduce((a, [, v]) => a + v.stations, 0);
    // The INSEE code says Paris; the polygons may disagree only for a station on the boundary.
    expect(Math.abs(inParis - paris)).toBeLessThanOrEqual(3);
  });

  it('reads the station locations export as information', () => {
    const out = chunk('emplacements.csv', read(EMPLACEMENTS));
    expect(Object.keys(out.partials)).toEqual([ANY_DAY]);
    expect(out.quality.records).toBe(1469);
    const s = chunk('s.json', read(STATUS_2025));
    const m = velibHandler.finalizeDay(DAY, partialsFor([s, out], DAY), {}).metrics;
    expect(m.par_arrondissement[HORS_PARIS].stations).toBeGreaterThan(300);
  });
});

describe('velib: unusable and auxiliary files', () => {
  const codeOf = (content: string) => {
    try {
      chunk('x', content);
    } catch (e) {
      expect(e).toBeInstanceOf(InputFormatError);
      return (e as InputFormatError).code;
    }
    return 'no error';
  };

  it('names empty, non-JSON, unknown JSON and bad-header files', () => {
    expect(codeOf('')).toBe('empty_file');
    expect(codeOf('\n\n')).toBe('empty_file');
    expect(codeOf('Service Unavailable\nplease retry\n')).toBe('not_json');
    expect(codeOf('{"data": {"stations": [')).toBe('not_json');
    expect(codeOf('{"results": []}')).toBe('unknown_format');
    expect(codeOf('[1, 2, 3]')).toBe('unknown_format');
    expect(codeOf('a;b;c\r\n1;2;3\r\n')).toBe('bad_header');
  });

  it('accepts the GBFS discovery and system_information files without records', () => {
    for (const f of ['samhrrl_gbfs_gbfs_2022-02.json', 'samhrrl_gbfs_system_information_2022-02.json']) {
      expect(chunk(f, read(REAL(f)))).toEqual({ partials: {}, quality: { records: 0, accepted: 0, rejected: {}, samples: [] } });
    }
  });

  it('counts the entries of a snapshot without a time as bad_date', () => {
    const doc = JSON.parse(read(STATUS_2025).toString('utf8'));
    delete doc.lastUpdatedOther;
    const out = chunk('notime.json', JSON.stringify(doc));
    expect(out.partials).toEqual({});
    expect(out.quality.rejected.bad_date).toBe(1495);
    expect(out.quality.accepted).toBe(0);
  });

  it('gives zeros, not NaN, for a day without usable snapshots', () => {
    const m = velibHandler.finalizeDay(DAY, partialsFor([chunk('i.json', read(INFO_2025))], DAY), {}).metrics;
    expect(m).toMatchObject({ snapshots: 0, stations: 0, velos_disponibles_moyen: 0, part_stations_vides: 0, par_arrondissement: {}, stations_souvent_vides: [] });
  });
});
