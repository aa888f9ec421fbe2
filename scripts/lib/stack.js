'use strict';
/**
 * Local stack: a private redis-server (unless REDIS_URL is set) and one Node process per service,
 * all sharing one environment. Used by `npm start`, `npm run pipeline` and the end-to-end tests.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const IORedis = require('ioredis');
const { Queue } = require('bullmq');
const { IngestRun, jobIds, newRunId, QueueName } = require('@cityflow/contracts');
const { loadConfig, workerConnection, redisOptionsFromUrl, openStore, SERVICE_NODE_OPTIONS, SERVICE_NODE_ARGS } = require('@cityflow/common');
const { startRedisServer, findRedisServer } = require('@cityflow/testing');

const ROOT = path.resolve(__dirname, '../..');
const SERVICES = ['ingestor', 'chunker', 'processor', 'reporter', 'api'];
const INSTALL_HINT = 'sudo apt-get update && sudo apt-get install -y redis-server';

/** Start redis-server on a free port unless REDIS_URL points at one already. */
async function ensureRedis(env) {
  if (env.REDIS_URL) return { url: env.REDIS_URL, stop: async () => {} };
  if (!findRedisServer()) {
    const err = new Error(`redis-server was not found on PATH. Install it with:\n\n    ${INSTALL_HINT}\n\nor set REDIS_URL to a running Redis (maxmemory-policy noeviction).`);
    err.code = 'NO_REDIS';
    throw err;
  }
  return startRedisServer();
}

