/**
 * A multi-day raw tree built by `tools/build_sample.py --start … --days …` into a temp folder,
 * with the per-day facts the script computed by reading its own files back (`expected.json`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface DayFacts {
  comptages: {
    hours_in_day: number;
    rows: number;
    arcs: number;
    debit_total: number;
    /** arc id → 'Critique' | 'Élevée' */
    congested_arcs: Record<string, string>;
    congested_arcs_count: number;
    arcs_more_than_6_hours_without_row: number[];
  };
  bikes: {
    counters: number;
    /** counter id → reasons */
    failing_counters: Record<string, string[]>;
    total_all_counters: number;
    total_non_failing: number;
  };
  chantiers_active: number;
  traffic_active_disruptions: number;
  weather: { temp: number; tempmin: number; tempmax: number; precip: number; windspeed: number; conditions: string };
  velib: { snapshots: number };
}

export interface MultiDayExpected {
  start: string;
  days: number;
  dates: string[];
  comptages: { data_records: number; malformed_rows: number; valid_rows: number };
  by_day: Record<string, DayFacts>;
}

export interface MultiDayTree {
  /** Folder holding `raw/` and `expected.json`. */
  dir: string;
  /** The raw tree to give to a run. */
  raw: string;
  expected: MultiDayExpected;
  remove(): void;
}

export function buildMultiDayTree(start: string, days: number, extraArgs: string[] = []): MultiDayTree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-multiday-'));
  execFileSync('python3', [path.join(ROOT, 'tools/build_sample.py'), '--out', dir, '--start', start, '--days', String(days), ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as MultiDayExpected;
  return { dir, raw: path.join(dir, 'raw'), expected, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A full copy of a raw tree (hard links become separate files) in a new temp folder. */
export function copyRawTree(raw: string): string {
  const dest = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-multiday-copy-')), 'raw');
  fs.cpSync(raw, dest, { recursive: true });
  return dest;
}
