import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARRONDISSEMENTS_FILE, arrondissementOf, HORS_PARIS, polygonAreaM2 } from '../src/geo/geo';
import { ANY_DAY, InputFormatError } from '../src/shared/model';
import { addDays } from '../src/shared/time';
import { chantiersHandler, ChantiersPartial } from '../src/sources/chantiers';
import { testFileRef } from './helpers';

const REAL = path.resolve(__dirname, '../../../test/fixtures/real/chantiers-perturbants');
const SNAP_2023 = 'ameya1337_chantiers-perturbants_snapshot-2023.csv';
const SNAP_2024 = 'dorabijvoet_chantiers-perturbants_snapshot-2024-10.csv';
const SNAP_2025 = 'lexparmap_chantiers-perturbants_snapshot-2025.csv';

const fileRef = (relPath: string, size: number) => testFileRef('chantiers', relPath, size);

function run(bytes: Buffer, relPath = 'batch/chantiers.csv') {
  return chantiersHandler.processChunk({ file: fileRef(relPath, bytes.length), range: { index: 0, start: 0, end: bytes.length }, bytes });
}

function runReal(name: string) {
  return run(fs.readFileSync(path.join(REAL, name)), `batch/${name}`);
}

// ───────── an independent reading of the files: a small RFC 4180 parser and plain rules ─────────

interface Row {
  line: number;
  cells: string[];
}

function parseCsvIndependently(text: string): Row[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const rows: Row[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"') quoted = true;
    else if (c === ';') {
      cells.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      continue;
    } else if (c === '\n') {
      cells.push(cell);
      if (!(cells.length === 1 && cells[0] === '')) rows.push({ line: startLine, cells });
      cells = [];
      cell = '';
      line++;
      startLine = line;
    } else cell += c;
  }
  if (cell !== '' || cells.length) {
    cells.push(cell);
    rows.push({ line: startLine, cells });
  }
  return rows;
}

interface Work {
  id: string;
  start: string;
  end: string;
  impact: string;
  cp: string;
  point: string;
  line: number;
}

function independentWorks(name: string): { valid: Work[]; endBeforeStart: Work[]; records: number } {
  const rows = parseCsvIndependently(fs.readFileSync(path.join(REAL, name), 'utf8'));
  const header = rows[0].cells;
  const col = (label: string) => header.indexOf(label);
  const all = rows.slice(1).map((r) => ({
    id: r.cells[col('Identifiant')],
    start: r.cells[col('Date de début')],
    end: r.cells[col('Date de fin')],
    impact: r.cells[col('Impact sur la circulation')],
    cp: r.cells[col("Code postal de l'arrondissement")],
    point: r.cells[col('geo_point_2d')],
    line: r.line,
  }));
  const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);
  const dated = all.filter((w) => isDate(w.start) && isDate(w.end));
  return { valid: dated.filter((w) => w.end >= w.start), endBeforeStart: dated.filter((w) => w.end < w.start), records: all.length };
}

const WEIGHTS: Record<string, number> = { BARRAGE_TOTAL: 100, IMPASSE: 80, RESTREINTE: 50, SENS_UNIQUE: 30 };

function independentDay(works: Work[], day: string) {
  const active = works.filter((w) => w.start <= day && day <= w.end);
  const zoneOf = (w: Work) => {
    if (/^750(0[1-9]|1\d|20)$/.test(w.cp)) return w.cp;
    const [lat, lon] = w.point.split(',').map((x) => Number(x.trim()));
    return arrondissementOf(lat, lon);
  };
  const impact: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const w of active) {
    const z = zoneOf(w);
    impact[z] = (impact[z] ?? 0) + (WEIGHTS[w.impact] ?? 0);
    counts[z] = (counts[z] ?? 0) + 1;
  }
  const critical = Object.keys(counts)
    .filter((z) => counts[z] > 3 && z !== HORS_PARIS)
    .sort();
  return { ids: active.map((w) => w.id).sort(), impact, critical, counts };
}

// ───────── tests ─────────

