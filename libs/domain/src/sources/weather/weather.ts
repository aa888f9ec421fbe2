/**
 * Weather for Paris: Visual Crossing timeline (`days[]`) and Open-Meteo hourly JSON.
 *
 * Partials are per Europe/Paris day: a Visual Crossing day entry goes to its `datetime`; an
 * Open-Meteo hour goes to the Paris day of its instant. `finalizeDay(D)` only ever reads day D
 * (never "the first day of the file"). When both kinds of input hold day D, the Visual Crossing
 * day is used (it is the provider's own daily summary); otherwise the hours of D are aggregated.
 *
 * Open-Meteo times are naive local times of the response's `timezone`: `Europe/Paris` is read
 * with the Paris rules (the repeated autumn hour is told apart by its order in the file),
 * `GMT`/`UTC` as UTC, any other zone with the fixed `utc_offset_seconds`; `timeformat=unixtime`
 * (numbers) is read as Unix seconds. Units come from `hourly_units` (°F, m/s, mph, kn, inch are
 * converted). Each hour is grouped by its own timestamp, as Open-Meteo's own daily aggregates do
 * (checked on the real hourly/daily exports: daily precipitation_sum = Σ hourly values stamped
 * 00:00…23:00 of that day; daily weather_code = the day's highest hourly code).
 *
 * Rejected records (a record = a VC day or an Open-Meteo hour): `bad_record` (not an object),
 * `bad_date` / `bad_time`,
 * `bad_value` (a non-numeric or implausible value, or tempmin > tempmax), `missing_value`
 * (nothing usable), `duplicate` (same day/hour again with different values; first wins),
 * `raw_body` / `bad_json_line`. Day-level counts: `no_day` (no data for D), `missing_hours`
 * (hours of D absent from the hourly data, one per hour).
 */
import type { WeatherMetrics } from '../../shared/metrics-types';
import { ChunkOutput, emptyQuality, InputFormatError, mergeQuality, QualityCounts, reject } from '../../shared/model';
import { HOUR_MS, hoursInDay, isValidDay, parisDay, parisOffsetMinutes, parseParisLocal } from '../../shared/time';
import { countBadLines, readJsonDocuments } from '../json-input';
import type { ChunkInput, DayResult, FinalizeContext, SourceHandler } from '../source-handler';

// Category thresholds (SPEC §4 defaults).
export const PLUVIEUX_MM = 5;
export const VENTEUX_KMH = 30;
export const FROID_C = 10;
export const CHAUD_C = 25;
/** impact_mobilite when there is no weather for D. */
export const IMPACT_NEUTRE = 50;

export interface VcDay {
  date: string;
  temp: number;
  tempmin: number;
  tempmax: number;
  precip: number;
  windspeed: number;
  conditions: string;
  file: string;
}

export interface WeatherHour {
  /** Instant (ms since epoch) of the hour's timestamp. */
  t: number;
  temp: number | null;
  precip: number | null;
  /** km/h */
  wind: number | null;
  code: number | null;
  file: string;
}

export interface WeatherPartial {
  days: VcDay[];
  hours: WeatherHour[];
}

/** WMO weather interpretation codes (Open-Meteo documentation), in English like Visual Crossing's `conditions`. */
export const WMO_CONDITIONS: Readonly<Record<number, string>> = {
  0: 'Clear sky',
  1: 'Mainly clear',
  2: 'Partly cloudy',
  3: 'Overcast',
  45: 'Fog',
  48: 'Depositing rime fog',
  51: 'Light drizzle',
  53: 'Moderate drizzle',
  55: 'Dense drizzle',
  56: 'Light freezing drizzle',
  57: 'Dense freezing drizzle',
  61: 'Slight rain',
  63: 'Moderate rain',
  65: 'Heavy rain',
  66: 'Light freezing rain',
  67: 'Heavy freezing rain',
  71: 'Slight snow fall',
  73: 'Moderate snow fall',
  75: 'Heavy snow fall',
  77: 'Snow grains',
  80: 'Slight rain showers',
  81: 'Moderate rain showers',
  82: 'Violent rain showers',
  85: 'Slight snow showers',
  86: 'Heavy snow showers',
  95: 'Thunderstorm',
  96: 'Thunderstorm with slight hail',
  99: 'Thunderstorm with heavy hail',
};

