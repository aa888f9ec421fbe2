import { loadConfig, redisHealthCheck } from '@cityflow/common';

void redisHealthCheck(loadConfig().redisUrl).then((r) => {
  if (!r.ok) process.stderr.write(`unhealthy: ${r.reason}\n`);
  process.exit(r.ok ? 0 : 1);
});
