/**
 * Raw files under an S3 prefix (`s3://bucket/prefix`), with the local layout's rules (SPEC §2):
 * the same relative paths, the same classification (`classifyRawPath`), the same order.
 *
 * - Discovery lists each folder that can hold the day's files (`rawDayFolders`), page by page
 *   (ListObjectsV2 returns at most 1,000 keys per call). A file's version is its ETag, its size
 *   the object's size, and its relative path the key below the prefix, so files with the same
 *   name in two `hour=` folders stay two files.
 * - Opening checks the object still has the discovered ETag and size (HEAD with If-Match).
 * - A whole file of at most `cacheMaxFileBytes` (one processed unchunked) is read from the local
 *   cache, downloaded once per version; any other read streams ranged GETs (see S3ObjectReader).
 *
 * Nothing here falls back to local files: a missing bucket or an empty prefix is a RawDirError,
 * an unreachable endpoint an S3RequestError.
 */
import * as fs from 'node:fs';
import { HeadObjectCommand, ListObjectsV2Command, S3Client, _Object } from '@aws-sdk/client-s3';
import {
  classifyRawPath,
  compareRelPath,
  FileRef,
  fileKeyOf,
  isSafeRelPath,
  isValidDay,
  OpenOptions,
  RawDirError,
  RawReader,
  RawSource,
  rawDayFolders,
  SourceChangedError,
} from '@cityflow/domain';
import { describeS3Error, S3RequestError, s3HttpStatus, s3ErrorCode } from './s3-errors';
import type { S3FileCache } from './s3-file-cache';
import { formatS3Url, keyUnder, parseS3Location } from './s3-location';
import { S3ObjectReader, S3ObjectVersion, S3ReadOptions, sourceChangedBy } from './s3-object-reader';

export interface S3RawSourceOptions extends S3ReadOptions {
  /** Named in connection error messages (the endpoint URL, or "AWS S3 (region)"). */
  endpoint: string;
  /** Local cache for whole files; none: whole files are streamed like ranges. */
  cache?: S3FileCache;
  /** Largest file read whole through the cache (MAX_FILE_SIZE_MB: larger ones are chunked). */
  cacheMaxFileBytes?: number;
}

const COPY_BLOCK = 1024 * 1024;

export class S3RawSource implements RawSource {
  readonly bucket: string;
  readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    readonly location: string,
    private readonly opts: S3RawSourceOptions,
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Location(location));
  }

  async discover(day: string): Promise<FileRef[]> {
    if (!isValidDay(day)) throw new RangeError(`invalid day: ${day}`);
    await this.assertLocationExists();
    const pages = await Promise.all(rawDayFolders(day).map((folder) => this.listAll(`${keyUnder(this.prefix, folder)}/`)));
    const keyStart = this.prefix ? this.prefix.length + 1 : 0;
    const refs: FileRef[] = [];
    for (const obj of pages.flat()) {
      const relPath = obj.Key!.slice(keyStart);
      const source = classifyRawPath(relPath, day);
      if (!source) continue;
      if (!obj.ETag || obj.Size === undefined) throw new S3RequestError(`${formatS3Url(this.bucket, obj.Key)}: listing gave no ETag or size`);
      refs.push({ source, relPath, size: obj.Size, version: obj.ETag, fileKey: fileKeyOf(source, relPath, obj.ETag) });
    }
    return refs.sort(compareRelPath);
  }

  async open(ref: FileRef, opts: OpenOptions = {}): Promise<RawReader> {
    if (!isSafeRelPath(ref.relPath)) throw new RawDirError(`not a raw file path: ${JSON.stringify(ref.relPath)}`);
    const obj: S3ObjectVersion = { bucket: this.bucket, key: keyUnder(this.prefix, ref.relPath), etag: ref.version, size: ref.size };
    await this.assertVersion(obj, ref.relPath);

    const { cache, cacheMaxFileBytes = 0 } = this.opts;
    const whole = opts.range && opts.range.start === 0 && opts.range.end === ref.size;
    if (cache && whole && ref.size > 0 && ref.size <= cacheMaxFileBytes) {
      return cache.open(obj, ref.relPath, (fh) => this.download(obj, ref.relPath, fh));
    }
    return new S3ObjectReader(this.client, obj, ref.relPath, this.opts, opts.range);
  }

  /** The object still has the discovered ETag and size. */
  private async assertVersion(obj: S3ObjectVersion, relPath: string): Promise<void> {
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: obj.bucket, Key: obj.key, IfMatch: obj.etag }));
    } catch (e) {
      throw sourceChangedBy(e, relPath, obj) ?? this.requestError(`HEAD ${formatS3Url(obj.bucket, obj.key)}`, e);
    }
    if (head.ETag !== obj.etag || head.ContentLength !== obj.size) {
      throw new SourceChangedError(relPath, `${formatS3Url(obj.bucket, obj.key)} now has ETag ${head.ETag} and ${head.ContentLength} bytes, the run pinned ${obj.etag} and ${obj.size} bytes`);
    }
  }

  /** Copy the pinned version into `fh` through ranged GETs (same timeouts and checks as any read). */
  private async download(obj: S3ObjectVersion, relPath: string, fh: fs.promises.FileHandle): Promise<void> {
    const reader = new S3ObjectReader(this.client, obj, relPath, this.opts, { start: 0, end: obj.size });
    try {
      const buf = Buffer.allocUnsafe(Math.min(COPY_BLOCK, obj.size));
      for (let pos = 0; pos < obj.size; ) {
        const n = await reader.read(buf, 0, Math.min(buf.length, obj.size - pos), pos);
        if (n === 0) throw new SourceChangedError(relPath, `download ended at byte ${pos} of ${obj.size}`);
        for (let written = 0; written < n; ) written += (await fh.write(buf, written, n - written, pos + written)).bytesWritten;
        pos += n;
      }
    } finally {
      await reader.close();
    }
  }

  /** A missing bucket or an empty prefix is a configuration error, not an empty day. */
  private async assertLocationExists(): Promise<void> {
    let page;
    try {
      page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix ? `${this.prefix}/` : undefined, MaxKeys: 1 }));
    } catch (e) {
      if (s3ErrorCode(e) === 'NoSuchBucket') throw new RawDirError(`raw bucket not found: ${formatS3Url(this.bucket)} (S3_RAW_BUCKET, at ${this.opts.endpoint})`);
      throw this.requestError(`listing ${this.location}`, e);
    }
    if (!page.KeyCount && !page.Contents?.length) throw new RawDirError(`raw location not found: nothing under ${this.location} (S3_RAW_BUCKET/S3_RAW_PREFIX, at ${this.opts.endpoint})`);
  }

  /** Every object under `prefix`, following continuation tokens. */
  private async listAll(prefix: string): Promise<_Object[]> {
    const out: _Object[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (e) {
        throw this.requestError(`listing ${formatS3Url(this.bucket, prefix)}`, e);
      }
      out.push(...(page.Contents ?? []));
      if (page.IsTruncated && !page.NextContinuationToken) throw new S3RequestError(`listing ${formatS3Url(this.bucket, prefix)}: truncated page without a continuation token`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private requestError(what: string, e: unknown): S3RequestError {
    const status = s3HttpStatus(e);
    const where = status === undefined ? ` (is ${this.opts.endpoint} reachable?)` : '';
    return new S3RequestError(`${what} failed: ${describeS3Error(e)}${where}`, { cause: e });
  }
}
