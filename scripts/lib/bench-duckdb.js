'use strict';
/**
 * DuckDB reference for `npm run bench`: per (arc, Paris day) totals of a comptages CSV export,
 * computed with CityFlow's acceptance rules (libs/domain/src/sources/comptages/parse.ts and
 * libs/domain/src/shared/time.ts), independently of CityFlow's code.
 *
 * Run as a child process (`runReference` forks this file) so that its peak RSS is its own:
 *   node scripts/lib/bench-duckdb.js <request.json> <result.json>
 *
 * The rules (CityFlow's names; a record is rejected for the first that fails, in this order)
 * -----------------------------------------------------------------------------------------
 *  - bad_quoting: a `"` must open a field (start of line or right after `;`); a quoted field is
 *    `"…"` with `""` inside and is followed by `;` or the end of the record; a record's first
 *    line may not exceed 1 MiB (the scanner's maxRecordBytes; checked on raw lines only);
 *  - field_count: as many fields as the header (15 for the ODS export);
 *  - bad_arc: not /^\s*\d{1,15}\s*$/ (JavaScript's whitespace set); the id is the number
 *    without leading zeros;
 *  - bad_date: after trim, not `^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?
 *    (Z|[+-]\d{2}:?\d{2})$`, out of range (month 1–12, a day of that month, hour ≤ 23, minute
 *    and second ≤ 59; a fraction of a second is ignored and years 0–99 mean 1900–1999, as with
 *    JavaScript's Date.UTC), or not on a whole hour in UTC;
 *  - bad_debit: non-empty (after trim) and not a finite decimal ≥ 0; bad_taux: non-empty and not
 *    a decimal in [0, 100]; empty values are kept as NULL. Decimal: /^[+-]?(\d+(\.\d*)?|\.\d+)
 *    ([eE][+-]?\d+)?$/ after trim.
 *
 * The row stamped T counts the hour [T − 1 h, T), which belongs to the Europe/Paris day of T − 1 h
 * (ICU: `timezone('Europe/Paris', …)`). Of several rows for one (arc, hour), the first in file
 * order wins. Per (arc, day): hours = rows with a débit or a taux (`heures_mesurees`), débit sum
 * (`debit_journalier_total`) and max (`debit_max`, 0 without débit).
 *
 * Two ways to get the fields
 * --------------------------
 *  - DuckDB's CSV reader (default): equivalent to CityFlow's scanner when the quoting is well
 *    formed, multi-line quoted fields included. It is lenient where CityFlow is strict (a stray
 *    quote inside an unquoted field is kept, text after a closing quote is dropped), so the bench
 *    switches to the other way when CityFlow reports rows with malformed quoting.
 *  - Raw physical lines (`exactCsv`), the quoting rules in SQL: exact for malformed quoting, but a
 *    quoted field spanning lines (valid CSV, joined by CityFlow) is seen as broken lines; their
 *    count is reported (`open_quote_lines`).
 * Either way DuckDB ends a line at a lone CR (CityFlow keeps it inside the field) and drops rows
 * that are not valid UTF-8 (CityFlow decodes them with U+FFFD); the bench counts both first.
 *
 * Cost
 * ----
 * ICU and regular expressions cost up to a microsecond per call, so ICU runs only on distinct
 * (UTC day, hour bucket) values, and each rule has a cheap test for the usual text (where
 * DuckDB's own cast gives CityFlow's value) with the exact rule as a fallback. Rows are summed
 * per (arc, UTC day, hour bucket 0–21 / 22 / 23 UTC), each bucket lying within one Paris day;
 * ICU maps the buckets to days (checked at both ends of each bucket). With duplicate (arc, hour)
 * rows or fractional débits, an exact variant runs instead of that sum: the first row per
 * (arc, hour) in file order, débits added in hour order like CityFlow's finaliser.
 */
const fs = require('node:fs');
const path = require('node:path');
const { fork } = require('node:child_process');

