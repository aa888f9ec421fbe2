/**
 * Time rules (SPEC §3). Every metric is per calendar day in Europe/Paris; instants are parsed
 * with their offset and never keyed on wall-clock strings. DST days have 23 or 25 hours.
 */

export const PARIS_TZ = 'Europe/Paris';
export const HOUR_MS = 3_600_000;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

const dayFormatter = new Intl.DateTimeFormat('en-CA', {
  timeZone: PARIS_TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});
const partsFormatter = new Intl.DateTimeFormat('en-GB', {
  timeZone: PARIS_TZ,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Strict `YYYY-MM-DD` that is a real calendar date. */
export function isValidDay(day: string): boolean {
  const m = DAY_RE.exec(day);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

// Instants are mostly whole hours: memoise the day of each hour.
const dayCache = new Map<number, string>();

/** Europe/Paris calendar day of an instant. */
export function parisDay(instantMs: number): string {
  // Paris offsets are whole hours, so every instant of a UTC hour shares one Paris day.
  const hourKey = Math.floor(instantMs / HOUR_MS);
  const cached = dayCache.get(hourKey);
  if (cached !== undefined) return cached;
  const day = dayFormatter.format(new Date(hourKey * HOUR_MS));
  if (dayCache.size > 200_000) dayCache.clear();
  dayCache.set(hourKey, day);
  return day;
}

/** UTC offset of Europe/Paris at an instant, in minutes (60 in winter, 120 in summer). */
export function parisOffsetMinutes(instantMs: number): number {
  const p = partsFormatter.formatToParts(new Date(instantMs));
  const get = (t: string) => Number(p.find((x) => x.type === t)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(instantMs / 1000) * 1000) / 60_000);
}

/** Instant of local midnight starting `day` in Europe/Paris. */
export function parisMidnight(day: string): number {
  if (!isValidDay(day)) throw new RangeError(`invalid day: ${day}`);
  const [y, m, d] = day.split('-').map(Number);
  // Midnight is never inside a DST gap in Paris (changes happen at 02:00/03:00).
  const guess = Date.UTC(y, m - 1, d) - 60 * 60_000;
  const off = parisOffsetMinutes(guess);
  return Date.UTC(y, m - 1, d) - off * 60_000;
}

/** Number of hours of a Paris day: 23, 24 or 25. */
export function hoursInDay(day: string): number {
  return Math.round((parisMidnight(addDays(day, 1)) - parisMidnight(day)) / HOUR_MS);
}

/** `day` plus `n` calendar days. */
export function addDays(day: string, n: number): string {
  const m = DAY_RE.exec(day);
  if (!m) throw new RangeError(`invalid day: ${day}`);
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + n));
  return d.toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** ISO 8601 with the Europe/Paris offset, e.g. `2024-10-27T02:00:00+01:00`. */
export function toParisIso(instantMs: number): string {
  const off = parisOffsetMinutes(instantMs);
  const local = new Date(instantMs + off * 60_000).toISOString().slice(0, 19);
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

const ISO_OFFSET_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parse an ISO 8601 timestamp that carries an offset (`…+01:00` or `Z`).
 * Returns NaN for anything else: a timestamp without offset is ambiguous and is not guessed.
 */
export function parseIsoWithOffset(text: string): number {
  const m = ISO_OFFSET_RE.exec(text);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, z] = m;
  if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +h > 23 || +mi > 59 || (s !== undefined && +s > 59)) return NaN;
  let off = 0;
  if (z !== 'Z') {
    const sign = z[0] === '-' ? -1 : 1;
    const digits = z.slice(1).replace(':', '');
    off = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const utc = Date.UTC(+y, +mo - 1, +d, +h, +mi, s === undefined ? 0 : +s) - off * 60_000;
  const check = new Date(Date.UTC(+y, +mo - 1, +d));
  if (check.getUTCDate() !== +d) return NaN;
  return utc;
}

/**
 * Parse a naive local Europe/Paris wall-clock time (`YYYY-MM-DDTHH:MM[:SS]`, or the compact
 * Navitia/PRIM form `YYYYMMDDTHHMMSS`). In the repeated autumn hour the first (summer) instant is
 * taken; a time inside the spring gap is moved forward by the gap, as wall clocks do.
 */
export function parseParisLocal(text: string): number {
  let m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return NaN;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return NaN;
  // Try the summer offset first (first occurrence of a repeated hour), then winter.
  for (const off of [120, 60]) {
    const candidate = wall - off * 60_000;
    if (parisOffsetMinutes(candidate) === off) return candidate;
  }
  // In the spring gap: neither offset round-trips; use the pre-change offset (moves forward).
  return wall - 60 * 60_000;
}

/** Whether the closed interval [start, end] overlaps the Paris day (both ends inclusive). */
export function overlapsDay(startMs: number, endMs: number, day: string): boolean {
  const dayStart = parisMidnight(day);
  const dayEnd = parisMidnight(addDays(day, 1)); // exclusive
  return startMs < dayEnd && endMs >= dayStart;
}

/** Milliseconds of [start, end] that fall inside the Paris day. */
export function overlapWithDayMs(startMs: number, endMs: number, day: string): number {
  const dayStart = parisMidnight(day);
  const dayEnd = parisMidnight(addDays(day, 1));
  return Math.max(0, Math.min(endMs, dayEnd) - Math.max(startMs, dayStart));
}
