const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
const stack = require('./lib/stack');
const file = process.argv[2]; const procs = Number(process.argv[3] || 2);
(async () => {
  const raw = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-raw-')); fs.mkdirSync(path.join(raw, 'batch'));
  fs.linkSync(file, path.join(raw, 'batch', 'comptages-bench.csv'));
  fs.copyFileSync(path.join(stack.ROOT, 'data/sample/raw/batch/referentiel-comptages-routiers.csv'), path.join(raw, 'batch', 'referentiel-comptages-routiers.csv'));
  const redis = await stack.ensureRedis({});
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-out-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: redis.url, QUEUE_PREFIX: 'b', OUTPUT_DIR: out, DATA_DIR_RAW: raw, LOG_LEVEL: process.env.LL || 'warn', MAX_FILE_SIZE_MB: '50' };
  const config = stack.stackConfig(env);
  const children = ['ingestor', 'chunker', 'reporter', ...Array(procs).fill('processor')].map((s, i) => stack.startService(s, env, { quiet: !process.env.LL, index: i }));
  await new Promise((r) => setTimeout(r, 2500));
  const runId = stack.newRunId('2025-10-22'); const t = Date.now();
  await stack.enqueueRun(config, { runId, date: '2025-10-22' });
  const run = await stack.waitForRun(config, runId, { children, timeoutMs: 3600e3 });
  console.log('wall', (Date.now() - t) / 1000, run.status, out);
  const rss = {};
  for (const c of children) { const s = fs.readFileSync(`/proc/${c.pid}/status`, 'utf8'); rss[c.label] = Number(/VmHWM:\s+(\d+)/.exec(s)[1]) >> 10; }
  console.log(rss);
  await Promise.all(children.map((c) => stack.stopProcess(c))); await redis.stop();
})();
