'use strict';
/**
 * Input of `npm run bench`: the generated comptages file (cached in the temp dir), the raw folder
 * the services read, the header layout, the day to run, and a warm-up read of the file.
 */
const { execFileSync } = require('node:child_process');
const { isUtf8 } = require('node:buffer');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { addDays, HOUR_MS, parisDay, parisMidnight, parseIsoWithOffset } = require('@cityflow/domain');
const stack = require('./stack');

const SEED = 42;
const CACHE_DIR = path.join(os.tmpdir(), 'cityflow-bench');

/** `200M` / `1G` / `1.5G` / bytes → bytes (the generator's own size syntax). */
function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*$/i.exec(String(text));
  if (!m) throw new Error(`bad size ${JSON.stringify(text)}: expected e.g. 200M or 1G`);
  const unit = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[m[2].toUpperCase()];
  return Math.floor(Number(m[1]) * unit);
}

/**
 * The generated file for `size` (tools/gen_comptages.py --seed 42). The generator's stats file
 * next to it marks a complete file: it is written last, after the CSV has been renamed into place,
 * and records the byte size the CSV must have.
 */
function ensureGenerated(size) {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const label = String(size).toUpperCase();
  const file = path.join(CACHE_DIR, `comptages_${label}.csv`);
  const statsFile = `${file}.stats.json`;
  try {
    const stats = JSON.parse(fs.readFileSync(statsFile, 'utf8'));
    if (stats.seed === SEED && stats.bytes === fs.statSync(file).size) return { file, stats, generated: false };
  } catch {
    // no cache (or an incomplete one): generate
  }
  const tmp = `${file}.tmp-${process.pid}`;
  const tmpStats = `${statsFile}.tmp-${process.pid}`;
  console.log(`generating ${file} (tools/gen_comptages.py --bytes ${label} --seed ${SEED})…`);
  try {
    execFileSync('python3', [path.join(stack.ROOT, 'tools/gen_comptages.py'), '--bytes', label, '--seed', String(SEED), '--out', tmp, '--stats', tmpStats], {
      stdio: 'inherit',
    });
    fs.renameSync(tmp, file);
    fs.renameSync(tmpStats, statsFile);
  } finally {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(tmpStats, { force: true });
  }
  return { file, stats: JSON.parse(fs.readFileSync(statsFile, 'utf8')), generated: true };
}

/**
 * A raw folder as the ingestor expects it: `batch/comptages-bench.csv` (a hard link, or a copy
 * when linking is not possible) and the sample référentiel.
 */
function prepareRawDir(file) {
  const refFile = path.join(stack.ROOT, 'data/sample/raw/batch/referentiel-comptages-routiers.csv');
  const raw = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-bench-raw-'));
  fs.mkdirSync(path.join(raw, 'batch'));
  const target = path.join(raw, 'batch', 'comptages-bench.csv');
  let linked = true;
  try {
    fs.linkSync(file, target);
  } catch {
    linked = false;
    fs.copyFileSync(file, target);
  }
  fs.copyFileSync(refFile, path.join(raw, 'batch', 'referentiel-comptages-routiers.csv'));
  return { rawDir: raw, linked, cleanup: () => fs.rmSync(raw, { recursive: true, force: true }) };
}

/** Split one header line (no embedded newline) into fields; `""` inside quotes is a quote. */
function splitHeader(line) {
  const out = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) throw new Error('header has an unclosed quote');
        v += line.slice(j, q);
        if (line[q + 1] === '"') {
          v += '"';
          j = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
    } else {
      const d = line.indexOf(';', i);
      out.push(line.slice(i, d < 0 ? line.length : d));
      i = d < 0 ? line.length : d;
    }
    if (i >= line.length) return out;
    i++; // the delimiter
    if (i === line.length) {
      out.push('');
      return out;
    }
  }
}

const HEAD_BYTES = 4 << 20;
const label = (s) => s.replace(/^\uFEFF/, '').trim().normalize('NFC');

