// CityFlow dashboard: one page per theme, data from the JSON API of the same server.
import { arrLabel, card, chip, empty, fmt, grid, h, kpi, kpis, progressBar, table } from './dom.js';
import { barChart, columnChart, donutChart } from './charts.js';
import { arrondissementMap } from './map.js';

// ───────────────────────────── data access ─────────────────────────────

const cache = new Map();

/** GET a JSON route; resolves to null on 404, throws on other errors. Cached per URL. */
function getJSON(url, { fresh = false } = {}) {
  if (!fresh && cache.has(url)) return cache.get(url);
  const p = fetch(url, { headers: { Accept: 'application/json' } }).then(async (r) => {
    if (r.status === 404) return null;
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new Error(body?.message ? `${body.error} : ${body.message}` : `HTTP ${r.status}`);
    return body;
  });
  if (!fresh) {
    cache.set(url, p);
    p.catch(() => cache.delete(url));
  }
  return p;
}

/** False only when /dates was read and does not list this document. */
function known(kind, d) {
  if (!state.dates) return true;
  const list = kind === 'reports' ? state.dates.reports : state.dates.metrics?.[kind];
  return Array.isArray(list) ? list.includes(d) : true;
}

const api = {
  dates: () => getJSON('dates', { fresh: true }),
  // /dates says what exists: absent documents are not requested (no 404 noise in the console).
  report: async (d) => (known('reports', d) ? getJSON(`report/${d}`).then((b) => b?.report ?? null) : null),
  metrics: async (type, d) => (known(type, d) ? getJSON(`metrics/${type}/${d}`).then((b) => b?.data ?? null) : null),
  arcs: (d, q) => getJSON(`metrics/comptages/${d}/arcs?${new URLSearchParams(q)}`),
  runs: () => getJSON('runs?limit=20', { fresh: true }),
  run: (id) => getJSON(`runs/${encodeURIComponent(id)}`, { fresh: true }),
};

// ───────────────────────────── vocabulary ─────────────────────────────

const ETAT_COLORS = { Fluide: '#2e9d58', 'Pré-saturé': '#e6b800', Saturé: '#e8720c', Bloqué: '#c62828', Inconnu: '#9e9e9e' };
const SEVERITY = [
  { key: 'CRITIQUE', label: 'Critique', color: '#c62828', chip: 'crit' },
  { key: 'ELEVEE', label: 'Élevée', color: '#e8720c', chip: 'high' },
  { key: 'MOYENNE', label: 'Moyenne', color: '#e6b800', chip: 'warn' },
  { key: 'FAIBLE', label: 'Faible', color: '#4c9f70', chip: 'ok' },
];
const MODES = { metro: 'Métro', rer: 'RER', tram: 'Tram', bus: 'Bus', train: 'Train', autre: 'Autre' };
const SOURCE_LABELS = {
  comptages: 'Comptages routiers',
  referentiel: 'Référentiel géographique',
  chantiers: 'Chantiers',
  bikes: 'Compteurs vélo',
  traffic: 'Perturbations transports',
  weather: 'Météo',
  velib: "Vélib'",
};
const MISSING_REASONS = { aucun_fichier: 'aucun fichier', fichier_en_echec: 'fichier(s) en échec', aucune_donnee: 'aucune donnée pour ce jour' };
const EVOLUTION_LABELS = {
  total_vehicules: 'Véhicules comptés',
  temps_perdu_total_minutes: 'Temps perdu (min)',
  nombre_troncons_satures: 'Tronçons saturés',
  taux_disponibilite_capteurs: 'Disponibilité capteurs (%)',
  total_velos: 'Passages vélo',
  chantiers_actifs: 'Chantiers actifs',
  perturbations_actives: 'Perturbations actives',
  velib_velos_disponibles_moyen: "Vélib' disponibles (moyenne)",
};

const etatChip = (etat) => chip(etat ?? 'Inconnu', { Fluide: 'ok', 'Pré-saturé': 'warn', Saturé: 'high', Bloqué: 'crit' }[etat] ?? 'muted');
const SEVERITY_BY_NAME = Object.fromEntries(SEVERITY.flatMap((x) => [[x.key, x], [x.label, x]]));
const severiteChip = (sev) => {
  const x = SEVERITY_BY_NAME[sev];
  return x ? chip(x.label, x.chip) : chip(sev ?? '—', 'muted');
};
const SEVERITY_RANK = { Critique: 0, 'Élevée': 1 };
const sum = (xs) => xs.reduce((a, x) => a + (typeof x === 'number' && Number.isFinite(x) ? x : 0), 0);
const byArrondissement = (obj) =>
  Object.entries(obj ?? {})
    .map(([code, value]) => ({ code, label: arrLabel(code), value }))
    .sort((a, b) => b.value - a.value);

// ───────────────────────────── pages ─────────────────────────────

const PAGES = [
  { id: 'overview', label: "Vue d'ensemble", render: renderOverview },
  { id: 'trafic', label: 'Trafic routier', render: renderTrafic },
  { id: 'velos', label: 'Vélos', render: renderVelos },
  { id: 'transports', label: 'Transports', render: renderTransports },
  { id: 'chantiers', label: 'Chantiers', render: renderChantiers },
  { id: 'meteo', label: 'Météo & Vélib', render: renderMeteoVelib },
  { id: 'qualite', label: 'Qualité', render: renderQualite },
  { id: 'runs', label: 'Runs', render: renderRuns },
];

