/**
 * Public-transport disruptions (IDFM PRIM `disruptions_bulk` v2 and Navitia `disruptions`).
 *
 * A file is a snapshot, so its partial is not tied to a day: under ANY_DAY it holds the valid
 * disruptions and, separately, the line references (line → disruption ids). The real PRIM sample
 * keeps `disruptions` and `lines` in two files of the same snapshot, so only the merge in
 * `finalizeDay` can join them. Navitia embeds its lines inside each disruption; they are turned
 * into the same line references, so both formats merge the same way.
 *
 * Accepted shapes (one JSON document, or JSON Lines with one document per line):
 *   - PRIM: `{disruptions: [...], lines: [...]}` (either key may be absent), or a bare array of
 *     disruptions (objects with `applicationPeriods`), or a bare array of lines (`impactedObjects`);
 *   - Navitia: `{disruptions: [...]}` whose items use `application_periods` (also `line_reports`
 *     responses: their `disruptions` array is read, `line_reports` itself is redundant).
 * The community RATP API (`result.metros/rers/tramways`) has no periods and no ids: it fails with
 * InputFormatError `unknown_format`, as does any other shape.
 *
 * Rejected records: `bad_record` (not an object), `missing_id`, `missing_period` (no periods
 * at all), `bad_period` (no usable period), `duplicate` (same id again: periods are merged),
 * `bad_line` (a line reference without id), `raw_body` / `bad_json_line` (JSON Lines).
 * A period that cannot be parsed, or ends before it begins, inside a disruption that keeps at
 * least one good period is dropped and counted as `dropped_period` (not a record rejection).
 *
 * Severity buckets (old system's keys):
 *   PRIM `severity`: BLOQUANTE → CRITIQUE, PERTURBEE → ELEVEE, INFORMATION → FAIBLE, other → FAIBLE.
 *   Navitia `severity.effect`: NO_SERVICE → CRITIQUE; REDUCED_SERVICE, SIGNIFICANT_DELAYS, DETOUR → ELEVEE;
 *   MODIFIED_SERVICE, ADDITIONAL_SERVICE, OTHER_EFFECT → MOYENNE; anything else (UNKNOWN_EFFECT,
 *   STOP_MOVED, NO_EFFECT, ACCESSIBILITY_ISSUE, missing) → FAIBLE.
 * Blocking = PRIM BLOQUANTE or Navitia NO_SERVICE.
 */
import type { Mode, TrafficMetrics } from '../../shared/metrics-types';
import { ANY_DAY, ChunkOutput, emptyQuality, InputFormatError, mergeQuality, QualityCounts, reject } from '../../shared/model';
import { addDays, HOUR_MS, hoursInDay, overlapsDay, parisMidnight, parseIsoWithOffset, parseParisLocal } from '../../shared/time';
import { countBadLines, readJsonDocuments } from '../json-input';
import type { ChunkInput, DayResult, FinalizeContext, SourceHandler } from '../source-handler';

export type SeverityBucket = 'CRITIQUE' | 'ELEVEE' | 'MOYENNE' | 'FAIBLE';
export const TRAFFIC_MODES: readonly Mode[] = ['metro', 'rer', 'tram', 'bus', 'train', 'autre'];

/** An active disruption lasting at least this long within D is an alert (blocking ones always are). */
export const TRAFFIC_ALERT_MIN_HOURS = 2;
export const TRAFFIC_TOP_LINES = 10;

/** A disruption as kept in the partial (plain JSON; instants in ms since epoch). */
export interface DisruptionRecord {
  id: string;
  feed: 'prim' | 'navitia';
  /** Closed periods [begin, end], sorted, distinct. */
  periods: [number, number][];
  /** The feed's own severity label (PRIM `severity`, Navitia `severity.effect` or `severity.name`). */
  feed_severity: string;
  bucket: SeverityBucket;
  blocking: boolean;
  /** Navitia `severity.priority`; 0 when the feed has none (PRIM). */
  priority: number;
  titre: string | null;
  cause: string | null;
  file: string;
}