/** JavaScript's String.prototype.trim / `\s` set, as an RE2 character class body. */
const WS = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
/** One CSV field as CityFlow accepts it: unquoted without `;` or `"`, or fully quoted. */
const FIELD = '(?:[^;"]*|"(?:[^"]|"")*")';
const QUOTED = '"(?:[^"]|"")*"';
const ISO_RE = '^(\\d{4})-(\\d{2})-(\\d{2})[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})$';
const NUM_RE = '[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?';
/** The export's timestamp shape where DuckDB's TIMESTAMPTZ cast agrees with the exact rule. */
const FAST_TS_RE = '(?:0[1-9]|[1-9]\\d)\\d\\d-\\d\\d-\\d\\d[T ](?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d[+-]\\d\\d:\\d\\d';
const MAX_RECORD_BYTES = 1024 * 1024;
/** Reason codes of rejected records (CityFlow's names; bad_quoting_open counts as bad_quoting). */
const REASON = { bad_quoting: 1, bad_quoting_open: 2, field_count: 3, bad_arc: 4, bad_date: 5, bad_debit: 6, bad_taux: 7 };
const REASON_NAME = Object.fromEntries(Object.entries(REASON).map(([k, v]) => [v, k]));
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const DAY_SHIFT = 1_000_000;

const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;

/** SQL macros (plain expressions, each argument used once). */
function macros() {
  return [
    // JavaScript trim().
    `CREATE OR REPLACE MACRO js_trim(s) AS regexp_replace(s, '^[${WS}]+|[${WS}]+$', '', 'g')`,
    // A quoted field's value: strip the quotes, undouble inner quotes.
    `CREATE OR REPLACE MACRO unquote(s) AS CASE WHEN starts_with(s, '"') THEN replace(s[2:-2], '""', '"') ELSE s END`,
  ];
}

/**
 * Fields from DuckDB's CSV reader (fast); equivalent to CityFlow's scanner when the file's quoting
 * is well formed. One column more than the header, padded with NULL (`null_padding`), and a null
 * string that never occurs, so that an empty cell is '' and a missing one NULL: a record has the
 * header's field count iff its last column is set and the extra one is not. Blank lines are
 * skipped by the reader, as by CityFlow.
 */