async function renderOverview(date) {
  const [report, comptages] = await Promise.all([api.report(date), api.metrics('comptages', date)]);
  const out = [h('h2', {}, `Vue d'ensemble — ${fmt.day(date)}`)];
  if (!report) {
    out.push(h('div', { class: 'banner none' }, h('p', {}, h('strong', {}, 'Aucun rapport pour ce jour.'), ' Les pages thématiques montrent les métriques disponibles.')));
  } else {
    const c = report.completude ?? {};
    const complete = (report.statut ?? c.statut) === 'complet';
    out.push(
      h(
        'div',
        { class: `banner ${complete ? 'ok' : 'warn'}` },
        h('p', {}, h('strong', {}, complete ? 'Rapport complet' : 'Rapport incomplet'), ` — généré le ${fmt.stamp(report.generated_at)}`, ' · ', h('a', { href: `report/${date}/csv`, download: `daily_report_${date}.csv` }, 'télécharger le CSV')),
        h('p', {}, 'Sources présentes : ', (c.sources_presentes ?? []).length ? (c.sources_presentes ?? []).map((src) => chip(SOURCE_LABELS[src] ?? src, 'ok')) : chip('aucune', 'muted')),
        (c.sources_manquantes ?? []).length
          ? h('p', {}, 'Manquantes : ', c.sources_manquantes.map((m) => chip(`${SOURCE_LABELS[m.source] ?? m.source} (${MISSING_REASONS[m.raison] ?? m.raison})`, 'warn')))
          : null,
      ),
    );
    const sm = report.summary ?? {};
    const t = report.transports;
    out.push(
      kpis(
        kpi('Véhicules comptés', fmt.int(sm.total_vehicules_paris), 'capteurs routiers permanents'),
        kpi('Temps perdu', fmt.hours(sm.temps_perdu_total_minutes), `${fmt.int(sm.temps_perdu_total_minutes)} min`),
        kpi('Tronçons saturés', fmt.int(sm.nombre_troncons_satures), null, '#e8720c'),
        kpi('Disponibilité capteurs', fmt.pct(sm.taux_disponibilite_capteurs), '≥ 18 h mesurées'),
        kpi('Passages vélo', fmt.int(sm.total_velos_paris), 'compteurs vélo', '#2e9d58'),
        kpi('Chantiers actifs', fmt.int(Array.isArray(report.chantiers_actifs) ? report.chantiers_actifs.length : null), null, '#6d4c41'),
        kpi('Perturbations actives', fmt.int(t?.active_disruptions_count), t ? `${fmt.int(t.total_disruptions_count)} au total` : 'aucune donnée', '#8e44ad'),
        kpi('Fiabilité transports', fmt.pct(t?.reliability_index), 'créneaux ligne × heure sans blocage', '#8e44ad'),
      ),
    );
  }

  const g = comptages?.global_metrics;
  const repartition = g?.repartition_etat_trafic ?? {};
  const etatItems = Object.keys(ETAT_COLORS).map((k) => ({ label: k, value: repartition[k] ?? 0, color: ETAT_COLORS[k] }));
  const profile = (g?.profil_horaire ?? []).map((p) => ({ label: fmt.hour(p.heure), value: p.debit_total, title: `${fmt.hour(p.heure)} (${p.arcs_mesures} tronçons)` }));
  out.push(
    grid(
      card('État du trafic (tronçons × heures)', g ? donutChart(etatItems, { empty: 'Aucune mesure', title: 'répartition des états du trafic' }) : empty('Aucune donnée trafic routier')),
      card('Profil horaire (véhicules par heure)', g ? columnChart(profile, { title: 'profil horaire' }) : empty('Aucune donnée trafic routier')),
    ),
  );

  if (report) {
    const evo = report.evolution_vs_semaine_precedente ?? {};
    const rows = Object.keys(EVOLUTION_LABELS)
      .filter((k) => evo[k] && typeof evo[k] === 'object')
      .map((k) => ({ k, ...evo[k] }));
    const meteo = report.meteo_impact ?? {};
    out.push(
      grid(
        card(
          `Évolution vs ${evo.date_comparaison ? fmt.day(evo.date_comparaison) : 'J−7'}`,
          evo.disponible
            ? table(
                [
                  { label: 'Indicateur', value: (r) => EVOLUTION_LABELS[r.k] },
                  { label: 'Jour', num: true, value: (r) => fmt.dec1(r.valeur) },
                  { label: 'J−7', num: true, value: (r) => fmt.dec1(r.valeur_semaine_precedente) },
                  { label: 'Variation', num: true, value: (r) => (r.variation_pourcent === null || r.variation_pourcent === undefined ? '—' : `${r.variation_pourcent > 0 ? '+' : ''}${fmt.dec1(r.variation_pourcent)} %`) },
                ],
                rows,
              )
            : empty(evo.note ?? 'Pas de comparaison possible'),
        ),
        card(
          'Météo du jour',
          meteo.temp_moyenne !== undefined
            ? h(
                'div',
                {},
                h('p', {}, `${fmt.dec1(meteo.temp_moyenne)} °C (${fmt.dec1(meteo.temp_min)} à ${fmt.dec1(meteo.temp_max)} °C), ${fmt.dec1(meteo.precip_totale)} mm, vent ${fmt.dec1(meteo.vent_moyen)} km/h — ${meteo.conditions ?? ''}`),
                h('p', {}, (meteo.categories ?? []).length ? meteo.categories.map((c) => chip(c)) : chip('aucune catégorie', 'muted'), ' ', `Impact mobilité : ${fmt.int(meteo.impact_mobilite)}`),
              )
            : empty('Aucune donnée météo'),
        ),
      ),
    );
  }
  return out;
}

