import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testRedisUrl, uniquePrefix } from '@cityflow/testing';

// The same launcher `npm start` and `npm run pipeline` use: the services run as separate processes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack');

export interface TestStack {
  env: NodeJS.ProcessEnv;
  outputDir: string;
  config: { outputDir: string; redisUrl: string; queuePrefix: string };
  run(date: string, rawDir: string): Promise<{ runId: string; status: string; error?: string }>;
  stop(): Promise<void>;
}

/** Start ingestor, chunker, processor(s) and reporter against the harness Redis, isolated by prefix. */
export async function startTestStack(extraEnv: Record<string, string> = {}, processors = 1): Promise<TestStack> {
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-out-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: uniquePrefix('e2e'),
    OUTPUT_DIR: outputDir,
    DATA_DIR_RAW: outputDir, // every test run passes its own raw folder
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const config = stack.stackConfig(env);
  const children = ['ingestor', 'chunker', 'reporter', ...Array(processors).fill('processor')].map((s: string, i: number) =>
    stack.startService(s, env, { quiet: true, index: s === 'processor' ? i : 0 }),
  );
  return {
    env,
    outputDir,
    config,
    async run(date: string, rawDir: string) {
      const runId = stack.newRunId(date);
      await stack.enqueueRun(config, { runId, date, rawDir });
      const record = await stack.waitForRun(config, runId, { children, timeoutMs: 240_000 });
      return { runId, status: record.status, error: record.error };
    },
    async stop() {
      await Promise.all(children.map((c: unknown) => stack.stopProcess(c)));
    },
  };
}

/** sha256 of every file under `dir` (relative path → hash), optionally filtered. */
export function hashTree(dir: string, filter: (rel: string) => boolean = () => true): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else {
        const rel = path.relative(dir, full);
        if (filter(rel)) out[rel] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** A raw tree in a temp folder: `files` maps relative raw paths to source files to copy. */
export function makeRawTree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-raw-'));
  for (const [rel, src] of Object.entries(files)) {
    const dest = path.join(root, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(src, dest);
  }
  return root;
}
