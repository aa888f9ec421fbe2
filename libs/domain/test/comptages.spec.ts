/**
 * comptages on the real exports (test/fixtures/real/comptages-routiers-permanents, see SOURCES.md).
 * Expected values come from an independent reading of the files: these exports have no quoted
 * newline and no `;` inside geo_shape, so a plain line split is a correct parser for them; days
 * are computed with the platform's Date/Intl, not with the project's time helpers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planChunks } from '../src/csv';
import { FileRef, InputFormatError, mergeQuality, QualityCounts } from '../src/shared/model';
import type { ComptagesMetrics, EtatTrafic, ReferentielArc } from '../src/shared/metrics-types';
import { ComptagesPartial, comptagesHandler, decodeComptagesPartial, encodeComptagesPartial } from '../src/sources/comptages';
import { partialRows } from './helpers';
import { referentielHandler, referentielLookup } from '../src/sources/referentiel';

const REAL = path.resolve(__dirname, '../../../test/fixtures/real');
const DIR = path.join(REAL, 'comptages-routiers-permanents');
const INPUT = path.join(DIR, 'bcg_data-input_arc4264_2022-12-05_to_2022-12-08.csv');
const CONVENTION = path.join(DIR, 'bcg_data-convention_arc5671_2022-11-01_to_2022-12-08.csv');
const PERES = path.join(DIR, 'bcg_data-peres_arc191_2022-11-01_to_2022-12-08.csv');
const WASHINGTON = path.join(DIR, 'louisgthier_comptages-routiers-permanents-washington_arc4264_2024-10-01_to_2024-12-06.csv');
const MULTI = path.join(DIR, 'mael8zinsou_traffic_sample_first33rows_multi-arc_2024-2025.csv');
const MALFORMED = path.join(DIR, 'bcg_comptages-routiers-permanents_arc4264_2022-11-01_to_2022-12-01_malformed-header.csv');
const REFERENTIEL = path.join(REAL, 'referentiel-geographique-capteurs/noobzik_referentiel-comptages-routiers_snapshot-2022-02.csv');
const HOUR = 3_600_000;

// ───────── independent reading ─────────

interface Row {
  line: number;
  arc: string;
  libelle: string;
  ts: string;
  debit: number | null;
  taux: number | null;
  etat: string;
  hourStart: number;
  day: string;
}

const dayFmt = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

function naiveRows(file: string): Row[] {
  const lines = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0].split(';');
  expect(header).toHaveLength(15);
  const out: Row[] = [];
  lines.forEach((l, i) => {
    if (i === 0 || l === '') return;
    const c = l.split(';');
    expect(c).toHaveLength(15);
    const hourStart = Date.parse(c[2]) - HOUR;
    out.push({
      line: i + 1,
      arc: c[0],
      libelle: c[1],
      ts: c[2],
      debit: c[3] === '' ? null : parseFloat(c[3]),
      taux: c[4] === '' ? null : parseFloat(c[4]),
      etat: c[5],
      hourStart,
      day: dayFmt.format(hourStart),
    });
  });
  return out;
}

const SEVERITY = ['Inconnu', 'Fluide', 'Pré-saturé', 'Saturé', 'Bloqué'];

/** The per-arc numbers of one day, computed the plain way (500 m default length). */
function expectedArc(rows: Row[], hoursInDay: number, lengthM = 500) {
  const sorted = [...rows].sort((a, b) => a.hourStart - b.hourStart);
  const debits = sorted.filter((r) => r.debit !== null);
  const tauxRows = sorted.filter((r) => r.taux !== null);
  const total = debits.reduce((s, r) => s + r.debit!, 0);
  let peak: Row | null = null;
  for (const r of debits) if (!peak || r.debit! > peak.debit!) peak = r;
  const counts = new Map<string, number>();
  for (const r of sorted) counts.set(r.etat, (counts.get(r.etat) ?? 0) + 1);
  const dominant = [...counts].sort((a, b) => b[1] - a[1] || SEVERITY.indexOf(b[0]) - SEVERITY.indexOf(a[0]))[0][0];
  const km = lengthM / 1000;
  let lost = 0;
  let lostPerVeh = 0;
  for (const r of tauxRows) {
    const v = r.taux! < 30 ? 50 : r.taux! < 50 ? 40 : r.taux! < 70 ? 30 : 20;
    const l = Math.max(0, (60 * km) / v - (60 * km) / 50);
    lost += l * (r.debit ?? 0);
    lostPerVeh += l;
  }
  const raisons: string[] = [];
  if (hoursInDay - debits.length > 6) raisons.push('plus de 6 h sans débit');
  let run = 0;
  for (let i = 0; i < debits.length; i++) {
    const same = i > 0 && debits[i].debit === debits[i - 1].debit && debits[i].hourStart - debits[i - 1].hourStart === HOUR;
    run = debits[i].debit === 0 ? 0 : same ? run + 1 : 1;
    if (run >= 12) {
      raisons.push('débit constant ≥ 12 h');
      break;
    }
  }
  return {
    total,
    mean: debits.length ? total / debits.length : 0,
    max: peak ? peak.debit! : 0,
    peakStart: peak ? peak.hourStart : null,
    taux: tauxRows.length ? tauxRows.reduce((s, r) => s + r.taux!, 0) / tauxRows.length : null,
    measured: sorted.filter((r) => r.debit !== null || r.taux !== null).length,
    dominant,
    lost,
    lostMinutes: total > 0 ? lost / total : tauxRows.length ? lostPerVeh / tauxRows.length : 0,
    raisons,
  };
}

