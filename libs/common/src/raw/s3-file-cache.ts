/**
 * Local copies of whole S3 objects (files processed unchunked), so a retried or repeated job
 * reads the disk instead of downloading again.
 *
 * Layout: `<dir>/<sha256(bucket/key)>/<sha256(etag)>`, one folder per object, one file per
 * version; a download goes to `<version file>.<pid>-<random>.tmp` and is renamed into place
 * when complete, so a cached file is always whole. A version file is only ever reused for that
 * ETag, and it is checked against the expected size.
 *
 * Eviction: storing a version removes the object's other versions (and its abandoned downloads
 * older than an hour); then, while the files total more than `maxBytes`, the least recently used
 * versions (by mtime, touched on every use) are removed. A reader that has a file open keeps
 * reading it after removal.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openLocalFile, RawReader } from '@cityflow/domain';
import type { Logger } from '../logging/logger';
import type { S3ObjectVersion } from './s3-object-reader';

const STALE_DOWNLOAD_MS = 60 * 60 * 1000;

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 40);

export class S3FileCache {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log?: Logger,
  ) {}

  /** Where the version of an object is (or would be) cached. */
  pathOf(obj: Pick<S3ObjectVersion, 'bucket' | 'key' | 'etag'>): string {
    return path.join(this.dir, sha(`${obj.bucket}/${obj.key}`), sha(obj.etag));
  }

  /**
   * A reader of the cached copy of `obj`, downloaded first with `download` (which writes the
   * object's bytes into the file handle it is given) when it is not cached yet.
   */
  async open(obj: S3ObjectVersion, relPath: string, download: (fh: fs.promises.FileHandle) => Promise<void>): Promise<RawReader> {
    const file = this.pathOf(obj);
    const cached = await this.openCached(file, obj.size, relPath);
    if (cached) return cached;

    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    let reader: RawReader | null = null;
    try {
      const fh = await createInFolder(tmp);
      try {
        await download(fh);
      } finally {
        await fh.close();
      }
      // Opened before the rename: the handle stays valid whatever eviction does afterwards.
      reader = await openLocalFile(tmp, { relPath });
      if (reader.size !== obj.size) throw new Error(`download of ${relPath} wrote ${reader.size} bytes, expected ${obj.size}`);
      await fs.promises.rename(tmp, file);
    } catch (e) {
      await reader?.close();
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
    await this.evict(file).catch((err) => this.log?.warn({ err, dir: this.dir }, 'S3 cache eviction failed'));
    return reader;
  }

  private async openCached(file: string, size: number, relPath: string): Promise<RawReader | null> {
    let reader: RawReader;
    try {
      reader = await openLocalFile(file, { relPath });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (reader.size !== size) {
      await reader.close();
      return null;
    }
    const now = new Date();
    await fs.promises.utimes(file, now, now).catch(() => undefined);
    return reader;
  }

  /** Apply the eviction rules after `kept` was stored (see the module comment). */
  private async evict(kept: string): Promise<void> {
    const keyDir = path.dirname(kept);
    const now = Date.now();
    for (const name of await fs.promises.readdir(keyDir)) {
      const file = path.join(keyDir, name);
      if (file === kept) continue;
      if (name.endsWith('.tmp')) {
        const stat = await fs.promises.stat(file).catch(() => null);
        if (!stat || now - stat.mtimeMs < STALE_DOWNLOAD_MS) continue;
      }
      await fs.promises.rm(file, { force: true });
    }

    const entries: { file: string; size: number; used: number }[] = [];
    for (const dir of await fs.promises.readdir(this.dir)) {
      const names = await fs.promises.readdir(path.join(this.dir, dir)).catch(() => [] as string[]);
      for (const name of names) {
        if (name.endsWith('.tmp')) continue;
        const file = path.join(this.dir, dir, name);
        const stat = await fs.promises.stat(file).catch(() => null);
        if (stat?.isFile()) entries.push({ file, size: stat.size, used: stat.mtimeMs });
      }
    }
    let total = entries.reduce((s, e) => s + e.size, 0);
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (e.file === kept) continue;
      await fs.promises.rm(e.file, { force: true });
      await fs.promises.rmdir(path.dirname(e.file)).catch(() => undefined); // only when now empty
      total -= e.size;
      this.log?.debug({ file: e.file, bytes: e.size }, 'S3 cache entry evicted');
    }
  }
}

/** Create `file` exclusively, with its folder; eviction may remove an empty folder meanwhile, so retry once. */
async function createInFolder(file: string): Promise<fs.promises.FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    try {
      return await fs.promises.open(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw e;
    }
  }
}
