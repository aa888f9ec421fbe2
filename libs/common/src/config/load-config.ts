import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppConfig, EnvSchema, toAppConfig } from './config.schema';

/** Boot-time configuration problem: lists every invalid variable at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Minimal `.env` reader: `KEY=value` lines, `#` comments, optional quotes. The real environment wins. */
export function readDotEnv(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const raw of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

/**
 * Validate the environment once, at boot. Throws ConfigError listing every problem.
 * Empty strings count as unset, so `FOO=` in a compose file means "use the default".
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppConfig {
  const merged: Record<string, string | undefined> = { ...readDotEnv(path.join(cwd, '.env')), ...env };
  for (const k of Object.keys(merged)) if (merged[k] === '') delete merged[k];
  const r = EnvSchema.safeParse(merged);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  return Object.freeze(toAppConfig(r.data, cwd));
}

/** The variable names the schema knows, for docs and the compose cross-check test. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);