// ───────── helpers ─────────

function fileRef(file: string, size: number): FileRef {
  const relPath = `batch/${path.basename(file)}`;
  return { source: 'comptages', relPath, size, version: `${size}-0`, fileKey: relPath.replace(/[^A-Za-z0-9]/g, '_') };
}

function processWhole(file: string, bytes = fs.readFileSync(file)) {
  return comptagesHandler.processChunk({ file: fileRef(file, bytes.length), range: { index: 0, start: 0, end: bytes.length }, bytes });
}

function finalizeAll(partialsByDay: Map<string, ComptagesPartial[]>, referentiel?: Record<string, ReferentielArc>) {
  const out = new Map<string, { metrics: ComptagesMetrics; quality: QualityCounts }>();
  for (const day of [...partialsByDay.keys()].sort()) out.set(day, comptagesHandler.finalizeDay(day, partialsByDay.get(day)!, referentiel ? { referentiel } : {}));
  return out;
}

function runWhole(file: string, referentiel?: Record<string, ReferentielArc>) {
  const out = processWhole(file);
  const byDay = new Map<string, ComptagesPartial[]>();
  for (const [day, p] of Object.entries(out.partials)) byDay.set(day, [p]);
  return { quality: out.quality, days: finalizeAll(byDay, referentiel) };
}

