/**
 * Bike counters (`bikes`): formats, hour-ending day assignment, merge of several files, bad
 * records, failing counters and anomalies. Expected values are computed here from the raw
 * fixture text (simple split) or by hand, never by calling the handler's own helpers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bikesHandler, createBikesHandler, type BikesPartial } from '../src/sources/bikes';
import type { BikesMetrics } from '../src/shared/metrics-types';
import { InputFormatError, mergeQuality } from '../src/shared/model';
import { testFileRef } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const REAL_CSV = path.join(ROOT, 'test/fixtures/real/comptage-velo/pybike_comptage-velo-donnees-compteurs_counter100003096_2021-09-01.csv');
const V21 = path.join(ROOT, 'test/fixtures/built/bikes/comptage-velo_api-v2.1_results_counter100003096_2021-09-01.json');
const EXPORT = path.join(ROOT, 'test/fixtures/built/bikes/comptage-velo_exports-json_counter100003096_2021-09-01.json');
const COUNTER = '100003096-353242251';
const DAY = '2021-09-01';

const fileRef = (relPath: string, size: number) => testFileRef('bikes', relPath, size);

function chunk(relPath: string, content: Buffer | string, start = 0, header?: string) {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return bikesHandler.processChunk({ file: fileRef(relPath, bytes.length), range: { index: start ? 1 : 0, start, end: start + bytes.length }, bytes, header });
}

function partialsOf(outs: { partials: Record<string, BikesPartial> }[], day: string): BikesPartial[] {
  return outs.map((o) => o.partials[day]).filter((p): p is BikesPartial => !!p);
}

/** The real CSV, split by hand: [counter id, count, stamp, "lat,lon"] per data row. */
function realRows(): { id: string; count: number; stamp: string; coords: string }[] {
  const lines = fs.readFileSync(REAL_CSV, 'utf8').split('\r\n').filter((l) => l !== '');
  return lines.slice(1).map((l) => {
    const f = l.split(';');
    return { id: f[0], count: Number(f[4]), stamp: f[5], coords: f[8] };
  });
}

/** A v2.1 record with only the fields the handler reads. */
function rec(id: string, date: string, count: unknown, coordinates: unknown = { lon: 2.33314, lat: 48.83504 }, nom = `compteur ${id}`) {
  return { id_compteur: id, nom_compteur: nom, id: id.split('-')[0], name: nom, sum_counts: count, date, coordinates };
}

function v21(records: unknown[]): string {
  return JSON.stringify({ total_count: records.length, results: records });
}

function numbersAreFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(numbersAreFinite);
  if (v && typeof v === 'object') return Object.values(v).every(numbersAreFinite);
  return true;
}

/** ISO stamp of `YYYY-MM-DD` at local hour h (summer offset +02:00), h may be 24. */
function summerStamp(day: string, h: number): string {
  if (h === 24) {
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    return `${d.toISOString().slice(0, 10)}T00:00:00+02:00`;
  }
  return `${day}T${String(h).padStart(2, '0')}:00:00+02:00`;
}

