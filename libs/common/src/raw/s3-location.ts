import { RawDirError } from '@cityflow/domain';

/** A bucket and a key prefix without leading or trailing slashes (`''` for the whole bucket). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

export function isS3Location(location: string): boolean {
  return location.startsWith('s3://');
}

/** Parse `s3://bucket/prefix` (the form `s3RawLocation` builds and jobs carry as `rawDir`). */
export function parseS3Location(location: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(location);
  if (!m) throw new RawDirError(`not an S3 location (expected s3://bucket/prefix): ${JSON.stringify(location)}`);
  return { bucket: m[1], prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** The key of `relPath` under `prefix`. */
export function keyUnder(prefix: string, relPath: string): string {
  return prefix ? `${prefix}/${relPath}` : relPath;
}

export function formatS3Url(bucket: string, key = ''): string {
  return key ? `s3://${bucket}/${key}` : `s3://${bucket}`;
}