/** A line and the disruptions that reference it (from PRIM `lines`, or Navitia impacted objects). */
export interface LineRef {
  /** Line id (`line:IDFM:C01371`); the join and dedup key. */
  id: string;
  ligne: string;
  mode: Mode;
  disruptionIds: string[];
}

export interface TrafficPartial {
  disruptions: DisruptionRecord[];
  lines: LineRef[];
}

// ───────────────────────────── mapping helpers ─────────────────────────────

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string | null {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/**
 * Mode of a structured mode label: PRIM `mode` (Metro, RapidTransit, Tramway, Bus, Train,
 * LocalTrain) or a Navitia commercial/physical mode id or name (`physical_mode:Metro`, `Métro`,
 * `RER`, `Transilien`…). Never applied to free text.
 */
export function transportModeOf(label: string | null | undefined): Mode | null {
  if (!label) return null;
  const raw = label.includes(':') ? label.slice(label.lastIndexOf(':') + 1) : label;
  const k = fold(raw);
  if (k === '') return null;
  if (k === 'metro' || k === 'subway') return 'metro';
  if (k === 'rapidtransit' || k === 'rer') return 'rer';
  if (k === 'tramway' || k === 'tram' || k === 'lightrail') return 'tram';
  if (k === 'bus' || k === 'busrapidtransit' || k === 'coach' || k === 'noctilien' || k === 'shuttle') return 'bus';
  if (
    k === 'train' ||
    k === 'localtrain' ||
    k === 'longdistancetrain' ||
    k === 'transilien' ||
    k === 'ter' ||
    k === 'rail' ||
    k === 'suburbanrail'
  )
    return 'train';
  return null;
}

export function primBucket(severity: string | null): SeverityBucket {
  switch (severity?.toUpperCase()) {
    case 'BLOQUANTE':
      return 'CRITIQUE';
    case 'PERTURBEE':
      return 'ELEVEE';
    default:
      return 'FAIBLE';
  }
}

export function navitiaBucket(effect: string | null): SeverityBucket {
  switch (effect?.toUpperCase()) {
    case 'NO_SERVICE':
      return 'CRITIQUE';
    case 'REDUCED_SERVICE':
    case 'SIGNIFICANT_DELAYS':
    case 'DETOUR':
      return 'ELEVEE';
    case 'MODIFIED_SERVICE':
    case 'ADDITIONAL_SERVICE':
    case 'OTHER_EFFECT':
      return 'MOYENNE';
    default:
      return 'FAIBLE';
  }
}

/** Europe/Paris local compact time (`20250309T044500`), local ISO, or ISO with an offset. */
function parseFeedTime(v: unknown): number {
  if (typeof v !== 'string') return NaN;
  const t = v.trim();
  const local = parseParisLocal(t);
  return Number.isNaN(local) ? parseIsoWithOffset(t) : local;
}

// ───────────────────────────── parsing ─────────────────────────────

interface Ctx {
  file: string;
  quality: QualityCounts;
  disruptions: Map<string, DisruptionRecord>;
  lines: Map<string, LineRef>;
}

function parsePeriods(raw: unknown, ctx: Ctx): [number, number][] | 'missing' | 'bad' {
  if (!Array.isArray(raw) || raw.length === 0) return 'missing';
  const out: [number, number][] = [];
  let dropped = 0;
  for (const p of raw) {
    const b = isObject(p) ? parseFeedTime(p.begin) : NaN;
    const e = isObject(p) ? parseFeedTime(p.end) : NaN;
    if (Number.isNaN(b) || Number.isNaN(e) || e < b) dropped++;
    else out.push([b, e]);
  }
  if (out.length === 0) return 'bad';
  for (let i = 0; i < dropped; i++) reject(ctx.quality, { file: ctx.file, reason: 'dropped_period' });
  return normalisePeriods(out);
}

function normalisePeriods(periods: [number, number][]): [number, number][] {
  const seen = new Set<string>();
  const out: [number, number][] = [];
  for (const p of [...periods].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    const k = `${p[0]}/${p[1]}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  return out;
}

function addDisruption(rec: DisruptionRecord, target: Map<string, DisruptionRecord>): boolean {
  const prev = target.get(rec.id);
  if (!prev) {
    target.set(rec.id, rec);
    return true;
  }
  prev.periods = normalisePeriods([...prev.periods, ...rec.periods]);
  return false;
}

function addLine(ref: LineRef, target: Map<string, LineRef>): void {
  const prev = target.get(ref.id);
  if (!prev) {
    target.set(ref.id, { ...ref, disruptionIds: [...new Set(ref.disruptionIds)].sort() });
    return;
  }
  prev.disruptionIds = [...new Set([...prev.disruptionIds, ...ref.disruptionIds])].sort();
}

function acceptDisruption(rec: DisruptionRecord, ctx: Ctx): void {
  if (addDisruption(rec, ctx.disruptions)) ctx.quality.accepted++;
  else reject(ctx.quality, { file: ctx.file, reason: 'duplicate' });
}

function readPrimDisruption(d: unknown, ctx: Ctx): void {
  ctx.quality.records++;
  if (!isObject(d)) return reject(ctx.quality, { file: ctx.file, reason: 'bad_record' });
  const id = str(d.id);
  if (!id) return reject(ctx.quality, { file: ctx.file, reason: 'missing_id' });
  const periods = parsePeriods(d.applicationPeriods, ctx);
  if (periods === 'missing') return reject(ctx.quality, { file: ctx.file, reason: 'missing_period' });
  if (periods === 'bad') return reject(ctx.quality, { file: ctx.file, reason: 'bad_period' });
  const severity = str(d.severity)?.toUpperCase() ?? 'INCONNUE';
  acceptDisruption(
    {
      id,
      feed: 'prim',
      periods,
      feed_severity: severity,
      bucket: primBucket(severity),
      blocking: severity === 'BLOQUANTE',
      priority: 0,
      titre: str(d.title) ?? str(d.shortMessage),
      cause: str(d.cause),
      file: ctx.file,
    },
    ctx,
  );
}

function readPrimLine(l: unknown, ctx: Ctx): void {
  ctx.quality.records++;
  if (!isObject(l)) return reject(ctx.quality, { file: ctx.file, reason: 'bad_record' });
  const id = str(l.id);
  if (!id) return reject(ctx.quality, { file: ctx.file, reason: 'bad_line' });
  const ids: string[] = [];
  if (Array.isArray(l.impactedObjects)) {
    for (const o of l.impactedObjects) {
      if (!isObject(o) || !Array.isArray(o.disruptionIds)) continue;
      for (const x of o.disruptionIds) {
        const s = str(x);
        if (s) ids.push(s);
      }
    }
  }
  addLine({ id, ligne: str(l.shortName) ?? str(l.name) ?? id, mode: transportModeOf(str(l.mode)) ?? 'autre', disruptionIds: ids }, ctx.lines);
  ctx.quality.accepted++;
}

/** Navitia line object → reference (mode from commercial_mode, else physical_modes). */
function navitiaLine(line: unknown, disruptionId: string): LineRef | null {
  if (!isObject(line)) return null;
  const id = str(line.id);
  if (!id) return null;
  let mode: Mode | null = null;
  const cm = line.commercial_mode;
  if (isObject(cm)) mode = transportModeOf(str(cm.id)) ?? transportModeOf(str(cm.name));
  if (!mode && Array.isArray(line.physical_modes)) {
    for (const pm of line.physical_modes) {
      if (isObject(pm)) mode = transportModeOf(str(pm.id)) ?? transportModeOf(str(pm.name));
      if (mode) break;
    }
  }
  return { id, ligne: str(line.code) ?? str(line.name) ?? id, mode: mode ?? 'autre', disruptionIds: [disruptionId] };
}

function navitiaTitle(d: Record<string, unknown>): string | null {
  if (!Array.isArray(d.messages)) return null;
  for (const m of d.messages) {
    if (!isObject(m)) continue;
    const text = str(m.text);
    if (text) return text.length > 200 ? `${text.slice(0, 199)}…` : text;
  }
  return null;
}

function readNavitiaDisruption(d: unknown, ctx: Ctx): void {
  ctx.quality.records++;
  if (!isObject(d)) return reject(ctx.quality, { file: ctx.file, reason: 'bad_record' });
  const id = str(d.id) ?? str(d.impact_id) ?? str(d.disruption_id);
  if (!id) return reject(ctx.quality, { file: ctx.file, reason: 'missing_id' });
  const periods = parsePeriods(d.application_periods, ctx);
  if (periods === 'missing') return reject(ctx.quality, { file: ctx.file, reason: 'missing_period' });
  if (periods === 'bad') return reject(ctx.quality, { file: ctx.file, reason: 'bad_period' });
  const sev = isObject(d.severity) ? d.severity : {};
  const effect = str(sev.effect)?.toUpperCase() ?? null;
  const priority = typeof sev.priority === 'number' && Number.isFinite(sev.priority) ? sev.priority : 0;
  acceptDisruption(
    {
      id,
      feed: 'navitia',
      periods,
      feed_severity: effect ?? str(sev.name) ?? 'INCONNUE',
      bucket: navitiaBucket(effect),
      blocking: effect === 'NO_SERVICE',
      priority,
      titre: navitiaTitle(d),
      cause: str(d.cause),
      file: ctx.file,
    },
    ctx,
  );
  if (Array.isArray(d.impacted_objects)) {
    for (const o of d.impacted_objects) {
      const pt = isObject(o) && isObject(o.pt_object) ? o.pt_object : null;
      if (!pt) continue;
      const type = str(pt.embedded_type);
      let line: unknown = null;
      if (type === 'line') line = pt.line;
      else if (type === 'route' && isObject(pt.route)) line = pt.route.line;
      else if (type === 'line_section' && isObject(pt.line_section)) line = pt.line_section.line;
      const ref = navitiaLine(line, id);
      if (ref) addLine(ref, ctx.lines);
    }
  }
}

function looksPrimDisruption(x: unknown): boolean {
  return isObject(x) && ('applicationPeriods' in x || (typeof x.severity === 'string' && !('application_periods' in x)));
}
function looksNavitiaDisruption(x: unknown): boolean {
  return isObject(x) && ('application_periods' in x || 'impacted_objects' in x || isObject(x.severity));
}
function looksPrimLine(x: unknown): boolean {
  return isObject(x) && ('impactedObjects' in x || ('shortName' in x && 'mode' in x));
}

function readDisruptionArray(items: unknown[], ctx: Ctx): void {
  for (const d of items) {
    if (looksNavitiaDisruption(d) && !looksPrimDisruption(d)) readNavitiaDisruption(d, ctx);
    else readPrimDisruption(d, ctx);
  }
}

function readDocument(doc: unknown, ctx: Ctx): void {
  if (Array.isArray(doc)) {
    if (doc.length === 0) return;
    const first = doc.find(isObject);
    if (first && looksPrimLine(first) && !looksPrimDisruption(first)) {
      for (const l of doc) readPrimLine(l, ctx);
      return;
    }
    if (first && (looksPrimDisruption(first) || looksNavitiaDisruption(first))) {
      readDisruptionArray(doc, ctx);
      return;
    }
    throw new InputFormatError(
      `${ctx.file}: unknown traffic format (a JSON array whose items are neither disruptions with application periods nor lines with impactedObjects)`,
      'unknown_format',
    );
  }
  if (!isObject(doc)) {
    throw new InputFormatError(`${ctx.file}: unknown traffic format (a JSON ${doc === null ? 'null' : typeof doc}, expected an object or array)`, 'unknown_format');
  }
  const result = doc.result;
  if (isObject(result) && ('metros' in result || 'rers' in result || 'tramways' in result)) {
    throw new InputFormatError(
      `${ctx.file}: community RATP API format (result.metros/rers/tramways) is not supported: it carries line statuses only, ` +
        'with no disruption ids nor application periods; use PRIM disruptions_bulk or Navitia disruptions',
      'unknown_format',
    );
  }
  const hasDisruptions = Array.isArray(doc.disruptions);
  const hasLines = Array.isArray(doc.lines);
  if (!hasDisruptions && !hasLines) {
    throw new InputFormatError(
      `${ctx.file}: unknown traffic format (no "disruptions" or "lines" array; keys: ${Object.keys(doc).slice(0, 8).join(', ') || 'none'})`,
      'unknown_format',
    );
  }
  if (hasDisruptions) readDisruptionArray(doc.disruptions as unknown[], ctx);
  if (hasLines) for (const l of doc.lines as unknown[]) readPrimLine(l, ctx);
}

export function processTrafficChunk(input: ChunkInput): ChunkOutput<TrafficPartial> {
  const file = input.file.relPath;
  const quality = emptyQuality();
  const { documents, badLines } = readJsonDocuments(input.bytes, file);
  countBadLines(quality, file, badLines);
  const ctx: Ctx = { file, quality, disruptions: new Map(), lines: new Map() };
  for (const doc of documents) readDocument(doc, ctx);
  const partial: TrafficPartial = {
    disruptions: [...ctx.disruptions.values()],
    lines: [...ctx.lines.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
  return { partials: { [ANY_DAY]: partial }, quality };
}

// ───────────────────────────── day metrics ─────────────────────────────

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Union of closed intervals clipped to [from, to): total ms. */
function coveredMs(periods: [number, number][], from: number, to: number): number {
  const clipped = periods
    .map(([b, e]) => [Math.max(b, from), Math.min(e, to)] as [number, number])
    .filter(([b, e]) => e > b)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curB = NaN;
  let curE = NaN;
  for (const [b, e] of clipped) {
    if (Number.isNaN(curB) || b > curE) {
      if (!Number.isNaN(curB)) total += curE - curB;
      curB = b;
      curE = e;
    } else if (e > curE) curE = e;
  }
  if (!Number.isNaN(curB)) total += curE - curB;
  return total;
}

/** Natural order for line names: numbers by value, then text ("2" < "10" < "A" < "T3b"). */
export function compareLigne(a: string, b: string): number {
  return a.localeCompare(b, 'fr', { numeric: true, sensitivity: 'base' }) || (a < b ? -1 : a > b ? 1 : 0);
}

const MODE_RANK: Record<Mode, number> = { metro: 0, rer: 1, tram: 2, train: 3, bus: 4, autre: 5 };

export function finalizeTrafficDay(day: string, partials: TrafficPartial[]): DayResult<TrafficMetrics> {
  const quality = emptyQuality();
  const disruptions = new Map<string, DisruptionRecord>();
  const lines = new Map<string, LineRef>();
  for (const p of partials) {
    for (const d of p?.disruptions ?? []) {
      const copy: DisruptionRecord = { ...d, periods: d.periods.map((x) => [x[0], x[1]] as [number, number]) };
      if (!addDisruption(copy, disruptions)) reject(quality, { file: d.file, reason: 'duplicate' });
    }
    for (const l of p?.lines ?? []) addLine(l, lines);
  }

  const dayStart = parisMidnight(day);
  const dayEnd = parisMidnight(addDays(day, 1));
  const active = [...disruptions.values()]
    .filter((d) => d.periods.some(([b, e]) => overlapsDay(b, e, day)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const activeIds = new Set(active.map((d) => d.id));

  // Line references → which lines each disruption touches; references to unknown ids are counted once per id.
  const linesOf = new Map<string, LineRef[]>();
  const unknownRefs = new Set<string>();
  for (const l of lines.values()) {
    for (const id of l.disruptionIds) {
      if (!disruptions.has(id)) {
        unknownRefs.add(id);
        continue;
      }
      const list = linesOf.get(id) ?? [];
      list.push(l);
      linesOf.set(id, list);
    }
  }
  for (let i = 0; i < unknownRefs.size; i++) reject(quality, { file: '(merge)', reason: 'unknown_disruption_ref' });

  const bySeverity = { CRITIQUE: 0, ELEVEE: 0, MOYENNE: 0, FAIBLE: 0 };
  const byFeed: Record<string, number> = {};
  const lineCounts = new Map<string, number>();
  for (const d of active) {
    bySeverity[d.bucket]++;
    byFeed[d.feed_severity] = (byFeed[d.feed_severity] ?? 0) + 1;
    for (const l of linesOf.get(d.id) ?? []) lineCounts.set(l.id, (lineCounts.get(l.id) ?? 0) + 1);
  }
  const byFeedSorted: Record<string, number> = {};
  for (const k of Object.keys(byFeed).sort()) byFeedSorted[k] = byFeed[k];

  const impacted = [...lineCounts.entries()].map(([id, count]) => ({ line: lines.get(id)!, count }));
  impacted.sort(
    (a, b) =>
      b.count - a.count ||
      MODE_RANK[a.line.mode] - MODE_RANK[b.line.mode] ||
      compareLigne(a.line.ligne, b.line.ligne) ||
      (a.line.id < b.line.id ? -1 : a.line.id > b.line.id ? 1 : 0),
  );
  const top = impacted.slice(0, TRAFFIC_TOP_LINES).map(({ line, count }) => ({ ligne: line.ligne, mode: line.mode, count }));

  const parMode = {} as Record<Mode, string[]>;
  for (const m of TRAFFIC_MODES) parMode[m] = [];
  for (const { line } of impacted) if (!parMode[line.mode].includes(line.ligne)) parMode[line.mode].push(line.ligne);
  for (const m of TRAFFIC_MODES) parMode[m].sort(compareLigne);

  const alerts = active
    .map((d) => {
      const ms = coveredMs(d.periods, dayStart, dayEnd);
      const lignes = [...new Set((linesOf.get(d.id) ?? []).map((l) => l.ligne))].sort(compareLigne);
      return { d, ms, lignes };
    })
    .filter(({ d, ms }) => d.blocking || ms >= TRAFFIC_ALERT_MIN_HOURS * HOUR_MS)
    .sort((a, b) => b.ms - a.ms || (a.d.id < b.d.id ? -1 : a.d.id > b.d.id ? 1 : 0))
    .map(({ d, ms, lignes }) => ({
      id: d.id,
      titre: d.titre,
      severite: d.bucket,
      priority: d.priority,
      duration_hours: round2(ms / HOUR_MS),
      lignes,
      bloquante: d.blocking,
    }));

  // Reliability: (line, hour) slots of D with no blocking disruption active during that hour.
  const hours = hoursInDay(day);
  let blockedSlots = 0;
  for (const l of lines.values()) {
    const blocking = l.disruptionIds.map((id) => disruptions.get(id)).filter((d): d is DisruptionRecord => !!d && d.blocking && activeIds.has(d.id));
    if (blocking.length === 0) continue;
    for (let h = 0; h < hours; h++) {
      const hs = dayStart + h * HOUR_MS;
      const he = hs + HOUR_MS;
      const hit = blocking.some((d) => d.periods.some(([b, e]) => (b === e ? b >= hs && b < he : b < he && e > hs)));
      if (hit) blockedSlots++;
    }
  }
  const slots = lines.size * hours;
  const reliability = slots === 0 ? 100 : round2((100 * (slots - blockedSlots)) / slots);

  const qualite = mergeQuality([quality]);
  return {
    metrics: {
      date: day,
      reliability_index: reliability,
      active_disruptions_count: active.length,
      total_disruptions_count: disruptions.size,
      disruptions_by_severity: bySeverity,
      disruptions_by_feed_severity: byFeedSorted,
      top_lignes_impactees: top,
      lignes_impactees_par_mode: parMode,
      alerts,
      qualite,
    },
    quality: qualite,
  };
}

export const trafficHandler: SourceHandler<TrafficPartial, TrafficMetrics> = {
  source: 'traffic',
  splittable: false,
  processChunk: processTrafficChunk,
  finalizeDay: (day: string, partials: TrafficPartial[], _ctx: FinalizeContext) => finalizeTrafficDay(day, partials),
};
