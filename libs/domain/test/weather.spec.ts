import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputFormatError } from '../src/shared/model';
import { weatherHandler, weatherImpact, WeatherPartial, wmoConditions } from '../src/sources/weather';
import { formatError, testFileRef } from './helpers';

const REAL = path.resolve(__dirname, '../../../test/fixtures/real/weather');
const BUILT = path.resolve(__dirname, '../../../test/fixtures/built/weather');
const OM_PARIS = 'open-meteo_hourly_europe-paris_2024-07-18_to_2024-08-07.json';
const OM_GMT = 'open-meteo_hourly_gmt_2024-01-01_to_2024-01-03.json';
const VC = 'visual-crossing_timeline_paris_2024-07-18_to_2024-07-24.json';
const REAL_HOURLY = 'dorabijvoet_open-meteo_hourly_48.82N2.29E_2024-07-18_to_2024-08-07.csv';
const REAL_DAILY = 'dorabijvoet_open-meteo_daily_48.82N2.29E_2024-07-18_to_2024-08-07.csv';
const REAL_GMT = 'binn1908_open-meteo_hourly_48.82N2.29E_GMT_2024-01-01_to_2024-01-03_first72rows.csv';

const fileRef = (relPath: string, size: number) => testFileRef('weather', relPath, size);

function run(bytes: Buffer, relPath: string) {
  return weatherHandler.processChunk({ file: fileRef(relPath, bytes.length), range: { index: 0, start: 0, end: bytes.length }, bytes });
}

const built = (name: string) => fs.readFileSync(path.join(BUILT, name));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** Partials of several files for day D, in file order (what the pipeline hands to finalizeDay). */
function partialsFor(day: string, ...outs: { partials: Record<string, WeatherPartial> }[]): WeatherPartial[] {
  return outs.map((o) => o.partials[day]).filter((p): p is WeatherPartial => !!p);
}


