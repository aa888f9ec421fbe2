import * as fs from 'node:fs';
import * as path from 'node:path';
import { ANY_DAY } from '../src/shared/model';
import { trafficHandler, TrafficPartial } from '../src/sources/traffic';
import { formatError, testFileRef } from './helpers';

const REAL = path.resolve(__dirname, '../../../test/fixtures/real/idfm-disruptions');
const BUILT = path.resolve(__dirname, '../../../test/fixtures/built/traffic');
const DISRUPTIONS = 'maximechab_prim_disruptions_bulk_v2_disruptions_2025-02-04.json';
const LINES = 'maximechab_prim_disruptions_bulk_v2_lines_2025-02-04.json';
const PGRIMAUD = 'pgrimaud_api-ratp-v4_traffic_readme-example_2019-06-02.json';
const NAVITIA = 'navitia_disruptions_handmade_2025-02-04.json';
const DAY = '2025-02-04';

const fileRef = (relPath: string, size: number) => testFileRef('traffic', relPath, size);

function run(bytes: Buffer, relPath: string) {
  return trafficHandler.processChunk({ file: fileRef(relPath, bytes.length), range: { index: 0, start: 0, end: bytes.length }, bytes });
}

const realBytes = (name: string) => fs.readFileSync(path.join(REAL, name));
const partialOf = (bytes: Buffer, name: string): TrafficPartial => run(bytes, name).partials[ANY_DAY];


// ───────── independent expectations from the raw JSON, with plain code ─────────
// February has no DST change, so on 2025-02-04 compact local strings compare like instants.

interface RawDisruption {
  id: string;
  severity: string;
  applicationPeriods: { begin: string; end: string }[];
}
interface RawLine {
  id: string;
  shortName: string;
  mode: string;
  impactedObjects: { disruptionIds: string[] }[];
}

const rawDisruptions = JSON.parse(realBytes(DISRUPTIONS).toString('utf8')) as RawDisruption[];
const rawLines = JSON.parse(realBytes(LINES).toString('utf8')) as RawLine[];
const D0 = '20250204T000000';
const D1 = '20250205T000000';

const isActive = (d: RawDisruption) => d.applicationPeriods.some((p) => p.begin < D1 && p.end >= D0);

/** Seconds of the local day covered by the union of the periods (1-second resolution). */
function secondsWithinDay(d: RawDisruption): number {
  const toSec = (s: string) => {
    if (s < D0) return 0;
    if (s >= D1) return 86400;
    return Number(s.slice(9, 11)) * 3600 + Number(s.slice(11, 13)) * 60 + Number(s.slice(13, 15));
  };
  const covered = new Uint8Array(86400);
  for (const p of d.applicationPeriods) covered.fill(1, toSec(p.begin), Math.max(toSec(p.begin), toSec(p.end)));
  return covered.reduce((a, b) => a + b, 0);
}

const hh = (h: number) => (h === 24 ? D1 : `20250204T${String(h).padStart(2, '0')}0000`);