async function renderTrafic(date) {
  const c = await api.metrics('comptages', date);
  const out = [h('h2', {}, `Trafic routier — ${fmt.day(date)}`)];
  if (!c) return [...out, empty('Aucune donnée trafic routier pour ce jour')];
  const g = c.global_metrics ?? {};
  out.push(
    kpis(
      kpi('Tronçons actifs', fmt.int(g.nombre_troncons_actifs)),
      kpi('Véhicules', fmt.int(g.total_vehicules_jour), `${fmt.int(g.moyenne_debit_par_troncon)} par tronçon`),
      kpi("Taux d'occupation moyen", fmt.pct(g.taux_occupation_moyen)),
      kpi('Temps perdu', fmt.hours(g.temps_perdu_total_paris), `${fmt.int(g.temps_perdu_total_paris)} min`),
      kpi('Tronçons saturés', fmt.int(g.nombre_troncons_satures), null, '#e8720c'),
      kpi('Disponibilité capteurs', fmt.pct(g.taux_disponibilite_capteurs), `${fmt.int((c.capteurs_defaillants ?? []).length)} capteur(s) défaillant(s)`),
    ),
  );

  // Per-arrondissement totals from the arcs themselves (every arc, not only the top zones).
  const perArr = {};
  for (const a of c.metrics ?? []) {
    const z = (perArr[a.arrondissement] ??= { vehicules: 0, temps: 0, arcs: 0 });
    z.vehicules += a.debit_journalier_total ?? 0;
    z.temps += a.temps_perdu_total_minutes ?? 0;
    z.arcs += 1;
  }
  const mapHolder = h('div', {});
  const measureSelect = h('select', { 'aria-label': 'Mesure de la carte' }, h('option', { value: 'vehicules' }, 'Véhicules'), h('option', { value: 'temps' }, 'Temps perdu (min)'));
  const drawMap = () => {
    const m = measureSelect.value;
    const values = Object.fromEntries(Object.entries(perArr).map(([k, v]) => [k, v[m]]));
    mapHolder.replaceChildren(arrondissementMap(values, { ramp: m === 'temps' ? 'orange' : 'blue', title: 'carte du trafic par arrondissement' }));
  };
  measureSelect.addEventListener('change', drawMap);
  drawMap();
  const hors = perArr['Hors Paris'];

  const zones = (c.top_10_zones_congestionnees ?? []).map((z) => ({ label: arrLabel(z.zone), value: z.temps_perdu_total_minutes, title: `${arrLabel(z.zone)} — ${z.nombre_troncons} tronçons, ${fmt.pct(z.taux_saturation)} saturés` }));
  out.push(
    grid(
      card(
        'Top 10 tronçons (véhicules)',
        table(
          [
            { label: 'Tronçon', value: (a) => a.libelle || a.identifiant_arc },
            { label: 'Arr.', value: (a) => arrLabel(a.arrondissement) },
            { label: 'Véhicules', num: true, value: (a) => fmt.int(a.debit_journalier_total) },
            { label: 'Occ.', num: true, value: (a) => fmt.pct(a.taux_occupation_moyen) },
            { label: 'Pic', value: (a) => fmt.hour(a.heure_pic) },
            { label: 'État', value: (a) => etatChip(a.etat_trafic_dominant) },
          ],
          c.top_10_troncons ?? [],
        ),
      ),
      card('Zones les plus congestionnées (temps perdu, min)', barChart(zones, { color: '#e8720c', empty: 'Aucune zone congestionnée' })),
      card('Carte par arrondissement', h('div', {}, mapHolder, hors ? h('p', { class: 'small' }, `Hors Paris : ${fmt.int(hors.arcs)} tronçons, ${fmt.int(hors.vehicules)} véhicules.`) : null), { tools: measureSelect }),
      card(
        `Alertes de congestion (${fmt.int((c.alertes_congestion ?? []).length)}${(c.alertes_congestion ?? []).length > 15 ? ', les 15 premières' : ''})`,
        table(
          [
            { label: 'Sévérité', value: (a) => severiteChip(a.severite) },
            { label: 'Tronçon', value: (a) => a.libelle || a.identifiant_arc },
            { label: 'Arr.', value: (a) => arrLabel(a.arrondissement) },
            { label: 'Périodes', value: (a) => (a.congestion_periodes ?? []).map((p) => `${fmt.hour(p.debut)}–${fmt.hour(p.fin)} (max ${fmt.pct(p.taux_max)})`).join(', ') || '—' },
            { label: 'Temps perdu', num: true, value: (a) => `${fmt.int(a.temps_perdu_total_minutes)} min` },
          ],
          [...(c.alertes_congestion ?? [])]
            .sort((a, b) => (SEVERITY_RANK[a.severite] ?? 2) - (SEVERITY_RANK[b.severite] ?? 2) || (b.temps_perdu_total_minutes ?? 0) - (a.temps_perdu_total_minutes ?? 0))
            .slice(0, 15),
          { empty: 'Aucune alerte (occupation ≥ 80 % pendant 2 h)' },
        ),
      ),
      card(
        `Capteurs défaillants (${fmt.int((c.capteurs_defaillants ?? []).length)})`,
        table(
          [
            { label: 'Capteur', value: (x) => x.id_compteur },
            { label: 'Libellé', value: (x) => x.libelle ?? '—' },
            { label: 'Raisons', value: (x) => (x.raisons ?? []).map((r) => chip(r, 'warn')) },
          ],
          (c.capteurs_defaillants ?? []).slice(0, 50),
          { empty: 'Aucun capteur défaillant' },
        ),
      ),
    ),
  );
  out.push(arcsBrowser(date, Object.keys(perArr)));
  return out;
}