/** The real CSV exports, read with plain string splitting. */
function readCsv(name: string, skip = 0): { header: string[]; rows: string[][] } {
  const lines = fs.readFileSync(path.join(REAL, name), 'utf8').split(/\r?\n/).slice(skip).filter((l) => l.trim() !== '');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

const r2 = (x: number) => Math.round(x * 100) / 100;

describe('weather: Open-Meteo hourly JSON (Europe/Paris), checked against the real daily export', () => {
  const out = run(built(OM_PARIS), `api/weather/${OM_PARIS}`);
  const hourly = readCsv(REAL_HOURLY);
  const daily = readCsv(REAL_DAILY);
  const hcol = (label: string) => hourly.header.indexOf(label);
  const dcol = (label: string) => daily.header.indexOf(label);

  it('accepts every hour of the file', () => {
    expect(out.quality).toMatchObject({ records: 504, accepted: 504, rejected: {} });
    expect(Object.keys(out.partials)).toHaveLength(21);
  });

  it.each(daily.rows.map((r) => [r[0], r] as [string, string[]]))('day %s matches the real daily values', (day, row) => {
    const { metrics, quality } = weatherHandler.finalizeDay(day, partialsFor(day, out), {});
    const hours = hourly.rows.filter((h) => h[0].startsWith(day));
    const temps = hours.map((h) => Number(h[hcol('temperature_2m (°C)')]));
    const winds = hours.map((h) => Number(h[hcol('wind_speed_10m (km/h)')]));
    const m = metrics.metrics!;
    expect(m.date).toBe(day);
    expect(m.source).toBe('open-meteo');
    expect(m.temp_max).toBe(Number(row[dcol('temperature_2m_max (°C)')]));
    expect(m.temp_min).toBe(Number(row[dcol('temperature_2m_min (°C)')]));
    expect(m.precip_totale).toBe(Number(row[dcol('precipitation_sum (mm)')]));
    expect(m.conditions).toBe(wmoConditions(Number(row[dcol('weather_code (wmo code)')])));
    expect(m.temp_moyenne).toBe(r2(temps.reduce((a, b) => a + b, 0) / temps.length));
    expect(m.vent_moyen).toBe(r2(winds.reduce((a, b) => a + b, 0) / winds.length));
    expect(quality.rejected).toEqual({});
  });

  it('uses day D of a multi-day file, never the first day (2024-07-20: rain and heat)', () => {
    const { metrics } = weatherHandler.finalizeDay('2024-07-20', partialsFor('2024-07-20', out), {});
    expect(metrics.metrics!.date).toBe('2024-07-20');
    expect(metrics.metrics!.precip_totale).toBe(13.6); // the first day, 2024-07-18, had 0
    const t = metrics.metrics!.temp_moyenne;
    expect(metrics.categories).toEqual(t > 25 ? ['Pluvieux', 'Chaud'] : ['Pluvieux']);
    expect(metrics.impact_mobilite).toBe(t > 25 ? 35 : 30);
  });

  it('merges overlapping hourly files by instant (union, no double counting)', () => {
    const doc = JSON.parse(built(OM_PARIS).toString('utf8'));
    const slice = (from: number, to: number) => ({
      ...doc,
      hourly: Object.fromEntries(Object.entries(doc.hourly as Record<string, unknown[]>).map(([k, v]) => [k, v.slice(from, to)])),
    });
    // 2024-07-20 is rows 48..71: one file has 00–15 h, the other 10–23 h.
    const a = run(json(slice(48, 64)), 'a.json');
    const b = run(json(slice(58, 72)), 'b.json');
    const merged = weatherHandler.finalizeDay('2024-07-20', partialsFor('2024-07-20', a, b), {});
    const whole = weatherHandler.finalizeDay('2024-07-20', partialsFor('2024-07-20', out), {});
    expect(merged.metrics.metrics).toEqual(whole.metrics.metrics);
    expect(merged.quality.rejected).toEqual({});
    // The same instant with a different value in a later file is a counted duplicate; the first wins.
    const changed = slice(58, 72);
    changed.hourly.temperature_2m[0] = 40;
    const c = run(json(changed), 'c.json');
    const dup = weatherHandler.finalizeDay('2024-07-20', partialsFor('2024-07-20', a, c), {});
    expect(dup.quality.rejected.duplicate).toBe(1);
    expect(dup.metrics.metrics!.temp_max).toBe(whole.metrics.metrics!.temp_max);
  });
});

describe('weather: Open-Meteo in GMT is regrouped by Paris day', () => {
  const out = run(built(OM_GMT), OM_GMT);
  const csv = readCsv(REAL_GMT, 3);

  it('puts GMT 2024-01-01T23:00 … 2024-01-02T22:00 in Paris 2024-01-02', () => {
    const rows = csv.rows.slice(23, 47); // GMT hours 23 (Jan 1) … 22 (Jan 2) = Paris 00 … 23
    expect(rows[0][0]).toBe('2024-01-01T23:00');
    expect(rows[23][0]).toBe('2024-01-02T22:00');
    const temps = rows.map((r) => Number(r[1]));
    const precip = rows.reduce((a, r) => a + Number(r[2]), 0);
    const { metrics, quality } = weatherHandler.finalizeDay('2024-01-02', partialsFor('2024-01-02', out), {});
    expect(metrics.metrics).toMatchObject({
      temp_moyenne: r2(temps.reduce((a, b) => a + b, 0) / 24),
      temp_min: Math.min(...temps),
      temp_max: Math.max(...temps),
      precip_totale: r2(precip),
      vent_moyen: 0, // no wind in this file
      conditions: 'Inconnu', // no weather_code in this file
    });
    expect(quality.rejected).toEqual({});
  });

  it('counts the hours missing from Paris 2024-01-01 (its first hour is in 2023 GMT)', () => {
    const { metrics, quality } = weatherHandler.finalizeDay('2024-01-01', partialsFor('2024-01-01', out), {});
    expect(quality.rejected).toEqual({ missing_hours: 1 });
    expect(metrics.metrics!.temp_max).toBe(Math.max(...csv.rows.slice(0, 23).map((r) => Number(r[1]))));
    expect(out.partials['2024-01-04'].hours).toHaveLength(1);
  });
});

describe('weather: Visual Crossing timeline', () => {
  const out = run(built(VC), VC);
  const doc = JSON.parse(built(VC).toString('utf8')) as { days: Record<string, number | string>[] };

  it('reads day D (not days[0]) and derives categories and impact', () => {
    const d = doc.days.find((x) => x.datetime === '2024-07-20')!;
    const { metrics } = weatherHandler.finalizeDay('2024-07-20', partialsFor('2024-07-20', out), {});
    expect(metrics.metrics).toEqual({
      date: '2024-07-20',
      temp_moyenne: d.temp,
      temp_min: d.tempmin,
      temp_max: d.tempmax,
      precip_totale: d.precip,
      vent_moyen: d.windspeed,
      conditions: d.conditions,
      impact_mobilite: metrics.impact_mobilite,
      source: 'visualcrossing',
    });
    const pluvieux = (d.precip as number) >= 5;
    expect(metrics.categories).toContain('Pluvieux');
    expect(pluvieux).toBe(true);
    expect(metrics.impact_mobilite).toBe(50 - 20 - ((d.temp as number) < 10 ? 10 : 0) + ((d.temp as number) > 25 ? 5 : 0));
  });

  it('a second file with a different value for the same day is a counted duplicate; the first wins', () => {
    const changed = JSON.parse(JSON.stringify(doc));
    changed.days[2].precip = 99;
    const other = run(json(changed), 'other.json');
    const same = run(built(VC), 'same-again.json');
    const r = weatherHandler.finalizeDay('2024-07-20', partialsFor('2024-07-20', out, other, same), {});
    expect(r.quality.rejected).toEqual({ duplicate: 1 });
    expect(r.metrics.metrics!.precip_totale).toBe(doc.days[2].precip);
  });

  it('is preferred to hourly data for the same day', () => {
    const om = run(built(OM_PARIS), OM_PARIS);
    const r = weatherHandler.finalizeDay('2024-07-20', partialsFor('2024-07-20', om, out), {});
    expect(r.metrics.metrics!.source).toBe('visualcrossing');
  });
});

describe('weather: no day D, bad values, time zones', () => {
  it('a file without day D yields null metrics, impact 50 and a no_day count', () => {
    const out = run(built(VC), VC);
    expect(out.partials['2024-09-01']).toBeUndefined();
    const r = weatherHandler.finalizeDay('2024-09-01', partialsFor('2024-09-01', out), {});
    expect(r.metrics).toEqual({ date: '2024-09-01', metrics: null, impact_mobilite: 50, categories: [], qualite: r.quality });
    expect(r.quality.rejected).toEqual({ no_day: 1 });
  });

  it('counts bad values and bad dates per record, never throws for them', () => {
    const vc = {
      days: [
        { datetime: '2024-07-18', temp: 20, tempmin: 25, tempmax: 15, precip: 0, windspeed: 5 }, // min > max
        { datetime: '18/07/2024', temp: 20, tempmin: 15, tempmax: 25 },
        { datetime: '2024-07-19', temp: 'warm', tempmin: 15, tempmax: 25 },
        { datetime: '2024-07-20', temp: null, tempmin: null, tempmax: null },
        { datetime: '2024-07-21', temp: null, tempmin: 14, tempmax: 26, precip: null, windspeed: null, conditions: '' },
      ],
    };
    const out = run(json(vc), 'vc.json');
    expect(out.quality).toMatchObject({ records: 5, accepted: 1, rejected: { bad_value: 2, bad_date: 1, missing_value: 1 } });
    const m = weatherHandler.finalizeDay('2024-07-21', partialsFor('2024-07-21', out), {}).metrics.metrics!;
    expect(m).toMatchObject({ temp_moyenne: 20, precip_totale: 0, vent_moyen: 0, conditions: 'Inconnu' });

    const om = {
      timezone: 'Europe/Paris',
      utc_offset_seconds: 7200,
      hourly_units: { wind_speed_10m: 'm/s' },
      hourly: {
        time: ['2024-07-18T00:00', '2024-07-18T01:00', 'bad', '2024-07-18T03:00', '2024-07-18T04:00'],
        temperature_2m: [20, null, 20, 'x', 21],
        precipitation: [0, null, 0, 0, 1.5],
        wind_speed_10m: [5, null, 5, 5, 10],
      },
    };
    const o = run(json(om), 'om.json');
    expect(o.quality).toMatchObject({ records: 5, accepted: 2, rejected: { missing_value: 1, bad_time: 1, bad_value: 1 } });
    const w = weatherHandler.finalizeDay('2024-07-18', partialsFor('2024-07-18', o), {});
    expect(w.metrics.metrics).toMatchObject({ temp_moyenne: 20.5, precip_totale: 1.5, vent_moyen: 27 }); // (5 + 10) / 2 m/s × 3.6
    expect(w.quality.rejected).toEqual({ missing_hours: 22 });
  });

  it('reads the 25 hours of the autumn DST day (the repeated 02:00 is a distinct hour)', () => {
    const time = ['00', '01', '02', '02', ...Array.from({ length: 21 }, (_, i) => String(i + 3).padStart(2, '0'))].map((h) => `2024-10-27T${h}:00`);
    const om = { timezone: 'Europe/Paris', utc_offset_seconds: 3600, hourly: { time, temperature_2m: time.map((_, i) => i) } };
    const out = run(json(om), 'dst.json');
    expect(out.quality).toMatchObject({ records: 25, accepted: 25, rejected: {} });
    const r = weatherHandler.finalizeDay('2024-10-27', partialsFor('2024-10-27', out), {});
    expect(r.quality.rejected).toEqual({});
    expect(r.metrics.metrics!.temp_moyenne).toBe(12); // mean of 0…24
  });

  it('fails the file on not JSON, empty, or an unsupported weather shape', () => {
    expect(formatError(() => run(Buffer.from('nope'), 'x.json')).code).toBe('not_json');
    expect(formatError(() => run(Buffer.from(''), 'x.json')).code).toBe('empty_file');
    const owm = fs.readFileSync(path.join(REAL, 'azeddinebd_openweathermap_forecast5d3h_paris_2025-01-02.json'));
    const e = formatError(() => run(owm, 'owm.json'));
    expect(e.code).toBe('unknown_format');
    expect(e.message).toMatch(/OpenWeatherMap/);
    expect(formatError(() => run(json({ hourly: { time: ['2024-01-01T00:00'], temperature_2m: [1] }, timezone: 'America/New_York' }), 'x.json')).code).toBe(
      'unknown_format',
    );
  });
});

describe('weather impact formula', () => {
  it.each([
    [15, 0, 10, [], 50],
    [15, 5, 10, ['Pluvieux'], 30],
    [9.99, 0, 10, ['Froid'], 40],
    [25.5, 0, 10, ['Chaud'], 55],
    [15, 0, 30, ['Venteux'], 40],
    [5, 12, 45, ['Pluvieux', 'Venteux', 'Froid'], 10],
    [30, 4.99, 29.9, ['Chaud'], 55],
    [10, 0, 0, [], 50],
    [25, 0, 0, [], 50],
  ])('temp %p, precip %p, wind %p → %p, %p', (temp, precip, wind, categories, impact) => {
    expect(weatherImpact(temp as number, precip as number, wind as number)).toEqual({ categories, impact });
  });
});