export function wmoConditions(code: number | null): string {
  if (code === null) return 'Inconnu';
  return WMO_CONDITIONS[code] ?? `WMO ${code}`;
}

/**
 * Categories and impact. The formula is the old system's with the wind term the SPEC asks for
 * ("old formula, wind included"): 50 − 20·Pluvieux − 10·Froid + 5·Chaud − 10·Venteux, clamped to 0…100.
 * The old code listed Venteux but never used it in the score; −10 puts wind on a par with cold.
 */
export function weatherImpact(temp: number, precip: number, wind: number): { categories: string[]; impact: number } {
  const categories: string[] = [];
  if (precip >= PLUVIEUX_MM) categories.push('Pluvieux');
  if (wind >= VENTEUX_KMH) categories.push('Venteux');
  if (temp < FROID_C) categories.push('Froid');
  else if (temp > CHAUD_C) categories.push('Chaud');
  const has = (c: string) => (categories.includes(c) ? 1 : 0);
  const raw = IMPACT_NEUTRE - 20 * has('Pluvieux') - 10 * has('Froid') + 5 * has('Chaud') - 10 * has('Venteux');
  return { categories, impact: Math.min(100, Math.max(0, raw)) };
}

// ───────────────────────────── parsing ─────────────────────────────

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const INVALID = Symbol('invalid');
type Num = number | null | typeof INVALID;

/** null/undefined → null; finite number (or numeric string) → number; anything else → INVALID. */
function num(v: unknown): Num {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : INVALID;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : INVALID;
  }
  return INVALID;
}

const plausible = {
  temp: (x: number) => x >= -60 && x <= 60,
  precip: (x: number) => x >= 0 && x <= 500,
  wind: (x: number) => x >= 0 && x <= 400,
  code: (x: number) => Number.isInteger(x) && x >= 0 && x <= 99,
};

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

interface Ctx {
  file: string;
  quality: QualityCounts;
  partials: Record<string, WeatherPartial>;
}

function partialFor(ctx: Ctx, day: string): WeatherPartial {
  return (ctx.partials[day] ??= { days: [], hours: [] });
}

function sameVc(a: VcDay, b: VcDay): boolean {
  return (
    a.temp === b.temp &&
    a.tempmin === b.tempmin &&
    a.tempmax === b.tempmax &&
    a.precip === b.precip &&
    a.windspeed === b.windspeed &&
    a.conditions === b.conditions
  );
}

function sameHour(a: WeatherHour, b: WeatherHour): boolean {
  return a.temp === b.temp && a.precip === b.precip && a.wind === b.wind && a.code === b.code;
}

function readVcDay(d: unknown, ctx: Ctx, seen: Map<string, VcDay>): void {
  ctx.quality.records++;
  const bad = (reason: string) => reject(ctx.quality, { file: ctx.file, reason });
  if (!isObject(d)) return bad('bad_record');
  const date = typeof d.datetime === 'string' ? d.datetime.trim() : '';
  if (!isValidDay(date)) return bad('bad_date');
  const t = num(d.temp);
  const tmin = num(d.tempmin);
  const tmax = num(d.tempmax);
  const p = num(d.precip);
  const w = num(d.windspeed);
  const values = [t, tmin, tmax, p, w];
  if (values.includes(INVALID)) return bad('bad_value');
  const temps = [t, tmin, tmax].filter((x): x is number => typeof x === 'number');
  if (temps.length === 0) return bad('missing_value');
  if (!temps.every(plausible.temp) || (typeof p === 'number' && !plausible.precip(p)) || (typeof w === 'number' && !plausible.wind(w))) {
    return bad('bad_value');
  }
  const lo = typeof tmin === 'number' ? tmin : Math.min(...temps);
  const hi = typeof tmax === 'number' ? tmax : Math.max(...temps);
  if (lo > hi) return bad('bad_value');
  // The daily mean must lie within [min, max]; a missing or inconsistent one becomes the midpoint.
  const mean = typeof t === 'number' && t >= lo && t <= hi ? t : (lo + hi) / 2;
  const day: VcDay = {
    date,
    temp: mean,
    tempmin: lo,
    tempmax: hi,
    precip: typeof p === 'number' ? p : 0,
    windspeed: typeof w === 'number' ? w : 0,
    conditions: typeof d.conditions === 'string' && d.conditions.trim() !== '' ? d.conditions.trim() : 'Inconnu',
    file: ctx.file,
  };
  const prev = seen.get(date);
  if (prev) {
    if (sameVc(prev, day)) ctx.quality.accepted++;
    else bad('duplicate');
    return;
  }
  seen.set(date, day);
  partialFor(ctx, date).days.push(day);
  ctx.quality.accepted++;
}

