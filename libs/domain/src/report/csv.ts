/**
 * CSV form of the daily report (`daily_report_<D>.csv`).
 *
 * Format: UTF-8 without BOM, `;` delimiter, CRLF after every line (the last one included),
 * RFC 4180 quoting when a cell holds `;`, `"`, CR or LF. Numbers are printed with `String(n)`;
 * null prints as an empty cell. Text that comes from the data and starts with `=`, `+`, `-`, `@`,
 * TAB or CR is prefixed with `'` so that a spreadsheet does not run it as a formula (fixed labels
 * such as the `=== … ===` section titles are written as they are).
 *
 * Layout: the old report's lines and sections, in the old order and with the old titles, headers
 * and empty-section lines — but every column is kept (the old writer cut each line to 2 cells).
 * New sections follow the old ones (see NEW_CSV_SECTIONS).
 */
import type { DailyReport } from './types';

export const CSV_DELIMITER = ';';
export const CSV_EOL = '\r\n';

/** The first line of the old CSV. */
export const LEGACY_CSV_HEADER = ['Section', 'Valeur'] as const;

/** Labels of the 5 summary lines, in order, exactly as the old CSV wrote them. */
export const LEGACY_SUMMARY_LABELS = [
  'Total véhicules Paris',
  'Temps perdu total (min)',
  'Tronçons saturés',
  'Taux disponibilité capteurs (%)',
  'Total vélos Paris',
] as const;

/** Titles of the old sections, in the old order. */
export const LEGACY_CSV_SECTIONS = [
  '=== TOP 10 TRONÇONS FRÉQUENTÉS ===',
  '=== TOP 10 ZONES CONGESTIONNÉES ===',
  '=== CAPTEURS DÉFAILLANTS ===',
  '=== ALERTES CONGESTION ===',
  '=== CHANTIERS ACTIFS ===',
] as const;

/** Column headers of the old sections (same order), with the columns the old writer dropped restored. */
export const LEGACY_CSV_COLUMNS: Record<(typeof LEGACY_CSV_SECTIONS)[number], readonly string[]> = {
  '=== TOP 10 TRONÇONS FRÉQUENTÉS ===': ['Tronçon', 'Débit Total'],
  '=== TOP 10 ZONES CONGESTIONNÉES ===': ['Zone', 'Temps Perdu (min)'],
  '=== CAPTEURS DÉFAILLANTS ===': ['ID Capteur', 'Type'],
  '=== ALERTES CONGESTION ===': ['Tronçon', 'Taux Occupation (%)', 'Sévérité'],
  '=== CHANTIERS ACTIFS ===': ['Identifiant', 'Typologie', 'Impact', 'Arrondissement'],
};

/** Line written instead of the header and rows when an old section is empty. */
export const LEGACY_EMPTY_LINES: Record<(typeof LEGACY_CSV_SECTIONS)[number], string> = {
  '=== TOP 10 TRONÇONS FRÉQUENTÉS ===': 'Aucune donnée disponible',
  '=== TOP 10 ZONES CONGESTIONNÉES ===': 'Aucune donnée disponible',
  '=== CAPTEURS DÉFAILLANTS ===': 'Aucun capteur défaillant',
  '=== ALERTES CONGESTION ===': 'Aucune alerte',
  '=== CHANTIERS ACTIFS ===': 'Aucun chantier actif',
};

/** Row caps of the old sections (top 10s, then 20 as the old writer had). */
export const LEGACY_CSV_ROW_CAPS: Record<(typeof LEGACY_CSV_SECTIONS)[number], number> = {
  '=== TOP 10 TRONÇONS FRÉQUENTÉS ===': 10,
  '=== TOP 10 ZONES CONGESTIONNÉES ===': 10,
  '=== CAPTEURS DÉFAILLANTS ===': 20,
  '=== ALERTES CONGESTION ===': 20,
  '=== CHANTIERS ACTIFS ===': 20,
};

/** Sections added after the old ones, in order. */
export const NEW_CSV_SECTIONS = [
  '=== TOP 10 TRONÇONS CONGESTIONNÉS ===',
  '=== ÉVOLUTION VS SEMAINE PRÉCÉDENTE ===',
  '=== MÉTÉO ===',
  '=== TRANSPORTS ===',
  '=== LIGNES LES PLUS IMPACTÉES ===',
  '=== ALERTES TRANSPORTS ===',
  '=== VÉLIB ===',
  '=== QUALITÉ DES DONNÉES ===',
  '=== COMPLÉTUDE ===',
] as const;

const NO_DATA = 'Aucune donnée disponible';

/** A cell: a fixed label (written as is), data text (neutralised), a number, a boolean or nothing. */
type Cell = { label: string } | string | number | boolean | null | undefined;

const label = (text: string): Cell => ({ label: text });

const FORMULA_START = /^[=+\-@\t\r]/;

