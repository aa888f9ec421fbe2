#!/usr/bin/env node
'use strict';
/**
 * One-shot run: `npm run pipeline -- --date YYYY-MM-DD [--raw-dir DIR] [--processors N]`.
 * Starts the four worker services with N processor processes (default: PROCESSORS, else 2; and a
 * private redis-server unless REDIS_URL is set), runs the day with a progress line, prints the
 * report summary, stops everything. Exit 0 once the report is written (complete or marked
 * incomplete), non-zero with the reason otherwise.
 */
const path = require('node:path');
const fs = require('node:fs');
const stack = require('./lib/stack');

const USAGE = 'usage: npm run pipeline -- --date YYYY-MM-DD [--raw-dir DIR] [--processors N]';
const MAX_PROCESSORS = 64;

/** A whole number of processor processes, 1 to MAX_PROCESSORS. */
function parseProcessors(raw, from) {
  const n = /^\d+$/.test(String(raw)) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PROCESSORS)) throw new Error(`${from} must be a whole number from 1 to ${MAX_PROCESSORS}, got ${JSON.stringify(raw)}`);
  return n;
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [k, inline] = a.split('=', 2);
    const next = () => (inline !== undefined ? inline : argv[++i]);
    if (k === '--date') out.date = next();
    else if (k === '--raw-dir') out.rawDir = next();
    else if (k === '--processors') out.processors = parseProcessors(next(), '--processors');
    else if (k === '--help' || k === '-h') out.help = true;
    else throw new Error(`unknown argument: ${a}`);
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help || !args.date) {
    console.log(USAGE);
    return args.help ? 0 : 2;
  }
  const { isValidDay } = require('@cityflow/domain');
  if (!isValidDay(args.date)) throw new Error(`--date must be a real YYYY-MM-DD date, got ${JSON.stringify(args.date)}`);
  const env = { ...process.env };
  if (args.rawDir) env.DATA_DIR_RAW = path.resolve(args.rawDir);
  if (!env.DATA_DIR_RAW) env.DATA_DIR_RAW = path.join(stack.ROOT, 'data/sample/raw');
  if (!fs.existsSync(env.DATA_DIR_RAW)) throw new Error(`raw folder not found: ${env.DATA_DIR_RAW}`);

  const processors = args.processors ?? (env.PROCESSORS ? parseProcessors(env.PROCESSORS, 'PROCESSORS') : 2);

  const redis = await stack.ensureRedis(env);
  const children = [];
  const stopAll = async () => {
    await Promise.all(children.map((c) => stack.stopProcess(c)));
    await redis.stop();
  };
  try {
    env.REDIS_URL = redis.url;
    env.LOG_LEVEL = env.LOG_LEVEL || 'warn';
    env.LOG_PRETTY = env.LOG_PRETTY || 'true';
    const config = stack.stackConfig(env); // throws with every invalid variable listed
    for (const s of ['ingestor', 'chunker', 'reporter']) children.push(stack.startService(s, env));
    for (let i = 1; i <= processors; i++) children.push(stack.startService('processor', env, { index: i }));
    const runId = stack.newRunId(args.date);
    console.log(`CityFlow pipeline: ${args.date} from ${config.rawDir} → ${config.outputDir} (run ${runId}, ${processors} processor${processors > 1 ? 's' : ''})`);
    await stack.enqueueRun(config, { runId, date: args.date });
    const run = await stack.waitForRun(config, runId, { children, onProgress: stack.progressPrinter() });
    if (run.status === 'failed') {
      console.error(`run ${runId} failed: ${run.error}`);
      return 1;
    }
    const report = JSON.parse(fs.readFileSync(path.join(config.outputDir, 'reports', `daily_report_${args.date}.json`), 'utf8'));
    console.log(stack.formatSummary(report));
    console.log(`report: ${path.join(config.outputDir, 'reports', `daily_report_${args.date}.{json,csv}`)}`);
    return 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`pipeline failed: ${err.message}`);
    process.exit(1);
  },
);
