import * as fs from 'node:fs';
import type { FileRef } from '../shared/model';
import { discoverRawFiles, localVersion, resolveInside } from './discover';
import { SourceChangedError, type RawReader, type RawSource } from './raw-source';

/**
 * A local file read through one file handle. With a `version`, the file must be that version
 * (size and mtime of the open handle) at open and at `verify()`; without one (tools, tests) any
 * content is accepted. Reads go straight to `fh.read` into the caller's buffer.
 */
class LocalFileReader implements RawReader {
  private closed = false;

  private constructor(
    private readonly fh: fs.promises.FileHandle,
    readonly relPath: string,
    readonly size: number,
    private readonly version: string | undefined,
  ) {}

  static async open(absPath: string, relPath: string, version?: string): Promise<LocalFileReader> {
    const fh = await fs.promises.open(absPath, 'r');
    try {
      const stat = await fh.stat();
      if (version !== undefined && localVersion(stat) !== version) {
        throw new SourceChangedError(relPath, `now ${localVersion(stat)}, run pinned ${version}`);
      }
      return new LocalFileReader(fh, relPath, stat.size, version);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async read(buf: Buffer, off: number, len: number, pos: number): Promise<number> {
    const want = Math.min(len, this.size - pos);
    if (want <= 0) return 0;
    const { bytesRead } = await this.fh.read(buf, off, want, pos);
    // Shorter than when it was opened: it was rewritten in place.
    if (bytesRead === 0) throw new SourceChangedError(this.relPath, `ends at byte ${pos}, expected ${this.size} bytes`);
    return bytesRead;
  }

  async verify(): Promise<void> {
    if (this.version === undefined) return;
    const now = localVersion(await this.fh.stat());
    if (now !== this.version) throw new SourceChangedError(this.relPath, `now ${now}, run pinned ${this.version}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/**
 * Open a local file by path for positional reads (no version pinned unless given). `relPath`
 * names it in messages; default: the path itself.
 */
export function openLocalFile(absPath: string, opts: { version?: string; relPath?: string } = {}): Promise<RawReader> {
  return LocalFileReader.open(absPath, opts.relPath ?? absPath, opts.version);
}

/** Raw files in a local folder (DATA_DIR_RAW, or a run's `rawDir`). */
export class LocalRawSource implements RawSource {
  constructor(readonly location: string) {}

  async discover(day: string): Promise<FileRef[]> {
    return discoverRawFiles(this.location, day);
  }

  async open(ref: FileRef): Promise<RawReader> {
    return openLocalFile(resolveInside(this.location, ref.relPath), { version: ref.version, relPath: ref.relPath });
  }
}
