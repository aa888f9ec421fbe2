import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AppConfig } from '@cityflow/common';

/** Version of the api package (services/api/package.json), read once. */
export const API_VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export const SERVICE_LABEL = 'CityFlow Analytics API';

/** "AWS" when running in AWS (the old API read AWS_EXECUTION_ENV), "Local" otherwise. */
export function environmentOf(config: AppConfig): 'AWS' | 'Local' {
  return config.env.AWS_EXECUTION_ENV ? 'AWS' : 'Local';
}