describe('bikes: real CSV sample (one counter, 2021-09-01)', () => {
  const out = chunk('batch/comptage-velo.csv', fs.readFileSync(REAL_CSV));
  const res = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), {});
  const m = res.metrics;
  const rows = realRows();

  it('reads every row, accepts all, and keys them on the Paris day of the hour start', () => {
    expect(rows).toHaveLength(21);
    expect(out.quality.records).toBe(21);
    expect(out.quality.accepted).toBe(21);
    expect(out.quality.rejected).toEqual({});
    // Stamps 03:00 … 23:00 (+02:00) are hours starting 02:00 … 22:00: all on 2021-09-01.
    expect(Object.keys(out.partials)).toEqual([DAY]);
  });

  it('computes the counter metrics from the raw rows', () => {
    const total = rows.reduce((a, r) => a + r.count, 0);
    const max = rows.reduce((a, r) => (r.count > a.count ? r : a));
    // Peak row by hand: 280 at 08:00 → the hour 07:00–08:00.
    expect(max).toMatchObject({ count: 280, stamp: '2021-09-01T08:00:00+02:00' });
    expect(m.metrics).toHaveLength(1);
    expect(m.metrics[0]).toEqual({
      date: DAY,
      id_compteur: COUNTER,
      nom_compteur: '97 avenue Denfert Rochereau SO-NE',
      total_jour: total,
      heures_presentes: 21,
      moyenne_horaire: total / 21,
      pic_horaire: '2021-09-01T07:00:00+02:00',
      arrondissement: '75014', // 97 avenue Denfert-Rochereau is in the 14th
      coordinates: { lon: 2.33314, lat: 48.83504 },
      anomalie_detectee: false,
    });
    expect(total).toBe(1580);
    expect(m.total_velos).toBe(1580);
    expect(m.par_arrondissement).toEqual({ '75014': 1580 });
    expect(m.top_counters).toEqual(m.metrics);
    expect(m.failing_sensors).toEqual([]);
    expect(m.capteurs_defaillants).toEqual([]);
    expect(m.anomalies).toEqual([]);
    expect(m.frequentation_index).toBeCloseTo(1.58, 10);
  });

  it('gives one profile entry per hour of the day, each the count stamped one hour later', () => {
    expect(m.profil_horaire).toHaveLength(24);
    for (let h = 0; h < 24; h++) {
      const end = summerStamp(DAY, h + 1);
      const row = rows.find((r) => r.stamp === end);
      expect(m.profil_horaire[h]).toEqual({ heure: summerStamp(DAY, h), total: row ? row.count : 0 });
    }
  });

  it('produces plain JSON partials (a store round trip changes nothing)', () => {
    const again = bikesHandler.finalizeDay(DAY, JSON.parse(JSON.stringify(partialsOf([out], DAY))), {});
    expect(again.metrics).toEqual(m);
  });
});

describe('bikes: every accepted format gives the same metrics', () => {
  const csv = fs.readFileSync(REAL_CSV);
  const exportArray = JSON.parse(fs.readFileSync(EXPORT, 'utf8')) as Record<string, unknown>[];
  const reference = bikesHandler.finalizeDay(DAY, partialsOf([chunk('a.csv', csv)], DAY), {}).metrics;

  const variants: [string, string | Buffer][] = [
    ['v2.1 results', fs.readFileSync(V21)],
    ['exports/json array', fs.readFileSync(EXPORT)],
    ['JSON Lines of records', exportArray.map((r) => JSON.stringify(r)).join('\n') + '\n'],
    [
      'JSON Lines of v2.1 pages',
      [v21(exportArray.slice(0, 10)), v21(exportArray.slice(10))].join('\r\n'),
    ],
    [
      'API v1 records with [lat, lon]',
      JSON.stringify({
        nhits: 21,
        records: exportArray.map((r) => {
          const c = r.coordinates as { lon: number; lat: number };
          return { datasetid: 'comptage-velo-donnees-compteurs', recordid: 'x', fields: { ...r, coordinates: [c.lat, c.lon] } };
        }),
      }),
    ],
    [
      'CSV with API field names as header, LF and BOM',
      '\uFEFF' +
        fs
          .readFileSync(REAL_CSV, 'utf8')
          .split('\r\n')
          .map((l, i) =>
            i === 0
              ? 'id_compteur;nom_compteur;id;name;sum_counts;date;installation_date;url_photos_n1;coordinates;counter;photos;test;id_photo_1;url_sites;type_dimage;mois_annee_comptage'
              : l,
          )
          .join('\n'),
    ],
  ];

  it.each(variants)('%s', (_name, content) => {
    const out = chunk('f.json', content);
    expect(out.quality.records).toBe(21);
    expect(out.quality.accepted).toBe(21);
    const m = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), {}).metrics;
    expect(m).toEqual(reference);
  });

  it('reads a CSV cut into two byte ranges (second with the header) like the whole file', () => {
    const text = csv;
    const header = text.subarray(0, text.indexOf('\r\n')).toString('utf8');
    // Cut after the 10th line terminator.
    let cut = 0;
    for (let i = 0; i < 10; i++) cut = text.indexOf('\n', cut) + 1;
    const a = chunk('big.csv', text.subarray(0, cut));
    const b = chunk('big.csv', text.subarray(cut), cut, header);
    expect(a.quality.records + b.quality.records).toBe(21);
    const m = bikesHandler.finalizeDay(DAY, partialsOf([a, b], DAY), {}).metrics;
    expect(m).toEqual(reference);
  });
});

