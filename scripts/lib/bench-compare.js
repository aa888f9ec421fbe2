'use strict';
/**
 * What CityFlow stored for a bench run (chunk summaries, per-day comptages metrics, the report)
 * and the exact comparison of its per (arc, day) numbers with the DuckDB reference.
 */
const fs = require('node:fs');
const path = require('node:path');

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/**
 * Sum the comptages chunk summaries (OUTPUT_DIR/state/chunks/comptages/<fileKey>/<i>.json):
 * chunks, records (data rows: header and blank lines excluded), accepted, rejected per reason.
 */
function chunkTotals(outDir) {
  const root = path.join(outDir, 'state', 'chunks', 'comptages');
  const totals = { chunks: 0, records: 0, accepted: 0, rejected: {} };
  if (!fs.existsSync(root)) return totals;
  for (const fileKey of fs.readdirSync(root)) {
    for (const f of fs.readdirSync(path.join(root, fileKey))) {
      if (!f.endsWith('.json')) continue;
      const q = readJson(path.join(root, fileKey, f)).quality;
      totals.chunks++;
      totals.records += q.records;
      totals.accepted += q.accepted;
      for (const [reason, n] of Object.entries(q.rejected || {})) totals.rejected[reason] = (totals.rejected[reason] || 0) + n;
    }
  }
  return totals;
}

/**
 * CityFlow's per (arc, day) numbers from every OUTPUT_DIR/metrics/comptages_metrics_<day>.json:
 * key `arc|day` → [heures_mesurees, debit_journalier_total, debit_max]; plus the duplicate
 * (arc, hour) rows the finaliser dropped (`qualite.rejected.duplicate_hour`, per day).
 */
function cityflowGroups(outDir) {
  const dir = path.join(outDir, 'metrics');
  const groups = new Map();
  const days = [];
  let duplicates = 0;
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    const m = /^comptages_metrics_(\d{4}-\d{2}-\d{2})\.json$/.exec(f);
    if (!m) continue;
    const doc = readJson(path.join(dir, f));
    days.push(m[1]);
    duplicates += (doc.qualite && doc.qualite.rejected && doc.qualite.rejected.duplicate_hour) || 0;
    for (const a of doc.metrics || []) groups.set(`${a.identifiant_arc}|${m[1]}`, [a.heures_mesurees, a.debit_journalier_total, a.debit_max]);
  }
  return { groups, days, duplicates };
}

const FIELDS = ['heures_mesurees', 'debit_journalier_total', 'debit_max'];

/**
 * Exact comparison: same keys, same three numbers. Returns counts and up to `limit` examples of
 * each kind of difference.
 */
function compareGroups(cityflow, duckdbRows, limit = 5) {
  const reference = new Map();
  for (const [arc, day, hours, total, max] of duckdbRows) reference.set(`${arc}|${day}`, [hours, total, max]);
  const onlyCityflow = [];
  const onlyDuckdb = [];
  const different = [];
  let nOnlyCityflow = 0;
  let nOnlyDuckdb = 0;
  let nDifferent = 0;
  for (const [key, cf] of cityflow) {
    const ref = reference.get(key);
    if (!ref) {
      if (nOnlyCityflow++ < limit) onlyCityflow.push({ key, cityflow: cf });
      continue;
    }
    const diff = FIELDS.filter((_, i) => cf[i] !== ref[i]);
    if (diff.length && nDifferent++ < limit) {
      different.push({ key, fields: Object.fromEntries(diff.map((f) => [f, { cityflow: cf[FIELDS.indexOf(f)], duckdb: ref[FIELDS.indexOf(f)] }])) });
    }
  }
  for (const [key, ref] of reference) {
    if (!cityflow.has(key) && nOnlyDuckdb++ < limit) onlyDuckdb.push({ key, duckdb: ref });
  }
  return {
    agree: nOnlyCityflow === 0 && nOnlyDuckdb === 0 && nDifferent === 0,
    cityflowGroups: cityflow.size,
    duckdbGroups: reference.size,
    onlyCityflow: nOnlyCityflow,
    onlyDuckdb: nOnlyDuckdb,
    different: nDifferent,
    examples: { onlyCityflow, onlyDuckdb, different },
  };
}

module.exports = { chunkTotals, cityflowGroups, compareGroups };