function csvSource(file, layout, skipLines) {
  const w = layout.width;
  const cols = Array.from({ length: w + 1 }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  return `
    SELECT TRUE AS quoting_ok, NULL::VARCHAR AS l,
      CASE WHEN c${w} IS NOT NULL THEN ${w + 1} WHEN c${w - 1} IS NULL THEN ${w - 1} ELSE ${w} END AS nfields,
      c${layout.arc} AS a, c${layout.date} AS t, c${layout.debit} AS b, c${layout.taux} AS x
    FROM read_csv(${sqlString(file)}, delim = ';', quote = '"', escape = '"', header = true, skip = ${skipLines - 1},
                  auto_detect = false, columns = {${cols}}, strict_mode = false, ignore_errors = true,
                  null_padding = true, nullstr = E'\\x01\\x02\\x03', max_line_size = ${4 * MAX_RECORD_BYTES})`;
}

/**
 * Fields from raw physical lines, with CityFlow's quoting rules applied in SQL (exact, slower).
 * Used when the file has malformed quoting, which DuckDB's CSV reader parses leniently.
 */
function lineSource(file, layout, skipLines) {
  const ks = [...new Set([layout.arc, layout.date, layout.debit, layout.taux])];
  // Field k lies before the first quote: the native split gives it.
  const unquotedField = (k) => `(q = 0 OR semis > ${k})`;
  // Otherwise the exact extraction (its input is NULL on the other rows; see rowsQuery).
  const extract = (k) =>
    `regexp_extract(CASE WHEN quoting_ok AND NOT ${unquotedField(k)} THEN l END, '^(?:${FIELD};){${k}}(${FIELD})(?:;|$)', 1) AS f${k}`;
  const field = (k) => `CASE WHEN ${unquotedField(k)} THEN split_part(l, ';', ${k + 1}) WHEN quoting_ok THEN unquote(f${k}) END`;
  return `
  WITH lines AS (
    SELECT l
    FROM read_csv(${sqlString(file)}, delim = '', quote = '', escape = '', header = false, skip = ${skipLines},
                  auto_detect = false, columns = {'l': 'VARCHAR'}, strict_mode = false, ignore_errors = true,
                  max_line_size = ${4 * MAX_RECORD_BYTES})
    WHERE l IS NOT NULL
  ),
  shaped AS (
    SELECT l,
      -- (byte functions only: character positions cost a scan of UTF-8 text)
      split_part(l, '"', 1) AS pre,
      strlen(split_part(l, '"', 1)) = strlen(l) AS unquoted_line,
      -- the usual shape: no quote, or one well-formed quoted field that ends the line
      regexp_full_match(l, '[^"]*|(?:[^"]*;)?${QUOTED}') AS simple
    FROM lines
  ),
  counted AS (
    -- semicolons before the first quote (all of them when there is none); q = 0: no quote
    SELECT *, strlen(pre) - strlen(replace(pre, ';', '')) AS semis, CASE WHEN unquoted_line THEN 0 ELSE 1 END AS q FROM shaped
  ),
  general AS (
    SELECT *, CASE WHEN simple THEN NULL ELSE l END AS g FROM counted
  ),
  checked AS (
    SELECT *,
      strlen(l) <= ${MAX_RECORD_BYTES} AND (simple OR regexp_full_match(g, '${FIELD}(?:;${FIELD})*')) AS quoting_ok,
      regexp_replace(g, '${QUOTED}', '', 'g') AS unquoted
    FROM general
  ),
  extracted AS (
    SELECT *,
      CASE WHEN simple THEN semis + 1 ELSE strlen(unquoted) - strlen(replace(unquoted, ';', '')) + 1 END AS nfields,
      ${ks.map(extract).join(',\n      ')}
    FROM checked
  )
  SELECT quoting_ok, l, nfields, ${field(layout.arc)} AS a, ${field(layout.date)} AS t, ${field(layout.debit)} AS b, ${field(layout.taux)} AS x
  FROM extracted`;
}

/**
 * CityFlow's record rules over a field source: one row per record with `reason` (NULL when
 * accepted, else the first failing check in CityFlow's order), the arc id, the hour start `hs`
 * (epoch ms of T − 1 h), débit and taux (NULL when empty).
 *
 * Each rule has a cheap test for the usual text, where DuckDB's own cast gives CityFlow's value,
 * and an exact slow path (regular expressions, calendar arithmetic) for everything else. The
 * slow path's input is NULL on usual rows and every step is its own column: DuckDB may evaluate
 * a repeated sub-expression for all rows, and a regular expression on NULL costs nothing.
 */
function rowsQuery(source, width) {
  return `
  WITH src AS (${source}),
  plain AS (
    SELECT quoting_ok, nfields, l, a, t, b, x,
      TRY_CAST(a AS UBIGINT) AS arc_int,
      -- the export's shape with a 4-digit year ≥ 100, hour ≤ 23, minute and second ≤ 59: there
      -- DuckDB's cast gives Date.UTC's instant (invalid calendar days are NULL → slow path)
      CASE WHEN regexp_full_match(t, '${FAST_TS_RE}') THEN TRY_CAST(t AS TIMESTAMPTZ) END AS t_cast,
      b = '' OR regexp_full_match(b, '${NUM_RE}') AS b_plain,
      x = '' OR regexp_full_match(x, '${NUM_RE}') AS x_plain
    FROM src
  ),
  arcs AS (
    -- canonical digits (no sign, space or leading zero) survive a round trip through an integer
    SELECT *, strlen(a) <= 15 AND arc_int::VARCHAR = a AS arc_plain FROM plain
  ),
  slow_in AS (
    SELECT *,
      regexp_extract(CASE WHEN arc_plain THEN NULL ELSE a END, '^[${WS}]*(\\d{1,15})[${WS}]*$', 1) AS arc_m,
      regexp_extract(js_trim(CASE WHEN t_cast IS NULL THEN t END), '${ISO_RE}', ['y', 'mo', 'd', 'h', 'mi', 's', 'z']) AS tm,
      js_trim(CASE WHEN b_plain THEN NULL ELSE b END) AS b_tr,
      js_trim(CASE WHEN x_plain THEN NULL ELSE x END) AS x_tr
    FROM arcs
  ),
  parts AS (
    SELECT *,
      TRY_CAST(struct_extract(tm, 'y') AS INT) AS y0, TRY_CAST(struct_extract(tm, 'mo') AS INT) AS mo,
      TRY_CAST(struct_extract(tm, 'd') AS INT) AS d, TRY_CAST(struct_extract(tm, 'h') AS INT) AS h,
      TRY_CAST(struct_extract(tm, 'mi') AS INT) AS mi,
      CASE WHEN struct_extract(tm, 's') = '' THEN 0 ELSE TRY_CAST(struct_extract(tm, 's') AS INT) END AS s,
      CASE WHEN struct_extract(tm, 'z') = 'Z' THEN '+0000' ELSE replace(struct_extract(tm, 'z'), ':', '') END AS z
    FROM slow_in
  ),
  civil AS (
    SELECT *,
      -- Date.UTC reads years 0–99 as 1900–1999
      CASE WHEN y0 < 100 THEN y0 + 1900 ELSE y0 END AS y,
      (CASE WHEN z[1] = '-' THEN -1 ELSE 1 END) * (TRY_CAST(z[2:3] AS INT) * 60 + TRY_CAST(z[4:5] AS INT)) AS off_min
    FROM parts
  ),
  days AS (
    SELECT *,
      mo BETWEEN 1 AND 12 AND d >= 1 AND h <= 23 AND mi <= 59 AND s <= 59
        AND d <= CASE WHEN mo = 2 THEN (CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END)
                      WHEN mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END AS t_ok,
      -- days_from_civil (H. Hinnant): yp counts years from March
      y - CASE WHEN mo <= 2 THEN 1 ELSE 0 END AS yp
    FROM civil
  ),
  parsed AS (
    SELECT quoting_ok, nfields, l,
      -- the arc id as a number (canonical text ↔ integer is one-to-one up to 15 digits)
      CASE WHEN arc_plain THEN arc_int WHEN arc_m <> '' THEN CAST(arc_m AS UBIGINT) END AS arc,
      CASE WHEN t_cast IS NOT NULL THEN epoch_ms(t_cast)
           WHEN t_ok THEN ((yp // 400) * 146097 + (yp % 400) * 365 + (yp % 400) // 4 - (yp % 400) // 100
                           + (153 * ((mo + 9) % 12) + 2) // 5 + d - 1 - 719468)::BIGINT * ${DAY_MS}
                          + h * ${HOUR_MS} + mi * 60000 + s * 1000 - off_min::BIGINT * 60000 END AS t_ms,
      CASE WHEN b_plain THEN TRUE ELSE b_tr = '' OR regexp_full_match(b_tr, '${NUM_RE}') END AS debit_syntax,
      CASE WHEN b_plain THEN (CASE WHEN b = '' THEN NULL ELSE CAST(b AS DOUBLE) END) WHEN b_tr <> '' THEN TRY_CAST(b_tr AS DOUBLE) END AS debit,
      CASE WHEN x_plain THEN TRUE ELSE x_tr = '' OR regexp_full_match(x_tr, '${NUM_RE}') END AS taux_syntax,
      CASE WHEN x_plain THEN (CASE WHEN x = '' THEN NULL ELSE CAST(x AS DOUBLE) END) WHEN x_tr <> '' THEN TRY_CAST(x_tr AS DOUBLE) END AS taux
    FROM days
  ),
  judged AS (
    SELECT
      CASE WHEN NOT quoting_ok THEN (CASE WHEN (strlen(l) - strlen(replace(l, '"', ''))) % 2 = 1 THEN ${REASON.bad_quoting_open} ELSE ${REASON.bad_quoting} END)
           WHEN nfields <> ${width} THEN ${REASON.field_count}
           WHEN arc IS NULL THEN ${REASON.bad_arc}
           WHEN t_ms IS NULL OR t_ms % ${HOUR_MS} <> 0 THEN ${REASON.bad_date}
           -- a decimal that overflows (1e400) is Infinity in JavaScript: not finite, rejected
           WHEN NOT coalesce(debit_syntax, FALSE) OR NOT isfinite(coalesce(debit, 0)) OR debit < 0 THEN ${REASON.bad_debit}
           WHEN NOT coalesce(taux_syntax, FALSE) OR NOT isfinite(coalesce(taux, 0)) OR taux < 0 OR taux > 100 THEN ${REASON.bad_taux}
      END::TINYINT AS reason,
      arc, t_ms - ${HOUR_MS} AS hs, debit, taux
    FROM parsed
  )
  -- a rejected record only counts for its reason
  SELECT reason, CASE WHEN reason IS NULL THEN arc END AS arc, CASE WHEN reason IS NULL THEN hs END AS hs, debit, taux
  FROM judged`;
}

/**
 * Fast variant. Rows are summed per (arc, bucket): bucket = UTC day × 3 + part of that day
 * (hours 0–21, 22, 23 UTC), so that each bucket lies in one Paris day; ICU then maps each distinct
 * bucket to its Paris day (checked at both ends of the bucket), and the buckets are summed per
 * (arc, day). Rejected records are summed per reason (bucket = −reason, no arc). UTC days are
 * shifted by DAY_SHIFT so that buckets stay positive back to year 0.
 */
function fastQuery(rows) {
  // hs shifted by DAY_SHIFT days is positive: plain integer division and remainder.
  const shifted = `(hs + ${DAY_SHIFT * DAY_MS})`;
  const utcHour = `((${shifted} % ${DAY_MS}) // ${HOUR_MS})::INTEGER`;
  return `
  WITH r AS (${rows}),
  s1 AS (
    SELECT arc,
      CASE WHEN reason IS NULL THEN (${shifted} // ${DAY_MS}) * 3 + least(greatest(${utcHour} - 21, 0), 2) ELSE -reason END AS bucket,
      count(*) AS n,
      -- distinct UTC hours of the group (one bit per hour of the UTC day)
      bit_or(1::INTEGER << ${utcHour}) AS mask,
      count(*) FILTER (WHERE debit IS NOT NULL OR taux IS NOT NULL) AS measured,
      sum(debit) AS total, max(debit) AS mx,
      count(*) FILTER (WHERE debit <> trunc(debit)) AS fractional
    FROM r GROUP BY ALL
  ),
  days AS (
    SELECT bucket,
      -- first and last hour start of the bucket
      CAST(timezone('Europe/Paris', to_timestamp(((bucket // 3 - ${DAY_SHIFT}) * ${DAY_MS} + [0, 22, 23][bucket % 3 + 1] * ${HOUR_MS}) / 1000)) AS DATE) AS d0,
      CAST(timezone('Europe/Paris', to_timestamp(((bucket // 3 - ${DAY_SHIFT}) * ${DAY_MS} + [21, 22, 23][bucket % 3 + 1] * ${HOUR_MS}) / 1000)) AS DATE) AS d1
    FROM (SELECT DISTINCT bucket FROM s1 WHERE bucket >= 0)
  ),
  per_day AS (
    SELECT arc, d0, bool_and(d0 = d1) AS bucket_ok,
      sum(n)::BIGINT AS n, sum(n - bit_count(mask))::BIGINT AS dups, sum(measured)::BIGINT AS hours,
      coalesce(sum(total), 0)::DOUBLE AS total, coalesce(max(mx), 0)::DOUBLE AS mx, sum(fractional)::BIGINT AS fractional
    FROM s1 JOIN days USING (bucket)
    GROUP BY arc, d0
  )
  SELECT NULL::TINYINT AS reason, arc::VARCHAR AS arc, strftime(d0, '%Y-%m-%d') AS day, bucket_ok, n, dups, hours, total, mx, fractional FROM per_day
  UNION ALL
  SELECT -bucket::TINYINT, NULL, NULL, TRUE, n, 0, 0, 0, 0, 0 FROM s1 WHERE bucket < 0`;
}

/**
 * Exact variant (duplicates or fractional débits): the accepted rows in file order, the first of
 * each (arc, hour) kept, débits summed in hour order like CityFlow's finaliser.
 */
function exactQueries(rows) {
  return [
    // preserve_insertion_order keeps file order in the table's rowid.
    `CREATE OR REPLACE TEMP TABLE acc AS SELECT arc, hs, debit, taux FROM (${rows}) WHERE reason IS NULL`,
    `WITH firsts AS (
       SELECT * FROM (SELECT arc, hs, debit, taux, row_number() OVER (PARTITION BY arc, hs ORDER BY rowid) AS k FROM acc) WHERE k = 1
     ),
     dayed AS (
       SELECT f.*, strftime(CAST(timezone('Europe/Paris', to_timestamp(hs / 1000)) AS DATE), '%Y-%m-%d') AS day
       FROM firsts f
     )
     SELECT arc::VARCHAR AS arc, day,
       count(*) FILTER (WHERE debit IS NOT NULL OR taux IS NOT NULL)::BIGINT AS hours,
       coalesce(list_reduce(list(debit ORDER BY hs) FILTER (WHERE debit IS NOT NULL), (p, v) -> p + v), 0)::DOUBLE AS total,
       coalesce(max(debit), 0)::DOUBLE AS mx
     FROM dayed GROUP BY ALL`,
  ];
}

/**
 * The DuckDB query behind the project's performance anchors, for calibration only: typed columns
 * with `ignore_errors`, a timestamp shape check, the wall-clock day of the stamp (not the
 * hour-ending Paris day), no exact field count. Not CityFlow's rules.
 */
function typedQuery(file, layout, skipLines) {
  const types = { [layout.arc]: 'INTEGER', [layout.debit]: 'INTEGER', [layout.taux]: 'DOUBLE' };
  const cols = Array.from({ length: layout.width }, (_, i) => `'c${i}': '${types[i] || 'VARCHAR'}'`).join(', ');
  const [a, t, b, x] = [layout.arc, layout.date, layout.debit, layout.taux].map((k) => `c${k}`);
  return `
    SELECT ${a} AS arc, substr(${t}, 1, 10) AS day, count(*) AS n, count(${b}) AS n_debit, sum(${b}) AS debit, max(${b}) AS debit_max,
      max(${b} * 100 + 23 - substr(${t}, 12, 2)::INT) AS hour_of_max, count(${x}) AS n_taux, sum(${x}) AS taux
    FROM read_csv(${sqlString(file)}, delim = ';', quote = '"', escape = '"', header = true, skip = ${skipLines - 1},
                  auto_detect = false, columns = {${cols}}, ignore_errors = true)
    WHERE regexp_full_match(${t}, '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}[+-]\\d{2}:\\d{2}')
    GROUP BY ALL`;
}

/** Runs in the child: returns { groups: [[arc, day, hours, total, max]], stats }. */
async function compute(req) {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: String(req.threads) });
  const con = await db.connect();
  const all = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
  if (req.typed) {
    const n = (await con.runAndReadAll(typedQuery(req.file, req.layout, req.skipLines))).currentRowCount;
    con.closeSync();
    return { groups: [], stats: { groups: n, variant: 'typed' } };
  }
  for (const m of macros()) await con.run(m);

  const source = req.exactCsv ? lineSource(req.file, req.layout, req.skipLines) : csvSource(req.file, req.layout, req.skipLines);
  const rows = rowsQuery(source, req.layout.width);
  const out = await all(fastQuery(rows));
  const stats = { records: 0, accepted: 0, rejected: {}, duplicates: 0, fractional_debits: 0, open_quote_lines: 0, variant: 'fast' };
  const groups = [];
  for (const g of out) {
    const n = Number(g.n);
    stats.records += n;
    if (g.reason !== null) {
      const name = REASON_NAME[g.reason];
      const reason = name === 'bad_quoting_open' ? 'bad_quoting' : name;
      if (name === 'bad_quoting_open') stats.open_quote_lines += n;
      stats.rejected[reason] = (stats.rejected[reason] || 0) + n;
      continue;
    }
    if (!g.bucket_ok) throw new Error(`an hour bucket of UTC day ${g.day} spans two Paris days: the bucket rule does not hold`);
    stats.accepted += n;
    stats.duplicates += Number(g.dups);
    stats.fractional_debits += Number(g.fractional);
    groups.push([g.arc, g.day, Number(g.hours), Number(g.total), Number(g.mx)]);
  }
  if (stats.duplicates > 0 || stats.fractional_debits > 0) {
    // Sums and hour counts above include the duplicates, or were not summed in hour order.
    stats.variant = 'exact';
    const [create, select] = exactQueries(rows);
    await con.run(create);
    groups.length = 0;
    for (const g of await all(select)) groups.push([g.arc, g.day, Number(g.hours), Number(g.total), Number(g.mx)]);
  }
  con.closeSync();
  return { groups, stats };
}