describe('bikes: hour-ending day assignment', () => {
  it('puts a record stamped at midnight in the previous day, last hour', () => {
    const out = chunk(
      'h.json',
      v21([
        rec('1-1', '2021-09-01T00:00:00+02:00', 5), // hour 2021-08-31 23:00
        rec('1-1', '2021-09-01T01:00:00+02:00', 7), // hour 2021-09-01 00:00
        rec('1-1', '2021-09-02T00:00:00+02:00', 11), // hour 2021-09-01 23:00
        rec('1-1', '2021-08-31T22:00:00Z', 13), // = 2021-09-01T00:00+02:00 → hour 2021-08-31 23:00 (duplicate of the first)
      ]),
    );
    expect(Object.keys(out.partials).sort()).toEqual(['2021-08-31', '2021-09-01']);
    expect(out.quality.rejected).toEqual({ duplicate: 1 });
    // One or two hours a day: failing by the default rules; a lenient handler shows the hours.
    const lenient = createBikesHandler({ maxMissingHours: 24 });
    const d31 = lenient.finalizeDay('2021-08-31', partialsOf([out], '2021-08-31'), {}).metrics;
    const d01 = lenient.finalizeDay('2021-09-01', partialsOf([out], '2021-09-01'), {}).metrics;
    expect(d31.profil_horaire[23]).toEqual({ heure: '2021-08-31T23:00:00+02:00', total: 5 });
    expect(d31.total_velos).toBe(5);
    expect(d01.profil_horaire).toHaveLength(24);
    expect(d01.profil_horaire[0]).toEqual({ heure: '2021-09-01T00:00:00+02:00', total: 7 });
    expect(d01.profil_horaire[23]).toEqual({ heure: '2021-09-01T23:00:00+02:00', total: 11 });
    expect(d01.metrics[0]).toMatchObject({ total_jour: 18, heures_presentes: 2, pic_horaire: '2021-09-01T23:00:00+02:00' });
    const strict = bikesHandler.finalizeDay('2021-09-01', partialsOf([out], '2021-09-01'), {}).metrics;
    expect(strict.capteurs_defaillants).toEqual([{ id_compteur: '1-1', type: 'bike', libelle: 'compteur 1-1', raisons: ['heures_manquantes'] }]);
    expect(strict.total_velos).toBe(0);
  });

  it('handles the 25-hour autumn DST day (2024-10-27)', () => {
    // 25 hourly records ending 01:00+02:00 … 00:00+01:00 next day, count = index + 1.
    const records = [];
    const start = Date.parse('2024-10-26T23:00:00Z'); // 2024-10-27T01:00+02:00 = end of the first hour
    for (let i = 0; i < 25; i++) records.push(rec('9-9', new Date(start + i * 3_600_000).toISOString().replace('.000Z', 'Z'), i + 1));
    const out = chunk('dst.json', v21(records));
    expect(Object.keys(out.partials)).toEqual(['2024-10-27']);
    const m = bikesHandler.finalizeDay('2024-10-27', partialsOf([out], '2024-10-27'), {}).metrics;
    expect(m.profil_horaire).toHaveLength(25);
    expect(m.profil_horaire[2]).toEqual({ heure: '2024-10-27T02:00:00+02:00', total: 3 });
    expect(m.profil_horaire[3]).toEqual({ heure: '2024-10-27T02:00:00+01:00', total: 4 });
    expect(m.metrics[0].heures_presentes).toBe(25);
    expect(m.metrics[0].total_jour).toBe((25 * 26) / 2);
    expect(m.metrics[0].pic_horaire).toBe('2024-10-27T23:00:00+01:00');
  });
});