describe('traffic: PRIM disruptions_bulk v2 snapshot of 2025-02-04 (two real files)', () => {
  const pd = partialOf(realBytes(DISRUPTIONS), `api/traffic/${DAY}/${DISRUPTIONS}`);
  const pl = partialOf(realBytes(LINES), `api/traffic/${DAY}/${LINES}`);
  const result = trafficHandler.finalizeDay(DAY, [pd, pl], {});
  const m = result.metrics;
  const active = rawDisruptions.filter(isActive);
  const activeIds = new Set(active.map((d) => d.id));
  const byId = new Map(rawDisruptions.map((d) => [d.id, d]));

  it('reads every disruption and line record', () => {
    const q1 = run(realBytes(DISRUPTIONS), DISRUPTIONS).quality;
    const q2 = run(realBytes(LINES), LINES).quality;
    expect(q1).toMatchObject({ records: 836, accepted: 836, rejected: {} });
    expect(q2).toMatchObject({ records: 636, accepted: 636, rejected: {} });
    expect(result.quality.rejected).toEqual({});
  });

  it('counts total and active disruptions like plain code over the JSON', () => {
    expect(m.total_disruptions_count).toBe(836);
    expect(m.active_disruptions_count).toBe(active.length);
    expect(active.length).toBeGreaterThan(0);
    expect(active.length).toBeLessThan(836);
  });

  it('counts severities over the active disruptions, in old buckets and in the feed labels', () => {
    const count = (s: string) => active.filter((d) => d.severity === s).length;
    expect(m.disruptions_by_feed_severity).toEqual({ BLOQUANTE: count('BLOQUANTE'), INFORMATION: count('INFORMATION'), PERTURBEE: count('PERTURBEE') });
    expect(m.disruptions_by_severity).toEqual({ CRITIQUE: count('BLOQUANTE'), ELEVEE: count('PERTURBEE'), MOYENNE: 0, FAIBLE: count('INFORMATION') });
  });

  it('takes the impacted metro (and other) lines from the structured `lines` references', () => {
    const impacted = (mode: string) =>
      rawLines
        .filter((l) => l.mode === mode && l.impactedObjects.some((o) => o.disruptionIds.some((id) => activeIds.has(id))))
        .map((l) => l.shortName)
        .sort((a, b) => a.localeCompare(b, 'fr', { numeric: true }));
    expect(m.lignes_impactees_par_mode.metro).toEqual(impacted('Metro'));
    expect(m.lignes_impactees_par_mode.rer).toEqual(impacted('RapidTransit'));
    expect(m.lignes_impactees_par_mode.tram).toEqual(impacted('Tramway'));
    const trains = [...new Set([...impacted('Train'), ...impacted('LocalTrain')])].sort((a, b) => a.localeCompare(b, 'fr', { numeric: true }));
    expect(m.lignes_impactees_par_mode.train).toEqual(trains);
    expect(new Set(m.lignes_impactees_par_mode.bus)).toEqual(new Set(impacted('Bus')));
    expect(m.lignes_impactees_par_mode.autre).toEqual([]);
  });

  it('ranks the top impacted lines by number of active disruptions', () => {
    const counts = rawLines.map((l) => ({
      l,
      n: new Set(l.impactedObjects.flatMap((o) => o.disruptionIds).filter((id) => activeIds.has(id))).size,
    }));
    const sortedCounts = counts.map((c) => c.n).sort((a, b) => b - a);
    expect(m.top_lignes_impactees).toHaveLength(10);
    expect(m.top_lignes_impactees.map((t) => t.count)).toEqual(sortedCounts.slice(0, 10));
    const best = counts.filter((c) => c.n === sortedCounts[0]).map((c) => c.l.shortName);
    expect(best).toContain(m.top_lignes_impactees[0].ligne);
  });

  it('computes alerts (blocking, or ≥ 2 h within the day) with the duration within the day', () => {
    const expected = active
      .map((d) => ({ id: d.id, h: Math.round((secondsWithinDay(d) / 3600) * 100) / 100, blocking: d.severity === 'BLOQUANTE' }))
      .filter((a) => a.blocking || a.h >= 2);
    expect(m.alerts).toHaveLength(expected.length);
    const got = new Map(m.alerts.map((a) => [a.id, a]));
    for (const e of expected) {
      expect(got.get(e.id)!.duration_hours).toBe(e.h);
      expect(got.get(e.id)!.bloquante).toBe(e.blocking);
    }
    for (let i = 1; i < m.alerts.length; i++) expect(m.alerts[i - 1].duration_hours).toBeGreaterThanOrEqual(m.alerts[i].duration_hours);
    expect(Math.max(...m.alerts.map((a) => a.duration_hours))).toBeLessThanOrEqual(24);
    // Lines come from the references, not from the message text.
    const withLines = m.alerts.find((a) => a.lignes.length > 0)!;
    const refs = rawLines.filter((l) => l.impactedObjects.some((o) => o.disruptionIds.includes(withLines.id))).map((l) => l.shortName);
    expect(new Set(withLines.lignes)).toEqual(new Set(refs));
  });

  it('computes the reliability index over (line, hour) slots of the day', () => {
    let blocked = 0;
    for (const l of rawLines) {
      const ids = new Set(l.impactedObjects.flatMap((o) => o.disruptionIds));
      const blocking = [...ids].map((id) => byId.get(id)!).filter((d) => d.severity === 'BLOQUANTE');
      for (let h = 0; h < 24; h++) {
        if (blocking.some((d) => d.applicationPeriods.some((p) => p.begin < hh(h + 1) && p.end > hh(h)))) blocked++;
      }
    }
    const slots = rawLines.length * 24;
    expect(m.reliability_index).toBe(Math.round(((100 * (slots - blocked)) / slots) * 100) / 100);
    expect(m.reliability_index).toBeGreaterThan(0);
    expect(m.reliability_index).toBeLessThan(100);
  });

  it('gives the same metrics whatever the order or packaging of the snapshot', () => {
    const reversed = trafficHandler.finalizeDay(DAY, [pl, pd], {}).metrics;
    expect(reversed).toEqual(m);
    const envelope = Buffer.from(JSON.stringify({ disruptions: rawDisruptions, lines: rawLines, lastUpdatedDate: '2025-02-04T14:46:25' }));
    expect(trafficHandler.finalizeDay(DAY, [partialOf(envelope, 'one.json')], {}).metrics).toEqual(m);
    // JSON Lines, one document per line, with one non-JSON body recorded by the ingestion Lambda.
    const jsonl = [
      JSON.stringify({ disruptions: rawDisruptions.slice(0, 400) }),
      JSON.stringify({ _raw: '<html><body>504 Gateway Time-out</body></html>' }),
      JSON.stringify({ disruptions: rawDisruptions.slice(400) }),
      JSON.stringify({ lines: rawLines }),
    ].join('\n');
    const out = run(Buffer.from(jsonl), 'stream-data-1.jsonl');
    expect(out.quality.rejected).toEqual({ raw_body: 1 });
    expect(trafficHandler.finalizeDay(DAY, [out.partials[ANY_DAY]], {}).metrics).toEqual(m);
  });

  it('merges the same snapshot given twice without double counting, and counts the duplicates', () => {
    const again = partialOf(realBytes(DISRUPTIONS), 'hour=15/disruptions.json');
    const r = trafficHandler.finalizeDay(DAY, [pd, again, pl], {});
    expect(r.quality.rejected.duplicate).toBe(836);
    expect({ ...r.metrics, qualite: m.qualite }).toEqual(m);
  });

  it('a disruption seen in two files with different periods keeps both periods', () => {
    const d = rawDisruptions.find((x) => !isActive(x) && x.applicationPeriods.length === 1)!;
    const moved = { ...d, applicationPeriods: [{ begin: '20250204T100000', end: '20250204T130000' }] };
    const p2 = partialOf(Buffer.from(JSON.stringify([moved])), 'later.json');
    const r = trafficHandler.finalizeDay(DAY, [pd, p2, pl], {});
    expect(r.quality.rejected.duplicate).toBe(1);
    expect(r.metrics.total_disruptions_count).toBe(836);
    expect(r.metrics.active_disruptions_count).toBe(active.length + 1);
  });

  it('counts line references to disruptions that no file holds', () => {
    const r = trafficHandler.finalizeDay(DAY, [pl], {});
    const referenced = new Set(rawLines.flatMap((l) => l.impactedObjects.flatMap((o) => o.disruptionIds)));
    expect(r.quality.rejected.unknown_disruption_ref).toBe(referenced.size);
    expect(r.metrics.active_disruptions_count).toBe(0);
    expect(r.metrics.reliability_index).toBe(100);
  });
});

