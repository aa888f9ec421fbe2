#!/usr/bin/env node
'use strict';
/**
 * `npm run bench -- [--size 1G] [--processors 2] [--file F] [--json OUT] [--date D] [--exact-csv] [--keep]`
 *
 * End-to-end throughput of CityFlow on one comptages file, against a DuckDB reference computed
 * in the same invocation (this machine is shared and noisy: compare ratios, not seconds).
 *
 *  1. Input: --file F, or a generated file (tools/gen_comptages.py --bytes SIZE --seed 42, cached
 *     in <tmp>/cityflow-bench). It is read once first (warm page cache, read floor).
 *  2. Pipeline: a private redis-server, ingestor, chunker, reporter, api and N processor
 *     processes, as in production. Once every worker is registered, the clock starts, the run
 *     is enqueued exactly as POST /runs does, and the clock stops at the instant the run record
 *     says the run ended (the reporter writes every day's metrics and the report before that).
 *  3. DuckDB (@duckdb/node-api, threads=2, in a child process): per (arc, Paris day) hours,
 *     débit sum and max under CityFlow's rules (scripts/lib/bench-duckdb.js).
 *  4. Agreement: every comptages_metrics_<day>.json against the reference, exactly.
 *  Optionally (--typed-reference) the query behind the documented performance anchors is timed
 *  too, to relate this run's figures to them.
 *
 * Exit code 1 when the run fails or the results disagree. BENCH_SIZE sets the default --size.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const stack = require('./lib/stack');
const input = require('./lib/bench-input');
const services = require('./lib/bench-services');
const { runReference } = require('./lib/bench-duckdb');
const { chunkTotals, cityflowGroups, compareGroups } = require('./lib/bench-compare');

const USAGE = `usage: npm run bench -- [--size 1G] [--processors 2] [--file F] [--json OUT]
                        [--date YYYY-MM-DD] [--exact-csv] [--typed-reference] [--keep]

  --size SIZE       generated input size (default 1G, or BENCH_SIZE): 200M, 1G, …
  --file F          benchmark this comptages CSV instead of a generated one
  --processors N    processor processes (default 2)
  --json OUT        also write the figures as JSON to OUT
  --date D          the run's day (default: the first full Paris day of the file)
  --exact-csv       DuckDB applies CityFlow's quoting rules on raw lines (slower; automatic
                    when CityFlow reports rows with malformed quoting)
  --typed-reference also time the DuckDB query behind the project's performance anchors
                    (typed columns, lenient rules): relates this run to those figures
  --keep            keep the run's output folder (metrics, report, state) and print its path
  --cpu-prof DIR    write a V8 CPU profile of every service process to DIR (open in Chrome DevTools)`;

const MiB = 2 ** 20;
// `npm run` starts scripts in the package folder; relative paths are the caller's.
const userCwd = process.env.INIT_CWD || process.cwd();
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const mib = (bytes) => (bytes == null ? null : Math.round(bytes / MiB));
const rate = (n, s) => (s > 0 ? n / s : 0);
const sortedObject = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
const reasons = (o) =>
  Object.entries(sortedObject(o))
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ') || 'none';
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);

/** Command-line options; a usage error is thrown with `usage: true` (printed without a stack). */
function options() {
  try {
    return parseOptions();
  } catch (e) {
    throw Object.assign(new Error(`${e.message}\n\n${USAGE}`), { usage: true });
  }
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      size: { type: 'string' },
      processors: { type: 'string', default: '2' },
      file: { type: 'string' },
      json: { type: 'string' },
      date: { type: 'string' },
      'exact-csv': { type: 'boolean', default: false },
      'typed-reference': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const processors = Number(values.processors);
  if (!Number.isInteger(processors) || processors < 1) throw new Error(`--processors must be a positive integer, got ${values.processors}`);
  if (values.date && !/^\d{4}-\d{2}-\d{2}$/.test(values.date)) throw new Error(`--date must be YYYY-MM-DD, got ${values.date}`);
  const size = values.size || process.env.BENCH_SIZE || '1G';
  input.parseSize(size); // validates
  return { ...values, size, processors };
}

/**
 * Run the pipeline through the services. Resolves { result, error, peak }: `peak` (RSS per
 * process, read just before stopping it) is there even when the run failed.
 */