describe('bikes: records without coordinates never fail the source', () => {
  const rows = exportRecords();

  function exportRecords(): Record<string, unknown>[] {
    return JSON.parse(fs.readFileSync(EXPORT, 'utf8'));
  }

  it('keeps the count of a record without coordinates and takes the counter position from its other records', () => {
    const recs = exportRecords();
    delete recs[4].coordinates;
    recs[7].coordinates = null;
    recs[9].coordinates = { lon: null, lat: 48.8 };
    const out = chunk('nocoord.json', JSON.stringify(recs));
    expect(out.quality).toMatchObject({ records: 21, accepted: 18, rejected: { missing_coordinates: 3 } });
    const m = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), {}).metrics;
    expect(m.total_velos).toBe(1580);
    expect(m.metrics[0].arrondissement).toBe('75014');
    expect(m.metrics[0].coordinates).toEqual({ lon: 2.33314, lat: 48.83504 });
  });

  it('keeps a counter whose records all lack coordinates, in arrondissement Inconnu', () => {
    const recs = exportRecords().map((r) => ({ ...r, coordinates: null }));
    const out = chunk('nocoord-all.json', JSON.stringify(recs));
    expect(out.quality).toMatchObject({ records: 21, accepted: 0, rejected: { missing_coordinates: 21 } });
    const m = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), {}).metrics;
    expect(m.metrics).toHaveLength(1);
    expect(m.metrics[0]).toMatchObject({ total_jour: 1580, arrondissement: 'Inconnu', coordinates: { lon: 0, lat: 0 } });
    expect(m.par_arrondissement).toEqual({ Inconnu: 1580 });
  });

  it('takes the position from another file of the day, or from the counter history', () => {
    const noCoords = JSON.stringify(exportRecords().map((r) => ({ ...r, coordinates: null })));
    const withCoords = v21([rec(COUNTER, '2021-09-02T00:00:00+02:00', 4)]);
    const a = chunk('a.json', noCoords);
    const b = chunk('b.json', withCoords);
    const m = bikesHandler.finalizeDay(DAY, partialsOf([a, b], DAY), {}).metrics;
    expect(m.metrics[0]).toMatchObject({ total_jour: 1584, heures_presentes: 22, arrondissement: '75014' });

    const history = { '2021-08-31': { metrics: [{ id_compteur: COUNTER, total_jour: 1500, arrondissement: '75014', coordinates: { lon: 2.33314, lat: 48.83504 } }] } };
    const h = bikesHandler.finalizeDay(DAY, partialsOf([a], DAY), { history }).metrics;
    expect(h.metrics[0]).toMatchObject({ arrondissement: '75014', coordinates: { lon: 2.33314, lat: 48.83504 } });
  });

  it('counts bad records by reason and keeps the good ones', () => {
    const recs: unknown[] = [
      ...rows.slice(0, 3),
      { ...rows[3], id_compteur: '' },
      { ...rows[4], id_compteur: undefined },
      { ...rows[5], date: '2021-09-01T10:00:00' }, // no offset
      { ...rows[6], date: 'hier' },
      { ...rows[7], sum_counts: -3 },
      { ...rows[8], sum_counts: 'beaucoup' },
      { ...rows[9], sum_counts: null },
      42,
    ];
    const out = chunk('bad.json', JSON.stringify(recs));
    expect(out.quality.records).toBe(11);
    expect(out.quality.accepted).toBe(3);
    expect(out.quality.rejected).toEqual({ missing_id: 2, bad_date: 2, bad_count: 3, bad_record: 1 });
    expect(out.quality.samples.every((s) => s.file === 'bad.json')).toBe(true);
    const m = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), {}).metrics;
    const expected = [0, 1, 2].reduce((a, i) => a + (rows[i].sum_counts as number), 0);
    expect(m.capteurs_defaillants.length + m.metrics.length).toBe(1);
    expect(numbersAreFinite(m)).toBe(true);
    // 3 hours present: failing (more than 6 hours missing), so nothing in the totals.
    expect(m.capteurs_defaillants[0].raisons).toEqual(['heures_manquantes']);
    expect(m.total_velos).toBe(0);
    expect(expected).toBe(3 + 16 + 0);
  });

  it('counts a CSV row with the wrong number of columns', () => {
    const text = fs.readFileSync(REAL_CSV, 'utf8').split('\r\n');
    text[2] = text[2].split(';').slice(0, 10).join(';');
    const out = chunk('ragged.csv', text.join('\r\n'));
    expect(out.quality).toMatchObject({ records: 21, accepted: 20, rejected: { bad_column_count: 1 } });
    expect(out.quality.samples[0]).toMatchObject({ file: 'ragged.csv', line: 3, reason: 'bad_column_count' });
  });
});

