import * as fs from 'node:fs';
import { localVersion } from './discover';

/** The file changed since the run discovered it: its chunks would mix two versions. */
export class SourceChangedError extends Error {
  constructor(relPath: string) {
    super(`${relPath} changed since the run discovered it; start a new run`);
    this.name = 'SourceChangedError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Throw SourceChangedError unless the file at `abs` is still `version`. */
export function assertVersion(abs: string, version: string, relPath: string): void {
  if (localVersion(fs.statSync(abs)) !== version) throw new SourceChangedError(relPath);
}

/** Read [start, end) of a file, after checking it is still the version the run discovered. */
export async function readFileRange(abs: string, start: number, end: number, version: string, relPath: string): Promise<Buffer> {
  const fh = await fs.promises.open(abs, 'r');
  try {
    if (localVersion(await fh.stat()) !== version) throw new SourceChangedError(relPath);
    const buf = Buffer.allocUnsafe(end - start);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
      if (bytesRead === 0) throw new SourceChangedError(relPath);
      off += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}