describe('chantiers handler on the real snapshots', () => {
  const cases: [string, string, number][] = [
    // file, a day, active count on that day (checked with an independent Python csv reading too)
    [SNAP_2023, '2023-11-15', 50],
    [SNAP_2024, '2024-10-15', 49],
    [SNAP_2025, '2025-10-01', 70],
  ];

  it.each(cases)('%s: record counts match an independent parse', (name) => {
    const out = runReal(name);
    const ind = independentWorks(name);
    const partial = out.partials[ANY_DAY];
    expect(out.quality.records).toBe(ind.records);
    expect(partial.works.map((w) => w.identifiant).sort()).toEqual(ind.valid.map((w) => w.id).sort());
    expect(out.quality.accepted + Object.values(out.quality.rejected).reduce((a, b) => a + b, 0)).toBe(out.quality.records);
  });

  it.each(cases)('%s: active works on %s (count, impact, critical zones) match plain code', (name, day, expected) => {
    const partial = runReal(name).partials[ANY_DAY];
    const { metrics } = chantiersHandler.finalizeDay(day, [partial], {});
    const ind = independentDay(independentWorks(name).valid, day);
    expect(metrics.total_chantiers_actifs).toBe(expected);
    expect(metrics.chantiers_actifs.map((c) => c.identifiant)).toEqual(ind.ids);
    expect(metrics.impact_by_arrondissement).toEqual(ind.impact);
    expect(metrics.zones_critiques.map((z) => z.arrondissement).sort()).toEqual(ind.critical);
    for (const z of metrics.zones_critiques) expect(z.nombre_chantiers).toBe(ind.counts[z.arrondissement]);
    expect(metrics.date).toBe(day);
  });

  it('counts several days on each snapshot, including first and last days (both inclusive)', () => {
    for (const name of [SNAP_2023, SNAP_2024, SNAP_2025]) {
      const partial = runReal(name).partials[ANY_DAY];
      const valid = independentWorks(name).valid;
      const probe = valid.find((w) => w.start !== w.end)!;
      const days = [probe.start, probe.end, addDays(probe.start, -1), addDays(probe.end, 1), '2024-01-01', '2025-06-15'];
      for (const day of days) {
        const { metrics } = chantiersHandler.finalizeDay(day, [partial], {});
        expect(metrics.total_chantiers_actifs).toBe(independentDay(valid, day).ids.length);
        const isActive = metrics.chantiers_actifs.some((c) => c.identifiant === probe.id);
        expect(isActive).toBe(day >= probe.start && day <= probe.end);
      }
    }
  });

  it('rejects the real end-before-start works with their reason and line', () => {
    const q24 = runReal(SNAP_2024).quality;
    const q25 = runReal(SNAP_2025).quality;
    expect(q24.rejected.end_before_start).toBe(2);
    expect(q25.rejected.end_before_start).toBe(1);
    const ind24 = independentWorks(SNAP_2024).endBeforeStart;
    const ind25 = independentWorks(SNAP_2025).endBeforeStart;
    expect(ind24.map((w) => w.id).sort()).toEqual(['CP002708', 'CP002710']);
    expect(ind25.map((w) => w.id)).toEqual(['CP002943']);
    expect(q24.samples.filter((s) => s.reason === 'end_before_start').map((s) => s.line)).toEqual(ind24.map((w) => w.line));
    expect(q25.samples.filter((s) => s.reason === 'end_before_start').map((s) => s.line)).toEqual(ind25.map((w) => w.line));
    const ids = (name: string) => runReal(name).partials[ANY_DAY].works.map((w) => w.identifiant);
    expect(ids(SNAP_2024)).not.toContain('CP002710');
    expect(ids(SNAP_2024)).not.toContain('CP002708');
    expect(ids(SNAP_2025)).not.toContain('CP002943');
  });

  it('rejects the near-empty record CP002436 (no dates) as missing_date', () => {
    const out = runReal(SNAP_2024);
    expect(out.quality.rejected.missing_date).toBe(1);
    expect(out.partials[ANY_DAY].works.find((w) => w.identifiant === 'CP002436')).toBeUndefined();
  });

  it('reads the CRLF file with bare LF inside quoted fields as 90 records', () => {
    const out = runReal(SNAP_2025);
    expect(out.quality.records).toBe(90);
    expect(out.quality.rejected.bad_column_count).toBeUndefined();
  });

  it('merges snapshots: duplicate identifiants across files are counted and the first file wins', () => {
    const p24 = runReal(SNAP_2024).partials[ANY_DAY];
    const p25 = runReal(SNAP_2025).partials[ANY_DAY];
    const shared = p24.works.filter((w) => p25.works.some((x) => x.identifiant === w.identifiant));
    expect(shared.length).toBeGreaterThan(0);
    const r = chantiersHandler.finalizeDay('2025-01-15', [p24, p25], {});
    expect(r.quality.rejected.duplicate).toBe(shared.length);
    const union = new Set([...p24.works, ...p25.works].map((w) => w.identifiant));
    const activeIds = [...union].filter((id) => {
      const w = p24.works.find((x) => x.identifiant === id) ?? p25.works.find((x) => x.identifiant === id)!;
      return w.date_debut <= '2025-01-15' && '2025-01-15' <= w.date_fin;
    });
    expect(r.metrics.total_chantiers_actifs).toBe(activeIds.length);
    // Merged, not overwritten: works only in the first file are still there.
    const only24 = p24.works.find((w) => !p25.works.some((x) => x.identifiant === w.identifiant) && w.date_debut <= '2025-01-15' && '2025-01-15' <= w.date_fin);
    if (only24) expect(r.metrics.chantiers_actifs.map((c) => c.identifiant)).toContain(only24.identifiant);
    // CP002638 ends 2025-04-01 in the 2024 snapshot and 2026-10-09 in the 2025 one: the first file's record is kept.
    expect(p25.works.find((w) => w.identifiant === 'CP002638')!.date_fin).toBe('2026-10-09');
    expect(r.metrics.chantiers_actifs.find((c) => c.identifiant === 'CP002638')!.date_fin).toBe('2025-04-01');
    const reversed = chantiersHandler.finalizeDay('2025-01-15', [p25, p24], {});
    expect(reversed.metrics.chantiers_actifs.find((c) => c.identifiant === 'CP002638')!.date_fin).toBe('2026-10-09');
  });

  it('lists active works sorted by identifiant with the metric fields', () => {
    const { metrics } = chantiersHandler.finalizeDay('2024-10-15', [runReal(SNAP_2024).partials[ANY_DAY]], {});
    const ids = metrics.chantiers_actifs.map((c) => c.identifiant);
    expect(ids).toEqual([...ids].sort());
    const c = metrics.chantiers_actifs[0];
    expect(Object.keys(c).sort()).toEqual(
      ['arrondissement', 'date_debut', 'date_fin', 'geo_point_2d', 'identifiant', 'impact', 'niveau_perturbation', 'objet', 'surface_m2', 'typologie', 'voie'].sort(),
    );
    const total = metrics.chantiers_actifs.reduce((a, w) => a + w.surface_m2, 0);
    expect(metrics.surface_totale_impactee_m2).toBeCloseTo(total, 6);
    for (const w of metrics.chantiers_actifs) expect(Number.isFinite(w.surface_m2)).toBe(true);
  });
});