/** Spawn `node services/<name>/dist/main.js`; its output is prefixed with the service name. */
function startService(name, env, { quiet = false, index = 0, nodeArgs = [] } = {}) {
  const main = path.join(ROOT, 'services', name, 'dist', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  // The heap bounds of production (Dockerfile NODE_OPTIONS); a NODE_OPTIONS of the caller comes after, so it can override them.
  const nodeOptions = [SERVICE_NODE_OPTIONS, env.NODE_OPTIONS].filter(Boolean).join(' ');
  const child = spawn(process.execPath, [...SERVICE_NODE_ARGS, ...nodeArgs, main], { cwd: ROOT, env: { ...env, NODE_OPTIONS: nodeOptions, SERVICE_NAME: name }, stdio: ['ignore', 'pipe', 'pipe'] });
  const label = index ? `${name}#${index}` : name;
  const tail = [];
  const onData = (stream) => (chunk) => {
    const text = chunk.toString();
    tail.push(text);
    if (tail.length > 50) tail.shift();
    if (!quiet) for (const line of text.split('\n')) if (line.trim()) statusLine.log(stream, `  [${label}] ${line}`);
  };
  child.stdout.on('data', onData(process.stdout));
  child.stderr.on('data', onData(process.stderr));
  child.label = label;
  child.tail = () => tail.join('');
  return child;
}

function stopProcess(child, graceMs = 15000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}

/** Add the IngestRun job for a day (the same job POST /runs adds). */
async function enqueueRun(config, { runId, date, rawDir }) {
  const queue = new Queue(QueueName.Ingest, { connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
  try {
    const data = IngestRun.parse({ schemaVersion: 1, runId, date, ...(rawDir ? { rawDir } : {}) });
    await queue.add(IngestRun.name, data, { ...IngestRun.defaults, jobId: jobIds.ingest(runId) });
  } finally {
    await queue.close();
  }
}

/**
 * Live progress of one run, cheap enough to sample every second on a run of thousands of chunks.
 *
 * The flow (libs/contracts/src/pipeline.ts): a file up to MAX_FILE_SIZE_MB is one ProcessChunk job
 * `<runId>-f<i>-c0` (queue `process`); a larger CSV is a ChunkFile job `<runId>-f<i>` (queue `chunk`)
 * whose children are the ProcessChunk jobs `<runId>-f<i>-c<j>`. For a parent job BullMQ keeps the
 * set of its pending children (`<job>:dependencies`), the hash of the completed ones
 * (`<job>:processed`) and, under ignoreDependencyOnFailure, the hash of the failed ones with their
 * reasons (`<job>:failed`). The run record (OUTPUT_DIR/state/runs/<runId>.json) lists the files
 * with their sizes.
 *
 * One sample is two pipelined round trips, whatever the number of chunks:
 *   1. per file, the file job's state and, for a chunked file, the sizes of those three
 *      collections; plus the process queue's active list (a few ids);
 *   2. the progress of this run's active chunks and, only when something changed, the ids of the
 *      newly finished chunks and the data of newly planned ones (byte range and planned rows,
 *      read once: a job's data never changes).
 * Bytes and rows done are exact: a finished chunk counts its byte range and planned rows, an active
 * one the share of its rows it has reported (job progress `{rowsDone, rowsTotal}`).
 */
class RunProgressReader {
  constructor(config, runId) {
    this.runId = runId;
    this.prefix = config.queuePrefix;
    // Fail fast instead of queueing commands while Redis is away: a sample is optional, the run
    // record decides when the run is over.
    this.redis = new IORedis({ ...redisOptionsFromUrl(config.redisUrl), maxRetriesPerRequest: 1 });
    this.redis.on('error', () => {}); // reconnects on its own; a failed sample is skipped
    this.files = new Map(); // fileIndex → what is known of the file's chunks
    this.samples = []; // recent { t, rows, bytes } for the rates
    this.started = Date.now();
    this.last = null;
  }

  key(queue, rest) {
    return `${this.prefix}:${queue}:${rest}`;
  }

  fileState(fileIndex) {
    let st = this.files.get(fileIndex);
    if (!st) {
      // meta: chunk index → { bytes, rows }; done: completed chunk indexes; failed: chunk id → reason
      st = { meta: new Map(), done: new Set(), failed: new Map(), processedLen: 0, failedLen: 0 };
      this.files.set(fileIndex, st);
    }
    return st;
  }

  /** Chunk index from a job id or a BullMQ job key of this run's file `fileIndex` (null otherwise). */
  chunkIndex(fileIndex, idOrKey) {
    const id = idOrKey.slice(idOrKey.lastIndexOf(':') + 1); // job ids never contain ':'
    const head = `${jobIds.file(this.runId, fileIndex)}-c`;
    return id.startsWith(head) && /^\d+$/.test(id.slice(head.length)) ? Number(id.slice(head.length)) : null;
  }

  async sample(run) {
    const now = Date.now();
    const files = run && Array.isArray(run.files) ? run.files : [];
    const { Chunk, Process } = QueueName;

    // Round trip 1: file jobs, dependency counts, active list.
    const p1 = this.redis.pipeline();
    for (const f of files) {
      if (f.chunked) {
        const id = jobIds.file(this.runId, f.fileIndex);
        p1.zscore(this.key(Chunk, 'completed'), id);
        p1.zscore(this.key(Chunk, 'failed'), id);
        p1.zscore(this.key(Chunk, 'waiting-children'), id);
        p1.hget(this.key(Chunk, id), 'failedReason');
        p1.scard(this.key(Chunk, `${id}:dependencies`));
        p1.hlen(this.key(Chunk, `${id}:processed`));
        p1.hlen(this.key(Chunk, `${id}:failed`));
      } else {
        const id = jobIds.chunk(this.runId, f.fileIndex, 0);
        p1.zscore(this.key(Process, 'completed'), id);
        p1.zscore(this.key(Process, 'failed'), id);
        p1.hmget(this.key(Process, id), 'failedReason', 'progress');
      }
    }
    // The run job's children: one per file, then one MergeDay per day the reporter fans out.
    const runJob = jobIds.finalize(this.runId);
    p1.scard(this.key(QueueName.Report, `${runJob}:dependencies`));
    p1.hlen(this.key(QueueName.Report, `${runJob}:processed`));
    p1.hlen(this.key(QueueName.Report, `${runJob}:failed`));
    p1.lrange(this.key(Process, 'active'), 0, -1);
    const r1 = pipelineResults(await p1.exec());
    const activeIds = r1.pop().filter((id) => id.startsWith(`${this.runId}-f`));
    const [runPending, runProcessed, runFailed] = r1.splice(-3).map(Number);

    // Round trip 2: only what changed since the last sample.
    const p2 = this.redis.pipeline();
    const after = []; // one callback per queued command, applied in order
    const views = [];
    let at = 0;
    for (const f of files) {
      if (f.chunked) {
        const [completed, failed, waitingChildren, failedReason, pending, processedLen, failedLen] = r1.slice(at, (at += 7));
        const id = jobIds.file(this.runId, f.fileIndex);
        const st = this.fileState(f.fileIndex);
        const total = Number(pending) + Number(processedLen) + Number(failedLen);
        if (Number(processedLen) !== st.processedLen) {
          p2.hkeys(this.key(Chunk, `${id}:processed`));
          after.push((keys) => {
            st.processedLen = keys.length;
            for (const k of keys) {
              const j = this.chunkIndex(f.fileIndex, k);
              if (j !== null) st.done.add(j);
            }
          });
        }
        if (Number(failedLen) !== st.failedLen) {
          p2.hgetall(this.key(Chunk, `${id}:failed`));
          after.push((hash) => {
            st.failedLen = Object.keys(hash).length;
            for (const [k, reason] of Object.entries(hash)) st.failed.set(k.slice(k.lastIndexOf(':') + 1), reason);
          });
        }
        // Data of chunks not seen yet (the chunker adds them while it scans the file).
        for (let j = 0, asked = 0; j < total && asked < 5000; j++) {
          if (st.meta.has(j)) continue;
          asked++;
          p2.hget(this.key(Process, jobIds.chunk(this.runId, f.fileIndex, j)), 'data');
          after.push((data) => {
            const d = parseJson(data);
            if (d && d.range) st.meta.set(j, { bytes: Math.max(0, d.range.end - d.range.start), rows: typeof d.rows === 'number' ? d.rows : null });
          });
        }
        const state = completed !== null ? 'completed' : failed !== null ? 'failed' : waitingChildren !== null ? 'waiting-children' : 'other';
        views.push({ f, id, st, total, pending: Number(pending), state, failedReason });
      } else {
        const [completed, failed, [failedReason, progress]] = r1.slice(at, (at += 3));
        const id = jobIds.chunk(this.runId, f.fileIndex, 0);
        const state = completed !== null ? 'completed' : failed !== null ? 'failed' : 'other';
        views.push({ f, id, state, failedReason, progress: parseJson(progress) });
      }
    }
    const activeProgress = new Map();
    for (const id of activeIds) {
      p2.hget(this.key(Process, id), 'progress');
      after.push((progress) => activeProgress.set(id, parseJson(progress)));
    }
    if (after.length) pipelineResults(await p2.exec()).forEach((value, i) => after[i](value));

    // Totals.
    const out = {
      stage: 'processing',
      files: files.length,
      filesDone: 0,
      planning: 0,
      merges: { total: 0, done: 0 },
      chunks: { total: 0, completed: 0, failed: 0, active: 0 },
      rowsDone: 0,
      rowsTotal: 0,
      bytesDone: 0,
      bytesTotal: 0,
      failures: [],
    };
    let rowsKnown = true;
    const partial = (progress, bytes) => {
      const done = progress && typeof progress.rowsDone === 'number' ? progress.rowsDone : 0;
      const total = progress && typeof progress.rowsTotal === 'number' ? progress.rowsTotal : null;
      return { rows: done, bytes: total ? (bytes * Math.min(1, done / total)) : 0 };
    };
    for (const v of views) {
      const size = Number(v.f.size) || 0;
      out.bytesTotal += size;
      const finished = v.state === 'completed' || v.state === 'failed';
      if (finished) out.filesDone++;
      if (!v.f.chunked) {
        if (v.state === 'failed') out.failures.push({ kind: 'chunk', id: v.id, file: v.f.relPath, reason: v.failedReason || 'failed' });
        out.chunks.total++;
        const rows = v.progress && typeof v.progress.rowsDone === 'number' ? v.progress.rowsDone : 0;
        if (finished) {
          out.chunks[v.state]++;
          out.bytesDone += size;
          if (v.state === 'completed') out.rowsDone += rows;
          out.rowsTotal += rows;
        } else {
          rowsKnown = false; // a whole file's rows are counted only by its processor
          if (activeIds.includes(v.id)) {
            out.chunks.active++;
            const p = partial(activeProgress.get(v.id), size);
            out.rowsDone += p.rows;
            out.bytesDone += p.bytes;
          }
        }
        continue;
      }
      const { st, total } = v;
      const planned = finished || v.state === 'waiting-children' || (total > 0 && v.pending === 0);
      if (!planned) out.planning++;
      out.chunks.total += total;
      out.chunks.completed += st.done.size;
      out.chunks.failed += st.failed.size;
      const failedChunks = [...st.failed].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
      for (const [id, reason] of failedChunks) out.failures.push({ kind: 'chunk', id, file: v.f.relPath, reason });
      if (v.state === 'failed') out.failures.push({ kind: 'file', id: v.id, file: v.f.relPath, reason: v.failedReason || 'failed' });
      let bytesDone = 0;
      for (let j = 0; j < total; j++) {
        const meta = st.meta.get(j);
        if (!meta || meta.rows === null) rowsKnown = false;
        if (!meta) continue;
        out.rowsTotal += meta.rows || 0;
        const id = jobIds.chunk(this.runId, v.f.fileIndex, j);
        if (st.done.has(j)) {
          out.rowsDone += meta.rows || 0;
          bytesDone += meta.bytes;
        } else if (st.failed.has(id)) {
          bytesDone += meta.bytes; // over, though its rows do not count
        } else if (activeIds.includes(id)) {
          out.chunks.active++;
          const p = partial(activeProgress.get(id), meta.bytes);
          out.rowsDone += p.rows;
          bytesDone += p.bytes;
        }
      }
      if (!planned) rowsKnown = false;
      // A finished file is all done, header line included.
      out.bytesDone += finished ? size : Math.min(size, bytesDone);
    }
    if (!rowsKnown) out.rowsTotal = null;
    // Day merges are added once every file is done: children beyond the files are merges.
    out.merges = { total: Math.max(0, runPending + runProcessed + runFailed - files.length), done: Math.max(0, runProcessed + runFailed - out.filesDone) };
    const status = run && run.status;
    if (['completed', 'incomplete', 'failed'].includes(status)) out.stage = 'done';
    else if (!files.length) out.stage = run ? 'ingesting' : 'queued';
    else if (out.filesDone === files.length) out.stage = 'finalizing';
    out.status = status || 'queued';

    // Rates over the last 15 s; the ETA follows the byte rate (sizes are known from the start).
    this.samples.push({ t: now, rows: out.rowsDone, bytes: out.bytesDone });
    while (this.samples.length > 2 && now - this.samples[1].t >= 15_000) this.samples.shift();
    const first = this.samples[0];
    const dt = (now - first.t) / 1000;
    out.rowsPerSec = dt >= 1 ? Math.max(0, (out.rowsDone - first.rows) / dt) : 0;
    out.bytesPerSec = dt >= 1 ? Math.max(0, (out.bytesDone - first.bytes) / dt) : 0;
    out.etaSec = out.bytesPerSec > 0 ? Math.max(0, (out.bytesTotal - out.bytesDone) / out.bytesPerSec) : null;
    out.elapsedSec = (now - this.started) / 1000;
    this.last = out;
    return out;
  }

  close() {
    return this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Values of a pipeline's replies; throws the first error. */
function pipelineResults(results) {
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function parseJson(text) {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Wait until the run record says the run ended. With `onProgress(progress, run, final)`, samples
 * the run's progress every `progressEveryMs` (and once more at the end, with final = true).
 * Rejects when a service process exits early or the timeout passes.
 */
async function waitForRun(config, runId, { children = [], timeoutMs = 30 * 60_000, onProgress, progressEveryMs = 1000 } = {}) {
  // The configured store (filesystem, MongoDB or DynamoDB), where the reporter writes the run record.
  const store = await openStore(config);
  const reader = onProgress ? new RunProgressReader(config, runId) : null;
  const started = Date.now();
  let sampledAt = 0;
  try {
    for (;;) {
      const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (dead) throw new Error(`service ${dead.label} exited (${dead.signalCode || `code ${dead.exitCode}`}):\n${dead.tail()}`);
      const run = await store.getRun(runId);
      const ended = !!run && ['completed', 'incomplete', 'failed'].includes(run.status);
      if (reader && (ended || Date.now() - sampledAt >= progressEveryMs)) {
        sampledAt = Date.now();
        // A sample that fails (Redis restarting, say) is skipped; the last one is shown again at the end.
        const p = await withTimeout(reader.sample(run), 5000, 'progress sample').catch(() => (ended ? reader.last : null));
        if (p) onProgress(p, run, ended);
      }
      if (ended) return run;
      if (Date.now() - started > timeoutMs) throw new Error(`run ${runId} did not finish within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    if (reader) await reader.close();
    await store.close?.();
    statusLine.end();
  }
}

/**
 * The one status line on a terminal: redrawn in place, kept below the service log lines and
 * messages written through `statusLine.log` (they clear it, print, and draw it again).
 */
const statusLine = {
  text: '',
  stream: null,
  draw(stream, text) {
    const width = (stream.columns || 100) - 1;
    this.stream = stream;
    this.text = text.length > width ? text.slice(0, width) : text;
    stream.write(`\r${this.text}\x1b[K`);
  },
  log(stream, text) {
    const shown = this.text && this.stream && stream.isTTY;
    if (shown) this.stream.write('\r\x1b[K');
    stream.write(`${text}\n`);
    if (shown) this.stream.write(this.text);
  },
  end() {
    if (this.text && this.stream) this.stream.write('\n');
    this.text = '';
  },
};

const MB = 1024 * 1024; // the unit of MAX_FILE_SIZE_MB

function bar(ratio, width = 24) {
  const full = Math.round(Math.max(0, Math.min(1, ratio)) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

/** 950, 12.3k, 4.56M */
function count(n) {
  if (n < 10_000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

/** 42s, 3m05s, 1h02m */
function duration(sec) {
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One progress line (no newline). */
function formatProgress(p) {
  if (p.stage === 'queued') return '  run queued: waiting for the ingestor';
  if (p.stage === 'ingesting') return '  ingesting: listing the day\'s files';
  const mb = (b) => (b / MB).toFixed(1);
  const rows = `${count(p.rowsDone)}/${p.rowsTotal === null ? '?' : count(p.rowsTotal)} rows`;
  const size = `${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB`;
  const chunks = `chunks ${p.chunks.completed}/${p.chunks.total}${p.chunks.active ? `, ${p.chunks.active} active` : ''}${p.chunks.failed ? `, ${p.chunks.failed} failed` : ''}`;
  if (p.stage === 'done') {
    const sec = Math.max(p.elapsedSec, 0.001);
    return `  ${p.status} in ${duration(p.elapsedSec)}: ${count(p.rowsDone)} rows, ${mb(p.bytesTotal)} MB (${count(p.rowsDone / sec)} rows/s, ${mb(p.bytesTotal / sec)} MB/s), ${chunks}`;
  }
  const ratio = p.bytesTotal ? p.bytesDone / p.bytesTotal : 0;
  const pct = `${(ratio * 100).toFixed(1).padStart(5)}%`;
  const rate = `${count(p.rowsPerSec)} rows/s ${mb(p.bytesPerSec)} MB/s`;
  let tail;
  if (p.stage === 'finalizing') tail = p.merges.total && p.merges.done < p.merges.total ? `merging days ${p.merges.done}/${p.merges.total}` : 'writing the report';
  else tail = `ETA ${p.etaSec === null ? '--' : duration(p.etaSec)}${p.planning ? `  splitting ${p.planning} file(s)` : ''}`;
  return `  ${pct} ${bar(ratio)} ${rows}  ${size}  ${rate}  ${tail}  ${chunks}`;
}

/**
 * `onProgress` for waitForRun: one line redrawn in place on a terminal; elsewhere (CI, pipes) a
 * plain line every `everyMs` and a last one at the end. A failed chunk (or file) is printed once,
 * on its own line, with its job id and reason.
 */
function progressPrinter(stream = process.stdout, { everyMs = 5000, maxFailures = 20 } = {}) {
  let printedAt = 0;
  const reported = new Set();
  let unprinted = 0;
  return (p, run, final = false) => {
    for (const f of p.failures) {
      if (reported.has(f.id)) continue;
      reported.add(f.id);
      // Many chunks of one bad file usually fail for the same reason: print the first ones only.
      if (reported.size > maxFailures) {
        unprinted++;
        continue;
      }
      const reason = String(f.reason).replace(/\s+/g, ' ');
      statusLine.log(stream, `  ${f.kind} ${f.id} failed (${f.file}): ${reason.length > 300 ? `${reason.slice(0, 300)}…` : reason}`);
    }
    if (final && unprinted) statusLine.log(stream, `  … and ${unprinted} more failure(s): GET /runs/${run ? run.runId : '<id>'}?chunks=failed lists them all`);
    const line = formatProgress(p);
    if (stream.isTTY) {
      statusLine.draw(stream, line);
      if (final) statusLine.end();
    } else if (final || Date.now() - printedAt >= everyMs) {
      stream.write(`${line}\n`);
      printedAt = Date.now();
    }
  };
}

function formatSummary(report) {
  const s = report.summary || {};
  const c = report.completude || {};
  const lines = [
    `Daily report ${report.date} — ${c.statut || report.statut || '?'}`,
    `  total_vehicules_paris        ${s.total_vehicules_paris}`,
    `  temps_perdu_total_minutes    ${s.temps_perdu_total_minutes}`,
    `  nombre_troncons_satures      ${s.nombre_troncons_satures}`,
    `  taux_disponibilite_capteurs  ${s.taux_disponibilite_capteurs}`,
    `  total_velos_paris            ${s.total_velos_paris}`,
    `  alertes_congestion           ${(report.alertes_congestion || []).length}`,
    `  capteurs_defaillants         ${(report.capteurs_defaillants || []).length}`,
    `  chantiers_actifs             ${(report.chantiers_actifs || []).length}`,
  ];
  const missing = c.sources_manquantes || [];
  if (missing.length) lines.push(`  missing sources: ${missing.map((m) => (typeof m === 'string' ? m : `${m.source} (${m.raison || m.reason || ''})`)).join(', ')}`);
  return lines.join('\n');
}

/** Configuration exactly as the services will see it (validated the same way). */
function stackConfig(env) {
  return loadConfig(env, ROOT);
}

module.exports = {
  ROOT,
  SERVICES,
  INSTALL_HINT,
  ensureRedis,
  startService,
  stopProcess,
  newRunId,
  enqueueRun,
  waitForRun,
  RunProgressReader,
  progressPrinter,
  formatProgress,
  formatSummary,
  stackConfig,
};
