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

    DATABASE_TYPE: z.enum(['filesystem', 'mongodb', 'dynamodb']).default('filesystem'),
    USE_DYNAMODB: bool,
    USE_S3: bool,
    AWS_EXECUTION_ENV: z.string().optional(),
    AWS_REGION: z.string().default('eu-west-3'),
    AWS_ENDPOINT_URL: z.string().url().optional(),
    MONGODB_URL: z.string().optional(),
    MONGODB_DATABASE: z.string().default('cityflow'),
    DYNAMODB_METRICS_TABLE: z.string().default('cityflow-metrics'),
    DYNAMODB_REPORTS_TABLE: z.string().default('cityflow-daily-reports'),
    S3_RAW_BUCKET: z.string().default('cityflow-raw-data'),
    S3_RAW_PREFIX: z.string().default('raw'),
    S3_REPORTS_BUCKET: z.string().default('cityflow-reports'),
    S3_REPORTS_PREFIX: z.string().default('reports'),
    S3_CACHE_DIR: z.string().default('s3_cache'),

    /** Reproducible builds convention: when set, report `generated_at` uses this instant. */
    SOURCE_DATE_EPOCH: z.coerce.number().int().nonnegative().optional(),
  })
  .superRefine((env, ctx) => {
    const dynamo = env.USE_DYNAMODB || env.DATABASE_TYPE === 'dynamodb' || !!env.AWS_EXECUTION_ENV;
    if (env.DATABASE_TYPE === 'mongodb' && !env.MONGODB_URL)
      ctx.addIssue({ code: 'custom', path: ['MONGODB_URL'], message: 'required when DATABASE_TYPE=mongodb' });
    if (dynamo || env.DATABASE_TYPE === 'mongodb')
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_TYPE'],
        message: `the ${dynamo ? 'dynamodb' : 'mongodb'} store is not available in this version; use DATABASE_TYPE=filesystem (the default)`,
      });
    if (env.USE_S3)
      ctx.addIssue({ code: 'custom', path: ['USE_S3'], message: 'S3 input is not available in this version; unset USE_S3 and use DATA_DIR_RAW' });
  });

export type Env = z.infer<typeof EnvSchema>;

/** The validated, resolved configuration handed to every service. */
export interface AppConfig {
  serviceName: string;
  logLevel: Env['LOG_LEVEL'];
  logPretty: boolean;
  redisUrl: string;
  queuePrefix: string;
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
  databaseType: Env['DATABASE_TYPE'];
  sourceDateEpoch?: number;
  env: Env;
}

export function toAppConfig(env: Env, cwd = process.cwd()): AppConfig {
  return {
    serviceName: env.SERVICE_NAME,
    logLevel: env.LOG_LEVEL,
    logPretty: env.LOG_PRETTY,
    redisUrl: env.REDIS_URL,
    queuePrefix: env.QUEUE_PREFIX,
    rawDir: path.resolve(cwd, env.DATA_DIR_RAW),
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
    databaseType: env.DATABASE_TYPE,
    sourceDateEpoch: env.SOURCE_DATE_EPOCH,
    env,
  };
}
