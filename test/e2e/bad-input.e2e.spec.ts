/**
 * Bad input next to good input, through the real services: each case is counted with its reason
 * (or its file shown as failed with a named error), no other source suffers, no worker crashes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestStack, TestStack } from './stack-helper';

const ROOT = path.resolve(__dirname, '../..');
const DAY = '2025-02-04';

function copyDir(src: string, dest: string) {
  fs.cpSync(src, dest, { recursive: true });
}

describe('bad input does not break a run', () => {
  let stack: TestStack;
  let report: Record<string, any>;
  let raw: string;

  beforeAll(async () => {
    raw = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-bad-'));
    copyDir(path.join(ROOT, 'data/sample/raw'), raw);
    const put = (rel: string, content: string | Buffer) => {
      fs.mkdirSync(path.dirname(path.join(raw, rel)), { recursive: true });
      fs.writeFileSync(path.join(raw, rel), content);
    };
    put(`api/bikes/dt=${DAY}/hour=07/broken.json`, '<html>502 Bad Gateway</html>'); // not JSON
    put(`api/traffic/dt=${DAY}/hour=09/empty.json`, ''); // empty file
    // A disruption whose only period cannot be parsed.
    put(
      `api/traffic/dt=${DAY}/hour=10/one.json`,
      JSON.stringify([{ id: 'bad-period-1', applicationPeriods: [{ begin: '2025-02-04 soon', end: 'later' }], severity: 'BLOQUANTE', cause: 'TRAVAUX', title: 'x' }]),
    );
    // A weather file that does not contain the day.
    put(`api/weather/dt=${DAY}/hour=07/other-days.json`, JSON.stringify({ days: [{ datetime: '2025-01-01', temp: 5, tempmin: 1, tempmax: 8, precip: 0, windspeed: 10, conditions: 'Clear' }] }));
    // A Vélib' snapshot (13:00 Paris) with a station that was never reported (last_reported 0).
    const at = Date.UTC(2025, 1, 4, 12, 0, 0) / 1000;
    put(
      `api/velib/dt=${DAY}/hour=13/station_status.json`,
      JSON.stringify({ lastUpdatedOther: at, ttl: 3600, data: { stations: [{ station_id: 1, stationCode: '16107', num_bikes_available: 3, numBikesAvailable: 3, num_bikes_available_types: [{ mechanical: 1 }, { ebike: 2 }], num_docks_available: 20, numDocksAvailable: 20, is_installed: 1, is_renting: 1, is_returning: 1, last_reported: 0 }] } }),
    );
    stack = await startTestStack();
    const r = await stack.run(DAY, raw);
    expect(r.status).not.toBe('failed');
    report = JSON.parse(fs.readFileSync(path.join(stack.outputDir, 'reports', `daily_report_${DAY}.json`), 'utf8'));
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('shows the unusable files as failed with a named error', () => {
    const failed = report.completude.fichiers.filter((f: any) => f.status === 'failed');
    const byPath = Object.fromEntries(failed.map((f: any) => [f.relPath, f.error]));
    expect(byPath[`api/bikes/dt=${DAY}/hour=07/broken.json`]).toMatch(/InputFormatError \[not_json\]/);
    expect(byPath[`api/traffic/dt=${DAY}/hour=09/empty.json`]).toMatch(/InputFormatError \[empty_file\]/);
    expect(report.qualite_donnees.bikes.fichiers_en_echec.length).toBe(1);
    expect(report.statut).toBe('incomplet');
  });

  it('counts the bad records with their reason and keeps every good one', () => {
    expect(report.qualite_donnees.traffic.rejected.bad_period).toBe(1);
    expect(report.qualite_donnees.bikes.rejected).toMatchObject({ duplicate: 1, missing_coordinates: 1 });
    expect(report.qualite_donnees.velib.rejected.never_reported).toBeGreaterThan(0);
    // The weather file without day D is counted; the good file still gives day D.
    expect(report.qualite_donnees.weather.rejected.no_data_for_day).toBe(1);
    expect(report.meteo_impact.temp_moyenne).toBe(3.5);
    // Other sources are untouched: same road and bike totals as the clean sample.
    expect(report.summary.total_vehicules_paris).toBe(13981807);
    expect(report.summary.total_velos_paris).toBeGreaterThan(0);
    expect(report.chantiers_actifs.length).toBe(32);
  });

  it('a run whose raw folder is missing ends failed with the reason, without waiting', async () => {
    const r = await stack.run(DAY, path.join(raw, 'does-not-exist'));
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/RawDirError: raw folder not found/);
  }, 120_000);
});
