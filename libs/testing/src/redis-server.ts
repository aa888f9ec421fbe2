import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Thrown when redis-server is not installed: the message says how to install it. */
export class RedisServerNotFoundError extends Error {
  constructor() {
    super('redis-server was not found on PATH. Install it with: sudo apt-get update && sudo apt-get install -y redis-server');
    this.name = 'RedisServerNotFoundError';
  }
}

export function findRedisServer(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningRedis {
  url: string;
  port: number;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Start a private redis-server on a free loopback port, configured as production wants it for
 * BullMQ (noeviction, AOF on), in its own temporary folder. Never touches port 6379.
 */
export async function startRedisServer(opts: { port?: number; dir?: string; quiet?: boolean } = {}): Promise<RunningRedis> {
  const bin = findRedisServer();
  if (!bin) throw new RedisServerNotFoundError();
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-redis-'));
  const child: ChildProcess = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const tryConnect = () => {
      if (child.exitCode !== null) return reject(new Error(`redis-server exited: ${out}`));
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
        s.once('data', () => {
          s.destroy();
          resolve();
        });
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not start on ${port}: ${out}`));
        else setTimeout(tryConnect, 50);
      });
    };
    tryConnect();
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    dir,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
