/**
 * Report export to S3 (SPEC §5.3): after the reporter stores the day's report, the same bytes
 * land in the reports bucket under deterministic keys, with their content types; an export that
 * fails fails the report job with ReportExportError and leaves the stored report in place. The
 * reports bucket is created at startup when missing (CREATE_RESOURCES), never silently assumed.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { APP_CONFIG, AppConfig, createLogger, createS3Client, FsStore, LOGGER, loadConfig, RunRecord, STORE } from '@cityflow/common';
import { RunningS3rver, s3rverClient, s3rverEnv, startS3rver, useS3rverCredentials } from '@cityflow/testing';
import { REPORT_EXPORT, ReportExport, ReportExportError, reportExportProvider } from '../src/report-export';
import { ReporterService } from '../src/reporter.service';

const DAY = '2025-02-04';
const log = createLogger({ logLevel: 'silent', logPretty: false, serviceName: 'reporter-test' });

function tmp(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cityflow-${label}-`));
}

function config(endpoint: string, reportsBucket: string, extra: Record<string, string> = {}): AppConfig {
  const cwd = tmp('reporter-config');
  return loadConfig({ ...s3rverEnv(endpoint, { bucket: 'raw-unused', prefix: 'raw', reportsBucket, reportsPrefix: 'exports/daily' }), OUTPUT_DIR: path.join(cwd, 'output'), SOURCE_DATE_EPOCH: '1738713600', ...extra }, cwd);
}

async function runRecord(store: FsStore, runId: string): Promise<void> {
  const now = new Date().toISOString();
  const run: RunRecord = { runId, date: DAY, status: 'running', createdAt: now, updatedAt: now, rawDir: 's3://raw-unused/raw', files: [] };
  await store.putRun(run);
}

async function getObject(client: S3Client, bucket: string, key: string) {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { contentType: res.ContentType, bytes: Buffer.from(await res.Body!.transformToByteArray()) };
}

/** The reporter's providers as its module wires them, with the store and logger of the test. */
async function reporterContext(cfg: AppConfig, store: FsStore) {
  @Module({
    providers: [
      { provide: APP_CONFIG, useValue: cfg },
      { provide: STORE, useValue: store },
      { provide: LOGGER, useValue: log },
      reportExportProvider(cfg),
      ReporterService,
    ],
  })
  class ReporterTestModule {}
  return NestFactory.createApplicationContext(ReporterTestModule, { logger: false });
}

describe('report export to S3', () => {
  let s3: RunningS3rver;
  let admin: S3Client;
  let restoreCredentials: () => void;

  beforeAll(async () => {
    restoreCredentials = useS3rverCredentials();
    s3 = await startS3rver();
    admin = s3rverClient(s3.endpoint);
  });

  afterAll(async () => {
    admin?.destroy();
    await s3?.stop();
    restoreCredentials?.();
  });

  it('creates the reports bucket at startup, then exports the stored report byte for byte', async () => {
    const cfg = config(s3.endpoint, 'reports-export');
    const store = new FsStore(cfg.outputDir);
    const app = await reporterContext(cfg, store);
    try {
      await admin.send(new HeadBucketCommand({ Bucket: 'reports-export' })); // created by onModuleInit
      await runRecord(store, 'run-export-1');
      await app.get(ReporterService).finalize('run-export-1', DAY, [], {});

      const csv = await getObject(admin, 'reports-export', `exports/daily/daily_report_${DAY}.csv`);
      const json = await getObject(admin, 'reports-export', `exports/daily/daily_report_${DAY}.json`);
      expect(csv.contentType).toBe('text/csv; charset=utf-8');
      expect(json.contentType).toBe('application/json');
      expect(csv.bytes.equals(fs.readFileSync(store.reportFile(DAY, 'csv')))).toBe(true);
      expect(json.bytes.equals(fs.readFileSync(store.reportFile(DAY, 'json')))).toBe(true);
      expect(JSON.parse(json.bytes.toString('utf8')).date).toBe(DAY);

      // A re-run overwrites the same two keys.
      await runRecord(store, 'run-export-2');
      await app.get(ReporterService).finalize('run-export-2', DAY, [], {});
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: 'reports-export' }));
      expect(listed.Contents!.map((o) => o.Key).sort()).toEqual([`exports/daily/daily_report_${DAY}.csv`, `exports/daily/daily_report_${DAY}.json`]);
    } finally {
      await app.close();
    }
  });

  it('fails the report with ReportExportError when the bucket is gone, keeping the stored report', async () => {
    const cfg = config(s3.endpoint, 'reports-removed');
    const store = new FsStore(cfg.outputDir);
    const app = await reporterContext(cfg, store);
    try {
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: 'reports-removed' }));
      for (const o of listed.Contents ?? []) await admin.send(new DeleteObjectCommand({ Bucket: 'reports-removed', Key: o.Key }));
      await admin.send(new DeleteBucketCommand({ Bucket: 'reports-removed' }));

      await runRecord(store, 'run-export-3');
      const err = await app
        .get(ReporterService)
        .finalize('run-export-3', DAY, [], {})
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReportExportError);
      expect((err as Error).message).toMatch(/upload of s3:\/\/reports-removed\/exports\/daily\/daily_report_2025-02-04\.csv failed: NoSuchBucket/);
      expect(await store.getReport(DAY)).not.toBeNull();
      expect(fs.existsSync(store.reportFile(DAY, 'csv'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('fails with ReportExportError when the endpoint is unreachable', async () => {
    const cfg = config(s3.endpoint, 'reports-unreachable');
    const store = new FsStore(cfg.outputDir);
    await store.putReport(DAY, { date: DAY }, 'date\n2025-02-04\n');
    const exporter = new ReportExport(createS3Client({ ...cfg.aws, s3Endpoint: 'http://127.0.0.1:9' }), store, { bucket: 'reports-unreachable', prefix: '', createBucket: true, endpoint: 'http://127.0.0.1:9' });
    const err = await exporter.exportDay(DAY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReportExportError);
    expect((err as Error).message).toMatch(/upload of s3:\/\/reports-unreachable\/daily_report_2025-02-04\.csv failed: .*ECONNREFUSED.*127\.0\.0\.1:9/);
    await expect(exporter.ensureBucket()).rejects.toThrow(ReportExportError);
  });

  it('refuses to start without the reports bucket when CREATE_RESOURCES=false', async () => {
    const cfg = config(s3.endpoint, 'reports-missing', { CREATE_RESOURCES: 'false' });
    const store = new FsStore(cfg.outputDir);
    const err = await reporterContext(cfg, store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReportExportError);
    expect((err as Error).message).toBe(`reports bucket s3://reports-missing does not exist (S3_REPORTS_BUCKET, at ${s3.endpoint}); create it or set CREATE_RESOURCES=true`);
  });

  it('exports nothing when reports are not exported (local mode)', async () => {
    const cwd = tmp('reporter-local');
    const cfg = loadConfig({ OUTPUT_DIR: path.join(cwd, 'output') }, cwd);
    expect(cfg.reportExport).toBeUndefined();
    const store = new FsStore(cfg.outputDir);
    const app = await reporterContext(cfg, store);
    try {
      expect(app.get(REPORT_EXPORT)).toBeNull();
      await runRecord(store, 'run-local-1');
      await expect(app.get(ReporterService).finalize('run-local-1', DAY, [], {})).resolves.toMatchObject({ complete: false });
    } finally {
      await app.close();
    }
  });
});