describe('bikes: several files of a day are merged, never overwritten', () => {
  it('counts records seen in two files once', () => {
    const csv = fs.readFileSync(REAL_CSV);
    const a = chunk('api/bikes/2021-09-01/a.csv', csv);
    const b = chunk('api/bikes/2021-09-01/b.json', fs.readFileSync(V21));
    const res = bikesHandler.finalizeDay(DAY, partialsOf([a, b], DAY), {});
    expect(res.metrics.total_velos).toBe(1580);
    expect(res.metrics.metrics[0].heures_presentes).toBe(21);
    expect(res.quality.rejected).toEqual({ duplicate: 21 });
    const all = mergeQuality([a.quality, b.quality, res.quality]);
    expect(all).toMatchObject({ records: 42, accepted: 21, rejected: { duplicate: 21 } });
  });

  it('keeps the first of two records for the same hour and adds hours from both files', () => {
    const a = chunk('a.json', v21([rec('5-5', '2021-09-01T10:00:00+02:00', 10), rec('5-5', '2021-09-01T11:00:00+02:00', 20)]));
    const b = chunk('b.json', v21([rec('5-5', '2021-09-01T11:00:00+02:00', 99), rec('5-5', '2021-09-01T12:00:00+02:00', 30)]));
    const res = bikesHandler.finalizeDay(DAY, partialsOf([a, b], DAY), {});
    const prof = res.metrics.profil_horaire;
    expect(res.quality.rejected).toEqual({ duplicate: 1 });
    // Counter fails (21 hours missing), so read the merged hours through a lenient handler.
    const lenient = createBikesHandler({ maxMissingHours: 24 });
    const m = lenient.finalizeDay(DAY, partialsOf([a, b], DAY), {}).metrics;
    expect(m.metrics[0]).toMatchObject({ total_jour: 60, heures_presentes: 3, moyenne_horaire: 20, pic_horaire: '2021-09-01T11:00:00+02:00' });
    expect(m.profil_horaire.slice(9, 12).map((p) => p.total)).toEqual([10, 20, 30]);
    expect(prof.every((p) => p.total === 0)).toBe(true);
  });

  it('counts a repeated (counter, hour) inside one file', () => {
    const out = chunk('dup.json', v21([rec('5-5', '2021-09-01T10:00:00+02:00', 10), rec('5-5', '2021-09-01T10:00:00+02:00', 12)]));
    expect(out.quality).toMatchObject({ records: 2, accepted: 1, rejected: { duplicate: 1 } });
  });
});