type TimeReader = (v: unknown) => number;

function timeReader(doc: Record<string, unknown>, ctx: Ctx): TimeReader {
  const tz = typeof doc.timezone === 'string' ? doc.timezone.trim() : '';
  const offset = typeof doc.utc_offset_seconds === 'number' && Number.isFinite(doc.utc_offset_seconds) ? doc.utc_offset_seconds : null;
  const naive = (s: string) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
    if (!m) return NaN;
    const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return NaN;
    if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return NaN;
    return Date.UTC(y, mo - 1, d, h, mi, se);
  };
  const unix = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v * 1000 : NaN);

  if (tz === 'Europe/Paris') {
    const seenLocal = new Set<string>();
    return (v) => {
      if (typeof v === 'number') return unix(v);
      if (typeof v !== 'string') return NaN;
      const first = parseParisLocal(v);
      if (Number.isNaN(first)) return NaN;
      if (seenLocal.has(v)) {
        // Second occurrence of a wall-clock time: the repeated autumn hour, one hour later in UTC.
        const second = first + HOUR_MS;
        if (parisOffsetMinutes(first) === 120 && parisOffsetMinutes(second) === 60) return second;
      }
      seenLocal.add(v);
      return first;
    };
  }
  const off = tz === 'GMT' || tz === 'UTC' || tz === 'Etc/UTC' || tz === 'Etc/GMT' ? 0 : offset;
  if (off === null) {
    throw new InputFormatError(
      `${ctx.file}: Open-Meteo response without usable time zone (timezone "${tz || 'missing'}" and no utc_offset_seconds)`,
      'unknown_format',
    );
  }
  return (v) => (typeof v === 'number' ? unix(v) : typeof v === 'string' ? naive(v) - off * 1000 : NaN);
}

function unitFactor(unit: unknown, kind: 'temp' | 'precip' | 'wind'): ((x: number) => number) | null {
  const u = typeof unit === 'string' ? unit.trim().toLowerCase() : '';
  if (kind === 'temp') {
    if (u === '' || u === '°c' || u === 'c' || u === 'celsius') return (x) => x;
    if (u === '°f' || u === 'f' || u === 'fahrenheit') return (x) => ((x - 32) * 5) / 9;
    return null;
  }
  if (kind === 'precip') {
    if (u === '' || u === 'mm') return (x) => x;
    if (u === 'inch' || u === 'in' || u === 'inches') return (x) => x * 25.4;
    return null;
  }
  if (u === '' || u === 'km/h' || u === 'kmh') return (x) => x;
  if (u === 'm/s' || u === 'ms') return (x) => x * 3.6;
  if (u === 'mph' || u === 'mp/h') return (x) => x * 1.609344;
  if (u === 'kn' || u === 'kt' || u === 'knots') return (x) => x * 1.852;
  return null;
}

