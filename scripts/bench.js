#!/usr/bin/env node
'use strict';
/**
 * `npm run bench` — throughput figures measured side by side in one run (this machine is shared
 * and noisy: compare the ratios, not the absolute seconds).
 *
 *  1. In process, on a generated comptages file (BENCH_SIZE, default 200M; cached in the temp dir):
 *     read floor (16 MiB reads) vs CityFlow (planChunks + comptages processChunk per 50k-row range)
 *     vs csv-parse (parse only). Alternating repetitions; medians; peak RSS.
 *  2. Through the real services (private redis-server): the same file with a low MAX_FILE_SIZE_MB
 *     so the chunker fans it out over 2 processor processes, vs. one process reading it whole.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parse } = require('csv-parse');
const { planChunks, comptagesHandler, fileRefFor } = require('@cityflow/domain');
const stack = require('./lib/stack');

const SIZE = process.env.BENCH_SIZE || '200M';
const REPS = Number(process.env.BENCH_REPS || 3);
const dir = path.join(os.tmpdir(), 'cityflow-bench');
const file = path.join(dir, `comptages_${SIZE}.csv`);

function ensureFile() {
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(file)) {
    console.log(`generating ${file} (tools/gen_comptages.py --bytes ${SIZE} --seed 42)…`);
    execFileSync('python3', [path.join(stack.ROOT, 'tools/gen_comptages.py'), '--bytes', SIZE, '--seed', '42', '--out', file], { stdio: 'inherit' });
  }
  return fs.statSync(file).size;
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

function readFloor() {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(16 << 20);
  let n = 0;
  for (let r; (r = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) n += r;
  fs.closeSync(fd);
  return n;
}

async function cityflow() {
  const plan = await planChunks(file, 50_000);
  const ref = fileRefFor(path.dirname(file), file, 'comptages');
  const fd = fs.openSync(file, 'r');
  let accepted = 0;
  const chunkMs = [];
  for (const r of plan.ranges) {
    const t = process.hrtime.bigint();
    const bytes = Buffer.allocUnsafe(r.end - r.start);
    fs.readSync(fd, bytes, 0, bytes.length, r.start);
    const out = comptagesHandler.processChunk({ file: ref, range: r, bytes, header: r.index ? plan.header : undefined });
    accepted += out.quality.accepted;
    chunkMs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  fs.closeSync(fd);
  chunkMs.sort((a, b) => a - b);
  return { accepted, chunks: plan.ranges.length, chunkMedianMs: chunkMs[Math.floor(chunkMs.length / 2)] };
}

function csvParse() {
  return new Promise((resolve, reject) => {
    let rows = 0;
    fs.createReadStream(file, { highWaterMark: 1 << 20 })
      .pipe(parse({ delimiter: ';', from_line: 2, relax_column_count: true, relax_quotes: true }))
      .on('data', () => rows++)
      .on('end', () => resolve(rows))
      .on('error', reject);
  });
}

async function timeIt(fn) {
  const t = process.hrtime.bigint();
  const result = await fn();
  return { s: Number(process.hrtime.bigint() - t) / 1e9, result };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function inProcess(bytes) {
  const times = { floor: [], cityflow: [], csvparse: [] };
  let last;
  for (let i = 0; i < REPS; i++) {
    times.floor.push((await timeIt(readFloor)).s);
    const c = await timeIt(cityflow);
    times.cityflow.push(c.s);
    last = c.result;
    times.csvparse.push((await timeIt(csvParse)).s);
  }
  const mb = bytes / 1e6;
  const m = { floor: median(times.floor), cityflow: median(times.cityflow), csvparse: median(times.csvparse) };
  console.log(`\n1. In process, ${mb.toFixed(0)} MB, ${REPS} alternating repetitions (median wall s)`);
  console.log(`   read floor        ${m.floor.toFixed(2)} s  ${(mb / m.floor).toFixed(0)} MB/s`);
  console.log(`   CityFlow          ${m.cityflow.toFixed(2)} s  ${(mb / m.cityflow).toFixed(0)} MB/s  (${last.chunks} chunks of 50k rows, median ${last.chunkMedianMs.toFixed(0)} ms/chunk, ${last.accepted} rows accepted)`);
  console.log(`   csv-parse (parse only) ${m.csvparse.toFixed(2)} s  ${(mb / m.csvparse).toFixed(0)} MB/s`);
  console.log(`   ratios: csv-parse / CityFlow = ${(m.csvparse / m.cityflow).toFixed(1)}×, CityFlow / floor = ${(m.cityflow / m.floor).toFixed(1)}×, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
}

async function throughServices(bytes) {
  const refFile = path.join(stack.ROOT, 'data/sample/raw/batch/referentiel-comptages-routiers.csv');
  const raw = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-bench-raw-'));
  fs.mkdirSync(path.join(raw, 'batch'));
  // A hard link (no copy of the big file); discovery lists regular files only.
  try {
    fs.linkSync(file, path.join(raw, 'batch', 'comptages-bench.csv'));
  } catch {
    fs.copyFileSync(file, path.join(raw, 'batch', 'comptages-bench.csv'));
  }
  fs.copyFileSync(refFile, path.join(raw, 'batch', 'referentiel-comptages-routiers.csv'));
  const redis = await stack.ensureRedis({});
  const results = {};
  try {
    for (const [label, extra, processors] of [
      ['whole file, 1 processor', { MAX_FILE_SIZE_MB: '100000' }, 1],
      ['chunked 50k rows, 2 processors', { MAX_FILE_SIZE_MB: '50' }, 2],
    ]) {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-bench-out-'));
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: redis.url, QUEUE_PREFIX: `bench${Date.now()}`, OUTPUT_DIR: out, DATA_DIR_RAW: raw, LOG_LEVEL: 'warn', ...extra };
      const config = stack.stackConfig(env);
      const children = ['ingestor', 'chunker', 'reporter', ...Array(processors).fill('processor')].map((s, i) => stack.startService(s, env, { quiet: true, index: i }));
      await new Promise((r) => setTimeout(r, 1500)); // let the services boot before timing
      const runId = stack.newRunId('2025-10-22');
      const t = Date.now();
      await stack.enqueueRun(config, { runId, date: '2025-10-22' });
      const run = await stack.waitForRun(config, runId, { children, timeoutMs: 60 * 60_000 });
      results[label] = (Date.now() - t) / 1000;
      const chunks = fs.readdirSync(path.join(out, 'state/chunks/comptages')).map((k) => fs.readdirSync(path.join(out, 'state/chunks/comptages', k)).length)[0];
      const days = fs.readdirSync(path.join(out, 'metrics')).filter((f) => f.startsWith('comptages_')).length;
      console.log(`   ${label.padEnd(32)} ${results[label].toFixed(1)} s  ${(bytes / 1e6 / results[label]).toFixed(0)} MB/s  (${chunks} chunk(s), ${days} comptages day files, run ${run.status})`);
      await Promise.all(children.map((c) => stack.stopProcess(c)));
      fs.rmSync(out, { recursive: true, force: true });
    }
  } finally {
    await redis.stop();
    fs.rmSync(raw, { recursive: true, force: true });
  }
  const [a, b] = Object.values(results);
  console.log(`   ratio chunked / whole = ${(b / a).toFixed(2)}`);
}

(async () => {
  const bytes = ensureFile();
  await inProcess(bytes);
  console.log(`\n2. Through the services (separate processes, private redis-server), same file, run → report`);
  await throughServices(bytes);
  clearInterval(sampler);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