/** Cut the file with planChunks, process every range on its own (partials through their stored bytes, as a store would), finalize. */
async function runChunked(file: string, rowsPerChunk: number, referentiel?: Record<string, ReferentielArc>) {
  const plan = await planChunks(file, rowsPerChunk);
  const bytes = fs.readFileSync(file);
  const byDay = new Map<string, ComptagesPartial[]>();
  const qualities: QualityCounts[] = [];
  for (const range of plan.ranges) {
    const out = comptagesHandler.processChunk({
      file: fileRef(file, bytes.length),
      range,
      bytes: bytes.subarray(range.start, range.end),
      header: range.index === 0 ? undefined : plan.header,
    });
    qualities.push(out.quality);
    for (const [day, p] of Object.entries(out.partials)) {
      const list = byDay.get(day) ?? [];
      list.push(decodeComptagesPartial(encodeComptagesPartial(p)));
      byDay.set(day, list);
    }
  }
  return { plan, quality: mergeQuality(qualities), days: finalizeAll(byDay, referentiel) };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-comptages-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ───────── tests ─────────

describe('comptages: hour-ending convention (bcg data-input, arc 4264)', () => {
  const out = processWhole(INPUT);

  it('a row stamped DT00:00 belongs to D−1, one stamped (D+1)T00:00 closes D', () => {
    expect(Object.keys(out.partials).sort()).toEqual(['2022-12-04', '2022-12-05', '2022-12-06', '2022-12-07']);
    // The only row of 2022-12-04 is the one stamped 2022-12-05T00:00, i.e. the hour 23:00–24:00.
    const d4 = partialRows(out.partials['2022-12-04'], '4264');
    expect(d4).toHaveLength(1);
    expect(d4[0][0]).toBe(Date.parse('2022-12-04T23:00:00+01:00'));
    const d5 = partialRows(out.partials['2022-12-05'], '4264').map((h) => h[0]).sort((a, b) => a - b);
    expect(d5).toHaveLength(24);
    expect(d5[0]).toBe(Date.parse('2022-12-05T00:00:00+01:00')); // stamped 01:00
    expect(d5[23]).toBe(Date.parse('2022-12-05T23:00:00+01:00')); // stamped 2022-12-06T00:00
  });

  it('per-day metrics equal the plain computation, for every day', () => {
    const rows = naiveRows(INPUT);
    const { days } = runWhole(INPUT);
    for (const [day, r] of days) {
      const exp = expectedArc(
        rows.filter((x) => x.day === day),
        24,
      );
      const a = r.metrics.metrics[0];
      expect(r.metrics.metrics).toHaveLength(1);
      expect(a.debit_journalier_total).toBe(exp.total);
      expect(a.debit_horaire_moyen).toBeCloseTo(exp.mean, 9);
      expect(a.debit_max).toBe(exp.max);
      expect(a.heure_pic === null ? null : Date.parse(a.heure_pic)).toBe(exp.peakStart);
      expect(a.taux_occupation_moyen).toBeCloseTo(exp.taux!, 9);
      expect(a.heures_mesurees).toBe(exp.measured);
      expect(a.etat_trafic_dominant).toBe(exp.dominant);
      expect(a.temps_perdu_total_minutes).toBeCloseTo(exp.lost, 6);
      expect(a.temps_perdu_minutes).toBeCloseTo(exp.lostMinutes, 9);
      expect(r.metrics.capteurs_defaillants.flatMap((f) => f.raisons)).toEqual(exp.raisons);
    }
    // 2022-12-06 ends Bloqué with 84 % at 23:00 only: lost time but no congestion period.
    const d6 = days.get('2022-12-06')!.metrics.metrics[0];
    expect(d6.temps_perdu_total_minutes).toBeGreaterThan(0);
    expect(d6.congestion_alerte).toBe(false);
    // The 2022-12-05 profile: 24 hours, the last one fed by the row stamped 2022-12-06T00:00 (débit 714).
    const prof = days.get('2022-12-05')!.metrics.global_metrics.profil_horaire;
    expect(prof).toHaveLength(24);
    expect(prof[23]).toMatchObject({ heure: '2022-12-05T23:00:00+01:00', debit_total: 714, arcs_mesures: 1 });
  });
});

describe('comptages: BOM, CRLF and the 25-hour day (louisgthier Washington export, arc 4264)', () => {
  const { quality, days } = runWhole(WASHINGTON);
  const rows = naiveRows(WASHINGTON);

  it('reads the BOM header and accepts every row (Etat arc Invalide/Barré included)', () => {
    expect(quality).toMatchObject({ records: 1168, accepted: 1168, rejected: {} });
    expect(rows.some((r) => r.etat === 'Inconnu')).toBe(true);
  });

  it('2024-10-27 has 25 hours, and exactly the 24 rows stamped after its local midnight up to the next', () => {
    const r = days.get('2024-10-27')!.metrics;
    const g = r.global_metrics;
    expect(g.heures_dans_la_journee).toBe(25);
    expect(g.profil_horaire).toHaveLength(25);
    expect(g.profil_horaire.map((p) => p.heure).slice(0, 5)).toEqual([
      '2024-10-27T00:00:00+02:00',
      '2024-10-27T01:00:00+02:00',
      '2024-10-27T02:00:00+02:00',
      '2024-10-27T02:00:00+01:00',
      '2024-10-27T03:00:00+01:00',
    ]);
    expect(g.profil_horaire[24].heure).toBe('2024-10-27T23:00:00+01:00');

    const start = Date.parse('2024-10-27T00:00:00+02:00');
    const end = Date.parse('2024-10-28T00:00:00+01:00');
    expect((end - start) / HOUR).toBe(25);
    const inDay = rows.filter((x) => x.hourStart >= start && x.hourStart < end);
    expect(inDay).toHaveLength(24);
    expect(inDay.every((x) => x.day === '2024-10-27')).toBe(true);
    expect(inDay.map((x) => x.ts)).toContain('2024-10-27T02:00:00+01:00');
    expect(inDay.map((x) => x.ts)).not.toContain('2024-10-27T02:00:00+02:00');
    // The hour 01:00–02:00 CEST (row stamped 02:00+02:00) is the one without a row.
    const hoursWithRow = new Set(inDay.map((x) => (x.hourStart - start) / HOUR));
    g.profil_horaire.forEach((p, i) => expect(p.arcs_mesures).toBe(hoursWithRow.has(i) ? 1 : 0));
    expect([...Array(25).keys()].filter((i) => !hoursWithRow.has(i))).toEqual([1]);
    for (const p of g.profil_horaire) {
      const x = inDay.find((y) => y.hourStart === Date.parse(p.heure));
      expect(p.debit_total).toBe(x?.debit ?? 0);
    }

    const exp = expectedArc(inDay, 25);
    const a = r.metrics[0];
    expect(a.debit_journalier_total).toBe(exp.total);
    expect(a.heures_mesurees).toBe(24);
    expect(a.etat_trafic_dominant).toBe(exp.dominant);
    // 25 − 24 flow hours = 1 missing: not failing.
    expect(r.capteurs_defaillants).toEqual([]);
  });

  it('a tie between states goes to the more severe one (2024-10-03: 12 Fluide, 12 Pré-saturé)', () => {
    const day = rows.filter((x) => x.day === '2024-10-03');
    expect(day.filter((x) => x.etat === 'Fluide')).toHaveLength(12);
    expect(day.filter((x) => x.etat === 'Pré-saturé')).toHaveLength(12);
    expect(days.get('2024-10-03')!.metrics.metrics[0].etat_trafic_dominant).toBe('Pré-saturé');
  });

  it('days with only empty rows: no flow, no peak, failing, not available', () => {
    const r = days.get('2024-11-03')!.metrics;
    expect(r.metrics[0]).toMatchObject({ debit_journalier_total: 0, heure_pic: null, taux_occupation_moyen: null, heures_mesurees: 0, etat_trafic_dominant: 'Inconnu' });
    expect(r.capteurs_defaillants).toEqual([{ id_compteur: '4264', type: 'road', libelle: 'AV_Champs_Elysees', raisons: ['plus de 6 h sans débit'] }]);
    expect(r.global_metrics).toMatchObject({ nombre_troncons_actifs: 0, taux_disponibilite_capteurs: 0, taux_occupation_moyen: null });
  });
});

describe('comptages: empty Débit or Taux are values, not errors (bcg data-convention, arc 5671)', () => {
  const rows = naiveRows(CONVENTION);
  const { quality, days } = runWhole(CONVENTION);

  it('accepts every row', () => {
    expect(rows.filter((r) => r.debit === null && r.taux !== null).length).toBe(714);
    expect(quality).toMatchObject({ records: 877, accepted: 877 });
  });

  it('matches the plain computation on every day, flow sensor down or not', () => {
    for (const [day, r] of days) {
      const dayRows = rows.filter((x) => x.day === day);
      const exp = expectedArc(dayRows, 24);
      const a = r.metrics.metrics[0];
      expect([day, a.debit_journalier_total, a.heures_mesurees, a.etat_trafic_dominant]).toEqual([day, exp.total, exp.measured, exp.dominant]);
      expect(a.taux_occupation_moyen).toBeCloseTo(exp.taux!, 9);
      expect(a.heure_pic === null ? null : Date.parse(a.heure_pic)).toBe(exp.peakStart);
      expect(a.temps_perdu_total_minutes).toBeCloseTo(exp.lost, 6);
      expect(a.temps_perdu_minutes).toBeCloseTo(exp.lostMinutes, 9);
      expect(r.metrics.capteurs_defaillants.flatMap((f) => f.raisons)).toEqual(exp.raisons);
    }
    // 2022-11-09: Taux on all 24 hours, Débit on none.
    const a = days.get('2022-11-09')!.metrics.metrics[0];
    expect(a).toMatchObject({ debit_journalier_total: 0, debit_horaire_moyen: 0, debit_max: 0, heure_pic: null, heures_mesurees: 24, temps_perdu_total_minutes: 0 });
    expect(a.taux_occupation_moyen).not.toBeNull();
    // No flow at all: the per-vehicle figure is the mean over the hours with an occupancy.
    expect(a.temps_perdu_minutes).toBeGreaterThan(0);
    expect(days.get('2022-11-09')!.metrics.global_metrics.taux_disponibilite_capteurs).toBe(100);
    expect(days.get('2022-11-09')!.metrics.capteurs_defaillants[0].raisons).toEqual(['plus de 6 h sans débit']);
  });
});

describe('comptages: structurally unusable input', () => {
  it('rejects the real file whose header starts with an unmatched quote (bad_header)', async () => {
    let err: unknown;
    try {
      processWhole(MALFORMED);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputFormatError);
    expect((err as InputFormatError).code).toBe('bad_header');
    // The same when a later chunk receives that header text from the planner.
    const plan = await planChunks(MALFORMED, 100);
    const bytes = fs.readFileSync(MALFORMED);
    const r = plan.ranges[1];
    expect(() =>
      comptagesHandler.processChunk({ file: fileRef(MALFORMED, bytes.length), range: r, bytes: bytes.subarray(r.start, r.end), header: plan.header }),
    ).toThrow(expect.objectContaining({ name: 'InputFormatError', code: 'bad_header' }));
  });

  it('names the missing required columns; accepts any order and extra columns', () => {
    const header = fs.readFileSync(INPUT, 'utf8').split('\r\n')[0];
    const noTaux = header.replace(";Taux d'occupation", '').replace(';geo_point_2d', '');
    expect(() => processWhole(INPUT, Buffer.from(noTaux + '\r\n'))).toThrow(/missing column\(s\) "Taux d'occupation", "geo_point_2d"/);
    expect(() => processWhole(INPUT, Buffer.from(''))).toThrow(expect.objectContaining({ code: 'bad_header' }));

    // Reversed column order plus an extra column: same metrics as the original file.
    const rows = fs
      .readFileSync(INPUT, 'utf8')
      .split('\r\n')
      .filter((l) => l !== '');
    const reversed = rows.map((l, i) => [...l.split(';').reverse(), i === 0 ? ' extra ' : 'x'].join(';')).join('\n');
    const out = processWhole(INPUT, Buffer.from(reversed));
    expect(out.quality).toMatchObject({ records: 73, accepted: 73 });
    expect(out.partials).toEqual(processWhole(INPUT).partials);
  });
});

describe('comptages: bad rows are rejected per reason and counted', () => {
  const text = fs.readFileSync(INPUT, 'utf8');
  const [header, template] = text.split('\r\n');
  const f = template.split(';');
  const variant = (i: number, v: string) => f.map((x, j) => (j === i ? v : x)).join(';');
  const bad: [string, string][] = [
    [[...f.slice(0, 5), 'extra', ...f.slice(5)].join(';'), 'field_count'],
    [[...f.slice(0, 10), ...f.slice(11)].join(';'), 'field_count'],
    [f.slice(0, 3).join(';'), 'field_count'],
    [variant(0, ''), 'bad_arc'],
    [variant(0, '42a'), 'bad_arc'],
    [variant(2, '2022-13-45T00:00:00+01:00'), 'bad_date'],
    [variant(2, '2022-12-05 12:00:00'), 'bad_date'],
    [variant(2, '2022-12-05T12:30:00+01:00'), 'bad_date'],
    [variant(3, 'abc'), 'bad_debit'],
    [variant(3, '-5.0'), 'bad_debit'],
    [variant(3, '0x10'), 'bad_debit'],
    [variant(4, '150.0'), 'bad_taux'],
    [variant(4, 'n/a'), 'bad_taux'],
    [variant(1, 'AV_"Champs'), 'bad_quoting'],
  ];
  const good = [variant(3, ''), variant(4, ''), variant(10, 'Barré'), variant(0, '04264')];
  const lines = [header, template, ...bad.map((b) => b[0]), ...good];
  const bytes = Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
  const out = processWhole(INPUT, bytes);

  it('counts every record once: accepted + Σ rejected = records', () => {
    const q = out.quality;
    expect(q.records).toBe(1 + bad.length + good.length);
    expect(q.accepted).toBe(1 + good.length);
    expect(q.rejected).toEqual({ bad_arc: 2, bad_date: 3, bad_debit: 3, bad_quoting: 1, bad_taux: 2, field_count: 3 });
    expect(q.accepted + Object.values(q.rejected).reduce((s, n) => s + n, 0)).toBe(q.records);
  });

  it('keeps samples with the file, the physical line and the byte offset of each bad record', () => {
    const offsets: number[] = [];
    let off = 0;
    for (const l of lines) {
      offsets.push(off);
      off += Buffer.byteLength(l + '\r\n');
    }
    expect(out.quality.samples).toEqual(
      bad.map(([, reason], i) => ({ file: `batch/${path.basename(INPUT)}`, line: i + 3, byteOffset: offsets[i + 2], reason })),
    );
  });

  it('the accepted variants: empty values are null, Barré kept, a zero-padded id is the same arc', () => {
    const hours = partialRows(out.partials['2022-12-05'], '4264');
    expect(out.partials['2022-12-05'].arcs.map((a) => a.id)).toEqual(['4264']);
    expect(hours).toHaveLength(5);
    expect(hours.map((h) => [h[1], h[2]])).toEqual([
      [1229, 26.13445],
      [null, 26.13445],
      [1229, null],
      [1229, 26.13445],
      [1229, 26.13445],
    ]);
    const r = comptagesHandler.finalizeDay('2022-12-05', [out.partials['2022-12-05']], {});
    expect(r.quality).toMatchObject({ records: 4, rejected: { duplicate_hour: 4 } });
  });
});

describe('comptages: the result does not depend on chunking', () => {
  /** All five good exports in one file (mixed CRLF/LF, one BOM dropped), plus repeated rows. */
  function combinedFile(): string {
    const parts = [INPUT, CONVENTION, PERES, WASHINGTON, MULTI].map((f) => fs.readFileSync(f, 'utf8').replace(/^\uFEFF/, ''));
    const header = parts[0].split('\r\n')[0];
    const bodies = parts.map((p) => p.slice(p.indexOf('\n') + 1));
    const dups = bodies[0].split('\r\n').slice(5, 9).join('\r\n') + '\r\n';
    const p = path.join(tmp, 'combined.csv');
    fs.writeFileSync(p, [header + '\r\n', ...bodies, dups, 'garbage;"row\r\n'].join(''));
    return p;
  }

  it('whole file vs many tiny chunks: deep-equal metrics for every day, same counts', async () => {
    const file = combinedFile();
    const whole = runWhole(file);
    expect(whole.days.size).toBe(100); // 38 days of Nov–Dec 2022, 57 of Oct–Dec 2024, 5 more from the 2024–2025 sample
    for (const rowsPerChunk of [1, 7, 500]) {
      const chunked = await runChunked(file, rowsPerChunk);
      expect(chunked.plan.ranges.length).toBe(Math.ceil(chunked.plan.totalRows / rowsPerChunk));
      expect([...chunked.days.keys()]).toEqual([...whole.days.keys()]);
      for (const [day, r] of whole.days) expect(chunked.days.get(day)).toEqual(r);
      expect(chunked.quality).toEqual(mergeQuality([whole.quality]));
    }
    expect(whole.quality.rejected).toEqual({ bad_quoting: 1 });
    const dupDay = [...whole.days.values()].reduce((s, r) => s + (r.quality.rejected.duplicate_hour ?? 0), 0);
    expect(dupDay).toBe(4);
  });

  it('libellé and point: the first non-empty value in file order, whatever the cut', async () => {
    const lines = fs.readFileSync(INPUT, 'utf8').split('\r\n');
    const noGeo = (l: string) => l.split(';').map((c, i) => (i === 13 ? '' : i === 1 ? '' : c)).join(';');
    const body = lines.slice(1).filter((l) => l !== '');
    const file = path.join(tmp, 'first-values.csv');
    fs.writeFileSync(file, [lines[0], noGeo(body[0]), noGeo(body[1]), ...body.slice(2)].join('\r\n') + '\r\n');
    const whole = runWhole(file);
    for (const rowsPerChunk of [1, 2, 5]) {
      const chunked = await runChunked(file, rowsPerChunk);
      for (const [day, r] of whole.days) expect(chunked.days.get(day)).toEqual(r);
    }
    const a = whole.days.get('2022-12-05')!.metrics.metrics[0];
    expect(a.libelle).toBe('AV_Champs_Elysees');
    expect(a.geo_point_2d).toBe('48.871535879911605, 2.3017227924560624');
  });

  it('with the référentiel joined, a chunked run equals a whole run too', async () => {
    const refBytes = fs.readFileSync(REFERENTIEL);
    const ref = referentielHandler.processChunk({
      file: { source: 'referentiel', relPath: 'batch/referentiel.csv', size: refBytes.length, version: 'v', fileKey: 'ref' },
      range: { index: 0, start: 0, end: refBytes.length },
      bytes: refBytes,
    });
    const lookup = referentielLookup(referentielHandler.finalizeDay('2022-12-05', Object.values(ref.partials), {}).metrics);
    const whole = runWhole(INPUT, lookup);
    const chunked = await runChunked(INPUT, 3, lookup);
    for (const [day, r] of whole.days) expect(chunked.days.get(day)).toEqual(r);
    const a = whole.days.get('2022-12-06')!.metrics.metrics[0];
    expect(a.longueur_source).toBe('referentiel');
    expect(a.longueur_metres).toBe(lookup['4264'].longueur_metres);
    const exp = expectedArc(
      naiveRows(INPUT).filter((x) => x.day === '2022-12-06'),
      24,
      lookup['4264'].longueur_metres,
    );
    expect(a.temps_perdu_total_minutes).toBeCloseTo(exp.lost, 6);
  });
});

describe('comptages: several arcs in one file (mael8zinsou sample)', () => {
  it('groups by arc and day, zones from the real polygons', () => {
    const rows = naiveRows(MULTI);
    const { days } = runWhole(MULTI);
    const seen = new Set<string>();
    for (const [day, r] of days) {
      const arcs = [...new Set(rows.filter((x) => x.day === day).map((x) => x.arc))].sort((a, b) => Number(a) - Number(b));
      expect(r.metrics.metrics.map((m) => m.identifiant_arc)).toEqual(arcs);
      for (const m of r.metrics.metrics) {
        seen.add(m.identifiant_arc);
        const exp = expectedArc(
          rows.filter((x) => x.day === day && x.arc === m.identifiant_arc),
          day === '2025-03-30' ? 23 : day === '2024-10-27' || day === '2025-10-26' ? 25 : 24,
        );
        expect(m.debit_journalier_total).toBe(exp.total);
        expect(m.heures_mesurees).toBe(exp.measured);
        expect(m.geo_point_2d).toMatch(/^\d+\.\d+, \d+\.\d+$/);
        expect(m.arrondissement).toMatch(/^750(0[1-9]|1\d|20)$|^Hors Paris$/);
      }
      const repartition = r.metrics.global_metrics.repartition_etat_trafic;
      expect(Object.keys(repartition).sort()).toEqual((['Bloqué', 'Fluide', 'Inconnu', 'Pré-saturé', 'Saturé'] as EtatTrafic[]).sort());
    }
    expect([...seen].sort()).toEqual(['5459', '5462', '5465', '5472', '5482', '6124']);
  });
});