/** Peak RSS of this process (VmHWM), in bytes. */
function peakRssBytes(pid = 'self') {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Fork this file on `file` and wait for its result. The wall time runs from the fork to the
 * result message (start-up, DuckDB load, read, aggregation), like the pipeline's clock.
 */
function runReference({ file, layout, skipLines, threads = 2, exactCsv = false, typed = false, tmpDir }) {
  const reqFile = path.join(tmpDir, 'duckdb-request.json');
  const resFile = path.join(tmpDir, 'duckdb-result.json');
  fs.writeFileSync(reqFile, JSON.stringify({ file, layout, skipLines, threads, exactCsv, typed }));
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = fork(__filename, [reqFile, resFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let done = false;
    child.on('message', (m) => {
      if (m && m.kind === 'done') {
        done = true;
        const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
        const result = JSON.parse(fs.readFileSync(resFile, 'utf8'));
        resolve({ ...result, wallS, peakRssBytes: m.peakRssBytes, queryS: m.queryS });
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!done) reject(new Error(`DuckDB reference exited with code ${code}`));
    });
  });
}

module.exports = { runReference, peakRssBytes, macros, csvSource, lineSource, rowsQuery, fastQuery, exactQueries, typedQuery };

if (require.main === module) {
  const [reqFile, resFile] = process.argv.slice(2);
  const t0 = process.hrtime.bigint();
  compute(JSON.parse(fs.readFileSync(reqFile, 'utf8')))
    .then((result) => {
      const queryS = Number(process.hrtime.bigint() - t0) / 1e9;
      fs.writeFileSync(resFile, JSON.stringify(result));
      process.send({ kind: 'done', peakRssBytes: peakRssBytes(), queryS }, () => process.exit(0));
    })
    .catch((e) => {
      process.stderr.write(`DuckDB reference failed: ${e.stack || e}\n`);
      process.exit(1);
    });
}
