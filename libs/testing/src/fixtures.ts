import * as path from 'node:path';

/** Root of the real-data fixtures copied into the repository (see test/fixtures/PROVENANCE.md). */
export const FIXTURES_DIR = path.resolve(__dirname, '../../../test/fixtures');
export const fixture = (...parts: string[]) => path.join(FIXTURES_DIR, ...parts);

/** Redis URL of the private server started by the jest global setup. */
export function testRedisUrl(): string {
  const url = process.env.CITYFLOW_TEST_REDIS_URL;
  if (!url) throw new Error('CITYFLOW_TEST_REDIS_URL is not set: run tests through jest (the global setup starts redis-server)');
  return url;
}

let counter = 0;
/** A queue prefix unique to this test file and call. */
export function uniquePrefix(label = 't'): string {
  return `test-${label}-${process.env.JEST_WORKER_ID ?? '0'}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}
