import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppConfig, loadConfig } from '@cityflow/common';
import type { RawReader } from '@cityflow/domain';
import { s3rverEnv } from '@cityflow/testing';

export function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cityflow-${label}-`));
}

/** The configuration a service gets in S3 mode against s3rver (through the real schema). */
export function s3ModeConfig(endpoint: string, bucket: string, prefix: string, extra: Record<string, string> = {}): AppConfig {
  const cwd = tmpDir('s3-config');
  return loadConfig({ ...s3rverEnv(endpoint, { bucket, prefix }), S3_CACHE_DIR: path.join(cwd, 's3_cache'), ...extra }, cwd);
}

/** Write `files` (relative path → content) below a new temporary folder; returns it. */
export function writeTree(files: Record<string, string | Buffer>): string {
  const root = tmpDir('raw');
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  return root;
}

/** Every byte of a reader, read sequentially in `block`-byte reads; the reader is closed. */
export async function readAll(reader: RawReader, block = 64 * 1024): Promise<Buffer> {
  try {
    const out = Buffer.alloc(reader.size);
    for (let pos = 0; pos < reader.size; ) {
      const n = await reader.read(out, pos, Math.min(block, reader.size - pos), pos);
      if (n === 0) throw new Error(`read returned 0 at ${pos}`);
      pos += n;
    }
    return out;
  } finally {
    await reader.close();
  }
}
