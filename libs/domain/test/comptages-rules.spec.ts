/**
 * comptages metric rules on a small hand-built day (2024-01-15, winter, UTC+1), every expected
 * number worked out by hand in the comments.
 */
import { arrondissementOf, HORS_PARIS, legacyZoneFallback } from '../src/geo/geo';
import type { ReferentielArc } from '../src/shared/metrics-types';
import { FileRef } from '../src/shared/model';
import { comptagesHandler, createComptagesHandler, decodeComptagesPartial, encodeComptagesPartial, normalizeEtatTrafic, PartialBuilder } from '../src/sources/comptages';

const D = '2024-01-15';
const HEADER =
  "Identifiant arc;Libelle;Date et heure de comptage;Débit horaire;Taux d'occupation;Etat trafic;Identifiant noeud amont;Libelle noeud amont;Identifiant noeud aval;Libelle noeud aval;Etat arc;Date debut dispo data;Date fin dispo data;geo_point_2d;geo_shape";
const SHAPE = '"{""coordinates"": [[2.3009951475338775, 48.871777042598445], [2.3024504373782473, 48.871294715355916]], ""type"": ""LineString""}"';
const GEO_1 = '48.87153587897718,2.3017227924560624'; // Champs-Élysées (no space, 2022 style)
const GEO_2 = '48.838634372743535, 2.293205602717535'; // Convention

/** Timestamp of the row counting the hour that starts at local hour h of D (the row is stamped at the hour's end). */
function stamp(h: number): string {
  const end = h + 1;
  return end === 24 ? '2024-01-16T00:00:00+01:00' : `${D}T${String(end).padStart(2, '0')}:00:00+01:00`;
}
const iso = (h: number) => `${D}T${String(h).padStart(2, '0')}:00:00+01:00`;

function row(arc: string | number, h: number, debit: number | '', taux: number | '', etat: string, geo = GEO_1, libelle = `Arc_${arc}`): string {
  return [arc, libelle, stamp(h), debit === '' ? '' : `${debit}.0`, taux, etat, '1', 'A', '2', 'B', 'Invalide', '2005-01-01', '2019-06-01', geo, SHAPE].join(';');
}

function fileRef(size: number): FileRef {
  return { source: 'comptages', relPath: 'batch/comptages-test.csv', size, version: `${size}-0`, fileKey: 'comptages-test' };
}

function process(lines: string[]) {
  const bytes = Buffer.from([HEADER, ...lines].join('\r\n') + '\r\n', 'utf8');
  return comptagesHandler.processChunk({ file: fileRef(bytes.length), range: { index: 0, start: 0, end: bytes.length }, bytes });
}

// Arc 1: congestion, lost time, failing (too few flow hours), a duplicate hour, état labels in odd spellings.
const ARC1 = [
  row(1, 7, 100, 85, 'Bloqué'),
  row(1, 8, 200, 92, 'BLOQUE'),
  row(1, 9, 300, 79, 'bloqué'),
  row(1, 10, 50, 81, 'Bloque'),
  row(1, 11, 60, 80, 'Bloqué'),
  // 12h missing: breaks the run.
  row(1, 13, '', 95, 'Bloqué'),
  row(1, 14, 400, 10, 'Fluide'),
  row(1, 15, 1000, 40, 'Saturé'),
  row(1, 16, 0, 60, 'Bloqué'),
  row(1, 17, 500, '', 'Inconnu'),
  row(1, 7, 9999, 10, 'Fluide'), // same (arc, hour) again: the first one wins
];
// Arc 2: 24 hours; 12 consecutive hours of the same non-zero flow; Fluide/Pré-saturé tie.
const ARC2 = Array.from({ length: 24 }, (_, h) => (h < 12 ? row(2, h, 300, 5, 'Fluide', GEO_2) : row(2, h, 400 + h, 20, 'Pré-saturé', GEO_2)));
// Arc 3: no coordinates; 12 hours of zero flow (not "constant"), then 11 hours of the same flow.
const ARC3 = Array.from({ length: 23 }, (_, h) => (h < 12 ? row(3, h, 0, 0, 'Fluide', '') : row(3, h, 7, 1, 'Fluide', '')));
// Arc 4: seen on D with one empty row only.
const ARC4 = [row(4, 5, '', '', 'Inconnu', '')];

function dayMetrics(lines: string[], referentiel?: Record<string, ReferentielArc>, handler = comptagesHandler) {
  const out = process(lines);
  return { out, result: handler.finalizeDay(D, [out.partials[D]], referentiel ? { referentiel } : {}) };
}