/** Every arc of the day, one page at a time (GET /metrics/comptages/{date}/arcs). */
function arcsBrowser(date, arrondissements) {
  const state = { page: 1, limit: 25, sort: '-debit_journalier_total', arrondissement: '' };
  const body = h('div', {}, h('p', { class: 'loading' }, 'Chargement…'));
  const arrSelect = h(
    'select',
    { 'aria-label': 'Arrondissement' },
    h('option', { value: '' }, 'Tous les arrondissements'),
    arrondissements.sort((a, b) => a.localeCompare(b, 'fr', { numeric: true })).map((a) => h('option', { value: a }, arrLabel(a))),
  );
  const sortSelect = h(
    'select',
    { 'aria-label': 'Tri' },
    [
      ['-debit_journalier_total', 'Véhicules ↓'],
      ['-temps_perdu_total_minutes', 'Temps perdu ↓'],
      ['-taux_occupation_moyen', 'Occupation ↓'],
      ['-debit_max', 'Débit max ↓'],
      ['identifiant_arc', 'Identifiant'],
      ['libelle', 'Libellé'],
    ].map(([v, l]) => h('option', { value: v }, l)),
  );
  const load = async () => {
    body.replaceChildren(h('p', { class: 'loading' }, 'Chargement…'));
    try {
      const q = { page: state.page, limit: state.limit, sort: state.sort };
      if (state.arrondissement) q.arrondissement = state.arrondissement;
      const res = await api.arcs(date, q);
      if (!res) return body.replaceChildren(empty());
      const prev = h('button', { type: 'button', disabled: res.page <= 1, onclick: () => { state.page--; load(); } }, '◀ Précédent');
      const next = h('button', { type: 'button', disabled: res.page >= res.pages, onclick: () => { state.page++; load(); } }, 'Suivant ▶');
      body.replaceChildren(
        table(
          [
            { label: 'Id', value: (a) => a.identifiant_arc },
            { label: 'Tronçon', value: (a) => a.libelle || '—' },
            { label: 'Arr.', value: (a) => arrLabel(a.arrondissement) },
            { label: 'Véhicules', num: true, value: (a) => fmt.int(a.debit_journalier_total) },
            { label: 'Débit max/h', num: true, value: (a) => fmt.int(a.debit_max) },
            { label: 'Occ.', num: true, value: (a) => fmt.pct(a.taux_occupation_moyen) },
            { label: 'Heures', num: true, value: (a) => fmt.int(a.heures_mesurees) },
            { label: 'Temps perdu', num: true, value: (a) => `${fmt.int(a.temps_perdu_total_minutes)} min` },
            { label: 'État', value: (a) => etatChip(a.etat_trafic_dominant) },
          ],
          res.items,
          { empty: 'Aucun tronçon' },
        ),
        h('div', { class: 'pager' }, prev, next, `Page ${res.page} / ${res.pages} — ${fmt.int(res.total)} tronçons`),
      );
    } catch (e) {
      body.replaceChildren(h('p', { class: 'error' }, e.message));
    }
  };
  arrSelect.addEventListener('change', () => { state.arrondissement = arrSelect.value; state.page = 1; load(); });
  sortSelect.addEventListener('change', () => { state.sort = sortSelect.value; state.page = 1; load(); });
  load();
  return h('div', { class: 'grid' }, card('Tous les tronçons', body, { wide: true, tools: h('div', { class: 'form-row' }, arrSelect, sortSelect) }));
}

async function renderVelos(date) {
  const b = await api.metrics('bikes', date);
  const out = [h('h2', {}, `Compteurs vélo — ${fmt.day(date)}`)];
  if (!b) return [...out, empty('Aucune donnée de compteurs vélo pour ce jour')];
  const counters = b.metrics ?? [];
  const meanHourly = counters.length ? sum(counters.map((m) => m.moyenne_horaire)) / counters.length : null;
  out.push(
    kpis(
      kpi('Compteurs actifs', fmt.int(counters.length), null, '#2e9d58'),
      kpi('Passages', fmt.int(b.total_velos), null, '#2e9d58'),
      kpi('Moyenne horaire', fmt.dec1(meanHourly), 'par compteur, sur ses heures mesurées'),
      kpi('Anomalies', fmt.int((b.anomalies ?? []).length), 'écart > 300 % vs 7 jours', '#e8720c'),
      kpi('Compteurs défaillants', fmt.int((b.capteurs_defaillants ?? b.failing_sensors ?? []).length), null, '#c62828'),
    ),
  );
  const top = (b.top_counters ?? []).slice(0, 10).map((m) => ({ label: m.nom_compteur || m.id_compteur, value: m.total_jour, title: `${m.nom_compteur} (${arrLabel(m.arrondissement)})` }));
  const arr = byArrondissement(b.par_arrondissement);
  out.push(
    grid(
      card('Top 10 compteurs (passages)', barChart(top, { color: '#1f5fbf', labelWidth: 230 })),
      card('Passages par arrondissement', barChart(arr.slice(0, 15), { color: '#2e9d58' })),
      card('Carte des passages', arrondissementMap(Object.fromEntries(arr.map((a) => [a.code, a.value])), { ramp: 'green' })),
      card('Profil horaire (passages)', columnChart((b.profil_horaire ?? []).map((p) => ({ label: fmt.hour(p.heure), value: p.total })), { color: '#2e9d58' })),
      card(
        'Anomalies',
        table(
          [
            { label: 'Compteur', value: (a) => counters.find((m) => m.id_compteur === a.id_compteur)?.nom_compteur ?? a.id_compteur },
            { label: 'Passages', num: true, value: (a) => fmt.int(a.total_jour) },
            { label: 'Moyenne 7 j', num: true, value: (a) => fmt.int(a.moyenne_7j) },
            { label: 'Écart', num: true, value: (a) => fmt.pct(a.ecart_pourcent) },
          ],
          b.anomalies ?? [],
          { empty: 'Aucune anomalie (ou pas d’historique)' },
        ),
      ),
      card(
        'Compteurs défaillants',
        table(
          [
            { label: 'Compteur', value: (x) => x.libelle ?? x.id_compteur },
            { label: 'Raisons', value: (x) => (x.raisons ?? []).map((r) => chip(r, 'warn')) },
          ],
          (b.capteurs_defaillants ?? []).slice(0, 50),
          { empty: 'Aucun compteur défaillant' },
        ),
      ),
    ),
  );
  return out;
}