function readOpenMeteo(doc: Record<string, unknown>, ctx: Ctx, seen: Map<number, WeatherHour>): void {
  const hourly = doc.hourly as Record<string, unknown>;
  const times = hourly.time as unknown[];
  const units = isObject(doc.hourly_units) ? doc.hourly_units : {};
  const pick = (...keys: string[]) => keys.find((k) => Array.isArray(hourly[k]));
  const tempKey = pick('temperature_2m', 'temperature');
  const precipKey = pick('precipitation');
  const windKey = pick('wind_speed_10m', 'windspeed_10m');
  const codeKey = pick('weather_code', 'weathercode');
  if (!tempKey && !precipKey && !windKey) {
    throw new InputFormatError(
      `${ctx.file}: Open-Meteo hourly data without temperature_2m, precipitation or wind_speed_10m`,
      'unknown_format',
    );
  }
  const conv = {
    temp: unitFactor(tempKey ? units[tempKey] : undefined, 'temp'),
    precip: unitFactor(precipKey ? units[precipKey] : undefined, 'precip'),
    wind: unitFactor(windKey ? units[windKey] : undefined, 'wind'),
  };
  for (const [k, f] of Object.entries(conv)) {
    if (!f) throw new InputFormatError(`${ctx.file}: Open-Meteo unit not understood for ${k}: ${JSON.stringify(units)}`, 'unknown_format');
  }
  const series = (key: string | undefined, i: number): Num => (key ? num((hourly[key] as unknown[])[i]) : null);
  const readTime = timeReader(doc, ctx);

  for (let i = 0; i < times.length; i++) {
    ctx.quality.records++;
    const bad = (reason: string) => reject(ctx.quality, { file: ctx.file, reason });
    const t = readTime(times[i]);
    if (Number.isNaN(t)) {
      bad('bad_time');
      continue;
    }
    const rawT = series(tempKey, i);
    const rawP = series(precipKey, i);
    const rawW = series(windKey, i);
    const rawC = series(codeKey, i);
    if ([rawT, rawP, rawW, rawC].includes(INVALID)) {
      bad('bad_value');
      continue;
    }
    const temp = typeof rawT === 'number' ? conv.temp!(rawT) : null;
    const precip = typeof rawP === 'number' ? conv.precip!(rawP) : null;
    const wind = typeof rawW === 'number' ? conv.wind!(rawW) : null;
    const code = typeof rawC === 'number' ? rawC : null;
    if (
      (temp !== null && !plausible.temp(temp)) ||
      (precip !== null && !plausible.precip(precip)) ||
      (wind !== null && !plausible.wind(wind)) ||
      (code !== null && !plausible.code(code))
    ) {
      bad('bad_value');
      continue;
    }
    if (temp === null && precip === null && wind === null) {
      bad('missing_value');
      continue;
    }
    const hour: WeatherHour = { t, temp, precip, wind, code, file: ctx.file };
    const prev = seen.get(t);
    if (prev) {
      if (sameHour(prev, hour)) ctx.quality.accepted++;
      else bad('duplicate');
      continue;
    }
    seen.set(t, hour);
    partialFor(ctx, parisDay(t)).hours.push(hour);
    ctx.quality.accepted++;
  }
}

function readDocument(doc: unknown, ctx: Ctx, vcSeen: Map<string, VcDay>, hourSeen: Map<number, WeatherHour>): void {
  if (Array.isArray(doc)) {
    // Open-Meteo answers a multi-location request with an array of responses.
    if (doc.length > 0 && doc.every((d) => isObject(d) && (isObject(d.hourly) || Array.isArray(d.days)))) {
      for (const d of doc) readDocument(d, ctx, vcSeen, hourSeen);
      return;
    }
    throw new InputFormatError(`${ctx.file}: unknown weather format (a JSON array, expected a Visual Crossing or Open-Meteo response)`, 'unknown_format');
  }
  if (!isObject(doc)) throw new InputFormatError(`${ctx.file}: unknown weather format (not a JSON object)`, 'unknown_format');
  if (Array.isArray(doc.days)) {
    for (const d of doc.days) readVcDay(d, ctx, vcSeen);
    return;
  }
  if (isObject(doc.hourly) && Array.isArray(doc.hourly.time)) {
    readOpenMeteo(doc, ctx, hourSeen);
    return;
  }
  let hint = '';
  if (isObject(doc.daily)) hint = ' (Open-Meteo daily-only response: request hourly variables)';
  else if (Array.isArray(doc.list) || 'cod' in doc) hint = ' (OpenWeatherMap response: not a supported weather source)';
  throw new InputFormatError(
    `${ctx.file}: unknown weather format${hint}; expected Visual Crossing "days" or Open-Meteo "hourly.time"`,
    'unknown_format',
  );
}

export function processWeatherChunk(input: ChunkInput): ChunkOutput<WeatherPartial> {
  const file = input.file.relPath;
  const quality = emptyQuality();
  const { documents, badLines } = readJsonDocuments(input.bytes, file);
  countBadLines(quality, file, badLines);
  const ctx: Ctx = { file, quality, partials: {} };
  const vcSeen = new Map<string, VcDay>();
  const hourSeen = new Map<number, WeatherHour>();
  for (const doc of documents) readDocument(doc, ctx, vcSeen, hourSeen);
  const partials: Record<string, WeatherPartial> = {};
  for (const day of Object.keys(ctx.partials).sort()) {
    const p = ctx.partials[day];
    p.hours.sort((a, b) => a.t - b.t);
    partials[day] = p;
  }
  return { partials, quality };
}

