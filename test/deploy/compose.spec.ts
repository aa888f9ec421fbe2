/**
 * Cross-checks the single-host deployment (docker-compose.yml, Dockerfile, docker/redis,
 * docker/minio, .env.example, .dockerignore, .ci/run) against the code: service folders, the
 * config schema, the README's test command. No Docker engine is needed; the Redis configuration
 * and the Redis entrypoint run for real against the Debian redis-server, and the S3 emulator's
 * scripts run for real with stand-ins for the MinIO binaries.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, EnvSchema, loadConfig, readDotEnv, SERVICE_NODE_ARGS, SERVICE_NODE_OPTIONS } from '@cityflow/common';
import { findRedisServer, freePort } from '@cityflow/testing';
import { quickStartCommands, readmeTestCommand } from './readme';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const exists = (rel: string) => fs.existsSync(path.join(ROOT, rel));

/** Variables compose itself reads or interpolates on the host; they are never read by the services. */
const COMPOSE_ONLY_VARIABLES = ['HOST_DATA_DIR_RAW', 'REDIS_PASSWORD', 'REDIS_MAXMEMORY', 'COMPOSE_PROFILES'];
/**
 * Read by the AWS SDK itself, never by the config schema. They reach the app containers from
 * .env through env_file only (never written in an app service's `environment`); compose
 * interpolates the key pair for the emulators' login (s3, s3-seed).
 */
const SDK_CREDENTIAL_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];
/** The optional backends and their compose profile; a plain `docker compose up` starts none of them. */
const OPTIONAL_SERVICES: Record<string, string> = { mongo: 'mongodb', s3: 's3', 's3-seed': 's3', dynamodb: 'dynamodb' };
const REQUIRED_APP_VARIABLES = ['REDIS_URL', 'DATA_DIR_RAW', 'OUTPUT_DIR'];
const WORKERS = ['ingestor', 'chunker', 'processor', 'reporter'];
const SECRET_PLACEHOLDER = /^(|change[-_]?me|replace[-_]?me|<[^>]*>|x{3,}|placeholder)$/i;

type Service = Record<string, any>;
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
/** What a plain `docker compose up` starts: the services without a profile. */
const defaultNames = Object.keys(services).filter((n) => !services[n].profiles);
const profiledNames = Object.keys(services).filter((n) => services[n].profiles);
const appNames = defaultNames.filter((n) => n !== 'redis');
const serviceFolders = fs
  .readdirSync(path.join(ROOT, 'services'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}, nesting, $$. */
function interpolate(s: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '$') {
      out += s[i++];
      continue;
    }
    if (s[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (s[i + 1] === '{') {
      let depth = 0;
      let j = i;
      for (; j < s.length; j++) {
        if (s.startsWith('${', j)) {
          depth++;
          j++;
        } else if (s[j] === '}' && --depth === 0) break;
      }
      if (j >= s.length) throw new Error(`unclosed \${ in ${s}`);
      const inner = s.slice(i + 2, j);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\+|\+|:\?|\?)([\s\S]*))?$/.exec(inner);
      if (!m) throw new Error(`invalid interpolation \${${inner}}`);
      const [, name, op, arg = ''] = m;
      const v = env[name];
      const set = v !== undefined;
      const nonEmpty = set && v !== '';
      if (!op) out += v ?? '';
      else if (op === ':-') out += nonEmpty ? v : interpolate(arg, env);
      else if (op === '-') out += set ? v : interpolate(arg, env);
      else if (op === ':+') out += nonEmpty ? interpolate(arg, env) : '';
      else if (op === '+') out += set ? interpolate(arg, env) : '';
      else if ((op === ':?' && !nonEmpty) || (op === '?' && !set)) throw new Error(`${name} is required: ${arg}`);
      else out += v;
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
    if (m) {
      out += env[m[0]] ?? '';
      i += 1 + m[0].length;
    } else out += s[i++];
  }
  return out;
}

/** Names compose interpolates in a string (`$$NAME` is the container's own variable, not compose's). */
function composeVariables(s: string): string[] {
  const names = new Set<string>();
  const re = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/g;
  const text = s.replace(/\$\$/g, '');
  for (let m = re.exec(text); m; m = re.exec(text)) names.add(m[1]);
  return [...names];
}

function allStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => allStrings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => allStrings(x, out));
  return out;
}

function environmentOf(svc: Service): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e: string) => {
        const k = e.indexOf('=');
        return k < 0 ? [e, ''] : [e.slice(0, k), e.slice(k + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

/** What a container sees: its `environment`, interpolated with the given host variables. */
function resolvedEnvironment(svc: Service, hostEnv: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(environmentOf(svc)).map(([k, v]) => [k, interpolate(v, hostEnv)]));
}

function seconds(duration: string | number): number {
  if (typeof duration === 'number') return duration;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|us|m|s)/g;
  let matched = '';
  for (let m = re.exec(duration); m; m = re.exec(duration)) {
    const unit = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[m[2]]!;
    total += Number(m[1]) * unit;
    matched += m[0];
  }
  if (matched !== duration) throw new Error(`not a duration: ${duration}`);
  return total;
}

interface Instruction {
  cmd: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Minimal Dockerfile reader: continuation lines, comments, stages, ARG defaults in FROM. */
function readDockerfile(rel: string): Stage[] {
  const lines = read(rel)
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) continue;
    const cmd = m[1].toUpperCase();
    const rest = m[2].replace(/\s+/g, ' ').trim();
    if (cmd === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest)!;
      const from = f[1].replace(/\$\{?(\w+)\}?/g, (_, n: string) => args[n] ?? '');
      stages.push({ from, name: f[2], instructions: [] });
    } else if (cmd === 'ARG' && stages.length === 0) {
      const a = /^(\w+)(?:=(.*))?$/.exec(rest);
      if (a) args[a[1]] = a[2] ?? '';
    } else if (stages.length) stages[stages.length - 1].instructions.push({ cmd, args: rest });
  }
  return stages;
}