async function renderTransports(date) {
  const t = await api.metrics('traffic', date);
  const out = [h('h2', {}, `Transports en commun — ${fmt.day(date)}`)];
  if (!t) return [...out, empty('Aucune donnée de perturbations pour ce jour')];
  const modes = t.lignes_impactees_par_mode ?? {};
  const lines = new Set(Object.values(modes).flat());
  out.push(
    kpis(
      kpi('Perturbations', fmt.int(t.total_disruptions_count), 'dans le flux', '#8e44ad'),
      kpi('Actives ce jour', fmt.int(t.active_disruptions_count), null, '#8e44ad'),
      // The index is already a percentage: shown once, never multiplied again.
      kpi('Fiabilité', fmt.pct(t.reliability_index), 'créneaux ligne × heure sans blocage'),
      kpi('Lignes impactées', fmt.int(lines.size)),
      kpi('Alertes', fmt.int((t.alerts ?? []).length), null, '#c62828'),
    ),
  );
  const sev = SEVERITY.map((x) => ({ label: x.label, value: t.disruptions_by_severity?.[x.key] ?? 0, color: x.color }));
  const topLines = (t.top_lignes_impactees ?? []).slice(0, 10).map((l) => ({ label: `${MODES[l.mode] ?? l.mode} ${l.ligne}`, value: l.count }));
  const modeRows = Object.entries(MODES)
    .filter(([m]) => (modes[m] ?? []).length)
    .map(([m, label]) => {
      const all = modes[m] ?? [];
      const head = all.slice(0, 30);
      const rest = all.slice(30);
      return h(
        'div',
        { class: 'mode-row' },
        h('strong', {}, `${label} (${all.length}) `),
        head.map((l) => chip(l)),
        rest.length ? h('details', {}, h('summary', { class: 'small' }, `+ ${rest.length} autres`), rest.map((l) => chip(l))) : null,
      );
    });
  out.push(
    grid(
      card('Perturbations actives par sévérité', barChart(sev, { empty: 'Aucune perturbation active' })),
      card('Lignes les plus touchées', barChart(topLines, { color: '#8e44ad', empty: 'Aucune ligne touchée' })),
      card('Lignes impactées par mode', modeRows.length ? h('div', {}, modeRows) : empty('Aucune ligne impactée')),
      card(
        `Alertes (${fmt.int((t.alerts ?? []).length)}${(t.alerts ?? []).length > 20 ? ', les 20 premières' : ''})`,
        table(
          [
            { label: 'Sévérité', value: (a) => severiteChip(a.severite) },
            { label: 'Titre', value: (a) => a.titre ?? '—' },
            { label: 'Lignes', value: (a) => ((a.lignes ?? []).length ? a.lignes.map((l) => chip(l)) : 'Réseau général') },
            { label: 'Durée (jour J)', num: true, value: (a) => `${fmt.dec1(a.duration_hours)} h` },
            { label: 'Bloquante', value: (a) => (a.bloquante ? chip('oui', 'crit') : chip('non', 'muted')) },
          ],
          (t.alerts ?? []).slice(0, 20),
          { empty: 'Aucune alerte' },
        ),
        { wide: true },
      ),
    ),
  );
  return out;
}

async function renderChantiers(date) {
  const c = await api.metrics('chantiers', date);
  const out = [h('h2', {}, `Chantiers — ${fmt.day(date)}`)];
  if (!c) return [...out, empty('Aucune donnée de chantiers pour ce jour')];
  const impact = byArrondissement(c.impact_by_arrondissement);
  out.push(
    kpis(
      kpi('Chantiers actifs', fmt.int(c.total_chantiers_actifs), null, '#6d4c41'),
      kpi('Surface impactée', `${fmt.int(c.surface_totale_impactee_m2)} m²`),
      kpi('Zones critiques', fmt.int((c.zones_critiques ?? []).length), '> 3 chantiers simultanés', '#c62828'),
      kpi('Arrondissements touchés', fmt.int(impact.filter((a) => /^750/.test(a.code)).length)),
    ),
  );
  out.push(
    grid(
      card("Score d'impact par arrondissement", barChart(impact.slice(0, 10), { color: '#6d4c41', empty: 'Aucun impact' })),
      card("Carte de l'impact", arrondissementMap(Object.fromEntries(impact.map((a) => [a.code, a.value])), { ramp: 'red' })),
      card(
        'Zones critiques',
        (c.zones_critiques ?? []).length
          ? h(
              'div',
              {},
              h('p', { class: 'error' }, `${c.zones_critiques.length} zone(s) avec plus de 3 chantiers simultanés`),
              table(
                [
                  { label: 'Arrondissement', value: (z) => arrLabel(z.arrondissement) },
                  { label: 'Chantiers', num: true, value: (z) => fmt.int(z.nombre_chantiers) },
                ],
                c.zones_critiques,
              ),
            )
          : empty('Aucune zone critique'),
      ),
      card(
        `Chantiers actifs (${fmt.int((c.chantiers_actifs ?? []).length)})`,
        table(
          [
            { label: 'Voie', value: (w) => w.voie ?? '—' },
            { label: 'Arr.', value: (w) => arrLabel(w.arrondissement) },
            { label: 'Impact', value: (w) => w.impact ?? '—' },
            { label: 'Du', value: (w) => w.date_debut?.slice(0, 10) ?? '—' },
            { label: 'Au', value: (w) => w.date_fin?.slice(0, 10) ?? '—' },
            { label: 'Surface', num: true, value: (w) => `${fmt.int(w.surface_m2)} m²` },
          ],
          (c.chantiers_actifs ?? []).slice(0, 40),
          { empty: 'Aucun chantier actif' },
        ),
        { wide: true },
      ),
    ),
  );
  return out;
}