describe('geodesic surface', () => {
  /** Independent check: Lambert azimuthal equal-area projection on the sphere, then the shoelace formula. */
  function laeaArea(ring: [number, number][]): number {
    const R = 6378137;
    const rad = Math.PI / 180;
    const lon0 = ring.reduce((a, p) => a + p[0], 0) / ring.length;
    const lat0 = ring.reduce((a, p) => a + p[1], 0) / ring.length;
    const phi1 = lat0 * rad;
    const pts = ring.map(([lon, lat]) => {
      const phi = lat * rad;
      const dl = (lon - lon0) * rad;
      const k = Math.sqrt(2 / (1 + Math.sin(phi1) * Math.sin(phi) + Math.cos(phi1) * Math.cos(phi) * Math.cos(dl)));
      return [R * k * Math.cos(phi) * Math.sin(dl), R * k * (Math.cos(phi1) * Math.sin(phi) - Math.sin(phi1) * Math.cos(phi) * Math.cos(dl))];
    });
    let s = 0;
    for (let i = 0; i < pts.length - 1; i++) s += pts[i][0] * pts[i + 1][1] - pts[i + 1][0] * pts[i][1];
    return Math.abs(s) / 2;
  }

  it('a works polygon (CP002771) has the area of an independent equal-area computation', () => {
    const rows = parseCsvIndependently(fs.readFileSync(path.join(REAL, SNAP_2025), 'utf8'));
    const header = rows[0].cells;
    const row = rows.find((r) => r.cells[0] === 'CP002771')!;
    const shape = JSON.parse(row.cells[header.indexOf('geo_shape')]) as { type: string; coordinates: [number, number][][] };
    expect(shape.type).toBe('Polygon');
    const expected = laeaArea(shape.coordinates[0]);
    const work = runReal(SNAP_2025).partials[ANY_DAY].works.find((w) => w.identifiant === 'CP002771')!;
    expect(expected).toBeGreaterThan(100);
    expect(Math.abs(work.surface_m2 - expected) / expected).toBeLessThan(0.001);
  });

  it('the geodesic area of the 1st arrondissement is within 0.5 % of the surface the city publishes', () => {
    const fc = JSON.parse(fs.readFileSync(ARRONDISSEMENTS_FILE, 'utf8')) as {
      features: { properties: { c_ar: number; surface: number }; geometry: { type: string; coordinates: unknown } }[];
    };
    const f = fc.features.find((x) => x.properties.c_ar === 1)!;
    const area = polygonAreaM2(f.geometry);
    expect(Math.abs(area - f.properties.surface) / f.properties.surface).toBeLessThan(0.005);
  });
});