describe('comptages rules on a hand-built day', () => {
  const { out, result } = dayMetrics([...ARC1, ...ARC2, ...ARC3, ...ARC4]);
  const m = result.metrics;
  const arc = (id: string) => m.metrics.find((a) => a.identifiant_arc === id)!;

  it('puts every row in D (the row stamped D+1T00:00 closes D) and counts records', () => {
    expect(Object.keys(out.partials)).toEqual([D]);
    expect(out.quality.records).toBe(ARC1.length + ARC2.length + ARC3.length + ARC4.length);
    expect(out.quality.accepted).toBe(out.quality.records);
    expect(m.metrics.map((a) => a.identifiant_arc)).toEqual(['1', '2', '3', '4']);
  });

  it('keeps the first of two rows for the same (arc, hour) and counts the other as duplicate_hour', () => {
    expect(result.quality).toMatchObject({ records: 1, accepted: 0, rejected: { duplicate_hour: 1 } });
    expect(m.qualite).toMatchObject({ records: 1, accepted: 0, rejected: { duplicate_hour: 1 } });
    expect(arc('1').debit_max).toBe(1000); // not 9999
  });

  it('flow, occupancy, peak hour, measured hours, dominant state (arc 1)', () => {
    const a = arc('1');
    // Débit: 100+200+300+50+60+400+1000+0+500 = 2610 over 9 hours.
    expect(a.debit_journalier_total).toBe(2610);
    expect(a.debit_horaire_moyen).toBeCloseTo(2610 / 9, 12);
    expect(a.debit_max).toBe(1000);
    expect(a.heure_pic).toBe(iso(15));
    // Taux: 85+92+79+81+80+95+10+40+60 = 622 over 9 hours.
    expect(a.taux_occupation_moyen).toBeCloseTo(622 / 9, 12);
    // Hours with a débit or a taux: 7–11 and 13–17.
    expect(a.heures_mesurees).toBe(10);
    // Bloqué ×7 (all spellings), Fluide, Saturé, Inconnu ×1.
    expect(a.etat_trafic_dominant).toBe('Bloqué');
    expect(a.libelle).toBe('Arc_1');
    expect(a.geo_point_2d).toBe('48.87153587897718, 2.3017227924560624');
    expect(a.date).toBe(D);
  });

  it('lost time per hour with the speed bands and the default 500 m length (arc 1)', () => {
    const a = arc('1');
    expect(a.longueur_metres).toBe(500);
    expect(a.longueur_source).toBe('defaut');
    // 0.5 km: reference 60·0.5/50 = 0.6 min; at 20 km/h 1.5 min (+0.9), 30 km/h 1.0 (+0.4), 40 km/h 0.75 (+0.15), 50 km/h +0.
    // 0.9·100 + 0.9·200 + 0.9·300 + 0.9·50 + 0.9·60 + 0.9·0 (13h, no débit) + 0·400 + 0.15·1000 + 0.4·0 = 789
    expect(a.temps_perdu_total_minutes).toBeCloseTo(789, 9);
    expect(a.temps_perdu_minutes).toBeCloseTo(789 / 2610, 12);
  });

  it('congestion periods: ≥ 80 % for ≥ 2 consecutive hours, a missing hour breaks a run (arc 1)', () => {
    const a = arc('1');
    expect(a.congestion_periodes).toEqual([
      { debut: iso(7), fin: iso(9), duree_heures: 2, taux_max: 92, severite: 'Critique' },
      { debut: iso(10), fin: iso(12), duree_heures: 2, taux_max: 81, severite: 'Élevée' },
    ]);
    expect(a.congestion_alerte).toBe(true);
    expect(a.severite).toBe('Critique');
  });

  it('ties in the dominant state go to the more severe; no lost time under 30 % (arc 2)', () => {
    const a = arc('2');
    expect(a.etat_trafic_dominant).toBe('Pré-saturé');
    // 12·300 + Σ_{h=12..23}(400+h) = 3600 + 4800 + 210
    expect(a.debit_journalier_total).toBe(8610);
    expect(a.heure_pic).toBe(iso(23));
    expect(a.temps_perdu_total_minutes).toBe(0);
    expect(a.temps_perdu_minutes).toBe(0);
    expect(a.congestion_alerte).toBe(false);
    expect(a.severite).toBeNull();
    expect(a.arrondissement).toBe(arrondissementOf(48.838634372743535, 2.293205602717535));
  });

  it('arcs without coordinates are Hors Paris / Unknown; an arc with only empty rows has no peak (arcs 3, 4)', () => {
    expect(arc('3')).toMatchObject({ arrondissement: HORS_PARIS, zone_fallback: 'Unknown', geo_point_2d: null, debit_journalier_total: 77 });
    expect(arc('4')).toMatchObject({
      debit_journalier_total: 0,
      debit_horaire_moyen: 0,
      debit_max: 0,
      heure_pic: null,
      taux_occupation_moyen: null,
      etat_trafic_dominant: 'Inconnu',
      heures_mesurees: 0,
      temps_perdu_minutes: 0,
    });
    expect(arc('1').arrondissement).toBe(arrondissementOf(48.87153587897718, 2.3017227924560624));
    expect(arc('1').zone_fallback).toBe(legacyZoneFallback(48.87153587897718, 2.3017227924560624));
  });

  it('failing sensors: > 6 h without flow, or ≥ 12 h of the same non-zero flow', () => {
    expect(m.capteurs_defaillants).toEqual([
      { id_compteur: '1', type: 'road', libelle: 'Arc_1', raisons: ['plus de 6 h sans débit'] }, // 24 − 9 = 15 h
      { id_compteur: '2', type: 'road', libelle: 'Arc_2', raisons: ['débit constant ≥ 12 h'] },
      { id_compteur: '4', type: 'road', libelle: 'Arc_4', raisons: ['plus de 6 h sans débit'] },
    ]);
  });

  it('city totals, availability, state split and hourly profile', () => {
    const g = m.global_metrics;
    const total = 2610 + 8610 + 77;
    expect(g.total_vehicules_jour).toBe(total);
    expect(g.nombre_troncons_actifs).toBe(3);
    expect(g.moyenne_debit_par_troncon).toBeCloseTo(total / 3, 12);
    // Taux: arc 1 622 (9 h), arc 2 12·5 + 12·20 = 300 (24 h), arc 3 12·0 + 11·1 = 11 (23 h).
    expect(g.taux_occupation_moyen).toBeCloseTo((622 + 300 + 11) / (9 + 24 + 23), 12);
    expect(g.temps_perdu_total_paris).toBeCloseTo(789, 9);
    expect(g.temps_perdu_total_heures).toBeCloseTo(789 / 60, 12);
    expect(g.nombre_troncons_satures).toBe(1);
    // ≥ 18 measured hours: arcs 2 (24) and 3 (23) of 4 seen.
    expect(g.taux_disponibilite_capteurs).toBe(50);
    expect(g.repartition_etat_trafic).toEqual({ Fluide: 1 + 12 + 23, 'Pré-saturé': 12, Saturé: 1, Bloqué: 7, Inconnu: 2 });
    expect(g.heures_dans_la_journee).toBe(24);
    expect(g.profil_horaire).toHaveLength(24);
    expect(g.profil_horaire[0]).toEqual({ heure: iso(0), debit_total: 300 + 0, taux_occupation_moyen: (5 + 0) / 2, arcs_mesures: 2 });
    expect(g.profil_horaire[5]).toEqual({ heure: iso(5), debit_total: 300, taux_occupation_moyen: 2.5, arcs_mesures: 2 }); // arc 4's empty row is not measured
    expect(g.profil_horaire[7]).toEqual({ heure: iso(7), debit_total: 100 + 300 + 0, taux_occupation_moyen: (85 + 5 + 0) / 3, arcs_mesures: 3 });
    expect(g.profil_horaire[13]).toEqual({ heure: iso(13), debit_total: 413 + 7, taux_occupation_moyen: (95 + 20 + 1) / 3, arcs_mesures: 3 });
    expect(g.profil_horaire[23]).toEqual({ heure: iso(23), debit_total: 423, taux_occupation_moyen: 20, arcs_mesures: 1 });
  });

  it('tops, alerts and zones', () => {
    expect(m.top_10_troncons.map((a) => a.identifiant_arc)).toEqual(['2', '1', '3', '4']);
    expect(m.top_10_troncons_congestionnes.map((a) => a.identifiant_arc)).toEqual(['1']);
    expect(m.alertes_congestion.map((a) => a.identifiant_arc)).toEqual(['1']);
    const z1 = arrondissementOf(48.87153587897718, 2.3017227924560624);
    const z2 = arrondissementOf(48.838634372743535, 2.293205602717535);
    expect(m.top_zones_affluence.map((z) => z.zone)).toEqual([z2, z1, HORS_PARIS]);
    expect(m.top_10_zones_congestionnees[0].zone).toBe(z1);
    const zone1 = m.top_zones_affluence.find((z) => z.zone === z1)!;
    expect(zone1).toEqual({
      zone: z1,
      nombre_troncons: 1,
      total_vehicules: 2610,
      temps_perdu_total_minutes: arc('1').temps_perdu_total_minutes,
      nombre_troncons_satures: 1,
      taux_saturation: 100,
      moyenne_vehicules_par_troncon: 2610,
      top_troncons: [{ identifiant_arc: '1', libelle: 'Arc_1', debit_journalier_total: 2610, etat_trafic: 'Bloqué' }],
    });
    const hors = m.top_zones_affluence.find((z) => z.zone === HORS_PARIS)!;
    expect(hors).toMatchObject({ nombre_troncons: 2, total_vehicules: 77, nombre_troncons_satures: 0, taux_saturation: 0, moyenne_vehicules_par_troncon: 38.5 });
    expect(hors.top_troncons.map((t) => t.identifiant_arc)).toEqual(['3', '4']);
  });

  it('uses the référentiel length (and centre when the row has no point)', () => {
    const ref: Record<string, ReferentielArc> = {
      '1': { libelle: 'R1', longueur_metres: 1000, noeud_amont: '1', noeud_aval: '2', geo_point_2d: null, center: [2.35, 48.85], arrondissement: 'x', troncons: 1, actif: true },
      '3': { libelle: 'R3', longueur_metres: 250, noeud_amont: '1', noeud_aval: '2', geo_point_2d: '48.86,2.36', center: [2.36, 48.86], arrondissement: 'x', troncons: 1, actif: true },
      '4': { libelle: 'R4', longueur_metres: 0, noeud_amont: '1', noeud_aval: '2', geo_point_2d: null, center: null, arrondissement: 'x', troncons: 1, actif: true },
    };
    const { result: r } = dayMetrics([...ARC1, ...ARC2, ...ARC3, ...ARC4], ref);
    const a1 = r.metrics.metrics[0];
    expect(a1.longueur_metres).toBe(1000);
    expect(a1.longueur_source).toBe('referentiel');
    // Twice the length, twice the lost time: 1 km at 20 km/h = 3 min vs 1.2 → +1.8 etc.
    expect(a1.temps_perdu_total_minutes).toBeCloseTo(2 * 789, 9);
    const a3 = r.metrics.metrics[2];
    expect(a3.arrondissement).toBe(arrondissementOf(48.86, 2.36));
    expect(a3.zone_fallback).toBe(legacyZoneFallback(48.86, 2.36));
    expect(a3.geo_point_2d).toBe('48.86, 2.36');
    expect(r.metrics.metrics[3]).toMatchObject({ longueur_metres: 500, longueur_source: 'defaut' });
  });

  it('thresholds are configuration', () => {
    const strict = createComptagesHandler({ congestion: 95, constantFlowHours: 13 });
    const { result: r } = dayMetrics([...ARC1, ...ARC2, ...ARC3, ...ARC4], undefined, strict);
    expect(r.metrics.metrics[0].congestion_alerte).toBe(false);
    expect(r.metrics.capteurs_defaillants.map((f) => f.id_compteur)).toEqual(['1', '4']);
  });

  it('a day with no arcs gives zeros, nulls and a full empty profile', () => {
    const r = comptagesHandler.finalizeDay('2024-03-31', [decodeComptagesPartial(encodeComptagesPartial(new PartialBuilder('2024-03-31', 0).build()))], {});
    expect(r.metrics.metrics).toEqual([]);
    expect(r.metrics.global_metrics).toMatchObject({ total_vehicules_jour: 0, moyenne_debit_par_troncon: 0, taux_occupation_moyen: null, taux_disponibilite_capteurs: 0, heures_dans_la_journee: 23 });
    expect(r.metrics.global_metrics.profil_horaire).toHaveLength(23);
    expect(r.metrics.global_metrics.profil_horaire[2].heure).toBe('2024-03-31T03:00:00+02:00');
  });
});

describe('normalizeEtatTrafic', () => {
  it('maps case, accent and code variants to the five states', () => {
    expect(['Fluide', 'FLUIDE', ' fluide', '1'].map(normalizeEtatTrafic)).toEqual(['Fluide', 'Fluide', 'Fluide', 'Fluide']);
    expect(['Pré-saturé', 'PRE-SATURE', 'pre_sature', 'Pré saturé', '2'].map(normalizeEtatTrafic)).toEqual(Array(5).fill('Pré-saturé'));
    expect(['Saturé', 'SATURE', '3'].map(normalizeEtatTrafic)).toEqual(Array(3).fill('Saturé'));
    expect(['Bloqué', 'BLOQUÉ', 'bloque', '4'].map(normalizeEtatTrafic)).toEqual(Array(4).fill('Bloqué'));
    expect(['Inconnu', '', 'n/a', '0', '__proto__'].map(normalizeEtatTrafic)).toEqual(Array(5).fill('Inconnu'));
  });
});
