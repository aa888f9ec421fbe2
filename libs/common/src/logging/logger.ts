import pino, { Logger } from 'pino';
import type { AppConfig } from '../config/config.schema';

export type { Logger };

/**
 * The one logger factory: JSON lines (pino) with `service` bound, secrets redacted.
 * `LOG_PRETTY=true` prints a short human line instead (used by `npm start`).
 */
export function createLogger(config: Pick<AppConfig, 'logLevel' | 'logPretty' | 'serviceName'>, service = config.serviceName): Logger {
  const base = { service };
  const redact = { paths: ['*.apiKey', '*.password', '*.secret', '*.token', 'req.headers.authorization', 'req.headers["x-api-key"]'], censor: '[redacted]' };
  if (!config.logPretty) return pino({ level: config.logLevel, base, redact });
  const stream = {
    write(line: string) {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const { level, time, msg, service: s, pid: _p, hostname: _h, ...rest } = o;
        const lvl = pino.levels.labels[level as number] ?? String(level);
        const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
        process.stdout.write(`${new Date(time as number).toISOString().slice(11, 19)} ${String(s).padEnd(9)} ${lvl.padEnd(5)} ${msg}${extra}\n`);
      } catch {
        process.stdout.write(line);
      }
    },
  };
  return pino({ level: config.logLevel, base, redact }, stream);
}