function envKeysOf(instr: Instruction): string[] {
  // ENV A=1 B=2  |  ENV A 1
  if (/^\w+=/.test(instr.args)) return [...instr.args.matchAll(/(?:^|\s)(\w+)=/g)].map((m) => m[1]);
  return [instr.args.split(' ')[0]];
}

function workspaces(): string[] {
  return (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
}

/** .dockerignore semantics: patterns relative to the context root, `*`, `?`, `**`, `!` exceptions, parents count. */
function dockerIgnored(patterns: string[]): (rel: string) => boolean {
  const rules = patterns.map((p) => {
    const negate = p.startsWith('!');
    const body = path.posix.normalize((negate ? p.slice(1) : p).replace(/^\/+/, ''));
    let re = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (c === '*' && body[i + 1] === '*') {
        re += '.*';
        i++;
        if (body[i + 1] === '/') i++;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return { negate, re: new RegExp(`^${re}$`) };
  });
  return (rel) => {
    const parts = rel.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (candidates.some((c) => r.re.test(c))) excluded = !r.negate;
    return excluded;
  };
}

function filesUnder(rel: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') walk(p);
      } else out.push(p);
    }
  };
  walk(rel);
  return out;
}

function configFor(env: Record<string, string>) {
  // A scratch cwd, so that a developer's own .env cannot leak into the check.
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-deploy-'));
  try {
    return loadConfig(env, cwd);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

describe('docker-compose.yml: services and code', () => {
  it('runs redis and one service per services/<name> folder (the services without a profile)', () => {
    expect([...defaultNames].sort()).toEqual(['redis', ...serviceFolders].sort());
    expect([...appNames].sort()).toEqual(['api', 'chunker', 'ingestor', 'processor', 'reporter']);
  });

  it('every other service is an optional backend behind one compose profile', () => {
    expect(Object.fromEntries(profiledNames.map((n) => [n, services[n].profiles]))).toEqual(
      Object.fromEntries(Object.entries(OPTIONAL_SERVICES).map(([n, p]) => [n, [p]])),
    );
  });

  it.each(appNames)('%s maps to a services/<name> folder with src/main.ts', (name) => {
    expect(exists(`services/${name}/src/main.ts`)).toBe(true);
  });

  it.each(appNames)('%s runs `node <SERVICE_NODE_ARGS> services/<name>/dist/main.js` directly (no npm, no shell)', (name) => {
    expect(services[name].command).toEqual(['node', ...SERVICE_NODE_ARGS, `services/${name}/dist/main.js`]);
    expect(services[name].entrypoint).toBeUndefined();
  });

  it.each(WORKERS)('%s health check runs services/<name>/dist/health.js, built from src/health.ts', (name) => {
    expect(services[name].healthcheck?.test).toEqual(['CMD', 'node', `services/${name}/dist/health.js`]);
    expect(exists(`services/${name}/src/health.ts`)).toBe(true);
  });

  it('every app service uses the one image built from the root Dockerfile', () => {
    const images = new Set(appNames.map((n) => services[n].image));
    expect(images.size).toBe(1);
    for (const n of appNames) {
      expect(services[n].build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    }
  });

  it.each(appNames)('%s: init, depends on a healthy redis, env file optional, /data volume', (name) => {
    const svc = services[name];
    expect(svc.init).toBe(true);
    const { redis, ...optional } = svc.depends_on;
    expect(redis).toEqual({ condition: 'service_healthy' });
    // The optional backends are waited for only when their profile is enabled (`required: false`:
    // without it a plain `docker compose up` refuses to start, the dependency being disabled).
    expect(Object.keys(optional).sort()).toEqual(Object.keys(OPTIONAL_SERVICES).sort());
    for (const [dep, cond] of Object.entries(optional as Record<string, Service>)) {
      const expected = dep === 's3-seed' ? 'service_completed_successfully' : 'service_healthy';
      expect({ dep, ...cond }).toEqual({ dep, condition: expected, required: false });
      if (expected === 'service_healthy') expect(services[dep].healthcheck?.test).toBeDefined();
    }
    expect(svc.env_file).toEqual([{ path: '.env', required: false }]);
    const volumes: string[] = svc.volumes;
    const named = volumes.map((v) => v.split(':')).find(([, target]) => target === '/data');
    expect(named).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(named![0]);
    // raw inputs: a read-only bind mount on /data/raw, by default the bundled sample
    const raw = volumes.find((v) => /:\/data\/raw:ro$/.test(v));
    expect(raw).toBeDefined();
    expect(interpolate(raw!, {})).toBe('./data/sample/raw:/data/raw:ro');
    expect(interpolate(raw!, { HOST_DATA_DIR_RAW: '/srv/raw' })).toBe('/srv/raw:/data/raw:ro');
  });

  it.each(WORKERS)('%s gets a stop grace period of at least 60 s (worker.close waits for the active job)', (name) => {
    expect(seconds(services[name].stop_grace_period)).toBeGreaterThanOrEqual(60);
  });

  it('no service sets container_name; processor has no host port and one replica by default', () => {
    for (const n of Object.keys(services)) expect(services[n].container_name).toBeUndefined();
    expect(services.processor.ports).toBeUndefined();
    expect(services.processor.deploy?.replicas).toBe(1);
  });

  it('only api publishes a port: ${API_PORT:-5001} on the host to 5001 in the container', () => {
    for (const n of Object.keys(services)) if (n !== 'api') expect(services[n].ports).toBeUndefined();
    expect(services.api.ports).toHaveLength(1);
    expect(interpolate(String(services.api.ports[0]), {})).toBe('5001:5001');
    expect(interpolate(String(services.api.ports[0]), { API_PORT: '8080' })).toBe('8080:5001');
    const cfg = configFor(resolvedEnvironment(services.api, { API_PORT: '8080' }));
    expect(cfg.apiPort).toBe(5001);
    expect(services.api.healthcheck.test.join(' ')).toContain('http://127.0.0.1:5001/health');
  });
});

describe('docker-compose.yml: environment and the config schema', () => {
  it('every variable set for an app service is a key of the config schema', () => {
    for (const n of appNames) {
      const unknown = Object.keys(environmentOf(services[n])).filter((k) => !CONFIG_VARIABLES.includes(k));
      expect({ service: n, unknown }).toEqual({ service: n, unknown: [] });
    }
  });

  it('every variable compose interpolates is a schema key, a documented compose-only variable or an SDK credential', () => {
    const used = new Set(allStrings(services).flatMap(composeVariables));
    const known = [...CONFIG_VARIABLES, ...COMPOSE_ONLY_VARIABLES, ...SDK_CREDENTIAL_VARIABLES];
    expect([...used].filter((v) => !known.includes(v))).toEqual([]);
  });

  it('app services set no AWS credential variable: the SDK gets them from .env (env_file) or a role', () => {
    for (const n of appNames) {
      const set = Object.keys(environmentOf(services[n])).filter((k) => SDK_CREDENTIAL_VARIABLES.includes(k) || /^AWS_(ACCESS|SECRET|SESSION)/.test(k));
      expect({ service: n, set }).toEqual({ service: n, set: [] });
    }
  });

  it.each(appNames)('%s sets REDIS_URL, DATA_DIR_RAW and OUTPUT_DIR, and its environment passes boot validation', (name) => {
    const env = resolvedEnvironment(services[name], {});
    for (const k of REQUIRED_APP_VARIABLES) expect(env[k]).toBeTruthy();
    const cfg = configFor(env);
    expect(cfg.redisUrl).toBe('redis://redis:6379');
    expect(cfg.rawDir).toBe('/data/raw');
    expect(cfg.outputDir).toBe('/data/output');
    expect(cfg.serviceName).toBe(name);
  });

  it('REDIS_PASSWORD, when set, reaches the app services inside REDIS_URL only', () => {
    for (const n of appNames) {
      const env = resolvedEnvironment(services[n], { REDIS_PASSWORD: 'a1b2c3' });
      expect(env.REDIS_URL).toBe('redis://:a1b2c3@redis:6379');
      expect(configFor(env).redisUrl).toBe('redis://:a1b2c3@redis:6379');
      expect(Object.keys(env)).not.toContain('REDIS_PASSWORD');
    }
    expect(resolvedEnvironment(services.redis, { REDIS_PASSWORD: 'a1b2c3' }).REDIS_PASSWORD).toBe('a1b2c3');
  });

  it('no secret value is written in docker-compose.yml', () => {
    for (const n of Object.keys(services)) {
      for (const [k, v] of Object.entries(environmentOf(services[n]))) {
        if (/PASSWORD|API_KEY|SECRET|TOKEN/.test(k)) expect({ [k]: v }).toEqual({ [k]: `\${${k}:-}` });
      }
    }
  });
});

describe('redis', () => {
  const redis = services.redis;
  const stages = readDockerfile('docker/redis/Dockerfile');
  const conf = read('docker/redis/redis.conf');
  const directive = (name: string) =>
    conf
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.startsWith(`${name} `))
      .map((l) => l.slice(name.length + 1).trim());

  it('publishes no port, keeps its data in a named volume, and is built from docker/redis', () => {
    expect(redis.ports).toBeUndefined();
    expect(redis.build).toEqual({ context: 'docker/redis' });
    const data = (redis.volumes as string[]).map((v) => v.split(':')).find(([, t]) => t === '/data');
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.[0]);
  });

  it('is healthy only when `redis-cli ping` answers PONG (with the password when one is set)', () => {
    const test: string[] = redis.healthcheck.test;
    expect(test[0]).toBe('CMD-SHELL');
    expect(test[1]).toContain('redis-cli ping');
    expect(test[1]).toContain('grep -q PONG');
    expect(test[1]).toContain('REDISCLI_AUTH');
  });

  it('only gets its own variables (password and memory cap)', () => {
    expect(Object.keys(environmentOf(redis)).sort()).toEqual(['REDIS_MAXMEMORY', 'REDIS_PASSWORD']);
  });

  it('uses a pinned redis 7.x image and starts with docker/redis/redis.conf', () => {
    expect(stages).toHaveLength(1);
    expect(stages[0].from).toMatch(/^redis:7\.\d+\.\d+(-[a-z0-9]+)?$/);
    const copies = stages[0].instructions.filter((i) => i.cmd === 'COPY').map((i) => i.args);
    expect(copies.some((c) => /^redis\.conf \/usr\/local\/etc\/redis\/redis\.conf$/.test(c))).toBe(true);
    const cmd = stages[0].instructions.filter((i) => i.cmd === 'CMD').pop();
    expect(JSON.parse(cmd!.args)).toEqual(['redis-server', '/usr/local/etc/redis/redis.conf']);
    const entry = stages[0].instructions.filter((i) => i.cmd === 'ENTRYPOINT').pop();
    expect(JSON.parse(entry!.args)).toEqual(['cityflow-entrypoint.sh']);
    expect(copies.some((c) => c.endsWith('cityflow-entrypoint.sh /usr/local/bin/cityflow-entrypoint.sh'))).toBe(true);
  });

  it('redis.conf: noeviction, AOF with fsync every second, protected mode, data in /data', () => {
    expect(directive('maxmemory-policy')).toEqual(['noeviction']);
    expect(directive('appendonly')).toEqual(['yes']);
    expect(directive('appendfsync')).toEqual(['everysec']);
    expect(directive('protected-mode')).toEqual(['yes']);
    expect(directive('dir')).toEqual(['/data']);
    expect(directive('requirepass')).toEqual([]);
  });

  describe('entrypoint with a real redis-server', () => {
    const bin = findRedisServer();
    const children: ChildProcess[] = [];
    const clients: Redis[] = [];
    let scratch: string;

    beforeAll(() => {
      if (!bin) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-redis-conf-'));
      // Stand-in for the official image's docker-entrypoint.sh (which only drops root, then execs).
      fs.writeFileSync(path.join(scratch, 'docker-entrypoint.sh'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
      fs.writeFileSync(path.join(scratch, 'redis.conf'), conf.replace(/^dir \/data$/m, `dir ${scratch}`));
    });

    afterAll(async () => {
      for (const c of clients) c.disconnect();
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });

    function answersPing(port: number): Promise<boolean> {
      return new Promise((resolve) => {
        const sock = net.connect(port, '127.0.0.1');
        sock.setTimeout(1000);
        sock.once('connect', () => sock.write('PING\r\n'));
        sock.once('data', () => {
          sock.destroy();
          resolve(true);
        });
        for (const ev of ['error', 'timeout', 'close']) {
          sock.once(ev, () => {
            sock.destroy();
            resolve(false);
          });
        }
      });
    }

    async function start(env: Record<string, string>): Promise<{ port: number; client: (password?: string) => Redis }> {
      const port = await freePort();
      const child = spawn(
        'sh',
        [path.join(ROOT, 'docker/redis/cityflow-entrypoint.sh'), 'redis-server', path.join(scratch, 'redis.conf'), '--port', String(port), '--bind', '127.0.0.1', '--appenddirname', `aof-${port}`, '--dbfilename', `dump-${port}.rdb`],
        { env: { PATH: `${scratch}:${path.dirname(bin!)}:${process.env.PATH}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let log = '';
      child.stdout!.on('data', (d) => (log += d));
      child.stderr!.on('data', (d) => (log += d));
      const client = (password?: string) => {
        const c = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on('error', () => undefined);
        clients.push(c);
        return c;
      };
      // Ready when the port answers a PING (PONG, or NOAUTH when a password is required).
      const deadline = Date.now() + 10_000;
      while (!(await answersPing(port))) {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${log}`);
        if (Date.now() > deadline) throw new Error(`redis-server did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { port, client };
    }

    it('with REDIS_PASSWORD: requirepass set, protected mode on, noeviction and AOF live', async () => {
      const { client } = await start({ REDIS_PASSWORD: 's3cr3t', REDIS_MAXMEMORY: '64mb' });
      const anonymous = client();
      await anonymous.connect();
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
      const c = client('s3cr3t');
      await c.connect();
      const get = async (k: string) => ((await c.config('GET', k)) as string[])[1];
      expect(await get('maxmemory-policy')).toBe('noeviction');
      expect(await get('appendonly')).toBe('yes');
      expect(await get('appendfsync')).toBe('everysec');
      expect(await get('protected-mode')).toBe('yes');
      expect(await get('maxmemory')).toBe(String(64 * 1024 * 1024));
    });

    it('without REDIS_PASSWORD: no password, protected mode off so that other containers can connect', async () => {
      const { client } = await start({});
      const c = client();
      await c.connect();
      expect(await c.ping()).toBe('PONG');
      expect(((await c.config('GET', 'protected-mode')) as string[])[1]).toBe('no');
      expect(((await c.config('GET', 'maxmemory-policy')) as string[])[1]).toBe('noeviction');
    });
  });
});

describe('optional backends (compose profiles)', () => {
  const header = read('docker-compose.yml').split(/\r?\n/).filter((l) => l.startsWith('#')).join('\n');
  /** A named volume mounted at `target`, declared under top-level `volumes:`. */
  const namedVolumeAt = (svc: Service, target: string) => {
    const v = (svc.volumes as string[]).map((x) => x.split(':')).find(([, t]) => t === target);
    expect(v).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(v![0]);
    return v![0];
  };
  /** The app environment of a mode: what compose sets for api plus the .env lines the header documents. */
  const appEnvWith = (dotEnv: Record<string, string>) => ({ ...dotEnv, ...resolvedEnvironment(services.api, {}) });

  it('every pulled image is pinned to a version: no `latest`, no bare name', () => {
    for (const [n, svc] of Object.entries(services).filter(([, x]) => !x.build)) {
      const m = /^(.+):([^/:]+)$/.exec(String(svc.image));
      expect({ n, tag: m?.[2] }).toEqual({ n, tag: expect.stringMatching(/\d/) });
      expect(m![2]).not.toMatch(/latest/i);
    }
  });

  it('no optional backend publishes a host port, and each keeps its state in a named volume or in memory', () => {
    for (const n of profiledNames) expect({ n, ports: services[n].ports }).toEqual({ n, ports: undefined });
    namedVolumeAt(services.mongo, '/data/db');
    namedVolumeAt(services.s3, '/data');
    expect(services.dynamodb.command).toContain('-inMemory');
  });

  it('every declared volume is used, and every named volume used is declared', () => {
    const used = new Set(
      Object.values(services)
        .flatMap((svc) => (svc.volumes ?? []) as string[])
        .map((v) => v.split(':')[0])
        .filter((src) => /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(src)),
    );
    expect([...used].sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
  });

  describe('mongo (profile mongodb)', () => {
    const mongo = services.mongo;
    const script = (mongo.healthcheck?.test as string[]).join(' ');

    it('is the official mongo 7.0 image, run as a single-node replica set on every interface', () => {
      expect(mongo.image).toMatch(/^mongo:7\.0\.\d+$/);
      expect(mongo.command).toEqual(['mongod', '--replSet', 'rs0', '--bind_ip_all']);
      expect(mongo.environment).toBeUndefined(); // no root user: reachable only inside the stack
    });

    it('its health check initiates the replica set when needed and passes only on the PRIMARY', () => {
      const test: string[] = mongo.healthcheck.test;
      expect(test.slice(0, 4)).toEqual(['CMD', 'mongosh', '--quiet', '--eval']);
      expect(script).toContain('rs.status()');
      expect(script).toContain("'NotYetInitialized'");
      expect(script).toContain("rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] })");
      expect(script).toMatch(/quit\(db\.hello\(\)\.isWritablePrimary \? 0 : 1\)/);
      expect(seconds(mongo.healthcheck.start_period)).toBeGreaterThanOrEqual(10);
    });

    it('the documented MONGODB_URL names the replica set and its member, and passes boot validation', () => {
      expect(header).toMatch(/DATABASE_TYPE=mongodb\b/);
      const url = /MONGODB_URL=(\S+)/.exec(header)?.[1];
      expect(url).toBe('mongodb://mongo:27017/?replicaSet=rs0');
      const member = /host: '([^']+)'/.exec(script)![1];
      expect(new URL(url!).host).toBe(member);
      expect(new URL(url!).searchParams.get('replicaSet')).toBe(mongo.command[mongo.command.indexOf('--replSet') + 1]);
      const cfg = configFor(appEnvWith({ DATABASE_TYPE: 'mongodb', MONGODB_URL: url! }));
      expect(cfg.databaseType).toBe('mongodb');
      expect(cfg.mongo).toEqual({ url, database: 'cityflow' });
    });
  });

  describe('s3 and s3-seed (profile s3)', () => {
    const s3 = services.s3;
    const seed = services['s3-seed'];
    const stubs: string[] = [];
    afterAll(() => stubs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    /** Runs a docker/minio script with `sh` (dash here: POSIX only) and recording stand-ins for the given commands. */
    function runScript(script: string, args: string[], env: Record<string, string>, commands: string[]) {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-minio-'));
      stubs.push(bin);
      const log = path.join(bin, 'calls.log');
      for (const c of commands) {
        fs.writeFileSync(path.join(bin, c), `#!/bin/sh\n{ printf '%s' "${c}"; for a in "$@"; do printf ' %s' "$a"; done; echo; } >> "${log}"\nenv | grep -E '^(MINIO_ROOT_|AWS_)' | sort | sed 's/^/  env /' >> "${log}"\n`, { mode: 0o755 });
      }
      const r = spawnSync('sh', [path.join(ROOT, 'docker/minio', script), ...args], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, encoding: 'utf8' });
      const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
      return { status: r.status, stderr: r.stderr, stdout: r.stdout, calls };
    }

    it('MinIO and the MinIO client are pinned releases; the seed waits for a healthy emulator', () => {
      expect(s3.image).toMatch(/^minio\/minio:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
      expect(seed.image).toMatch(/^minio\/mc:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
      expect(s3.healthcheck.test).toEqual(['CMD', 'mc', 'ready', 'local']);
      expect(seed.depends_on).toEqual({ s3: { condition: 'service_healthy' } });
      expect(seed.restart).toBe('no');
    });

    it('both run their script from docker/minio, mounted read-only', () => {
      for (const [svc, script] of [[s3, 'server.sh'], [seed, 'seed.sh']] as const) {
        expect(svc.volumes).toContain('./docker/minio:/cityflow:ro');
        expect(svc.entrypoint).toEqual(['/bin/sh', `/cityflow/${script}`]);
        expect(exists(`docker/minio/${script}`)).toBe(true);
      }
      expect(s3.command).toEqual(['server', '/data', '--console-address', ':9001']);
    });

    it('the login is the AWS key pair from .env, interpolated, never written in the file', () => {
      for (const svc of [s3, seed]) {
        const env = environmentOf(svc);
        expect(env.AWS_ACCESS_KEY_ID).toBe('${AWS_ACCESS_KEY_ID:-}');
        expect(env.AWS_SECRET_ACCESS_KEY).toBe('${AWS_SECRET_ACCESS_KEY:-}');
        expect(Object.keys(env).filter((k) => /MINIO/.test(k))).toEqual([]);
      }
    });

    it('server.sh hands the pair to MinIO as its root login and execs the image entrypoint', () => {
      const env = resolvedEnvironment(s3, { AWS_ACCESS_KEY_ID: 'cityflow', AWS_SECRET_ACCESS_KEY: 'a1b2c3d4e5' });
      const r = runScript('server.sh', s3.command, env, ['docker-entrypoint.sh']);
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([
        'docker-entrypoint.sh server /data --console-address :9001',
        '  env MINIO_ROOT_PASSWORD=a1b2c3d4e5',
        '  env MINIO_ROOT_USER=cityflow',
      ]);
    });

    it.each([
      ['no pair', {}],
      ['a password under 8 characters', { AWS_ACCESS_KEY_ID: 'cityflow', AWS_SECRET_ACCESS_KEY: 'short' }],
    ])('server.sh refuses to start MinIO with %s (it would fall back to its default login)', (_, hostEnv) => {
      const r = runScript('server.sh', s3.command, resolvedEnvironment(s3, hostEnv), ['docker-entrypoint.sh']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('AWS_SECRET_ACCESS_KEY');
      expect(r.calls).toEqual([]);
    });

    it('the seed mounts HOST_DATA_DIR_RAW (default: the bundled sample) where its command points', () => {
      const raw = (seed.volumes as string[]).find((v) => v.endsWith(':ro') && !v.startsWith('./docker/'));
      expect(interpolate(raw!, {})).toBe(`./data/sample/raw:${seed.command[0]}:ro`);
      expect(interpolate(raw!, { HOST_DATA_DIR_RAW: '/srv/raw' })).toBe(`/srv/raw:${seed.command[0]}:ro`);
      expect(exists('data/sample/raw/batch')).toBe(true);
    });

    it.each([
      ['the defaults', {}, 'cityflow/cityflow-raw-data/raw'],
      ['S3_RAW_BUCKET and S3_RAW_PREFIX from .env', { S3_RAW_BUCKET: 'my-raw', S3_RAW_PREFIX: '/cityflow-raw/raw/' }, 'cityflow/my-raw/cityflow-raw/raw'],
      // Empty means "not set" for the services (boot validation), so the default prefix; "/" is the root.
      ['an empty S3_RAW_PREFIX (the default prefix)', { S3_RAW_PREFIX: '' }, 'cityflow/cityflow-raw-data/raw'],
      ['S3_RAW_PREFIX=/ (the bucket root)', { S3_RAW_PREFIX: '/' }, 'cityflow/cityflow-raw-data'],
    ])('the seed creates the buckets and uploads the raw tree under S3_RAW_PREFIX: %s', (_, hostEnv, target) => {
      const creds = { AWS_ACCESS_KEY_ID: 'cityflow', AWS_SECRET_ACCESS_KEY: 'a1b2c3d4e5' };
      const env = resolvedEnvironment(seed, { ...creds, ...hostEnv });
      const src = path.join(ROOT, 'data/sample/raw');
      const r = runScript('seed.sh', [src], env, ['mc']);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      const calls = r.calls.filter((l) => !l.startsWith('  env '));
      const reports = env.S3_REPORTS_BUCKET;
      const rawBucket = target.split('/')[1];
      expect(calls).toEqual([
        'mc alias set cityflow http://s3:9000 cityflow a1b2c3d4e5',
        `mc mb --ignore-existing cityflow/${rawBucket}`,
        `mc mb --ignore-existing cityflow/${reports}`,
        `mc mirror --overwrite ${src} ${target}`,
      ]);
      // ... exactly where the services read with USE_S3=true and the same .env.
      const cfg = configFor(appEnvWith({ USE_S3: 'true', ...hostEnv }));
      expect(`cityflow/${cfg.rawDir.slice('s3://'.length)}`).toBe(target);
      expect(cfg.reportExport?.bucket).toBe(reports);
    });

    it('the seed refuses to run without the key pair', () => {
      const r = runScript('seed.sh', [path.join(ROOT, 'data/sample/raw')], resolvedEnvironment(seed, {}), ['mc']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('AWS_ACCESS_KEY_ID');
      expect(r.calls).toEqual([]);
    });

    it('the documented S3 settings select S3 input and report export at the emulator, path-style', () => {
      expect(header).toMatch(/USE_S3=true\b/);
      const endpoint = /AWS_ENDPOINT_URL_S3=(\S+)/.exec(header)?.[1];
      expect(endpoint).toBe('http://s3:9000');
      expect(new URL(endpoint!).hostname).toBe('s3'); // the service name; MinIO listens on 9000 by default
      expect(s3.command).not.toContain('--address');
      const cfg = configFor(appEnvWith({ USE_S3: 'true', AWS_ENDPOINT_URL_S3: endpoint! }));
      expect(cfg.rawSource).toBe('s3');
      expect(cfg.rawDir).toBe('s3://cityflow-raw-data/raw');
      expect(cfg.aws.s3Endpoint).toBe(endpoint);
      expect(cfg.aws.s3ForcePathStyle).toBe(true);
      expect(cfg.reportExport).toEqual({ bucket: 'cityflow-reports', prefix: 'reports' });
      expect(cfg.s3.cacheDir).toBe('/data/s3_cache'); // on the shared volume, not the read-only root
    });
  });

  describe('dynamodb (profile dynamodb)', () => {
    const ddb = services.dynamodb;

    it('is a pinned DynamoDB Local, shared database in memory, with a TCP health check', () => {
      expect(ddb.image).toMatch(/^amazon\/dynamodb-local:\d+\.\d+\.\d+$/);
      expect(ddb.command).toEqual(['-jar', 'DynamoDBLocal.jar', '-sharedDb', '-inMemory']);
      expect(ddb.healthcheck.test.join(' ')).toContain('/dev/tcp/127.0.0.1/8000');
    });

    it('the documented settings select the DynamoDB store at the emulator', () => {
      expect(header).toMatch(/DATABASE_TYPE=dynamodb\b/);
      const endpoint = /AWS_ENDPOINT_URL_DYNAMODB=(\S+)/.exec(header)?.[1];
      expect(endpoint).toBe('http://dynamodb:8000');
      expect(new URL(endpoint!).hostname).toBe('dynamodb');
      const cfg = configFor(appEnvWith({ DATABASE_TYPE: 'dynamodb', AWS_ENDPOINT_URL_DYNAMODB: endpoint! }));
      expect(cfg.databaseType).toBe('dynamodb');
      expect(cfg.aws.dynamodbEndpoint).toBe(endpoint);
      expect(cfg.rawSource).toBe('local'); // the DynamoDB store alone does not switch the input to S3
    });
  });

  it("the README's Storage and input modes section gives the same .env lines as this file's header", () => {
    const readme = read('README.md');
    const section = /^## Storage and input modes\n([\s\S]*?)^## /m.exec(readme)?.[1];
    expect(section).toBeDefined();
    expect(readme).not.toMatch(/not (available )?in this version/i);
    for (const part of ['### How the database stores keep documents', '### How S3 input is read']) expect(section).toContain(part);
    const settings = (text: string) =>
      new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*=\S+)/gm)].map((m) => m[1]).filter((l) => !l.includes('<')));
    const inHeader = settings(header.replace(/^#\s*\.env:/gm, '#'));
    const inReadme = [...settings(section!)];
    expect(inReadme.length).toBeGreaterThanOrEqual(8);
    expect(inReadme.filter((l) => !inHeader.has(l))).toEqual([]);
  });

  it('the header documents real AWS: AWS_EXECUTION_ENV or the USE_ switches, region, CREATE_RESOURCES, no endpoint', () => {
    for (const v of ['AWS_EXECUTION_ENV', 'USE_DYNAMODB=true', 'USE_S3=true', 'AWS_REGION', 'CREATE_RESOURCES=false', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      expect(header).toContain(v);
    }
    const cfg = configFor(appEnvWith({ AWS_EXECUTION_ENV: 'EC2' }));
    expect(cfg).toMatchObject({ databaseType: 'dynamodb', rawSource: 's3', reportExport: { bucket: 'cityflow-reports', prefix: 'reports' } });
    expect(cfg.aws.s3Endpoint).toBeUndefined();
    expect(cfg.aws.s3ForcePathStyle).toBe(false);
  });
});

describe('.env.example', () => {
  const text = read('.env.example');
  const values = readDotEnv(path.join(ROOT, '.env.example'));
  const lines = text.split(/\r?\n/);

  it('lists every variable of the config schema, and nothing else', () => {
    expect(Object.keys(values).sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('gives every variable its built-in default', () => {
    const withExample = EnvSchema.parse(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '')));
    expect(withExample).toEqual(EnvSchema.parse({}));
  });

  it('puts a comment above every variable', () => {
    const uncommented: string[] = [];
    lines.forEach((line, i) => {
      const m = /^([A-Z][A-Z0-9_]*)=/.exec(line);
      if (!m) return;
      let j = i - 1;
      while (j >= 0 && /^[A-Z][A-Z0-9_]*=/.test(lines[j])) j--;
      if (j < 0 || !lines[j].startsWith('#')) uncommented.push(m[1]);
    });
    expect(uncommented).toEqual([]);
  });

  it('documents the compose-only variables and the SDK credentials as comments, never as settings', () => {
    for (const v of [...COMPOSE_ONLY_VARIABLES, ...SDK_CREDENTIAL_VARIABLES]) {
      expect(text).toMatch(new RegExp(`^# ${v}=`, 'm'));
      expect(values[v]).toBeUndefined();
    }
    const commented = [...text.matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    const known = [...CONFIG_VARIABLES, ...COMPOSE_ONLY_VARIABLES, ...SDK_CREDENTIAL_VARIABLES];
    expect(commented.filter((v) => !known.includes(v))).toEqual([]);
  });

  it('no longer says that MongoDB, DynamoDB or S3 are unavailable', () => {
    expect(text).not.toMatch(/not available in this version|only store available/i);
  });

  it('holds no secret: API_KEY, BOARD_PASSWORD and REDIS_PASSWORD are empty or placeholders', () => {
    expect(values.API_KEY).toMatch(SECRET_PLACEHOLDER);
    expect(values.BOARD_PASSWORD).toMatch(SECRET_PLACEHOLDER);
    for (const v of ['REDIS_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
      const commented = new RegExp(`^#\\s*${v}=(.*)$`, 'm').exec(text)?.[1] ?? '';
      expect({ v, placeholder: SECRET_PLACEHOLDER.test(commented.trim()) }).toEqual({ v, placeholder: true });
    }
    expect(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split(/\r?\n/)).toContain('.env');
  });
});

describe('Dockerfile', () => {
  const stages = readDockerfile('Dockerfile');
  const build = stages[0];
  const runtime = stages[stages.length - 1];
  const runs = (s: Stage) => s.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args);
  const copies = (s: Stage) => s.instructions.filter((i) => i.cmd === 'COPY').map((i) => i.args);

  it('is multi-stage on node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toBe('node:20-bookworm-slim');
  });

  it('the build stage installs everything with npm ci and runs npm run build', () => {
    const r = runs(build).join('\n');
    expect(r).toMatch(/\bnpm ci\b/);
    expect(r).not.toMatch(/--omit=dev/);
    expect(r).toMatch(/\bnpm run build\b/);
    expect(r.indexOf('npm ci')).toBeLessThan(r.indexOf('npm run build'));
  });

  it('the runtime stage installs production dependencies only and copies the build output', () => {
    expect(runs(runtime).join('\n')).toMatch(/\bnpm ci\b[^\n]*--omit=dev/);
    expect(copies(runtime).some((c) => c.startsWith(`--from=${build.name}`))).toBe(true);
  });

  it('both stages copy the lock file and every workspace manifest before npm ci', () => {
    for (const s of [build, runtime]) {
      const c = copies(s);
      expect(c.some((x) => /^package\.json package-lock\.json \.\/$/.test(x))).toBe(true);
      for (const ws of workspaces()) expect(c).toContain(`${ws}/package.json ${ws}/`);
    }
  });

  it('the build stage copies the TypeScript project files and sources tsc -b needs', () => {
    const c = copies(build);
    expect(c).toContain('tsconfig.base.json tsconfig.build.json ./');
    expect(c).toContain('libs ./libs');
    expect(c).toContain('services ./services');
    const refs = (JSON.parse(read('tsconfig.build.json')) as { references: { path: string }[] }).references.map((r) => r.path);
    for (const ref of refs) expect(workspaces()).toContain(ref);
  });

  it('the runtime stage does not run as root and sets NODE_ENV=production', () => {
    const user = runtime.instructions.filter((i) => i.cmd === 'USER').pop();
    expect(user).toBeDefined();
    expect(['root', '0', '0:0', 'root:root']).not.toContain(user!.args);
    const env = runtime.instructions.filter((i) => i.cmd === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/(^|\s)NODE_ENV=production(\s|$)/);
  });

  it('has no CMD or ENTRYPOINT wrapper: the service is chosen by the command in compose and k8s', () => {
    for (const s of stages) {
      expect(s.instructions.filter((i) => i.cmd === 'CMD' || i.cmd === 'ENTRYPOINT')).toEqual([]);
    }
  });

  it('sets only variables of the config schema, and the /data layout compose uses', () => {
    const keys = runtime.instructions.filter((i) => i.cmd === 'ENV').flatMap(envKeysOf);
    // NODE_OPTIONS is Node's own variable: the services' heap bounds, the same as local stacks use.
    expect(keys.filter((k) => !CONFIG_VARIABLES.includes(k) && k !== 'NODE_OPTIONS')).toEqual([]);
    const nodeOptions = runtime.instructions.filter((i) => i.cmd === 'ENV').map((i) => /NODE_OPTIONS="([^"]*)"/.exec(i.args)?.[1]).find(Boolean);
    expect(nodeOptions).toBe(SERVICE_NODE_OPTIONS);
    const env = runtime.instructions.filter((i) => i.cmd === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain('DATA_DIR_RAW=/data/raw');
    expect(env).toContain('OUTPUT_DIR=/data/output');
    expect(runtime.instructions.some((i) => i.cmd === 'EXPOSE' && i.args === '5001')).toBe(true);
  });

  const ignored = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const isIgnored = dockerIgnored(ignored);

  it('the build context keeps every source and asset of libs/ and services/ (geojson, JSON schemas, public/...)', () => {
    const files = [...filesUnder('libs'), ...filesUnder('services')];
    const dropped = files.filter(isIgnored).filter((f) => !/\.(spec|test)\.ts$/.test(f) && !f.endsWith('.tsbuildinfo'));
    expect(dropped).toEqual([]);
    expect(isIgnored('node_modules/x/index.js')).toBe(true);
    expect(isIgnored('libs/common/dist/index.js')).toBe(true);
    expect(isIgnored('.env')).toBe(true);
    expect(isIgnored('data/sample/raw/x.csv')).toBe(true);
    expect(isIgnored('libs/domain/data/arrondissements.geojson')).toBe(false);
  });

  it('every file it copies from the context exists and is not excluded by .dockerignore', () => {
    const sources = stages
      .flatMap(copies)
      .filter((c) => !c.startsWith('--from='))
      .flatMap((c) => c.replace(/--\S+\s+/g, '').split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(exists(src)).toBe(true);
      expect({ src, ignored: isIgnored(src) }).toEqual({ src, ignored: false });
    }
    for (const must of ['node_modules', '**/node_modules', '.env', '.git', '**/dist', 'data', 'output']) expect(ignored).toContain(must);
  });
});

describe('.ci/run', () => {
  const script = read('.ci/run');

  it('is an executable bash script with strict mode', () => {
    expect(script.split('\n')[0]).toMatch(/^#!.*\bbash\b/);
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(fs.statSync(path.join(ROOT, '.ci/run')).mode & 0o111).not.toBe(0);
  });

  it("ends with the README's test command", () => {
    expect(exists('README.md')).toBe(true);
    // Quick start: a fenced block whose commands (trailing `# comments` aside) include npm start and npm test.
    expect(quickStartCommands()).toBeDefined();
    const commands = script
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(commands[commands.length - 1]).toBe(readmeTestCommand());
    expect(commands.some((l) => /^npm ci\b/.test(l))).toBe(true);
  });

  /** Runs .ci/run with every external command replaced by a recording stand-in. */
  function runCi(present: string[]): string[] {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-ci-'));
    const log = path.join(bin, 'calls.log');
    const record = (name: string, extra = '') =>
      fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${extra}`, { mode: 0o755 });
    try {
      for (const tool of ['dirname', 'chmod']) {
        const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        fs.symlinkSync(real, path.join(bin, tool));
      }
      fs.writeFileSync(path.join(bin, 'id'), '#!/bin/sh\necho 0\n', { mode: 0o755 });
      // apt-get install makes the installed commands appear, as the real one would.
      record('apt-get', `if [ "$1" = install ]; then for p in "$@"; do case "$p" in redis-server|python3) printf '#!/bin/sh\\necho "%s $*" >> "${log}"\\n' "$p" > "${bin}/$p"; chmod +x "${bin}/$p";; esac; done; fi\n`);
      for (const tool of ['npm', 'node', ...present]) record(tool);
      const bash = spawnSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();
      const r = spawnSync(bash, [path.join(ROOT, '.ci/run')], { env: { PATH: bin, HOME: bin }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`.ci/run failed (${r.status}): ${r.stderr}`);
      return fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => !/ --version$/.test(l));
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  }

  it('installs redis-server and python3 with apt-get when missing, then runs npm ci and npm test', () => {
    const calls = runCi([]);
    expect(calls[0]).toBe('apt-get update');
    expect(calls[1]).toMatch(/^apt-get install -y .*\bredis-server\b/);
    expect(calls[1]).toMatch(/\bpython3\b/);
    expect(calls.slice(2)).toEqual(['npm ci --no-audit --no-fund', 'npm test']);
  });

  it('installs nothing when redis-server and python3 are present', () => {
    expect(runCi(['redis-server', 'python3'])).toEqual(['npm ci --no-audit --no-fund', 'npm test']);
  });
});

describe('docker compose config (needs the docker compose plugin)', () => {
  const hasCompose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
  if (!hasCompose) {
    // eslint-disable-next-line no-console
    console.log('skipped `docker compose config -q`: the docker compose plugin is not installed on this machine');
  }
  (hasCompose ? it : it.skip)('docker compose -f docker-compose.yml config -q accepts the file', () => {
    const r = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  });
});
