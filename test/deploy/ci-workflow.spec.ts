/**
 * Cross-checks the GitHub Actions workflow (.github/workflows/ci.yml) against the README and the
 * test harness: it runs the README's test command after `npm ci` on Node 20, with a MongoDB
 * server and MONGODB_URL so that the MongoDB store tests run, and redis-server installed for
 * the harness. No runner is needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { EnvSchema } from '@cityflow/common';
import { readmeTestCommand } from './readme';

const ROOT = path.resolve(__dirname, '..', '..');
const FILE = '.github/workflows/ci.yml';

type Obj = Record<string, any>;
const workflow = parse(fs.readFileSync(path.join(ROOT, FILE), 'utf8')) as Obj;
const jobs = Object.entries(workflow.jobs ?? {}) as [string, Obj][];
const steps = (job: Obj): Obj[] => job.steps ?? [];
/** Shell commands of a job's `run:` steps, one per line, comments and blank lines removed. */
const commands = (job: Obj): string[] =>
  steps(job)
    .filter((s) => typeof s.run === 'string')
    .flatMap((s) => (s.run as string).split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
/** The job that runs the README's test command. */
const testJob = (): [string, Obj] => {
  const found = jobs.filter(([, j]) => commands(j).includes(readmeTestCommand()));
  expect(found).toHaveLength(1);
  return found[0];
};
/** The environment a job's steps see: workflow, then job, then step `env`. */
const envOf = (job: Obj, step?: Obj): Record<string, string> => ({ ...(workflow.env ?? {}), ...(job.env ?? {}), ...(step?.env ?? {}) });

describe(FILE, () => {
  it('runs on every push and pull request', () => {
    const on = workflow.on;
    const triggers = typeof on === 'string' ? [on] : Array.isArray(on) ? on : Object.keys(on ?? {});
    expect(triggers).toEqual(expect.arrayContaining(['push', 'pull_request']));
    // No branch filter: every branch and every pull request is tested.
    if (on && !Array.isArray(on) && typeof on === 'object') {
      for (const t of ['push', 'pull_request']) expect(on[t]?.branches).toBeUndefined();
    }
  });

  it('only reads the repository (no write token for the tests)', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it("runs `npm ci`, then the README's test command, last, on ubuntu-latest", () => {
    const [, job] = testJob();
    expect(job['runs-on']).toBe('ubuntu-latest');
    const cmds = commands(job);
    const ci = cmds.findIndex((c) => /^npm ci\b/.test(c));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(cmds.indexOf(readmeTestCommand())).toBeGreaterThan(ci);
    expect(cmds[cmds.length - 1]).toBe(readmeTestCommand());
    expect(steps(job)[0].uses).toMatch(/^actions\/checkout@v\d+$/);
  });

  it('uses Node 20 (package.json engines) through actions/setup-node, before npm ci', () => {
    const [, job] = testJob();
    const setup = steps(job).findIndex((s) => /^actions\/setup-node@v\d+$/.test(s.uses ?? ''));
    expect(setup).toBeGreaterThanOrEqual(0);
    expect(String(steps(job)[setup].with?.['node-version'])).toBe('20');
    const npmCi = steps(job).findIndex((s) => /(^|\n)\s*npm ci\b/.test(s.run ?? ''));
    expect(setup).toBeLessThan(npmCi);
    const engines = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Obj).engines.node as string;
    expect(engines).toBe('>=20');
  });

  it('installs redis-server from the Debian packages before the tests (the harness starts its own)', () => {
    const [, job] = testJob();
    const cmds = commands(job);
    const install = cmds.findIndex((c) => /\bapt-get install\b.*\bredis-server\b/.test(c));
    expect(install).toBeGreaterThanOrEqual(0);
    expect(install).toBeLessThan(cmds.indexOf(readmeTestCommand()));
    // The harness never reads REDIS_URL, so no Redis service container (it would sit unused).
    const images = Object.values(job.services ?? {}).map((s: Obj) => String(s.image));
    expect(images.filter((i) => /^redis[:@]/.test(i))).toEqual([]);
    const harness = fs.readFileSync(path.join(ROOT, 'libs/testing/src/redis-server.ts'), 'utf8');
    expect(harness).toContain('command -v redis-server');
    expect(harness).not.toContain('REDIS_URL');
  });

  it('has a pinned MongoDB 7 service on localhost:27017, healthy before the steps run', () => {
    const [, job] = testJob();
    const mongo = Object.values(job.services ?? {}).find((s: Obj) => /^mongo:/.test(String(s.image))) as Obj | undefined;
    expect(mongo).toBeDefined();
    expect(mongo!.image).toMatch(/^mongo:7\.0\.\d+$/);
    expect(mongo!.ports).toContain('27017:27017');
    expect(String(mongo!.options)).toMatch(/--health-cmd\b.*mongosh/);
  });

  it('sets MONGODB_URL to that service, a URL boot validation accepts, for the test step', () => {
    const [, job] = testJob();
    const testStep = steps(job).find((s) => commands({ steps: [s] }).includes(readmeTestCommand()))!;
    const url = envOf(job, testStep).MONGODB_URL;
    expect(url).toBe('mongodb://localhost:27017/');
    expect(EnvSchema.parse({ MONGODB_URL: url }).MONGODB_URL).toBe(url);
    // A standalone server: no replicaSet option, or the driver would wait for a set that never forms.
    expect(new URL(url).searchParams.get('replicaSet')).toBeNull();
  });

  it('pins every action to a major version', () => {
    for (const [, job] of jobs) for (const s of steps(job).filter((x) => x.uses)) expect(s.uses).toMatch(/^[\w.-]+\/[\w.-]+@v\d+(\.\d+)*$/);
  });
});