async function renderMeteoVelib(date) {
  const [w, v] = await Promise.all([api.metrics('weather', date), api.metrics('velib', date)]);
  const out = [h('h2', {}, `Météo & Vélib' — ${fmt.day(date)}`), h('h3', {}, 'Météo')];
  const m = w?.metrics;
  if (!m) out.push(empty('Aucune donnée météo pour ce jour'));
  else {
    out.push(
      kpis(
        kpi('Température moyenne', `${fmt.dec1(m.temp_moyenne)} °C`, `min ${fmt.dec1(m.temp_min)} / max ${fmt.dec1(m.temp_max)} °C`),
        kpi('Précipitations', `${fmt.dec1(m.precip_totale)} mm`),
        kpi('Vent moyen', `${fmt.dec1(m.vent_moyen)} km/h`),
        kpi('Conditions', m.conditions || '—'),
        kpi('Impact mobilité', fmt.int(w.impact_mobilite ?? m.impact_mobilite), 'indice (pluie, vent, froid, chaleur)', '#e8720c'),
      ),
      h('p', {}, 'Catégories : ', (w.categories ?? []).length ? w.categories.map((c) => chip(c)) : chip('aucune', 'muted')),
    );
  }
  out.push(h('h3', {}, "Vélib'"));
  if (!v) return [...out, empty("Aucune donnée Vélib' pour ce jour")];
  out.push(
    kpis(
      kpi('Stations', fmt.int(v.stations), `${fmt.int(v.snapshots)} relevés`),
      kpi('Vélos disponibles (moy.)', fmt.dec1(v.velos_disponibles_moyen), `${fmt.dec1(v.velos_mecaniques_moyen)} méca. / ${fmt.dec1(v.velos_electriques_moyen)} élec.`, '#2e9d58'),
      kpi('Stations vides', fmt.pct(v.part_stations_vides), 'des relevés', '#c62828'),
      kpi('Stations pleines', fmt.pct(v.part_stations_pleines), 'des relevés', '#e8720c'),
    ),
  );
  const arr = Object.entries(v.par_arrondissement ?? {});
  out.push(
    grid(
      card('Vélos disponibles par station (moyenne), par arrondissement', barChart(arr.map(([k, x]) => ({ label: arrLabel(k), value: x.velos_disponibles_moyen })).sort((a, b) => b.value - a.value), { format: fmt.dec1, color: '#2e9d58' })),
      card('Part de stations vides, par arrondissement', arrondissementMap(Object.fromEntries(arr.map(([k, x]) => [k, x.part_vide])), { ramp: 'red', format: fmt.pct })),
      card(
        'Stations le plus souvent vides',
        table(
          [
            { label: 'Station', value: (x) => x.nom ?? x.station_code },
            { label: 'Code', value: (x) => x.station_code },
            { label: 'Vide', num: true, value: (x) => fmt.pct(x.part_vide) },
          ],
          (v.stations_souvent_vides ?? []).slice(0, 10),
          { empty: 'Aucune station souvent vide' },
        ),
      ),
    ),
  );
  return out;
}

async function renderQualite(date) {
  const report = await api.report(date);
  const out = [h('h2', {}, `Qualité des données — ${fmt.day(date)}`)];
  if (!report) {
    const present = Object.entries(state.dates?.metrics ?? {}).filter(([, ds]) => ds.includes(date)).map(([t]) => t);
    return [
      ...out,
      empty('Aucun rapport pour ce jour : le détail de la qualité par source vient du rapport.'),
      h('p', {}, 'Métriques disponibles : ', present.length ? present.map((t) => chip(SOURCE_LABELS[t] ?? t, 'ok')) : chip('aucune', 'muted')),
    ];
  }
  const q = report.qualite_donnees ?? {};
  const rows = Object.entries(q).map(([source, x]) => ({ source, ...x }));
  const c = report.completude ?? {};
  out.push(
    grid(
      card(
        'Enregistrements par source',
        table(
          [
            { label: 'Source', value: (r) => SOURCE_LABELS[r.source] ?? r.source },
            { label: 'Lus', num: true, value: (r) => fmt.int(r.records) },
            { label: 'Acceptés', num: true, value: (r) => fmt.int(r.accepted) },
            { label: 'Rejetés', num: true, value: (r) => fmt.int(r.rejected_total) },
            { label: 'Taux de rejet', num: true, value: (r) => (r.records ? fmt.pct((100 * (r.rejected_total ?? 0)) / r.records) : '—') },
            { label: 'Fichiers en échec', num: true, value: (r) => fmt.int((r.fichiers_en_echec ?? []).length) },
          ],
          rows,
          { empty: 'Aucune source lue' },
        ),
        { wide: true },
      ),
      card(
        'Motifs de rejet',
        rows.some((r) => Object.keys(r.rejected ?? {}).length)
          ? h(
              'div',
              {},
              rows
                .filter((r) => Object.keys(r.rejected ?? {}).length)
                .map((r) =>
                  h(
                    'div',
                    { class: 'mode-row' },
                    h('strong', {}, `${SOURCE_LABELS[r.source] ?? r.source} `),
                    Object.entries(r.rejected).map(([reason, n]) => chip(`${reason} : ${fmt.int(n)}`, 'warn')),
                    (r.samples ?? []).length
                      ? h('ul', { class: 'small' }, r.samples.slice(0, 5).map((x) => h('li', {}, `${x.file}${x.line ? ` l.${x.line}` : x.byteOffset !== undefined ? ` @${x.byteOffset}` : ''} — ${x.reason}`)))
                      : null,
                  ),
                ),
            )
          : empty('Aucun rejet'),
      ),
      card(
        'Complétude',
        h(
          'div',
          {},
          h('p', {}, 'Statut : ', chip(c.statut ?? report.statut ?? '—', (c.statut ?? report.statut) === 'complet' ? 'ok' : 'warn')),
          h('p', {}, 'Sources attendues : ', (c.sources_attendues ?? []).map((s) => chip(SOURCE_LABELS[s] ?? s, (c.sources_presentes ?? []).includes(s) ? 'ok' : 'warn'))),
          table(
            [
              { label: 'Source manquante', value: (m) => SOURCE_LABELS[m.source] ?? m.source },
              { label: 'Raison', value: (m) => MISSING_REASONS[m.raison] ?? m.raison },
              { label: 'Détail', value: (m) => m.detail ?? '' },
            ],
            c.sources_manquantes ?? [],
            { empty: 'Aucune source manquante' },
          ),
          (c.sources_partielles ?? []).length
            ? h(
                'p',
                {},
                'Sources partielles (fichiers en échec) : ',
                c.sources_partielles.map((x) => chip(`${SOURCE_LABELS[x.source] ?? x.source} (${(x.fichiers_en_echec ?? []).length})`, 'high')),
              )
            : null,
        ),
      ),
      card(
        'Fichiers lus',
        table(
          [
            { label: 'Source', value: (f) => SOURCE_LABELS[f.source] ?? f.source },
            { label: 'Fichier', value: (f) => f.relPath },
            { label: 'Statut', value: (f) => (f.status === 'ok' ? chip('ok', 'ok') : chip('échec', 'crit')) },
            { label: 'Erreur', value: (f) => f.error ?? '' },
          ],
          c.fichiers ?? [],
          { empty: 'Aucun fichier' },
        ),
        { wide: true },
      ),
    ),
  );
  return out;
}

