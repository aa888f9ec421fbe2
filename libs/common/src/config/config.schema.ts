import * as path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (def: number, min = 1) => z.coerce.number().int().min(min).default(def);
/** A duration in milliseconds, at least `min`, at most one hour. */
const ms = (def: number, min: number) => z.coerce.number().int().min(min).max(3_600_000).default(def);

/**
 * Every environment variable CityFlow reads (SPEC §6), with defaults. The old system's names
 * keep working. This schema is the only place that knows about `process.env`.
 */
export const EnvSchema = z
  .object({
    SERVICE_NAME: z.string().default('cityflow'),
    NODE_ENV: z.string().default('production'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_PRETTY: bool,

    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('cityflow'),

    DATA_DIR_RAW: z.string().default('data/raw'),
    OUTPUT_DIR: z.string().default('output'),
    MAX_FILE_SIZE_MB: z.coerce.number().positive().default(500),
    EC2_CHUNK_SIZE: int(50_000),
    PROCESSOR_CONCURRENCY: int(1),
    /**
     * BullMQ job lock (ms) of the workers declared with WORKER_OPTIONS (the processor's). The worker
     * renews it every half of this; when the process dies (SIGKILL, OOM) its job is noticed as
     * stalled only once the lock expires. Keep it well above the longest time the event loop can
     * stay blocked on one chunk, or a live worker loses its job to another one.
     */
    WORKER_LOCK_DURATION_MS: ms(30_000, 1000),
    /** How often (ms) those workers look for active jobs whose lock expired and put them back in the queue. */
    WORKER_STALLED_INTERVAL_MS: ms(30_000, 100),
    /** Times a job may stall (its worker died holding it) before it fails instead of being run again. */
    WORKER_MAX_STALLED_COUNT: z.coerce.number().int().min(0).max(100).default(1),
    /** Cron pattern (5 or 6 fields, Europe/Paris) of the daily run; empty = no schedule. */
    SCHEDULE_CRON: z
      .string()
      .regex(/^\S+( \S+){4,5}$/, 'expected a cron pattern of 5 or 6 fields, e.g. "30 2 * * *"')
      .optional(),
    /** The scheduled run processes the day this many days before the trigger (1 = yesterday). */
    SCHEDULE_DAYS_BACK: z.coerce.number().int().min(0).max(31).default(1),

    API_PORT: z.coerce.number().int().min(0).max(65535).default(5001),
    API_KEY: z.string().optional(),
    BOARD_USER: z.string().default('admin'),
    BOARD_PASSWORD: z.string().optional(),

    /**
     * Store backend, with the old system's precedence (legacy §1): DynamoDB when AWS_EXECUTION_ENV
     * is set, or USE_DYNAMODB=true, or DATABASE_TYPE=dynamodb; MongoDB when DATABASE_TYPE=mongodb;
     * otherwise the filesystem store under OUTPUT_DIR (the old default, MongoDB, needed a server).
     */
    DATABASE_TYPE: z.enum(['filesystem', 'mongodb', 'dynamodb']).default('filesystem'),
    USE_DYNAMODB: bool,
    /** Raw input from S3 (S3_RAW_BUCKET/S3_RAW_PREFIX) and report export to S3; also implied by AWS_EXECUTION_ENV. */
    USE_S3: bool,
    /** Set by AWS runtimes (and by hand on EC2): DynamoDB store, S3 input, S3 report export. */
    AWS_EXECUTION_ENV: z.string().optional(),
    AWS_REGION: z.string().default('eu-west-3'),
    /** Endpoint of every AWS service (an emulator, a VPC endpoint), as the AWS SDKs define it. */
    AWS_ENDPOINT_URL: z.string().url().optional(),
    /** Per-service endpoints; each wins over AWS_ENDPOINT_URL. */
    AWS_ENDPOINT_URL_S3: z.string().url().optional(),
    AWS_ENDPOINT_URL_DYNAMODB: z.string().url().optional(),
    /** Path-style S3 URLs (bucket in the path). Default: on when an S3 endpoint is set (emulators), off otherwise. */
    S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional(),
    /**
     * Create missing tables, collections, indexes and buckets at startup. Default true; set false
     * on accounts whose resources are managed elsewhere (then a missing one is a clear boot error).
     */
    CREATE_RESOURCES: z.enum(['true', 'false', '1', '0', 'yes', 'no']).default('true'),
    MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URL').default('mongodb://localhost:27017/'),
    MONGODB_DATABASE: z.string().regex(/^[^\/\\. "$*<>:|?]{1,63}$/, 'not a valid MongoDB database name').default('cityflow'),
    DYNAMODB_METRICS_TABLE: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'not a valid DynamoDB table name').default('cityflow-metrics'),
    DYNAMODB_REPORTS_TABLE: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'not a valid DynamoDB table name').default('cityflow-daily-reports'),
    /** Attempts of one DynamoDB batch (its UnprocessedItems retried with exponential backoff) before the job fails. */
    DYNAMODB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
    /** First backoff delay (ms) of those retries; doubled each attempt, with jitter, capped at 5 s. */
    DYNAMODB_RETRY_BASE_MS: z.coerce.number().int().min(1).max(10_000).default(50),
    S3_RAW_BUCKET: z.string().default('cityflow-raw-data'),
    S3_RAW_PREFIX: z.string().default('raw'),
    S3_REPORTS_BUCKET: z.string().default('cityflow-reports'),
    S3_REPORTS_PREFIX: z.string().default('reports'),
    S3_CACHE_DIR: z.string().default('s3_cache'),
    /** An S3 body that sends nothing for this long (ms) is destroyed and its range read again. */
    S3_READ_TIMEOUT_MS: ms(30_000, 50),
    /** Attempts of one S3 range read (stalled or reset bodies) before the job fails. */
    S3_READ_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(4),

    /** Reproducible builds convention: when set, report `generated_at` uses this instant. */
    SOURCE_DATE_EPOCH: z.coerce.number().int().nonnegative().optional(),
  })
  .superRefine((env, ctx) => {
    if (env.MONGODB_URL && /\s/.test(env.MONGODB_URL))
      ctx.addIssue({ code: 'custom', path: ['MONGODB_URL'], message: 'must not contain spaces' });
  });

export type Env = z.infer<typeof EnvSchema>;

/** The validated, resolved configuration handed to every service. */
export interface AppConfig {
  serviceName: string;
  logLevel: Env['LOG_LEVEL'];
  logPretty: boolean;
  redisUrl: string;
  queuePrefix: string;
  /** Raw input location: an absolute folder, or `s3://bucket/prefix` in S3 mode. */
  rawDir: string;
  outputDir: string;
  maxFileSizeBytes: number;
  chunkRows: number;
  processorConcurrency: number;
  /** Lock and stall detection of the processor's BullMQ worker (see WORKER_* in EnvSchema). */
  workerLockDurationMs: number;
  workerStalledIntervalMs: number;
  workerMaxStalledCount: number;
  scheduleCron?: string;
  scheduleDaysBack: number;
  apiPort: number;
  apiKey?: string;
  boardUser: string;
  boardPassword?: string;
  /** The store backend, resolved from DATABASE_TYPE, USE_DYNAMODB and AWS_EXECUTION_ENV (see EnvSchema). */
  databaseType: Env['DATABASE_TYPE'];
  /** Create missing tables, collections, indexes and buckets at startup (CREATE_RESOURCES). */
  createResources: boolean;
  /** Raw input: a local folder (`rawDir`) or S3 (`rawDir` is then `s3://bucket/prefix`). */
  rawSource: 'local' | 's3';
  aws: AwsConfig;
  mongo: { url: string; database: string };
  dynamo: { metricsTable: string; reportsTable: string; maxAttempts: number; retryBaseMs: number };
  s3: { rawBucket: string; rawPrefix: string; cacheDir: string; readTimeoutMs: number; readAttempts: number };
  /** Where reports are also exported (CSV and JSON), when USE_S3 or AWS_EXECUTION_ENV is set. */
  reportExport?: { bucket: string; prefix: string };
  sourceDateEpoch?: number;
  env: Env;
}

export interface AwsConfig {
  region: string;
  /** AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL. */
  s3Endpoint?: string;
  /** AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL. */
  dynamodbEndpoint?: string;
  s3ForcePathStyle: boolean;
}

const yes = (v: string | undefined) => v === 'true' || v === '1' || v === 'yes';

/** `s3://bucket/prefix` (no trailing slash): the raw location of S3 mode, carried by jobs as `rawDir`. */
export function s3RawLocation(bucket: string, prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return p ? `s3://${bucket}/${p}` : `s3://${bucket}`;
}

export function toAppConfig(env: Env, cwd = process.cwd()): AppConfig {
  const awsMode = !!env.AWS_EXECUTION_ENV;
  const databaseType: Env['DATABASE_TYPE'] = awsMode || env.USE_DYNAMODB || env.DATABASE_TYPE === 'dynamodb' ? 'dynamodb' : env.DATABASE_TYPE;
  const useS3 = awsMode || env.USE_S3;
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    serviceName: env.SERVICE_NAME,
    logLevel: env.LOG_LEVEL,
    logPretty: env.LOG_PRETTY,
    redisUrl: env.REDIS_URL,
    queuePrefix: env.QUEUE_PREFIX,
    rawDir: useS3 ? s3RawLocation(env.S3_RAW_BUCKET, env.S3_RAW_PREFIX) : path.resolve(cwd, env.DATA_DIR_RAW),
    outputDir: path.resolve(cwd, env.OUTPUT_DIR),
    maxFileSizeBytes: Math.round(env.MAX_FILE_SIZE_MB * 1024 * 1024),
    chunkRows: env.EC2_CHUNK_SIZE,
    processorConcurrency: env.PROCESSOR_CONCURRENCY,
    workerLockDurationMs: env.WORKER_LOCK_DURATION_MS,
    workerStalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
    workerMaxStalledCount: env.WORKER_MAX_STALLED_COUNT,
    scheduleCron: env.SCHEDULE_CRON,
    scheduleDaysBack: env.SCHEDULE_DAYS_BACK,
    apiPort: env.API_PORT,
    apiKey: env.API_KEY,
    boardUser: env.BOARD_USER,
    boardPassword: env.BOARD_PASSWORD,
    databaseType,
    createResources: yes(env.CREATE_RESOURCES),
    rawSource: useS3 ? 's3' : 'local',
    aws: {
      region: env.AWS_REGION,
      s3Endpoint,
      dynamodbEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL,
      s3ForcePathStyle: env.S3_FORCE_PATH_STYLE === undefined ? !!s3Endpoint : yes(env.S3_FORCE_PATH_STYLE),
    },
    mongo: { url: env.MONGODB_URL, database: env.MONGODB_DATABASE },
    dynamo: {
      metricsTable: env.DYNAMODB_METRICS_TABLE,
      reportsTable: env.DYNAMODB_REPORTS_TABLE,
      maxAttempts: env.DYNAMODB_MAX_ATTEMPTS,
      retryBaseMs: env.DYNAMODB_RETRY_BASE_MS,
    },
    s3: {
      rawBucket: env.S3_RAW_BUCKET,
      rawPrefix: env.S3_RAW_PREFIX.replace(/^\/+|\/+$/g, ''),
      cacheDir: path.resolve(cwd, env.S3_CACHE_DIR),
      readTimeoutMs: env.S3_READ_TIMEOUT_MS,
      readAttempts: env.S3_READ_ATTEMPTS,
    },
    reportExport: useS3 ? { bucket: env.S3_REPORTS_BUCKET, prefix: env.S3_REPORTS_PREFIX.replace(/^\/+|\/+$/g, '') } : undefined,
    sourceDateEpoch: env.SOURCE_DATE_EPOCH,
    env,
  };
}