describe('bikes: failing counters', () => {
  /** 24 hourly records for 2021-09-01 with the given counts (undefined = hour missing). */
  function day(id: string, counts: (number | undefined)[]) {
    return counts.flatMap((c, h) => (c === undefined ? [] : [rec(id, summerStamp(DAY, h + 1), c)]));
  }
  const varying = (h: number) => (h * 7) % 23;
  const counters = {
    zero: day('1-zero', Array(24).fill(0)),
    run12: day('2-run12', Array.from({ length: 24 }, (_, h) => (h >= 5 && h < 17 ? 9 : varying(h) + 20))),
    run11: day('3-run11', Array.from({ length: 24 }, (_, h) => (h >= 5 && h < 16 ? 9 : varying(h) + 20))),
    scattered13: day('4-scattered13', Array.from({ length: 24 }, (_, h) => (h % 2 === 0 || h === 23 ? 9 : varying(h) + 20))),
    missing7: day('5-missing7', Array.from({ length: 24 }, (_, h) => (h < 7 ? undefined : varying(h) + 1))),
    missing6: day('6-missing6', Array.from({ length: 24 }, (_, h) => (h < 6 ? undefined : varying(h) + 1))),
  };
  const out = chunk('failing.json', v21(Object.values(counters).flat()));
  const m = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), {}).metrics;

  it('flags all-zero counters, ≥ 12 consecutive identical non-zero hours, and > 6 missing hours', () => {
    expect(m.capteurs_defaillants).toEqual([
      { id_compteur: '1-zero', type: 'bike', libelle: 'compteur 1-zero', raisons: ['comptages_nuls'] },
      { id_compteur: '2-run12', type: 'bike', libelle: 'compteur 2-run12', raisons: ['valeur_constante'] },
      { id_compteur: '5-missing7', type: 'bike', libelle: 'compteur 5-missing7', raisons: ['heures_manquantes'] },
    ]);
    expect(m.failing_sensors).toEqual(['1-zero', '2-run12', '5-missing7']);
  });

  it('keeps 11 identical hours, 13 scattered identical hours and 6 missing hours', () => {
    expect(m.metrics.map((x) => x.id_compteur)).toEqual(['3-run11', '4-scattered13', '6-missing6']);
  });

  it('leaves failing counters out of totals, top and profile', () => {
    const kept = [counters.run11, counters.scattered13, counters.missing6];
    const sum = (rs: { sum_counts: unknown }[]) => rs.reduce((a, r) => a + (r.sum_counts as number), 0);
    const totals = kept.map(sum);
    expect(m.metrics.map((x) => x.total_jour)).toEqual(totals);
    expect(m.total_velos).toBe(totals[0] + totals[1] + totals[2]);
    expect(m.top_counters.map((x) => x.id_compteur)).toEqual(
      m.metrics
        .slice()
        .sort((a, b) => b.total_jour - a.total_jour)
        .map((x) => x.id_compteur),
    );
    expect(m.profil_horaire.reduce((a, p) => a + p.total, 0)).toBe(m.total_velos);
    expect(m.metrics.find((x) => x.id_compteur === '6-missing6')!.heures_presentes).toBe(18);
    expect(m.metrics.find((x) => x.id_compteur === '6-missing6')!.moyenne_horaire).toBe(totals[2] / 18);
  });

  it('lists at most 10 top counters, by total', () => {
    const many = Array.from({ length: 12 }, (_, i) => day(`c-${String(i).padStart(2, '0')}`, Array.from({ length: 24 }, (_, h) => varying(h) + i + 1))).flat();
    const mm = bikesHandler.finalizeDay(DAY, partialsOf([chunk('many.json', v21(many))], DAY), {}).metrics;
    expect(mm.metrics).toHaveLength(12);
    expect(mm.top_counters.map((x) => x.id_compteur)).toEqual(['c-11', 'c-10', 'c-09', 'c-08', 'c-07', 'c-06', 'c-05', 'c-04', 'c-03', 'c-02']);
  });
});