async function pipeline({ rawDir, outDir, processors, maxFileSizeMb, date, cpuProfDir }) {
  const s = await services.startStack({ rawDir, outDir, processors, maxFileSizeMb, cpuProfDir });
  let result = null;
  let error = null;
  try {
    const ready = await services.waitUntilReady(s, processors);
    const events = await services.watchQueueEvents(s.config);
    try {
      const runId = stack.newRunId(date);
      const t0 = Date.now();
      await stack.enqueueRun(s.config, { runId, date });
      const run = await stack.waitForRun(s.config, runId, { children: s.services, timeoutMs: 3 * 3600_000 });
      const observed = Date.now();
      // The run record's own timestamp is the end; the poll above notices it up to 300 ms later.
      const recorded = Date.parse(run.updatedAt);
      const end = Number.isFinite(recorded) && recorded >= t0 && recorded <= observed ? recorded : observed;
      await new Promise((r) => setTimeout(r, 250)); // let the last queue events arrive
      const stages = await services.stageTimeline(s.config, t0);
      result = { run, runId, wallS: (end - t0) / 1000, observedS: (observed - t0) / 1000, ready, stages, events: JSON.parse(JSON.stringify(events.counts)) };
    } finally {
      await events.close();
    }
  } catch (e) {
    error = e;
  }
  const peak = await services.stopStack(s);
  return { result, error, peak };
}