// ───────────────────────────── day metrics ─────────────────────────────

function noDay(day: string, quality: QualityCounts): DayResult<WeatherMetrics> {
  const qualite = mergeQuality([quality]);
  return { metrics: { date: day, metrics: null, impact_mobilite: IMPACT_NEUTRE, categories: [], qualite }, quality: qualite };
}

function build(
  day: string,
  m: { temp: number; tmin: number; tmax: number; precip: number; wind: number; conditions: string; source: 'visualcrossing' | 'open-meteo' },
  quality: QualityCounts,
): DayResult<WeatherMetrics> {
  const temp = round2(m.temp);
  const precip = round2(m.precip);
  const wind = round2(m.wind);
  const { categories, impact } = weatherImpact(temp, precip, wind);
  const qualite = mergeQuality([quality]);
  return {
    metrics: {
      date: day,
      metrics: {
        date: day,
        temp_moyenne: temp,
        temp_min: round2(m.tmin),
        temp_max: round2(m.tmax),
        precip_totale: precip,
        vent_moyen: wind,
        conditions: m.conditions,
        impact_mobilite: impact,
        source: m.source,
      },
      impact_mobilite: impact,
      categories,
      qualite,
    },
    quality: qualite,
  };
}

export function finalizeWeatherDay(day: string, partials: WeatherPartial[]): DayResult<WeatherMetrics> {
  const quality = emptyQuality();
  let vc: VcDay | null = null;
  const hours = new Map<number, WeatherHour>();
  for (const p of partials) {
    for (const d of p?.days ?? []) {
      if (d.date !== day) continue;
      if (!vc) vc = d;
      else if (!sameVc(vc, d)) reject(quality, { file: d.file, reason: 'duplicate' });
    }
    for (const h of p?.hours ?? []) {
      if (parisDay(h.t) !== day) continue;
      const prev = hours.get(h.t);
      if (!prev) hours.set(h.t, h);
      else if (!sameHour(prev, h)) reject(quality, { file: h.file, reason: 'duplicate' });
    }
  }

  if (vc) {
    return build(
      day,
      { temp: vc.temp, tmin: vc.tempmin, tmax: vc.tempmax, precip: vc.precip, wind: vc.windspeed, conditions: vc.conditions, source: 'visualcrossing' },
      quality,
    );
  }

  const list = [...hours.values()].sort((a, b) => a.t - b.t);
  const temps = list.map((h) => h.temp).filter((x): x is number => x !== null);
  if (temps.length === 0) {
    // No usable temperature for D (no file held D, or only empty hours).
    reject(quality, { file: '(merge)', reason: 'no_day' });
    return noDay(day, quality);
  }
  const missing = Math.max(0, hoursInDay(day) - list.length);
  for (let i = 0; i < missing; i++) reject(quality, { file: '(merge)', reason: 'missing_hours' });
  const precips = list.map((h) => h.precip).filter((x): x is number => x !== null);
  const winds = list.map((h) => h.wind).filter((x): x is number => x !== null);
  const codes = list.map((h) => h.code).filter((x): x is number => x !== null);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return build(
    day,
    {
      temp: mean(temps),
      tmin: Math.min(...temps),
      tmax: Math.max(...temps),
      precip: precips.reduce((a, b) => a + b, 0),
      wind: winds.length ? mean(winds) : 0,
      // Like Open-Meteo's daily weather_code: the most severe (highest) code of the day.
      conditions: wmoConditions(codes.length ? Math.max(...codes) : null),
      source: 'open-meteo',
    },
    quality,
  );
}

export const weatherHandler: SourceHandler<WeatherPartial, WeatherMetrics> = {
  source: 'weather',
  splittable: false,
  processChunk: processWeatherChunk,
  finalizeDay: (day: string, partials: WeatherPartial[], _ctx: FinalizeContext) => finalizeWeatherDay(day, partials),
};