/** Neutralise text that a spreadsheet would read as a formula (OWASP CSV injection). */
export function escapeFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** RFC 4180 quoting for the `;` dialect. */
export function quoteCsvField(text: string): string {
  return /[;"\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'object') return cell.label;
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  if (typeof cell === 'boolean') return cell ? 'oui' : 'non';
  return escapeFormula(cell);
}

function line(cells: Cell[]): string {
  return cells.map((c) => quoteCsvField(cellText(c))).join(CSV_DELIMITER);
}

class CsvBuilder {
  private readonly lines: string[] = [];

  row(...cells: Cell[]): void {
    this.lines.push(line(cells));
  }

  labels(...texts: readonly string[]): void {
    this.row(...texts.map(label));
  }

  /** The old separator line `;`. */
  separator(): void {
    this.row(label(''), label(''));
  }

  /** `=== TITLE ===;` */
  title(text: string): void {
    this.row(label(text), label(''));
  }

  /** A one-cell message line with the old trailing `;` (e.g. `Aucune alerte;`). */
  message(text: string): void {
    this.row(label(text), label(''));
  }

  toString(): string {
    return this.lines.map((l) => l + CSV_EOL).join('');
  }
}

/** A section: the `;` separator line, the title, then the header and rows, or the empty line. */
function section(csv: CsvBuilder, title: string, header: readonly string[], rows: Cell[][], emptyLine = NO_DATA): void {
  csv.separator();
  csv.title(title);
  if (rows.length === 0) {
    csv.message(emptyLine);
    return;
  }
  csv.labels(...header);
  for (const r of rows) csv.row(...r);
}

function legacy(csv: CsvBuilder, title: (typeof LEGACY_CSV_SECTIONS)[number], rows: Cell[][]): void {
  section(csv, title, LEGACY_CSV_COLUMNS[title], rows.slice(0, LEGACY_CSV_ROW_CAPS[title]), LEGACY_EMPTY_LINES[title]);
}

const arcName = (a: { libelle: string; identifiant_arc: string }): string => (a.libelle ? a.libelle : a.identifiant_arc);

/** The report as CSV text (see the file comment for the format). Pure. */
export function reportToCsv(report: DailyReport): string {
  const csv = new CsvBuilder();
  const s = report.summary;

  csv.labels(...LEGACY_CSV_HEADER);
  const values = [
    s.total_vehicules_paris,
    s.temps_perdu_total_minutes,
    s.nombre_troncons_satures,
    s.taux_disponibilite_capteurs,
    s.total_velos_paris,
  ];
  LEGACY_SUMMARY_LABELS.forEach((l, i) => csv.row(label(l), values[i]));

  // ── old sections, old order ──
  legacy(
    csv,
    '=== TOP 10 TRONÇONS FRÉQUENTÉS ===',
    report.top_10_troncons_frequentes.map((a) => [arcName(a), a.debit_journalier_total]),
  );
  legacy(
    csv,
    '=== TOP 10 ZONES CONGESTIONNÉES ===',
    report.top_10_zones_congestionnees.map((z) => [z.zone, z.temps_perdu_total_minutes]),
  );
  legacy(
    csv,
    '=== CAPTEURS DÉFAILLANTS ===',
    report.capteurs_defaillants.map((c) => [c.id_compteur, c.type]),
  );
  legacy(
    csv,
    '=== ALERTES CONGESTION ===',
    report.alertes_congestion.map((a) => [arcName(a), a.taux_occupation_moyen, a.severite]),
  );
  legacy(
    csv,
    '=== CHANTIERS ACTIFS ===',
    report.chantiers_actifs.map((c) => [c.identifiant, c.typologie, c.impact, c.arrondissement]),
  );

  // ── new sections ──
  section(
    csv,
    '=== TOP 10 TRONÇONS CONGESTIONNÉS ===',
    ['Tronçon', 'Identifiant', 'Temps Perdu (min)', 'Taux Occupation (%)', 'Sévérité', 'Arrondissement'],
    report.top_10_troncons_congestionnes.map((a) => [
      arcName(a),
      a.identifiant_arc,
      a.temps_perdu_total_minutes,
      a.taux_occupation_moyen,
      a.severite,
      a.arrondissement,
    ]),
  );

  const evo = report.evolution_vs_semaine_precedente;
  const evoLabels: Record<string, string> = {
    total_vehicules: 'Total véhicules',
    temps_perdu_total_minutes: 'Temps perdu total (min)',
    nombre_troncons_satures: 'Tronçons saturés',
    taux_disponibilite_capteurs: 'Taux disponibilité capteurs (%)',
    total_velos: 'Total vélos',
    chantiers_actifs: 'Chantiers actifs',
    perturbations_actives: 'Perturbations actives',
    velib_velos_disponibles_moyen: 'Vélib vélos disponibles (moyenne)',
  };
  section(
    csv,
    '=== ÉVOLUTION VS SEMAINE PRÉCÉDENTE ===',
    ['Indicateur', 'Valeur', `Valeur ${evo.date_comparaison}`, 'Variation', 'Variation (%)'],
    Object.entries(evoLabels).map(([key, text]) => {
      const ind = evo[key as keyof typeof evo] as { valeur: number | null; valeur_semaine_precedente: number | null; variation_absolue: number | null; variation_pourcent: number | null };
      return [label(text), ind.valeur, ind.valeur_semaine_precedente, ind.variation_absolue, ind.variation_pourcent];
    }),
  );

  const m = report.meteo_impact;
  section(
    csv,
    '=== MÉTÉO ===',
    ['Indicateur', 'Valeur'],
    'date' in m
      ? [
          [label('Date'), m.date],
          [label('Température moyenne (°C)'), m.temp_moyenne],
          [label('Température min (°C)'), m.temp_min],
          [label('Température max (°C)'), m.temp_max],
          [label('Précipitations (mm)'), m.precip_totale],
          [label('Vent moyen (km/h)'), m.vent_moyen],
          [label('Conditions'), m.conditions],
          [label('Catégories'), m.categories.join(', ')],
          [label('Impact mobilité'), m.impact_mobilite],
        ]
      : [],
  );

  const t = report.transports;
  section(
    csv,
    '=== TRANSPORTS ===',
    ['Indicateur', 'Valeur'],
    t
      ? [
          [label('Indice de fiabilité (%)'), t.reliability_index],
          [label('Perturbations actives'), t.active_disruptions_count],
          [label('Perturbations totales'), t.total_disruptions_count],
          [label('Sévérité CRITIQUE'), t.disruptions_by_severity.CRITIQUE],
          [label('Sévérité ELEVEE'), t.disruptions_by_severity.ELEVEE],
          [label('Sévérité MOYENNE'), t.disruptions_by_severity.MOYENNE],
          [label('Sévérité FAIBLE'), t.disruptions_by_severity.FAIBLE],
          ...Object.entries(t.disruptions_by_feed_severity).map(([k, v]): Cell[] => [`Sévérité (flux) ${k}`, v]),
          ...Object.entries(t.lignes_impactees_par_mode)
            .filter(([, lines]) => lines.length > 0)
            .map(([mode, lines]): Cell[] => [`Lignes impactées ${mode}`, lines.join(', ')]),
          [label('Alertes'), t.nombre_alertes],
        ]
      : [],
  );
  section(
    csv,
    '=== LIGNES LES PLUS IMPACTÉES ===',
    ['Ligne', 'Mode', 'Perturbations'],
    (t?.top_lignes_impactees ?? []).map((l) => [l.ligne, l.mode, l.count]),
  );
  section(
    csv,
    '=== ALERTES TRANSPORTS ===',
    ['Identifiant', 'Titre', 'Sévérité', 'Priorité', 'Durée sur le jour (h)', 'Lignes', 'Bloquante'],
    (t?.alerts ?? []).map((a) => [a.id, a.titre, a.severite, a.priority, a.duration_hours, a.lignes.join(', '), a.bloquante]),
  );

  const v = report.velib;
  section(
    csv,
    '=== VÉLIB ===',
    ['Indicateur', 'Valeur'],
    v
      ? [
          [label('Instantanés'), v.snapshots],
          [label('Stations'), v.stations],
          [label('Vélos disponibles (moyenne)'), v.velos_disponibles_moyen],
          [label('Vélos mécaniques (moyenne)'), v.velos_mecaniques_moyen],
          [label('Vélos électriques (moyenne)'), v.velos_electriques_moyen],
          [label('Part stations vides (%)'), v.part_stations_vides],
          [label('Part stations pleines (%)'), v.part_stations_pleines],
          ...v.stations_souvent_vides.map((st): Cell[] => [`Souvent vide : ${st.nom ?? st.station_code}`, st.part_vide]),
        ]
      : [],
  );

  section(
    csv,
    '=== QUALITÉ DES DONNÉES ===',
    ['Source', 'Enregistrements', 'Acceptés', 'Rejetés', 'Motifs de rejet', 'Fichiers en échec'],
    Object.entries(report.qualite_donnees).map(([source, q]) => [
      source,
      q!.records,
      q!.accepted,
      q!.rejected_total,
      Object.entries(q!.rejected)
        .map(([reason, n]) => `${reason}: ${n}`)
        .join(', '),
      q!.fichiers_en_echec.length,
    ]),
  );

  const c = report.completude;
  csv.separator();
  csv.title('=== COMPLÉTUDE ===');
  csv.row(label('Date'), report.date);
  csv.row(label('Généré le'), report.generated_at);
  csv.row(label('Statut'), c.statut);
  csv.row(label('Sources présentes'), c.sources_presentes.join(', '));
  if (c.sources_manquantes.length > 0 || c.sources_partielles.length > 0) {
    csv.labels('Source manquante', 'Raison', 'Détail');
    for (const ms of c.sources_manquantes) csv.row(ms.source, ms.raison, ms.detail);
    for (const ps of c.sources_partielles) {
      csv.row(ps.source, 'fichier_en_echec (partiel)', ps.fichiers_en_echec.map((f) => `${f.relPath} : ${f.error}`).join(' ; '));
    }
  }
  if (c.fichiers.length > 0) {
    csv.labels('Fichier', 'Source', 'Statut', 'Enregistrements', 'Rejetés', 'Erreur');
    for (const f of c.fichiers) csv.row(f.relPath, f.source, f.status, f.records, f.rejected, f.error);
  }

  return csv.toString();
}