async function main() {
  const opt = options();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-bench-run-'));
  const outDir = path.join(tmpDir, 'output');
  fs.mkdirSync(outDir);
  let raw;
  try {
    // ── Input ──────────────────────────────────────────────────────────────────────────────
    let file;
    let gen = null;
    if (opt.file) {
      file = path.resolve(userCwd, opt.file);
      if (!fs.statSync(file).isFile()) throw new Error(`${file} is not a file`);
    } else {
      gen = input.ensureGenerated(opt.size);
      file = gen.file;
    }
    const bytes = fs.statSync(file).size;
    const { layout, skipLines, sampleLines } = input.readLayout(file);
    const date = opt.date || input.firstFullDay(layout, sampleLines);
    raw = input.prepareRawDir(file);
    const scan = input.scanFile(file);
    // The real default (500) when the file is larger; else half the file's size, so that the
    // comptages file still goes to the chunker while the 1.1 MB référentiel stays whole.
    const maxFileSizeMb = bytes > 500 * MiB ? 500 : Math.max(2, Math.floor(bytes / MiB / 2));

    console.log(`CityFlow bench: ${path.basename(file)} (${fmt(bytes / 1e6, 1)} MB), ${opt.processors} processor(s), run date ${date}`);
    console.log(`  input       ${file}${gen ? ` (${gen.generated ? 'generated' : 'cached'}, seed 42)` : ''}; raw folder: ${raw.linked ? 'hard link' : 'copy'}`);
    console.log(
      `  read floor  ${scan.seconds.toFixed(2)} s (${fmt(rate(bytes / 1e6, scan.seconds))} MB/s, 16 MiB reads, warms the page cache); lone CR ${scan.loneCr}, invalid UTF-8 ${scan.badUtf8Reads ? 'yes' : 'no'}`,
    );
    console.log(`  services    MAX_FILE_SIZE_MB=${maxFileSizeMb} (${bytes > maxFileSizeMb * MiB ? 'the file is chunked' : 'the file is NOT chunked'}, EC2_CHUNK_SIZE default 50,000 rows), LOG_LEVEL=warn`);

    // ── Pipeline ───────────────────────────────────────────────────────────────────────────
    const { result: p, error: pipelineError, peak } = await pipeline({ rawDir: raw.rawDir, outDir, processors: opt.processors, maxFileSizeMb, date, cpuProfDir: opt['cpu-prof'] ? path.resolve(userCwd, opt['cpu-prof']) : undefined });
    if (pipelineError) {
      console.error(`\npipeline failed: ${pipelineError.message}`);
      throw Object.assign(pipelineError, { reported: true });
    }
    const cf = chunkTotals(outDir);
    const cityflow = cityflowGroups(outDir);
    const reportFile = path.join(outDir, 'reports', `daily_report_${date}.json`);
    const reportOk = fs.existsSync(reportFile);
    const failedFiles = (p.run.result && p.run.result.failedFiles) || [];
    const runOk = ['completed', 'incomplete'].includes(p.run.status) && failedFiles.length === 0;
    const rows = cf.records;
    const stalled = sum(p.events.stalled);
    const failedJobs = sum(p.events.failed);

    console.log(`  ready in ${p.ready.readyS.toFixed(1)} s: workers ${Object.entries(p.ready.counts).map(([q, n]) => `${q} ${n}`).join(', ')}; api /api/health 200`);
    console.log(`\nPipeline (clock: run enqueued → run record ended)`);
    console.log(`  wall        ${p.wallS.toFixed(2)} s   ${fmt(rate(bytes / 1e6, p.wallS), 1)} MB/s   ${fmt(rate(rows, p.wallS))} rows/s   ${cf.chunks} chunk(s)`);
    console.log(`  rows        ${fmt(rows)} data rows (sum of the run's chunk summaries, state/chunks): ${fmt(cf.accepted)} accepted, rejected ${reasons(cf.rejected)}`);
    console.log(
      `  run         ${p.run.status}${failedFiles.length ? `, ${failedFiles.length} failed file(s)` : ', no failed file'}; ${cityflow.days.length} comptages day file(s) (${cityflow.days[0] || '-'} → ${cityflow.days[cityflow.days.length - 1] || '-'}); report ${reportOk ? `reports/daily_report_${date}.json` : 'MISSING'}`,
    );
    const done = p.events.completed;
    console.log(
      `  jobs        stalled ${stalled} (chunk ${p.events.stalled.chunk}, process ${p.events.stalled.process}, merge ${p.events.stalled.merge}, report ${p.events.stalled.report}); failed ${failedJobs}; completed: chunk ${done.chunk}, process ${done.process}, merge ${done.merge}, report ${done.report}`,
    );
    for (const [q, st] of Object.entries(p.stages)) {
      console.log(`  stage       ${q.padEnd(8)} ${String(st.jobs).padStart(4)} job(s), ${st.first_start_s.toFixed(2)} s → ${st.last_end_s.toFixed(2)} s, busy ${st.busy_s.toFixed(2)} s`);
    }
    console.log(`  peak RSS    ${Object.entries(peak).map(([k, v]) => `${k} ${v == null ? '?' : mib(v)}`).join(' · ')} MiB`);

    // ── DuckDB reference ───────────────────────────────────────────────────────────────────
    const exactCsv = opt['exact-csv'] || (cf.rejected.bad_quoting || 0) > 0;
    const ref = await runReference({ file, layout, skipLines, threads: 2, exactCsv, tmpDir });
    const ratio = p.wallS / ref.wallS;
    const how = [exactCsv ? 'raw lines, quoting rules in SQL' : 'DuckDB CSV reader'];
    if (exactCsv && !opt['exact-csv']) how[0] += ` (CityFlow reported ${cf.rejected.bad_quoting} row(s) with malformed quoting)`;
    if (ref.stats.variant === 'exact') how.push('exact variant: first row per (arc, hour), débits summed in hour order');
    console.log(`\nDuckDB reference (child process, threads=2, CityFlow's rules; ${how.join('; ')})`);
    console.log(`  wall        ${ref.wallS.toFixed(2)} s   ${fmt(rate(bytes / 1e6, ref.wallS), 1)} MB/s   ${fmt(rate(ref.stats.records, ref.wallS))} rows/s   peak RSS ${mib(ref.peakRssBytes)} MiB`);
    console.log(
      `  rows        ${fmt(ref.stats.records)} records: ${fmt(ref.stats.accepted)} accepted, rejected ${reasons(ref.stats.rejected)}; duplicate (arc, hour) rows ${fmt(ref.stats.duplicates)}`,
    );
    if (ref.stats.open_quote_lines) {
      console.log(`  note        ${ref.stats.open_quote_lines} line(s) with an odd number of quotes: a quoted field spanning lines (valid CSV, joined by CityFlow) is seen here as broken lines`);
    }
    if (scan.loneCr || scan.badUtf8Reads) console.log(`  note        DuckDB ends lines at lone CRs and drops invalid UTF-8 rows; CityFlow does neither: differences may come from there`);
    let typed = null;
    if (opt['typed-reference']) {
      typed = await runReference({ file, layout, skipLines, threads: 2, typed: true, tmpDir });
      console.log(
        `  calibration typed DuckDB query of the performance anchors (lenient rules, wall-clock day): ${typed.wallS.toFixed(2)} s, ${fmt(rate(bytes / 1e6, typed.wallS), 1)} MB/s, peak RSS ${mib(typed.peakRssBytes)} MiB; pipeline / typed = ${(p.wallS / typed.wallS).toFixed(2)}×`,
      );
    }
    console.log(`\n  ratio pipeline / DuckDB = ${ratio.toFixed(2)}×`);

    // ── Agreement ──────────────────────────────────────────────────────────────────────────
    const cmp = compareGroups(cityflow.groups, ref.groups);
    const cfRejected = { ...cf.rejected, ...(cityflow.duplicates ? { duplicate_hour: cityflow.duplicates } : {}) };
    const refRejected = { ...ref.stats.rejected, ...(ref.stats.duplicates ? { duplicate_hour: ref.stats.duplicates } : {}) };
    const rejectsAgree = JSON.stringify(sortedObject(cfRejected)) === JSON.stringify(sortedObject(refRejected)) && cf.records === ref.stats.records;
    console.log(`\nAgreement (metrics/comptages_metrics_<day>.json vs DuckDB, per arc × day: heures_mesurees, debit_journalier_total, debit_max)`);
    console.log(`  groups      CityFlow ${fmt(cmp.cityflowGroups)} · DuckDB ${fmt(cmp.duckdbGroups)}`);
    console.log(`  rejected    ${rejectsAgree ? 'same records and reasons' : `DIFFERENT: CityFlow ${fmt(cf.records)} records, ${reasons(cfRejected)} · DuckDB ${fmt(ref.stats.records)} records, ${reasons(refRejected)}`}`);
    if (cmp.agree) console.log('  agree: yes');
    else {
      console.log(`  agree: NO: ${cmp.onlyCityflow} group(s) only in CityFlow, ${cmp.onlyDuckdb} only in DuckDB, ${cmp.different} with different numbers`);
      for (const e of cmp.examples.different) console.log(`    ${e.key}: ${JSON.stringify(e.fields)}`);
      for (const e of cmp.examples.onlyCityflow) console.log(`    ${e.key}: only CityFlow ${JSON.stringify(e.cityflow)}`);
      for (const e of cmp.examples.onlyDuckdb) console.log(`    ${e.key}: only DuckDB ${JSON.stringify(e.duckdb)}`);
    }
    if (!runOk || !reportOk) console.log(`\nRUN FAILED: status ${p.run.status}${p.run.error ? ` (${p.run.error})` : ''}, ${failedFiles.length} failed file(s), report ${reportOk ? 'present' : 'missing'}`);

    if (opt.json) {
      const out = {
        date,
        file,
        size: gen ? opt.size : null,
        bytes,
        rows,
        processors: opt.processors,
        max_file_size_mb: maxFileSizeMb,
        chunks: cf.chunks,
        wall_s: round(p.wallS, 3),
        wall_observed_s: round(p.observedS, 3),
        mb_per_s: round(rate(bytes / 1e6, p.wallS), 2),
        rows_per_s: Math.round(rate(rows, p.wallS)),
        read_floor_s: round(scan.seconds, 3),
        peak_rss_mib: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, mib(v)])),
        stalled,
        stalled_by_queue: p.events.stalled,
        completed_jobs: p.events.completed,
        stages: p.stages,
        failed_jobs: failedJobs,
        run_status: p.run.status,
        run_ok: runOk && reportOk,
        comptages_days: cityflow.days.length,
        duckdb_wall_s: round(ref.wallS, 3),
        duckdb_peak_rss_mib: mib(ref.peakRssBytes),
        duckdb_threads: 2,
        duckdb_csv: exactCsv ? 'lines' : 'reader',
        duckdb_variant: ref.stats.variant,
        duckdb_records: ref.stats.records,
        duplicates: ref.stats.duplicates,
        ratio: round(ratio, 3),
        ...(typed ? { duckdb_typed_wall_s: round(typed.wallS, 3), duckdb_typed_peak_rss_mib: mib(typed.peakRssBytes), ratio_typed: round(p.wallS / typed.wallS, 3) } : {}),
        rejected: { cityflow: cfRejected, duckdb: refRejected, agree: rejectsAgree },
        groups: { cityflow: cmp.cityflowGroups, duckdb: cmp.duckdbGroups, only_cityflow: cmp.onlyCityflow, only_duckdb: cmp.onlyDuckdb, different: cmp.different },
        agree: cmp.agree,
      };
      const jsonFile = path.resolve(userCwd, opt.json);
      fs.writeFileSync(jsonFile, `${JSON.stringify(out, null, 2)}\n`);
      console.log(`\nJSON written to ${jsonFile}`);
    }
    if (opt.keep) console.log(`output kept in ${outDir}`);
    return runOk && reportOk && cmp.agree ? 0 : 1;
  } finally {
    if (raw) raw.cleanup();
    if (!opt.keep) fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

main().then(
  (code) => process.exit(code),
  (e) => {
    if (!e.reported) console.error(e.code === 'NO_REDIS' || e.usage ? e.message : e.stack || e);
    process.exit(1);
  },
);
