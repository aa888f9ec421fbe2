/**
 * Property tests of the comptages fan-out/fan-in (fast-check):
 *  - the fast byte path gives exactly the exact path's partials, on any input, valid or not;
 *  - on valid CSV, the accepted rows are exactly the records csv-parse yields, filtered by the
 *    documented row rules (an independent re-statement below);
 *  - cutting a file anywhere between records gives bit-identical day documents;
 *  - merging is commutative (partials without a common (arc, hour)) and associative.
 * Inputs cover a 25-hour day (2024-10-27), duplicate hours, empty and decimal cells, bad rows.
 */
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { parseCsv } from '../src/csv';
import { HOUR_MS, parisDay, parisMidnight, toParisIso } from '../src/shared/time';
import type { ComptagesMetrics } from '../src/shared/metrics-types';
import {
  ComptagesPartial,
  comptagesHandler,
  concatComptagesPartials,
  decodeComptagesPartial,
  encodeComptagesPartial,
  normalizeArcId,
  normalizeEtatTrafic,
  parseDecimal,
  processComptagesChunk,
} from '../src/sources/comptages';
import { parseIsoWithOffset } from '../src/shared/time';
import { partialRows, testFileRef } from './helpers';

const HEADER =
  "Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;Taux d'occupation;Etat trafic;Identifiant noeud amont;Libelle noeud amont;Identifiant noeud aval;Libelle noeud aval;Etat arc;Date debut dispo data;Date fin dispo data;geo_point_2d;geo_shape";
const SHAPE = '"{""coordinates"": [[2.30099, 48.87177], [2.30245, 48.87129]], ""type"": ""LineString""}"';
/** Hours from 2024-10-26T00:00 Paris: three days, the middle one has 25 hours. */
const START = parisMidnight('2024-10-26');
const HOURS = 24 + 25 + 24;

interface Row {
  arc: string;
  hour: number;
  debit: string;
  taux: string;
  etat: string;
  geo: string;
  libelle: string;
  /** Fields as written; `kind` breaks some rows on purpose. */
  kind: 'ok' | 'short' | 'extra' | 'bad_date' | 'quoted_libelle' | 'multiline_shape';
}

