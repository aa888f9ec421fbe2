#!/usr/bin/env node
'use strict';
/**
 * `npm start`: the whole stack locally — a private redis-server (unless REDIS_URL is set), one
 * process per service — then runs the bundled sample day, prints the report summary and the URLs,
 * and serves until Ctrl-C.
 *
 * Environment: DATA_DIR_RAW (default data/sample/raw), OUTPUT_DIR (default output), SAMPLE_DATE
 * (default 2025-02-04), API_PORT (5001), API_KEY and BOARD_PASSWORD (generated for this session
 * when unset), PROCESSORS (number of processor processes, default 2).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const stack = require('./lib/stack');

const SAMPLE_DATE = process.env.SAMPLE_DATE || '2025-02-04';

async function main() {
  const env = { ...process.env };
  env.DATA_DIR_RAW = env.DATA_DIR_RAW || path.join(stack.ROOT, 'data/sample/raw');
  env.LOG_LEVEL = env.LOG_LEVEL || 'info';
  env.LOG_PRETTY = env.LOG_PRETTY || 'true';
  env.NODE_ENV = env.NODE_ENV || 'development';
  const generated = [];
  if (!env.API_KEY) {
    env.API_KEY = crypto.randomBytes(16).toString('hex');
    generated.push('API_KEY');
  }
  if (!env.BOARD_PASSWORD) {
    env.BOARD_PASSWORD = crypto.randomBytes(12).toString('hex');
    generated.push('BOARD_PASSWORD');
  }
  let redis;
  try {
    redis = await stack.ensureRedis(env);
  } catch (e) {
    console.error(e.message);
    return 1;
  }
  env.REDIS_URL = redis.url;
  const config = stack.stackConfig(env);
  const processors = Math.max(1, Number(env.PROCESSORS || 2));
  const children = [];
  for (const s of stack.SERVICES) {
    if (s === 'processor') for (let i = 1; i <= processors; i++) children.push(stack.startService(s, env, { index: i }));
    else children.push(stack.startService(s, env));
  }
  let stopping = false;
  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping services…');
    await Promise.all(children.map((c) => stack.stopProcess(c)));
    await redis.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  console.log(`CityFlow: ${children.length} service processes, redis ${redis.url}, raw ${config.rawDir}, output ${config.outputDir}`);
  const runId = stack.newRunId(SAMPLE_DATE);
  await stack.enqueueRun(config, { runId, date: SAMPLE_DATE });
  console.log(`run ${runId} started for ${SAMPLE_DATE}`);
  let run;
  try {
    run = await stack.waitForRun(config, runId, { children, onProgress: stack.progressPrinter() });
  } catch (e) {
    console.error(e.message);
    await stopAll(1);
    return 1;
  }
  const reportFile = path.join(config.outputDir, 'reports', `daily_report_${SAMPLE_DATE}.json`);
  if (run.status === 'failed' || !fs.existsSync(reportFile)) {
    console.error(`run ${runId} failed: ${run.error || 'no report written'}`);
  } else {
    console.log('\n' + stack.formatSummary(JSON.parse(fs.readFileSync(reportFile, 'utf8'))));
  }
  const base = `http://localhost:${config.apiPort}`;
  console.log(`
  Dashboard      ${base}/
  Report (JSON)  ${base}/report/${SAMPLE_DATE}
  Report (CSV)   ${base}/report/${SAMPLE_DATE}/csv
  Metrics        ${base}/metrics/${SAMPLE_DATE}
  API docs       ${base}/docs
  Queue board    ${base}/admin/queues   (user ${config.boardUser}${generated.includes('BOARD_PASSWORD') ? `, password ${env.BOARD_PASSWORD}` : ''})
  Start a run    curl -X POST -H 'x-api-key: ${generated.includes('API_KEY') ? env.API_KEY : '$API_KEY'}' -H 'content-type: application/json' -d '{"date":"${SAMPLE_DATE}"}' ${base}/runs
${generated.length ? `  (${generated.join(' and ')} generated for this session; set them in the environment or .env to choose your own)\n` : ''}
Serving until Ctrl-C.`);
  return null;
}

main().then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (err) => {
    console.error(`start failed: ${err.message}`);
    process.exit(1);
  },
);