describe('bikes: anomalies against the trailing 7 days', () => {
  const out = chunk('a.csv', fs.readFileSync(REAL_CSV));
  const hist = (total: number) => ({ date: 'x', metrics: [{ id_compteur: COUNTER, total_jour: total, arrondissement: '75014', coordinates: { lon: 2.33314, lat: 48.83504 } }] });

  it('flags a total more than 300 % above the mean of the days where the counter exists', () => {
    // D−1 200, D−3 400 → mean 300; (1580 − 300) / 300 = 426.7 %. D−8 is outside the window.
    const history = { '2021-08-31': hist(200), '2021-08-29': hist(400), '2021-08-24': hist(1), '2021-08-30': { metrics: [] } };
    const m = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), { history }).metrics;
    expect(m.metrics[0].anomalie_detectee).toBe(true);
    expect(m.anomalies).toHaveLength(1);
    expect(m.anomalies[0].id_compteur).toBe(COUNTER);
    expect(m.anomalies[0].total_jour).toBe(1580);
    expect(m.anomalies[0].moyenne_7j).toBe(300);
    expect(m.anomalies[0].ecart_pourcent).toBeCloseTo((1280 / 300) * 100, 9);
  });

  it('does not flag 295 %, nor a counter without history, nor a zero mean', () => {
    const h400 = { '2021-08-25': hist(400) }; // (1580 − 400) / 400 = 295 %
    const m1 = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), { history: h400 }).metrics;
    expect(m1.anomalies).toEqual([]);
    expect(m1.metrics[0].anomalie_detectee).toBe(false);
    const m2 = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), { history: { '2021-08-31': { metrics: [] } } }).metrics;
    expect(m2.anomalies).toEqual([]);
    const m3 = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), { history: { '2021-08-31': hist(0) } }).metrics;
    expect(m3.anomalies).toEqual([]);
  });

  it('reads history written by the handler itself', () => {
    // Seven days of 200 (each made from a built copy of the real counter, scaled down).
    const history: Record<string, BikesMetrics> = {};
    for (let i = 1; i <= 7; i++) {
      const d = `2021-08-${String(32 - i).padStart(2, '0')}`;
      const recs = Array.from({ length: 24 }, (_, h) => rec(COUNTER, summerStamp(d, h + 1), h < 20 ? (h % 2 === 0 ? 9 : 11) : 0));
      history[d] = bikesHandler.finalizeDay(d, partialsOf([chunk(`${d}.json`, v21(recs))], d), {}).metrics;
      expect(history[d].metrics[0].total_jour).toBe(200);
    }
    const m = bikesHandler.finalizeDay(DAY, partialsOf([out], DAY), { history }).metrics;
    expect(m.anomalies[0]).toMatchObject({ moyenne_7j: 200, ecart_pourcent: 690 });
  });
});

describe('bikes: unusable files', () => {
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
    expect(codeOf('  \r\n')).toBe('empty_file');
    expect(codeOf('<html><body>502 Bad Gateway</body></html>\n<p>retry</p>\n')).toBe('not_json');
    expect(codeOf('{"results": [')).toBe('not_json');
    expect(codeOf('{"error": "quota"}')).toBe('unknown_format');
    expect(codeOf('Identifiant arc;Libelle;Date et heure de comptage\r\n1;a;b\r\n')).toBe('bad_header');
  });

  it('accepts an empty API page', () => {
    const out = chunk('empty-page.json', '{"total_count": 0, "results": []}');
    expect(out).toEqual({ partials: {}, quality: { records: 0, accepted: 0, rejected: {}, samples: [] } });
  });

  it('counts bad JSON lines of a JSON Lines file', () => {
    const recs = JSON.parse(fs.readFileSync(EXPORT, 'utf8')) as unknown[];
    const lines = recs.slice(0, 3).map((r) => JSON.stringify(r));
    lines.splice(1, 0, '{"id_compteur": "broken');
    const out = chunk('l.jsonl', lines.join('\n'));
    expect(out.quality).toMatchObject({ records: 4, accepted: 3, rejected: { bad_json_line: 1 } });
    expect(out.quality.samples[0]).toMatchObject({ line: 2, reason: 'bad_json_line' });
  });
});