describe('traffic: Navitia disruptions (hand-made fixture)', () => {
  const out = run(fs.readFileSync(path.join(BUILT, NAVITIA)), NAVITIA);
  const r = trafficHandler.finalizeDay(DAY, [out.partials[ANY_DAY]], {});
  const m = r.metrics;

  it('rejects the unusable records with reasons and drops the bad period', () => {
    // 9 items: nav-0007 (bad period only), nav-0008 (no period), second nav-0003 (duplicate).
    expect(out.quality.records).toBe(9);
    expect(out.quality.accepted).toBe(6);
    expect(out.quality.rejected).toEqual({ bad_period: 1, duplicate: 1, missing_period: 1, dropped_period: 1 });
  });

  it('computes the day by hand-checked values', () => {
    expect(m.total_disruptions_count).toBe(6);
    // nav-0005 starts at 02-05 00:00, so it is not active; nav-0006 ends at 02-04 00:00, so it is.
    expect(m.active_disruptions_count).toBe(5);
    expect(m.disruptions_by_severity).toEqual({ CRITIQUE: 2, ELEVEE: 2, MOYENNE: 1, FAIBLE: 0 });
    expect(m.disruptions_by_feed_severity).toEqual({ MODIFIED_SERVICE: 1, NO_SERVICE: 2, REDUCED_SERVICE: 1, SIGNIFICANT_DELAYS: 1 });
    expect(m.lignes_impactees_par_mode).toEqual({ metro: ['1', '14'], rer: ['A'], tram: ['T3b'], bus: ['91'], train: [], autre: [] });
    expect(m.top_lignes_impactees).toEqual([
      { ligne: '1', mode: 'metro', count: 1 },
      { ligne: '14', mode: 'metro', count: 1 },
      { ligne: 'A', mode: 'rer', count: 1 },
      { ligne: 'T3b', mode: 'tram', count: 1 },
      { ligne: '91', mode: 'bus', count: 1 },
    ]);
    expect(m.alerts.map((a) => [a.id, a.duration_hours, a.bloquante, a.severite, a.lignes])).toEqual([
      ['nav-0004', 24, false, 'MOYENNE', ['91']],
      ['nav-0002', 2.5, false, 'ELEVEE', ['A']],
      ['nav-0003', 2.5, false, 'ELEVEE', ['T3b']], // 10:00–11:30 + 15:00–16:00 merged from the duplicate
      ['nav-0001', 2, true, 'CRITIQUE', ['1']],
      ['nav-0006', 0, true, 'CRITIQUE', ['14']],
    ]);
    expect(m.alerts[0].titre).toContain('Bus 91');
    expect(m.alerts[3].priority).toBe(4);
    // 5 lines × 24 h; Métro 1 blocked 22:00–24:00 → 2 slots; nav-0006 ends at midnight → none.
    expect(m.reliability_index).toBe(Math.round((100 * 118 * 100) / 120) / 100);
  });

  it('the next day sees nav-0005 and the end of nav-0001', () => {
    const next = trafficHandler.finalizeDay('2025-02-05', [out.partials[ANY_DAY]], {}).metrics;
    expect(next.active_disruptions_count).toBe(3); // nav-0001, nav-0004, nav-0005
    // Métro 1 blocked 00:00–05:00 (5 slots), Métro 14 00:00–06:00 (6 slots).
    expect(next.reliability_index).toBe(Math.round(((100 * (120 - 11)) / 120) * 100) / 100);
  });
});

