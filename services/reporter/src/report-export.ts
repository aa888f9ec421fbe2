/**
 * S3 copy of the daily report (SPEC §5.3: `USE_S3` or `AWS_EXECUTION_ENV`):
 * `s3://<S3_REPORTS_BUCKET>/<S3_REPORTS_PREFIX>/daily_report_<D>.csv` and `….json`, the bytes of
 * the stored report. Keys are deterministic, so a re-run overwrites them. Uploads go through
 * lib-storage `Upload` (one PutObject for small bodies, multipart with ≥ 5 MB parts for large
 * ones, parts aborted on failure); an `Upload` cannot be run twice, so each export builds new
 * ones and retries happen at job level (the report job's attempts).
 */
import type { FactoryProvider } from '@nestjs/common';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppConfig, canonicalJson, createS3Client, describeEndpoint, describeS3Error, LOGGER, Logger, s3ErrorCode, s3HttpStatus, STORE, Store } from '@cityflow/common';

/** The report could not be exported; the stored report is unaffected. */
export class ReportExportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportExportError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export const REPORT_EXPORT = Symbol('REPORT_EXPORT');

/** Multipart part size: S3's minimum; memory stays ≈ QUEUE_SIZE × PART_SIZE per upload. */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 4;

export interface ReportExportOptions {
  bucket: string;
  /** Key prefix without slashes at either end; '' for the bucket root. */
  prefix: string;
  /** Create the bucket at startup when it is missing (CREATE_RESOURCES). */
  createBucket: boolean;
  /** Named in error messages. */
  endpoint: string;
}

export class ReportExport {
  constructor(
    private readonly client: S3Client,
    private readonly store: Store,
    private readonly opts: ReportExportOptions,
    private readonly log?: Logger,
  ) {}

  keyOf(date: string, ext: 'csv' | 'json'): string {
    const name = `daily_report_${date}.${ext}`;
    return this.opts.prefix ? `${this.opts.prefix}/${name}` : name;
  }

  /** At startup: the reports bucket must exist, or be created. */
  async onModuleInit(): Promise<void> {
    await this.ensureBucket();
  }

  /** The reports bucket exists, created when missing if allowed; otherwise ReportExportError. */
  async ensureBucket(): Promise<void> {
    const { bucket } = this.opts;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (e) {
      if (s3HttpStatus(e) !== 404) throw new ReportExportError(`reports bucket s3://${bucket} is not usable: ${describeS3Error(e)} (at ${this.opts.endpoint})`, { cause: e });
    }
    if (!this.opts.createBucket) {
      throw new ReportExportError(`reports bucket s3://${bucket} does not exist (S3_REPORTS_BUCKET, at ${this.opts.endpoint}); create it or set CREATE_RESOURCES=true`);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (e) {
      // Another replica may have created it meanwhile.
      if (s3ErrorCode(e) !== 'BucketAlreadyOwnedByYou') throw new ReportExportError(`cannot create reports bucket s3://${bucket}: ${describeS3Error(e)}`, { cause: e });
    }
    this.log?.info({ bucket }, 'reports bucket created');
  }

  /**
   * Upload the stored report of `date` (CSV, then JSON: the JSON's presence means the export is
   * complete, as in the store). Returns the keys written.
   */
  async exportDay(date: string): Promise<string[]> {
    const [json, csv] = await Promise.all([this.store.getReport(date), this.store.getReportCsv(date)]);
    if (json === null || csv === null) throw new ReportExportError(`no stored report for ${date} to export`);
    const files = [
      { key: this.keyOf(date, 'csv'), body: Buffer.from(csv, 'utf8'), contentType: 'text/csv; charset=utf-8' },
      { key: this.keyOf(date, 'json'), body: Buffer.from(canonicalJson(json), 'utf8'), contentType: 'application/json' },
    ];
    for (const f of files) await this.upload(f.key, f.body, f.contentType);
    this.log?.info({ date, bucket: this.opts.bucket, keys: files.map((f) => f.key) }, 'report exported');
    return files.map((f) => f.key);
  }

  private async upload(key: string, body: Buffer, contentType: string): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (e) {
      throw new ReportExportError(`upload of s3://${this.opts.bucket}/${key} failed: ${describeS3Error(e)} (at ${this.opts.endpoint})`, { cause: e });
    }
  }
}

/**
 * Nest provider of REPORT_EXPORT: a ReportExport when reports are exported (`config.reportExport`),
 * otherwise null. Its S3 client is the process's only one.
 */
export function reportExportProvider(config: Pick<AppConfig, 'reportExport' | 'aws' | 'createResources'>): FactoryProvider<ReportExport | null> {
  return {
    provide: REPORT_EXPORT,
    inject: [STORE, LOGGER],
    useFactory: (store: Store, log: Logger) =>
      config.reportExport
        ? new ReportExport(createS3Client(config.aws), store, { ...config.reportExport, createBucket: config.createResources, endpoint: describeEndpoint(config.aws) }, log)
        : null,
  };
}