/**
 * The header's width and the positions of the columns the reference needs, located by label
 * like CityFlow does (BOM removed, trimmed, NFC, first occurrence wins); `skipLines` = physical
 * lines up to and including the header (blank lines before it are skipped, as CityFlow does).
 */
function readLayout(file) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(HEAD_BYTES);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  const text = buf.subarray(0, n).toString('utf8');
  const lines = text.split('\n');
  let h = 0;
  while (h < lines.length && lines[h].replace(/\r$/, '') === '') h++;
  if (h >= lines.length - 1) throw new Error(`${file}: no header line found in the first ${HEAD_BYTES} bytes`);
  const fields = splitHeader(lines[h].replace(/\r$/, ''));
  const pos = new Map();
  fields.forEach((f, i) => pos.has(label(f)) || pos.set(label(f), i));
  const find = (name) => {
    const i = pos.get(name);
    if (i === undefined) throw new Error(`${file}: the header has no ${JSON.stringify(name)} column`);
    return i;
  };
  const layout = {
    width: fields.length,
    arc: find('Identifiant arc'),
    date: find('Date et heure de comptage'),
    debit: find('Débit horaire'),
    taux: find("Taux d'occupation"),
  };
  return { layout, skipLines: h + 1, sampleLines: lines.slice(h + 1, -1) };
}

/**
 * The first Paris day fully covered by the start of the file: the earliest hour in the first
 * 4 MiB starts it, unless that hour starts mid-day (then the next day). With the hour-ending
 * rule, the generated files (first stamp 2025-10-20T00:00+02:00) give 2025-10-20.
 */
function firstFullDay(layout, sampleLines) {
  let minT = Infinity;
  for (const line of sampleLines) {
    const f = line.split(';');
    if (f.length <= layout.date) continue;
    const t = parseIsoWithOffset(f[layout.date].trim());
    if (Number.isFinite(t) && t % HOUR_MS === 0 && t < minT) minT = t;
  }
  if (!Number.isFinite(minT)) throw new Error('no valid timestamp in the first 4 MiB of the file; pass --date YYYY-MM-DD');
  const hourStart = minT - HOUR_MS;
  const day = parisDay(hourStart);
  return parisMidnight(day) === hourStart ? day : addDays(day, 1);
}

/**
 * Read the whole file once (16 MiB reads): warms the page cache for both contenders and gives the
 * read floor. Also counts what DuckDB's CSV reader sees differently from CityFlow's scanner:
 * lone CRs (DuckDB ends a line there) and invalid UTF-8 (DuckDB drops those rows).
 */
function scanFile(file) {
  const t0 = process.hrtime.bigint();
  const fd = fs.openSync(file, 'r');
  const block = 16 << 20;
  const slack = 1 << 20;
  const buf = Buffer.allocUnsafe(block + slack);
  let carry = 0; // the incomplete last line of the previous read, kept at the front of buf
  let bytes = 0;
  let loneCr = 0;
  let badUtf8Reads = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, carry, block, null);
    const end = carry + n;
    bytes += n;
    // A CR not followed by LF (a CR ending the data is checked once the next read is in).
    for (let i = buf.indexOf(13, Math.max(0, carry - 1)); i >= 0 && i < end; i = buf.indexOf(13, i + 1)) {
      if (i + 1 < end ? buf[i + 1] !== 10 : n === 0) loneCr++;
    }
    // UTF-8 is checked up to the last LF, which is never inside a multi-byte character.
    const upto = n === 0 ? end : buf.lastIndexOf(10, end - 1) + 1;
    if (upto > 0 && !isUtf8(buf.subarray(0, upto))) badUtf8Reads++;
    if (n === 0) break;
    carry = end - upto;
    if (carry > slack) carry = 0; // a line longer than 1 MiB: its start is not checked
    else buf.copy(buf, 0, upto, end);
  }
  fs.closeSync(fd);
  return { bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9, loneCr, badUtf8Reads };
}

module.exports = { parseSize, ensureGenerated, prepareRawDir, readLayout, firstFullDay, scanFile, CACHE_DIR };
