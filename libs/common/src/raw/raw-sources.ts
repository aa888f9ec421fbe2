import type { FactoryProvider } from '@nestjs/common';
import type { S3Client } from '@aws-sdk/client-s3';
import { LocalRawSource, RawDirError, RawSource } from '@cityflow/domain';
import type { AppConfig } from '../config/config.schema';
import type { Logger } from '../logging/logger';
import { LOGGER } from '../nest/tokens';
import { createS3Client, describeEndpoint } from './s3-client';
import { S3FileCache } from './s3-file-cache';
import { isS3Location } from './s3-location';
import { S3RawSource } from './s3-raw-source';

export type RawSourcesConfig = Pick<AppConfig, 'rawSource' | 'rawDir' | 'aws' | 's3' | 'maxFileSizeBytes'>;

/** Token of the process's RawSources. */
export const RAW_SOURCES = Symbol('RAW_SOURCES');

/** Cache bound: room for two of the largest files read whole, and at least 1 GiB. */
export function defaultCacheMaxBytes(maxFileSizeBytes: number): number {
  return Math.max(1024 ** 3, 2 * maxFileSizeBytes);
}

/**
 * The raw sources of one process: the configured one (DATA_DIR_RAW, or S3_RAW_BUCKET/S3_RAW_PREFIX
 * when USE_S3 or AWS_EXECUTION_ENV is set) and the one named by each job's `rawDir`. S3 sources
 * share one S3Client (one connection pool) and one local cache, created at first use.
 */
export class RawSources {
  private readonly sources = new Map<string, RawSource>();
  private client?: S3Client;
  private cache?: S3FileCache;

  constructor(
    private readonly config: RawSourcesConfig,
    private readonly log?: Logger,
  ) {}

  /** The configured raw location. */
  get configured(): RawSource {
    return this.forLocation(this.config.rawDir);
  }

  /**
   * The source of a job's `rawDir`: `s3://bucket/prefix` needs S3 input configured (endpoint,
   * region and credentials are the process's); anything else is a local folder.
   */
  forLocation(location: string): RawSource {
    let source = this.sources.get(location);
    if (source) return source;
    if (isS3Location(location)) {
      if (this.config.rawSource !== 's3') {
        throw new RawDirError(`${location} is an S3 location, but this service reads local raw files (set USE_S3=true, with S3_RAW_BUCKET and S3_RAW_PREFIX)`);
      }
      source = new S3RawSource(this.s3Client(), location, {
        endpoint: describeEndpoint(this.config.aws),
        readTimeoutMs: this.config.s3.readTimeoutMs,
        readAttempts: this.config.s3.readAttempts,
        cache: (this.cache ??= new S3FileCache(this.config.s3.cacheDir, defaultCacheMaxBytes(this.config.maxFileSizeBytes), this.log)),
        cacheMaxFileBytes: this.config.maxFileSizeBytes,
        log: this.log,
      });
    } else {
      source = new LocalRawSource(location);
    }
    this.sources.set(location, source);
    return source;
  }

  /** Close the S3 connections (tests, scripts; a service keeps them for its lifetime). */
  destroy(): void {
    this.client?.destroy();
    this.client = undefined;
    this.sources.clear();
  }

  private s3Client(): S3Client {
    return (this.client ??= createS3Client(this.config.aws, { requestTimeoutMs: this.config.s3.readTimeoutMs }));
  }
}

export function createRawSources(config: RawSourcesConfig, log?: Logger): RawSources {
  return new RawSources(config, log);
}

/** Nest provider of the process's RawSources (RAW_SOURCES), logging through LOGGER. */
export function rawSourcesProvider(config: RawSourcesConfig): FactoryProvider<RawSources> {
  return { provide: RAW_SOURCES, useFactory: (log: Logger) => createRawSources(config, log), inject: [LOGGER] };
}