describe('traffic bad input', () => {
  it('a disruption with an unparseable period is counted, never thrown', () => {
    const d = rawDisruptions[0];
    const bad = [
      { ...d, id: 'x-1', applicationPeriods: [{ begin: '2025-02-04 08:00', end: 'soon' }] },
      { ...d, id: 'x-2', applicationPeriods: [{ begin: '20250204T080000', end: '20250204T070000' }] },
      { ...d, id: 'x-3', applicationPeriods: [] },
      { ...d, id: '' },
      { ...d, id: 'x-4', applicationPeriods: [{ begin: '20250204T080000', end: '20250204T100000' }, { begin: 'x', end: 'y' }] },
      42,
    ];
    const out = run(Buffer.from(JSON.stringify(bad)), 'bad.json');
    expect(out.quality.records).toBe(6);
    expect(out.quality.accepted).toBe(1);
    expect(out.quality.rejected).toEqual({ bad_period: 2, bad_record: 1, dropped_period: 1, missing_id: 1, missing_period: 1 });
    const m = trafficHandler.finalizeDay(DAY, [out.partials[ANY_DAY]], {}).metrics;
    expect(m.active_disruptions_count).toBe(1);
  });

  it('not JSON, empty, and unknown shapes fail the file with a named error', () => {
    expect(formatError(() => run(Buffer.from('<html>503</html>'), 'x.json')).code).toBe('not_json');
    expect(formatError(() => run(Buffer.from('  \n'), 'x.json')).code).toBe('empty_file');
    expect(formatError(() => run(Buffer.from('{"foo": 1}'), 'x.json')).code).toBe('unknown_format');
    expect(formatError(() => run(Buffer.from('[{"foo": 1}]'), 'x.json')).code).toBe('unknown_format');
  });

  it('the community RATP format is recognised and refused with a clear message', () => {
    const e = formatError(() => run(realBytes(PGRIMAUD), PGRIMAUD));
    expect(e.code).toBe('unknown_format');
    expect(e.message).toMatch(/result\.metros/);
  });

  it('no partials at all gives an empty, finite day', () => {
    const m = trafficHandler.finalizeDay(DAY, [], {}).metrics;
    expect(m).toMatchObject({ reliability_index: 100, active_disruptions_count: 0, total_disruptions_count: 0, alerts: [], top_lignes_impactees: [] });
  });
});