describe('chantiers bad input', () => {
  const header = fs.readFileSync(path.join(REAL, SNAP_2025), 'utf8').split('\r\n')[0];
  const realLines = fs.readFileSync(path.join(REAL, SNAP_2025), 'utf8').split('\r\n');
  const first = realLines[1]; // CP002771, single physical line

  function withRows(...rows: string[]) {
    return Buffer.from([header, ...rows].join('\r\n') + '\r\n', 'utf8');
  }

  it('counts a duplicate row in one file and keeps the first', () => {
    const changed = first.replace('2025-12-31', '2026-01-31');
    const out = run(withRows(first, changed));
    expect(out.quality.rejected.duplicate).toBe(1);
    const works = out.partials[ANY_DAY].works;
    expect(works).toHaveLength(1);
    expect(works[0].date_fin).toBe('2025-12-31');
  });

  it('rejects missing id, unparseable dates, ragged rows — never throws for them', () => {
    const noId = first.replace(/^CP002771/, '');
    const frDate = first.replace('2025-01-13', '13/01/2025').replace(/^CP002771/, 'CP900001');
    const badDay = first.replace('2025-01-13', '2025-02-30').replace(/^CP002771/, 'CP900002');
    const ragged = 'CP900003;;75015;13';
    const out = run(withRows(noId, frDate, badDay, ragged));
    expect(out.quality.records).toBe(4);
    expect(out.quality.accepted).toBe(0);
    expect(out.quality.rejected).toEqual({ missing_id: 1, bad_date: 2, bad_column_count: 1 });
    expect(out.quality.samples.map((s) => s.line)).toEqual([2, 3, 4, 5]);
  });

  it('counts a record with a stray quote as bad_csv once and keeps reading the next records', () => {
    const second = realLines[2]; // CP002804, maître d'ouvrage O.G.I.C
    const broken = second.replace(';O.G.I.C;', ';"O.G"I.C;');
    expect(broken).not.toBe(second);
    const out = run(withRows(first, broken, realLines[3], realLines[4]));
    expect(out.quality.records).toBe(4);
    expect(out.quality.rejected).toEqual({ bad_csv: 1 });
    expect(out.partials[ANY_DAY].works.map((w) => w.identifiant)).toEqual(['CP002771', 'CP002876', 'CP002913']);
  });

  it('takes the arrondissement from the point when the postal code is empty', () => {
    const noCp = first.replace(';75015;', ';;');
    const w = run(withRows(noCp)).partials[ANY_DAY].works[0];
    expect(w.arrondissement).toBe('75015'); // 48.8446, 2.2978 is in the 15th
  });

  it('fails the file on a wrong header or an empty file', () => {
    const wrong = Buffer.from('Identifiant arc;Libelle;Date et heure de comptage\r\n1;x;y\r\n');
    expect(() => run(wrong)).toThrow(InputFormatError);
    try {
      run(wrong);
    } catch (e) {
      expect((e as InputFormatError).code).toBe('bad_header');
    }
    try {
      run(Buffer.from('\uFEFF\r\n'));
      throw new Error('no error');
    } catch (e) {
      expect((e as InputFormatError).code).toBe('empty_file');
    }
  });

  it('an empty partial list yields an empty day, not NaN', () => {
    const { metrics } = chantiersHandler.finalizeDay('2025-01-01', [] as ChantiersPartial[], {});
    expect(metrics).toMatchObject({ total_chantiers_actifs: 0, surface_totale_impactee_m2: 0, chantiers_actifs: [], zones_critiques: [] });
  });
});