// ───────────────────────────── runs ─────────────────────────────

const FINISHED = new Set(['completed', 'incomplete', 'failed']);
const STATUS_CHIP = { queued: 'muted', running: 'warn', completed: 'ok', incomplete: 'high', failed: 'crit' };

async function renderRuns(date) {
  const out = [h('h2', {}, 'Runs')];
  const keyInput = h('input', { type: 'password', placeholder: 'Clé API', autocomplete: 'off', 'aria-label': 'Clé API' });
  const dateInput = h('input', { type: 'date', value: date ?? '', 'aria-label': 'Jour à traiter' });
  const msg = h('span', { class: 'small' });
  const launch = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      onclick: async () => {
        msg.textContent = 'Envoi…';
        msg.className = 'small';
        try {
          const r = await fetch('runs', { method: 'POST', headers: { 'Content-Type': 'application/json', 'x-api-key': keyInput.value }, body: JSON.stringify({ date: dateInput.value }) });
          const body = await r.json().catch(() => ({}));
          if (!r.ok) throw new Error(body.message ? `${body.error} : ${body.message}` : `HTTP ${r.status}`);
          msg.textContent = `Run ${body.runId} en file.`;
          refresh();
        } catch (e) {
          msg.textContent = e.message;
          msg.className = 'small error';
        }
      },
    },
    'Lancer',
  );
  const listHolder = h('div', {}, h('p', { class: 'loading' }, 'Chargement…'));
  out.push(
    grid(
      card('Lancer un run', h('div', {}, h('div', { class: 'form-row' }, dateInput, keyInput, launch), h('p', {}, msg)), { wide: true }),
      card('Runs récents', listHolder, { wide: true, tools: h('button', { type: 'button', onclick: () => refresh() }, 'Actualiser') }),
    ),
  );

  const expanded = new Set();
  const views = new Map();

  const filesTable = (v) =>
    table(
      [
        { label: '#', num: true, value: (f) => f.fileIndex },
        { label: 'Source', value: (f) => SOURCE_LABELS[f.source] ?? f.source ?? '—' },
        { label: 'Fichier', value: (f) => f.relPath ?? '—' },
        { label: 'Taille', num: true, value: (f) => fmt.size(f.size) },
        { label: 'État', value: (f) => chip(f.state, f.state === 'failed' ? 'crit' : f.state === 'completed' ? 'ok' : 'muted') },
        { label: 'Chunks', num: true, value: (f) => `${f.chunks.completed}/${f.chunks.total}${f.chunks.failed ? ` (${f.chunks.failed} en échec)` : ''}` },
        { label: 'Lignes', num: true, value: (f) => `${fmt.int(f.rowsDone)}${f.rowsTotal !== null ? ` / ${fmt.int(f.rowsTotal)}` : ''}` },
        { label: 'Progression', value: (f) => progressBar(f.percent, f.state) },
        { label: 'Erreur', value: (f) => f.failedReason ?? '' },
      ],
      v.files ?? [],
      { empty: 'Fichiers pas encore découverts' },
    );

  const draw = (runs) => {
    if (!runs.length) return listHolder.replaceChildren(empty('Aucun run'));
    const rows = [];
    for (const r of runs) {
      const v = views.get(r.runId);
      const status = v?.status ?? r.status;
      const percent = v ? v.percent : FINISHED.has(r.status) && r.status !== 'failed' ? 100 : 0;
      rows.push(
        h(
          'tr',
          { style: { cursor: 'pointer' }, onclick: () => { expanded.has(r.runId) ? expanded.delete(r.runId) : expanded.add(r.runId); poll(); } },
          h('td', {}, expanded.has(r.runId) ? '▾ ' : '▸ ', r.runId),
          h('td', {}, r.date),
          h('td', {}, chip(status, STATUS_CHIP[status] ?? 'muted'), v?.stage && v.stage !== status ? chip(v.stage, 'muted') : null),
          h('td', {}, fmt.stamp(r.createdAt)),
          h('td', { class: 'num' }, v ? `${v.chunksCompleted}/${v.chunksTotal}` : '—'),
          h('td', {}, progressBar(percent, status)),
          h('td', { class: 'small' }, v?.error ?? r.error ?? ''),
        ),
      );
      if (expanded.has(r.runId) && v) rows.push(h('tr', { class: 'details' }, h('td', { colspan: 7 }, filesTable(v))));
    }
    listHolder.replaceChildren(
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Run', 'Jour', 'Statut', 'Créé', 'Chunks', 'Progression', 'Erreur'].map((t) => h('th', {}, t)))), h('tbody', {}, rows))),
    );
  };

  let runs = [];
  const poll = async () => {
    // Live progress for unfinished runs and for the ones opened by the user.
    const wanted = runs.filter((r) => !FINISHED.has(views.get(r.runId)?.status ?? r.status) || expanded.has(r.runId) || !views.has(r.runId)).slice(0, 10);
    await Promise.all(
      wanted.map((r) =>
        api
          .run(r.runId)
          .then((v) => v && views.set(r.runId, v))
          .catch(() => undefined),
      ),
    );
    if (isCurrent()) draw(runs);
  };
  const refresh = async () => {
    try {
      runs = (await api.runs())?.runs ?? [];
      draw(runs);
      await poll();
    } catch (e) {
      listHolder.replaceChildren(h('p', { class: 'error' }, e.message));
    }
  };
  const token = pageToken;
  const isCurrent = () => token === pageToken;
  refresh();
  const timer = setInterval(() => {
    if (!isCurrent()) return clearInterval(timer);
    if (document.hidden) return;
    if (runs.some((r) => !FINISHED.has(views.get(r.runId)?.status ?? r.status))) poll();
  }, 2000);
  return out;
}

