'use strict';
/**
 * Local stack: a private redis-server (unless REDIS_URL is set) and one Node process per service,
 * all sharing one environment. Used by `npm start`, `npm run pipeline` and the end-to-end tests.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Queue, FlowProducer } = require('bullmq');
const { IngestRun, jobIds, newRunId, QueueName } = require('@cityflow/contracts');
const { loadConfig, workerConnection, FsStore } = require('@cityflow/common');
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
function startService(name, env, { quiet = false, index = 0 } = {}) {
  const main = path.join(ROOT, 'services', name, 'dist', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [main], { cwd: ROOT, env: { ...env, SERVICE_NAME: name }, stdio: ['ignore', 'pipe', 'pipe'] });
  const label = index ? `${name}#${index}` : name;
  const tail = [];
  const onData = (stream) => (chunk) => {
    const text = chunk.toString();
    tail.push(text);
    if (tail.length > 50) tail.shift();
    if (!quiet) for (const line of text.split('\n')) if (line.trim()) stream.write(`  [${label}] ${line}\n`);
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

/** Count chunk jobs of a run's flow by state. */
async function runProgress(flows, runId) {
  const counts = { total: 0, completed: 0, failed: 0 };
  let tree;
  try {
    tree = await flows.getFlow({ id: jobIds.finalize(runId), queueName: QueueName.Report, maxChildren: 100000 });
  } catch {
    return counts;
  }
  const walk = async (node) => {
    for (const child of node.children || []) {
      if (child.job.queueName === QueueName.Process) {
        counts.total++;
        const state = await child.job.getState();
        if (state === 'completed') counts.completed++;
        if (state === 'failed') counts.failed++;
      }
      await walk(child);
    }
  };
  if (tree) await walk(tree);
  return counts;
}

function bar(done, total, width = 30) {
  const ratio = total ? Math.min(1, done / total) : 0;
  const full = Math.round(ratio * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(ratio * 100)).padStart(3)}%`;
}

/**
 * Wait until the run record says the run ended; draws a progress line on a TTY.
 * Rejects when a service process exits early or the timeout passes.
 */
async function waitForRun(config, runId, { children = [], timeoutMs = 30 * 60_000, onProgress } = {}) {
  const store = new FsStore(config.outputDir);
  const flows = new FlowProducer({ connection: workerConnection(config.redisUrl), prefix: config.queuePrefix });
  const started = Date.now();
  try {
    for (;;) {
      const dead = children.find((c) => c.exitCode !== null);
      if (dead) throw new Error(`service ${dead.label} exited (code ${dead.exitCode}):\n${dead.tail()}`);
      const run = await store.getRun(runId);
      if (run && ['completed', 'incomplete', 'failed'].includes(run.status)) return run;
      if (onProgress) onProgress(await runProgress(flows, runId), run);
      if (Date.now() - started > timeoutMs) throw new Error(`run ${runId} did not finish within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await flows.close();
  }
}

/** Progress on one redrawn line on a terminal; elsewhere (CI, pipes) a plain line every 5 s at most. */
function progressPrinter(stream = process.stdout) {
  let last = '';
  let lastAt = 0;
  return (p, run) => {
    const files = run && run.files ? run.files.length : 0;
    const line = `  run: ${files} file(s), chunks ${p.completed}/${p.total}${p.failed ? ` (${p.failed} failed)` : ''} ${bar(p.completed, p.total)}`;
    if (line === last) return;
    if (stream.isTTY) stream.write(`\r${line}`);
    else if (Date.now() - lastAt >= 5000) {
      stream.write(`${line}\n`);
      lastAt = Date.now();
    } else return;
    last = line;
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

module.exports = { ROOT, SERVICES, INSTALL_HINT, ensureRedis, startService, stopProcess, newRunId, enqueueRun, waitForRun, progressPrinter, formatSummary, stackConfig };
