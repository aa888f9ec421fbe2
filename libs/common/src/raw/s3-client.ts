import { S3Client } from '@aws-sdk/client-s3';
import type { AwsConfig } from '../config/config.schema';

export interface S3ClientOptions {
  /**
   * Time allowed from sending a request to its response headers (ms). Not a body timeout: S3
   * bodies are streamed outside the SDK, and the raw reader bounds them itself. Leave unset for
   * uploads, whose headers come only after the whole part was sent.
   */
  requestTimeoutMs?: number;
}

/**
 * An S3 client for the configured endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, for emulators
 * and VPC endpoints), region and addressing style. Credentials come from the SDK's default chain.
 * Create one per process and share it: its keep-alive agent is the connection pool.
 */
export function createS3Client(aws: AwsConfig, opts: S3ClientOptions = {}): S3Client {
  const agent = { keepAlive: true, maxSockets: 64 };
  return new S3Client({
    region: aws.region,
    ...(aws.s3Endpoint ? { endpoint: aws.s3Endpoint } : {}),
    forcePathStyle: aws.s3ForcePathStyle,
    requestHandler: {
      connectionTimeout: 10_000,
      ...(opts.requestTimeoutMs ? { requestTimeout: opts.requestTimeoutMs, throwOnRequestTimeout: true } : {}),
      httpAgent: agent,
      httpsAgent: agent,
    },
  });
}

/** The endpoint a client talks to, for error messages. */
export function describeEndpoint(aws: Pick<AwsConfig, 'region' | 's3Endpoint'>): string {
  return aws.s3Endpoint ?? `AWS S3 (${aws.region})`;
}