// ───────────────────────────── shell ─────────────────────────────

const state = { dates: null, date: null, page: 'overview', allDates: [] };
let pageToken = 0;

function parseHash() {
  const [page, date] = location.hash.replace(/^#\/?/, '').split('/');
  return { page: PAGES.some((p) => p.id === page) ? page : 'overview', date: /^\d{4}-\d{2}-\d{2}$/.test(date ?? '') ? date : null };
}

function setHash() {
  const next = `#/${state.page}${state.date ? `/${state.date}` : ''}`;
  if (location.hash !== next) history.replaceState(null, '', next);
}

function drawTabs() {
  const nav = document.getElementById('tabs');
  nav.replaceChildren(
    ...PAGES.map((p) =>
      h('a', { href: `#/${p.id}${state.date ? `/${state.date}` : ''}`, 'aria-current': p.id === state.page ? 'page' : null, onclick: (e) => { e.preventDefault(); go(p.id, state.date); } }, p.label),
    ),
  );
}

function drawDatePicker() {
  const select = document.getElementById('date-select');
  const reports = new Set(state.dates?.reports ?? []);
  select.replaceChildren(
    ...(state.allDates.length ? state.allDates : [null]).map((d) =>
      d ? h('option', { value: d, selected: d === state.date }, `${d}${reports.has(d) ? '' : ' (sans rapport)'}`) : h('option', { value: '' }, 'Aucune donnée'),
    ),
  );
  const i = state.allDates.indexOf(state.date);
  // allDates is newest first: "previous day" is further down the list.
  document.getElementById('prev-date').disabled = i < 0 || i >= state.allDates.length - 1;
  document.getElementById('next-date').disabled = i <= 0;
}

async function renderPage() {
  const token = ++pageToken;
  const main = document.getElementById('page');
  drawTabs();
  drawDatePicker();
  setHash();
  const page = PAGES.find((p) => p.id === state.page) ?? PAGES[0];
  if (!state.date && page.id !== 'runs') {
    main.replaceChildren(h('h2', {}, page.label), empty('Aucune donnée disponible : lancez un run (page Runs) ou la commande npm run pipeline.'));
    return;
  }
  main.replaceChildren(h('p', { class: 'loading' }, 'Chargement…'));
  try {
    const nodes = await page.render(state.date);
    if (token === pageToken) main.replaceChildren(...nodes);
  } catch (e) {
    if (token === pageToken) main.replaceChildren(h('h2', {}, page.label), h('p', { class: 'error' }, `Erreur : ${e.message}`));
  }
}

function go(page, date) {
  state.page = page;
  if (date) state.date = date;
  renderPage();
}

async function boot() {
  try {
    state.dates = await api.dates();
  } catch (e) {
    state.dates = { metrics: {}, reports: [] };
    document.getElementById('page').replaceChildren(h('p', { class: 'error' }, `API injoignable : ${e.message}`));
  }
  const all = new Set([...(state.dates.reports ?? []), ...Object.values(state.dates.metrics ?? {}).flat()]);
  state.allDates = [...all].sort().reverse();
  const fromHash = parseHash();
  const latestReport = (state.dates.reports ?? []).slice(-1)[0];
  state.page = fromHash.page;
  state.date = fromHash.date && all.has(fromHash.date) ? fromHash.date : latestReport ?? state.allDates[0] ?? null;

  document.getElementById('date-select').addEventListener('change', (e) => go(state.page, e.target.value));
  document.getElementById('prev-date').addEventListener('click', () => go(state.page, state.allDates[state.allDates.indexOf(state.date) + 1]));
  document.getElementById('next-date').addEventListener('click', () => go(state.page, state.allDates[state.allDates.indexOf(state.date) - 1]));
  window.addEventListener('hashchange', () => {
    const hsh = parseHash();
    if (hsh.page !== state.page || (hsh.date && hsh.date !== state.date)) go(hsh.page, hsh.date && all.has(hsh.date) ? hsh.date : state.date);
  });
  renderPage();
}

boot();

