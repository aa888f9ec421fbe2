/**
 * referentiel on the real exports (test/fixtures/real/referentiel-geographique-capteurs, see SOURCES.md).
 * Lengths are recomputed here with a separate haversine over the parsed GeoJSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { planChunks } from '../src/csv';
import { ANY_DAY, FileRef, InputFormatError, mergeQuality } from '../src/shared/model';
import { ReferentielPartial, referentielHandler, referentielLookup } from '../src/sources/referentiel';

const DIR = path.resolve(__dirname, '../../../test/fixtures/real/referentiel-geographique-capteurs');
const NOOBZIK = path.join(DIR, 'noobzik_referentiel-comptages-routiers_snapshot-2022-02.csv');
const NEZARBR = path.join(DIR, 'nezarbr_referentiel-comptages-routiers_snapshot-2020-12_first300rows.csv');
const D = '2022-12-05';

function fileRef(size: number, relPath = 'batch/referentiel-comptages-routiers.csv'): FileRef {
  return { source: 'referentiel', relPath, size, version: `${size}-0`, fileKey: 'referentiel' };
}

function processBytes(bytes: Buffer) {
  return referentielHandler.processChunk({ file: fileRef(bytes.length), range: { index: 0, start: 0, end: bytes.length }, bytes });
}

function finalize(partials: ReferentielPartial[]) {
  return referentielHandler.finalizeDay(D, partials, {});
}

function haversine(a: number[], b: number[]): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(s));
}

function referenceRows(file: string): string[][] {
  return (parse(fs.readFileSync(file), { delimiter: ';', bom: true }) as string[][]).slice(1);
}

describe('referentiel: the 2022 snapshot (noobzik, 3,739 rows)', () => {
  const bytes = fs.readFileSync(NOOBZIK);
  const out = processBytes(bytes);
  const result = finalize([out.partials[ANY_DAY]]);
  const m = result.metrics;
  const rows = referenceRows(NOOBZIK);

  it('reads every row as one piece, keyed ANY_DAY', () => {
    expect(Object.keys(out.partials)).toEqual([ANY_DAY]);
    expect(out.quality).toMatchObject({ records: 3739, accepted: 3739, rejected: {} });
    const pieces = Object.values(out.partials[ANY_DAY].pieces).reduce((s, l) => s + l.length, 0);
    expect(pieces).toBe(3739);
  });

  it('aggregates the repeated ids into 3,348 arcs', () => {
    expect(Object.keys(m.mapping)).toHaveLength(3348);
    expect(m.statistiques.nombre_troncons).toBe(3348);
    expect(new Set(rows.map((r) => r[0])).size).toBe(3348);
    const keys = Object.keys(m.mapping).map(Number);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
  });

  it("arc 5469 (Pl_d'Italie, 6 pieces): summed length, first piece's middle vertex, nodes", () => {
    const pieces = rows.filter((r) => r[0] === '5469');
    expect(pieces).toHaveLength(6);
    let expected = 0;
    for (const p of pieces) {
      const coords = JSON.parse(p[9]).coordinates as number[][];
      for (let i = 1; i < coords.length; i++) expected += haversine(coords[i - 1], coords[i]);
    }
    const a = m.mapping['5469'];
    expect(a.troncons).toBe(6);
    expect(a.longueur_metres).toBeCloseTo(expected, 6);
    // By hand, piece by piece: 55.90 + 46.65 + 26.46 + 24.93 + 33.00 + 24.47 = 211.41 m.
    expect(out.partials[ANY_DAY].pieces['5469'].map((p) => Math.round(p.lengthM * 100) / 100)).toEqual([55.9, 46.65, 26.46, 24.93, 33, 24.47]);
    expect(a.longueur_metres).toBeCloseTo(211.41, 2);
    const first = JSON.parse(pieces[0][9]).coordinates as number[][];
    expect(first).toHaveLength(3);
    expect(a.center).toEqual(first[1]);
    expect(a).toMatchObject({ libelle: "Pl_d'Italie", noeud_aval: pieces[0][4], noeud_amont: pieces[0][6], actif: true });
    expect(a.arrondissement).toBe('75013');
  });

  it('aval comes before amont in this file: arc 4264 gets the nodes the counts file gives it', () => {
    // Counts export: Identifiant noeud amont 2294, Identifiant noeud aval 2293.
    expect(m.mapping['4264']).toMatchObject({ libelle: 'AV_Champs_Elysees', noeud_amont: '2294', noeud_aval: '2293', troncons: 1, arrondissement: '75008' });
    expect(m.mapping['4264'].geo_point_2d).toBe('48.871535879911605, 2.301722792456062');
    const coords = JSON.parse(rows.find((r) => r[0] === '4264')![9]).coordinates as number[][];
    expect(m.mapping['4264'].longueur_metres).toBeCloseTo(haversine(coords[0], coords[1]), 6);
  });

  it('network statistics', () => {
    const lengths = Object.values(m.mapping).map((a) => a.longueur_metres);
    const total = lengths.reduce((s, l) => s + l, 0);
    expect(m.statistiques.longueur_totale_metres).toBeCloseTo(total, 3);
    const positive = lengths.filter((l) => l > 0);
    expect(m.statistiques.longueur_moyenne_metres).toBeCloseTo(positive.reduce((s, l) => s + l, 0) / positive.length, 6);
    const per = m.statistiques.par_arrondissement;
    expect(Object.values(per).reduce((s, n) => s + n, 0)).toBe(3348);
    expect(Object.keys(per)).toEqual(Object.keys(per).sort());
    expect(Object.keys(per).filter((k) => k !== 'Hors Paris').length).toBe(20);
    expect(m.date).toBe(D);
    expect(result.quality).toMatchObject({ records: 0, accepted: 0 });
  });

  it('referentielLookup gives the mapping that comptages reads', () => {
    const lookup = referentielLookup(m);
    expect(lookup['4264']).toBe(m.mapping['4264']);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('does not depend on chunking', async () => {
    const plan = await planChunks(NOOBZIK, 97);
    const partials: ReferentielPartial[] = [];
    const qualities = [];
    for (const r of plan.ranges) {
      const o = referentielHandler.processChunk({
        file: fileRef(bytes.length),
        range: r,
        bytes: bytes.subarray(r.start, r.end),
        header: r.index === 0 ? undefined : plan.header,
      });
      qualities.push(o.quality);
      partials.push(JSON.parse(JSON.stringify(o.partials[ANY_DAY])));
    }
    expect(plan.ranges.length).toBe(Math.ceil(3739 / 97));
    expect(finalize(partials)).toEqual(result);
    expect(mergeQuality(qualities)).toEqual(mergeQuality([out.quality]));
  });
});

describe('referentiel: the 2020 export (type before coordinates in geo_shape)', () => {
  it('parses geometries by content, not by string, and agrees with the 2022 lengths', () => {
    const old = finalize([processBytes(fs.readFileSync(NEZARBR)).partials[ANY_DAY]]).metrics;
    const recent = finalize([processBytes(fs.readFileSync(NOOBZIK)).partials[ANY_DAY]]).metrics;
    const ids = Object.keys(old.mapping);
    expect(ids.length).toBeGreaterThan(250);
    let compared = 0;
    for (const id of ids) {
      const a = old.mapping[id];
      const b = recent.mapping[id];
      if (!b || a.troncons !== b.troncons || a.troncons !== 1) continue;
      expect(a.longueur_metres).toBeGreaterThan(0);
      expect(Math.abs(a.longueur_metres - b.longueur_metres)).toBeLessThan(1);
      compared++;
    }
    expect(compared).toBeGreaterThan(200);
  });
});

describe('referentiel: two snapshots in one run', () => {
  it('an arc takes its pieces from the first file that has it; the other pieces are counted, not added', () => {
    const first = referentielHandler.processChunk({
      file: fileRef(0, 'batch/referentiel-2020.csv'),
      range: { index: 0, start: 0, end: 0 },
      bytes: fs.readFileSync(NEZARBR),
    }).partials[ANY_DAY];
    const second = processBytes(fs.readFileSync(NOOBZIK)).partials[ANY_DAY];
    const alone = finalize([second]).metrics;
    const both = finalize([first, second]);
    expect(Object.keys(both.metrics.mapping)).toHaveLength(3348);
    const shared = Object.keys(first.pieces);
    const left = shared.reduce((s, id) => s + second.pieces[id].length, 0);
    expect(both.quality).toMatchObject({ records: left, accepted: 0, rejected: { duplicate_arc: left } });
    for (const id of shared) expect(both.metrics.mapping[id].troncons).toBe(first.pieces[id].length);
    const only = Object.keys(second.pieces).find((id) => !(id in first.pieces))!;
    expect(both.metrics.mapping[only]).toEqual(alone.mapping[only]);
  });
});

describe('referentiel: bad input', () => {
  const text = fs.readFileSync(NOOBZIK, 'utf8');
  const [header, template] = text.split('\r\n');
  const f = template.split(';');
  const set = (i: number, v: string) => f.map((x, j) => (j === i ? v : x)).join(';');

  it('rejects rows without id or libellé, ragged rows and bad quoting; keeps unusable geometries with length 0', () => {
    const lines = [
      header,
      template,
      set(0, ''),
      set(3, ' '),
      set(0, 'x1'),
      f.slice(0, 9).join(';'),
      set(3, 'PE_"Quai'),
      set(9, '"{""coordinates"": [[2.26, 48.83]"'), // invalid JSON
      set(9, '"{""type"": ""Point"", ""coordinates"": [2.26, 48.83]}"'), // not a line
    ];
    const out = processBytes(Buffer.from(lines.join('\r\n'), 'utf8'));
    expect(out.quality.records).toBe(8);
    expect(out.quality.accepted).toBe(3);
    expect(out.quality.rejected).toEqual({ bad_arc: 1, bad_quoting: 1, field_count: 1, missing_field: 2 });
    expect(out.quality.samples.map((s) => [s.line, s.reason])).toEqual([
      [3, 'missing_field'],
      [4, 'missing_field'],
      [5, 'bad_arc'],
      [6, 'field_count'],
      [7, 'bad_quoting'],
    ]);
    const pieces = out.partials[ANY_DAY].pieces['5170'];
    expect(pieces.map((p) => p.lengthM > 0)).toEqual([true, false, false]);
    expect(pieces[1].coords).toBeNull();
    const arc = finalize([out.partials[ANY_DAY]]).metrics.mapping['5170'];
    expect(arc.troncons).toBe(3);
    expect(arc.longueur_metres).toBeCloseTo(pieces[0].lengthM, 9);
  });

  it('an arc whose only piece has no usable geometry: length 0, arrondissement from geo_point_2d', () => {
    const out = processBytes(Buffer.from([header, set(9, 'not json')].join('\r\n'), 'utf8'));
    const arc = finalize([out.partials[ANY_DAY]]).metrics;
    expect(arc.mapping['5170']).toMatchObject({ longueur_metres: 0, center: null, arrondissement: '75015' });
    expect(arc.statistiques.longueur_moyenne_metres).toBe(0);
  });

  it('fails the file on a header without the required columns', () => {
    const noShape = header.replace(';geo_shape', '');
    expect(() => processBytes(Buffer.from(noShape + '\r\n'))).toThrow(expect.objectContaining({ name: 'InputFormatError', code: 'bad_header' }));
    expect(() => processBytes(Buffer.from(''))).toThrow(InputFormatError);
    expect(() =>
      referentielHandler.processChunk({ file: fileRef(10), range: { index: 1, start: 100, end: 110 }, bytes: Buffer.from('1;2\r\n'), header: '"bad' }),
    ).toThrow(expect.objectContaining({ code: 'bad_header' }));
  });
});