const rowArb: fc.Arbitrary<Row> = fc.record({
  arc: fc.constantFrom('1', '2', '3', '0004', '17', 'x9'),
  hour: fc.integer({ min: 0, max: HOURS - 1 }),
  debit: fc.oneof(
    fc.integer({ min: 0, max: 3000 }).map(String),
    fc.integer({ min: 0, max: 30000 }).map((n) => (n / 10).toFixed(1)),
    fc.constantFrom('', ' ', 'n/a', '-3', '1e2', '12.'),
  ),
  taux: fc.oneof(
    fc.integer({ min: 0, max: 10000 }).map((n) => (n / 100).toFixed(2)),
    fc.constantFrom('', '0.1', '0.2', '0.3', '100', '100.01', 'abc'),
  ),
  etat: fc.constantFrom('Fluide', 'Pré-saturé', 'Saturé', 'Bloqué', 'Inconnu', '', 'BLOQUE', 'sature '),
  geo: fc.constantFrom('48.87153587897718, 2.3017227924560624', '48.838634372743535,2.293205602717535', '', 'nowhere'),
  libelle: fc.constantFrom('AV_Champs_Elysees', 'Convention', '', 'Rue "du" Bac'),
  kind: fc.constantFrom<Row['kind']>('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'short', 'extra', 'bad_date', 'quoted_libelle', 'multiline_shape'),
});

/** One CSV line (or two, for a GeoJSON cell with a newline) for a row. */
function line(r: Row): string {
  const stamp = r.kind === 'bad_date' ? '2024-13-01T00:00:00+01:00' : toParisIso(START + (r.hour + 1) * HOUR_MS);
  const libelle = r.kind === 'quoted_libelle' || r.libelle.includes('"') ? `"${r.libelle.replaceAll('"', '""')};x"` : r.libelle;
  const shape = r.kind === 'multiline_shape' ? '"{""type"":\n""LineString""}"' : SHAPE;
  const fields = [r.arc, libelle, stamp, r.debit, r.taux, r.etat, '1', 'A', '2', 'B', 'Ouvert', '2005-01-01', '2019-06-01', r.geo, shape];
  if (r.kind === 'short') fields.splice(5, 3);
  if (r.kind === 'extra') fields.push('extra');
  return fields.join(';');
}

const docArb = fc.record({
  rows: fc.array(rowArb, { minLength: 1, maxLength: 120 }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  finalNewline: fc.boolean(),
});

function csvOf(doc: { rows: Row[]; crlf: boolean; bom: boolean; finalNewline: boolean }): Buffer {
  const eol = doc.crlf ? '\r\n' : '\n';
  const text = [HEADER, ...doc.rows.map(line)].join(eol) + (doc.finalNewline ? eol : '');
  return Buffer.from((doc.bom ? '\ufeff' : '') + text, 'utf8');
}

const FILE = (size: number) => testFileRef('comptages', 'batch/comptages-prop.csv', size);

function whole(bytes: Buffer, fastPath = true, simd = true) {
  return processComptagesChunk({ file: FILE(bytes.length), range: { index: 0, start: 0, end: bytes.length }, bytes }, { fastPath, simd });
}

/** Byte offsets where data records end (the CSV scanner's record boundaries, header excluded). */
function recordEnds(bytes: Buffer): number[] {
  return parseCsv(bytes).slice(1).map((r) => r.end);
}

/** Process the file cut at `cuts` (record boundaries), partials through their stored bytes. */
function chunked(bytes: Buffer, cuts: number[]) {
  const bounds = [0, ...cuts, bytes.length];
  const byDay = new Map<string, ComptagesPartial[]>();
  let records = 0;
  let accepted = 0;
  const headerEnd = bytes.indexOf('\n') + 1;
  const header = bytes.toString('utf8', bytes[0] === 0xef ? 3 : 0, headerEnd).replace(/\r?\n$/, '');
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [start, end] = [bounds[i], bounds[i + 1]];
    if (start === end) continue;
    const out = processComptagesChunk({ file: FILE(bytes.length), range: { index: i, start, end }, bytes: bytes.subarray(start, end), header: i === 0 ? undefined : header });
    records += out.quality.records;
    accepted += out.quality.accepted;
    for (const [day, p] of Object.entries(out.partials)) byDay.set(day, [...(byDay.get(day) ?? []), decodeComptagesPartial(encodeComptagesPartial(p))]);
  }
  return { byDay, records, accepted };
}

const docs = (byDay: Map<string, ComptagesPartial[]>) =>
  new Map([...byDay.keys()].sort().map((day) => [day, JSON.stringify(comptagesHandler.finalizeDay(day, byDay.get(day)!, {}).metrics)]));

const wholeDocs = (bytes: Buffer) => {
  const out = whole(bytes);
  return docs(new Map(Object.entries(out.partials).map(([d, p]) => [d, [p]])));
};

describe('comptages: the fast byte path (field bounds by SIMD or by indexOf) equals the exact path', () => {
  it('same partials and counts on generated files, malformed rows included', () => {
    fc.assert(
      fc.property(docArb, (doc) => {
        const bytes = csvOf(doc);
        const exact = whole(bytes, false);
        expect(whole(bytes, true, true)).toEqual(exact);
        expect(whole(bytes, true, false)).toEqual(exact);
      }),
      { numRuns: 300 },
    );
  });

  it('same partials on arbitrary bytes around a valid header (stray quotes, CR, blank lines)', () => {
    const noise = fc.array(fc.constantFrom('"', ';', '\n', '\r\n', '\r', 'a', '1', ' ', '""', '2024-10-26T05:00:00+02:00', '\n\n'), { maxLength: 60 }).map((xs) => xs.join(''));
    fc.assert(
      fc.property(docArb, noise, fc.nat(), (doc, junk, at) => {
        const base = csvOf({ ...doc, bom: false }).toString('utf8');
        const cut = base.indexOf('\n') + 1 + (at % Math.max(1, base.length - base.indexOf('\n')));
        const bytes = Buffer.from(base.slice(0, cut) + junk + base.slice(cut), 'utf8');
        const exact = whole(bytes, false);
        expect(whole(bytes, true, true)).toEqual(exact);
        expect(whole(bytes, true, false)).toEqual(exact);
      }),
      { numRuns: 300 },
    );
  });
});

describe('comptages: accepted rows are the records csv-parse yields, under the row rules', () => {
  it('valid CSV: partial rows equal an independent restatement over csv-parse records', () => {
    fc.assert(
      fc.property(docArb, (doc) => {
        const bytes = csvOf(doc);
        const records: string[][] = parse(bytes, { delimiter: ';', bom: true, relax_column_count: true, skip_empty_lines: true });
        const expected = new Map<string, [string, number, number | null, number | null, string][]>();
        let rejected = 0;
        for (const f of records.slice(1)) {
          const id = f.length === 15 ? normalizeArcId(f[0]) : null;
          let t = id === null ? NaN : parseIsoWithOffset(f[2].trim());
          if (t % HOUR_MS !== 0) t = NaN;
          const debit = parseDecimal(f[3] ?? '');
          const taux = parseDecimal(f[4] ?? '');
          if (Number.isNaN(t) || (debit !== null && (Number.isNaN(debit) || debit < 0)) || (taux !== null && (Number.isNaN(taux) || taux < 0 || taux > 100))) {
            rejected++;
            continue;
          }
          const day = parisDay(t - HOUR_MS);
          const list = expected.get(day) ?? [];
          list.push([id!, t - HOUR_MS, debit, taux, normalizeEtatTrafic(f[5].trim())]);
          expected.set(day, list);
        }
        const out = whole(bytes);
        expect(out.quality.records).toBe(records.length - 1);
        expect(out.quality.records - out.quality.accepted).toBe(rejected);
        expect(Object.keys(out.partials).sort()).toEqual([...expected.keys()].sort());
        for (const [day, rows] of expected) {
          const p = out.partials[day];
          const got = p.arcs.flatMap((a) => partialRows(p, a.id).map((r) => ({ r, id: a.id })));
          // Rows in file order per arc: compare per arc.
          for (const a of p.arcs) {
            const mine = got.filter((g) => g.id === a.id).map((g) => [a.id, ...g.r]);
            expect(mine).toEqual(rows.filter((r) => r[0] === a.id));
          }
          expect(got.length).toBe(rows.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('comptages: merging does not depend on where the file is cut (bit-exact)', () => {
  it('any cut between records gives byte-identical day documents and the same counts', () => {
    fc.assert(
      fc.property(docArb, fc.array(fc.nat(), { maxLength: 8 }), (doc, picks) => {
        const bytes = csvOf(doc);
        const ends = recordEnds(bytes).filter((e) => e < bytes.length);
        const cuts = [...new Set(picks.map((p) => ends[p % ends.length]).filter((x) => x !== undefined))].sort((a, b) => a - b);
        const one = whole(bytes);
        const many = chunked(bytes, cuts);
        expect(many.records).toBe(one.quality.records);
        expect(many.accepted).toBe(one.quality.accepted);
        expect(docs(many.byDay)).toEqual(wholeDocs(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('sums of decimals are bit-exact whatever the cut (0.1 + 0.2 style values)', () => {
    const rows: Row[] = [];
    for (let h = 0; h < 24; h++) for (const arc of ['1', '2', '3']) rows.push({ arc, hour: 24 + h, debit: '0.1', taux: ['0.1', '0.2', '0.3'][h % 3], etat: 'Fluide', geo: '', libelle: '', kind: 'ok' });
    const bytes = csvOf({ rows, crlf: false, bom: false, finalNewline: true });
    const reference = wholeDocs(bytes);
    const ends = recordEnds(bytes);
    for (const step of [1, 2, 5, 7, 13]) {
      const cuts = ends.filter((_, i) => i % step === 0 && ends[i] < bytes.length);
      expect(docs(chunked(bytes, cuts).byDay)).toEqual(reference);
    }
  });
});

describe('comptages: merge algebra', () => {
  // Label and point are "the first non-empty in file order" by design, so only the measurements
  // commute: as in the export, an arc's label and point are the same on each of its rows here.
  const LABELS = ['AV_Champs_Elysees', 'Convention', '', 'Rue "du" Bac'];
  const GEOS = ['48.87153587897718, 2.3017227924560624', '48.838634372743535,2.293205602717535', '', 'nowhere'];
  const steady = (r: Row): Row => {
    const k = Number(normalizeArcId(r.arc) ?? 0) % 4;
    return { ...r, kind: 'ok', libelle: LABELS[k], geo: GEOS[k] };
  };
  /** Rows with distinct (arc, hour). */
  const threeParts = fc.uniqueArray(rowArb, { minLength: 3, maxLength: 90, selector: (r) => `${normalizeArcId(r.arc)}|${r.hour}` }).map((rows) => rows.map(steady));

  function partsOf(rows: Row[]): ComptagesPartial[] {
    const bytes = csvOf({ rows, crlf: false, bom: false, finalNewline: true });
    const ends = recordEnds(bytes);
    const n = ends.length;
    const cut = chunked(bytes, [ends[Math.floor(n / 3)], ends[Math.floor((2 * n) / 3)]].filter((e) => e < bytes.length));
    // The busiest day: most partials (none when every row was rejected).
    const busiest = [...cut.byDay.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))[0];
    return busiest ? busiest[1] : [];
  }
  const finalize = (parts: ComptagesPartial[]): ComptagesMetrics => comptagesHandler.finalizeDay(parts[0].day, parts, {}).metrics;

  it('commutative: any order of partials without a common (arc, hour) gives the same document', () => {
    fc.assert(
      fc.property(threeParts, fc.nat(), (rows, seed) => {
        const parts = partsOf(rows);
        fc.pre(parts.length > 0);
        const shuffled = [...parts].sort((a, b) => ((a.rows * 7919 + seed) % 13) - ((b.rows * 7919 + seed) % 13));
        const reversed = [...parts].reverse();
        const ref = JSON.stringify(finalize(parts));
        expect(JSON.stringify(finalize(shuffled))).toBe(ref);
        expect(JSON.stringify(finalize(reversed))).toBe(ref);
      }),
      { numRuns: 150 },
    );
  });

  it('associative: (a·b)·c = a·(b·c) = [a, b, c], duplicates included', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 3, maxLength: 90 }), (rows) => {
        const parts = partsOf(rows.map((r) => ({ ...r, kind: 'ok' as const })));
        fc.pre(parts.length > 0);
        while (parts.length < 3) parts.push(parts[parts.length - 1]);
        const [a, b, ...rest] = parts;
        const c = concatComptagesPartials(rest);
        const ref = JSON.stringify(finalize([a, b, c]));
        expect(JSON.stringify(finalize([concatComptagesPartials([a, b]), c]))).toBe(ref);
        expect(JSON.stringify(finalize([a, concatComptagesPartials([b, c])]))).toBe(ref);
        expect(JSON.stringify(finalize([concatComptagesPartials([a, b, c])]))).toBe(ref);
      }),
      { numRuns: 150 },
    );
  });
});
