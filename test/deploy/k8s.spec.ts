/**
 * Cross-checks the Kubernetes manifests in k8s/ against the code (service folders, the config
 * schema, the api port), the compose stack (same images) and each other (selectors, volume
 * claims, secrets, kustomization). No cluster is needed; `kubectl kustomize` runs when present.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig, SERVICE_NODE_ARGS } from '@cityflow/common';

const ROOT = path.resolve(__dirname, '..', '..');
const K8S = path.join(ROOT, 'k8s');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

/** Not read by the services: only referenced as $(REDIS_PASSWORD) inside REDIS_URL. */
const HELPER_VARIABLES = ['REDIS_PASSWORD'];
/** Read by the AWS SDK itself, not by the config schema: static keys, for when no IAM role is bound. */
const SDK_CREDENTIAL_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
/** Secret keys every app Deployment reads with `optional: true`: pods start without them. */
const OPTIONAL_SECRET_VARIABLES = ['MONGODB_URL', ...SDK_CREDENTIAL_VARIABLES];
const REQUIRED_APP_VARIABLES = ['REDIS_URL', 'DATA_DIR_RAW', 'OUTPUT_DIR'];
const SECRET_VARIABLES = ['API_KEY', 'BOARD_PASSWORD'];
const SECRET_PLACEHOLDER = /^(|change[-_]?me|replace[-_]?me|<[^>]*>|x{3,}|placeholder)$/i;

type Obj = Record<string, any>;
interface Manifest {
  file: string;
  doc: Obj;
}

const manifestFiles = fs
  .readdirSync(K8S)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const manifests: Manifest[] = manifestFiles
  .filter((f) => f !== 'kustomization.yaml')
  .flatMap((file) =>
    parseAllDocuments(fs.readFileSync(path.join(K8S, file), 'utf8')).map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      return { file, doc: d.toJS() as Obj };
    }),
  )
  .filter((m) => m.doc);
const kustomization = parse(fs.readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as Obj;

const ofKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const one = (kind: string, name: string): Obj => {
  const found = ofKind(kind).filter((d) => d.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
};

const serviceFolders = fs
  .readdirSync(path.join(ROOT, 'services'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const deployments = ofKind('Deployment');
const deploymentNames = deployments.map((d) => d.metadata.name as string);
const workerNames = deploymentNames.filter((n) => n !== 'api');
const container = (d: Obj): Obj => d.spec.template.spec.containers[0];
const configMap = one('ConfigMap', 'cityflow-config');
const secretExample = one('Secret', 'cityflow-secrets');

function matches(selector: Obj | undefined, labels: Obj): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** CPU in cores, memory in bytes, so that requests can be compared with limits. */
function quantity(q: string | number): number {
  const s = String(q);
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(s);
  if (!m) throw new Error(`bad quantity ${s}`);
  const unit: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? unit[m[2]] : 1);
}

/**
 * The environment a container gets: the ConfigMap (envFrom), then `env` in order, with
 * $(VAR) expanded from what came before, and secretKeyRef filled from the given values.
 */
function containerEnvironment(c: Obj, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      expect(from.configMapRef.name).toBe(configMap.metadata.name);
      Object.assign(env, configMap.data);
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef) {
      const { key, optional } = e.valueFrom.secretKeyRef;
      if (key in secrets) env[e.name] = secrets[key];
      else if (!optional) throw new Error(`${e.name}: secret key ${key} is required but not given`);
    }
    else if (e.valueFrom?.configMapKeyRef) env[e.name] = configMap.data[e.valueFrom.configMapKeyRef.key];
    else env[e.name] = String(e.value ?? '').replace(/\$\((\w+)\)/g, (whole, n: string) => env[n] ?? whole);
  }
  return env;
}

function configFor(env: Record<string, string>) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cityflow-k8s-'));
  try {
    return loadConfig(env, cwd);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

const repository = (image: string) => image.replace(/:[^/:]+$/, '');

describe('k8s manifests', () => {
  it('parse, and every object has apiVersion, kind, a name and the cityflow namespace', () => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const { file, doc } of manifests) {
      expect({ file, ok: Boolean(doc.apiVersion && doc.kind && doc.metadata?.name) }).toEqual({ file, ok: true });
      if (doc.kind !== 'Namespace') expect({ file, ns: doc.metadata.namespace }).toEqual({ file, ns: 'cityflow' });
    }
    expect(one('Namespace', 'cityflow')).toBeDefined();
  });

  it('kustomization.yaml lists every manifest except the secret example, and only existing files', () => {
    const resources: string[] = kustomization.resources;
    for (const r of resources) expect(manifestFiles).toContain(r);
    const expected = manifestFiles.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
    expect([...resources].sort()).toEqual(expected);
    expect(resources).not.toContain('secret.example.yaml');
    expect(kustomization.namespace).toBe('cityflow');
  });

  it('kustomization image overrides name images the manifests use', () => {
    const used = new Set(manifests.flatMap((m) => (m.doc.spec?.template?.spec?.containers ?? []).map((c: Obj) => repository(c.image))));
    for (const img of kustomization.images ?? []) expect(used).toContain(img.name);
  });

  it('every workload runs as non-root with requests and limits that fit', () => {
    const workloads = [...deployments, ...ofKind('StatefulSet')];
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      expect({ name: w.metadata.name, runAsNonRoot: pod.securityContext?.runAsNonRoot }).toEqual({ name: w.metadata.name, runAsNonRoot: true });
      for (const c of pod.containers) {
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
        for (const r of ['cpu', 'memory']) {
          const req = c.resources?.requests?.[r];
          const lim = c.resources?.limits?.[r];
          expect({ name: w.metadata.name, r, req: Boolean(req), lim: Boolean(lim) }).toEqual({ name: w.metadata.name, r, req: true, lim: true });
          expect(quantity(req)).toBeLessThanOrEqual(quantity(lim));
        }
      }
    }
  });
});

describe('k8s Deployments and the code', () => {
  it('one Deployment per services/<name> folder', () => {
    expect([...deploymentNames].sort()).toEqual(serviceFolders);
  });

  it.each(deploymentNames)('%s maps to a services/<name> folder with src/main.ts', (name) => {
    expect(fs.existsSync(path.join(ROOT, 'services', name, 'src', 'main.ts'))).toBe(true);
  });

  it.each(deploymentNames)('%s runs `node <SERVICE_NODE_ARGS> services/<name>/dist/main.js` from the shared image', (name) => {
    const d = one('Deployment', name);
    expect(d.spec.template.spec.containers).toHaveLength(1);
    expect(container(d).command).toEqual(['node', ...SERVICE_NODE_ARGS, `services/${name}/dist/main.js`]);
    expect(container(d).args).toBeUndefined();
    expect(matches(d.spec.selector, d.spec.template.metadata.labels)).toBe(true);
  });

  it('all Deployments use one image, the repository compose builds from the root Dockerfile', () => {
    const images = new Set(deployments.map((d) => container(d).image));
    expect(images.size).toBe(1);
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Obj> };
    expect(repository([...images][0])).toBe(repository(compose.services.api.image));
    const redis = one('StatefulSet', 'redis');
    expect(repository(container(redis).image)).toBe(repository(compose.services.redis.image));
  });

  it.each(['ingestor', 'chunker', 'processor', 'reporter'])('%s is a worker: no port, liveness by exec of dist/health.js, long grace period', (name) => {
    const d = one('Deployment', name);
    const c = container(d);
    expect(c.ports).toBeUndefined();
    expect(c.livenessProbe?.exec?.command).toEqual(['node', `services/${name}/dist/health.js`]);
    expect(fs.existsSync(path.join(ROOT, 'services', name, 'src', 'health.ts'))).toBe(true);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
    expect(d.spec.template.metadata.labels['app.kubernetes.io/component']).toBe('worker');
  });

  it('api serves API_PORT 5001: container port, readiness on GET /health, Service', () => {
    const d = one('Deployment', 'api');
    const c = container(d);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 5001 }]);
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/health', port: 5001 });
    expect(c.livenessProbe).toBeDefined();
    const svc = one('Service', 'api');
    expect(svc.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(matches({ matchLabels: svc.spec.selector }, d.spec.template.metadata.labels)).toBe(true);
    const port = svc.spec.ports[0];
    expect(port.targetPort === 5001 || c.ports.some((p: Obj) => p.name === port.targetPort && p.containerPort === 5001)).toBe(true);
    const cfg = configFor(containerEnvironment(c, { REDIS_PASSWORD: 'abc123', API_KEY: 'k', BOARD_PASSWORD: 'p' }));
    expect(cfg.apiPort).toBe(5001);
  });

  it('processor scales by replicas: the HPA targets it and owns its replica count', () => {
    const hpa = one('HorizontalPodAutoscaler', 'processor');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'processor' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(one('Deployment', 'processor').spec.replicas).toBeUndefined();
    expect(configMap.data.PROCESSOR_CONCURRENCY).toBe('1');
  });

  it('every app pod mounts the shared ReadWriteMany /data claim, with DATA_DIR_RAW and OUTPUT_DIR under it', () => {
    const pvc = one('PersistentVolumeClaim', 'cityflow-data');
    expect(pvc.spec.accessModes).toContain('ReadWriteMany');
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const vol = pod.volumes.find((v: Obj) => v.persistentVolumeClaim?.claimName === 'cityflow-data');
      expect(vol).toBeDefined();
      expect(container(d).volumeMounts).toContainEqual({ name: vol.name, mountPath: '/data' });
    }
    expect(configMap.data.DATA_DIR_RAW).toMatch(/^\/data\//);
    expect(configMap.data.OUTPUT_DIR).toMatch(/^\/data\//);
  });
});

describe('k8s configuration and secrets', () => {
  it('the ConfigMap holds only keys of the config schema, as strings', () => {
    const keys = Object.keys(configMap.data);
    expect(keys.filter((k) => !CONFIG_VARIABLES.includes(k))).toEqual([]);
    for (const v of Object.values(configMap.data)) expect(typeof v).toBe('string');
    for (const k of [...SECRET_VARIABLES, 'REDIS_PASSWORD']) expect(keys).not.toContain(k);
  });

  it.each(deploymentNames)('%s: every variable is a schema key, and REDIS_URL, DATA_DIR_RAW, OUTPUT_DIR pass boot validation', (name) => {
    const c = container(one('Deployment', name));
    const names = (c.env ?? []).map((e: Obj) => e.name as string);
    expect(names.filter((n: string) => !CONFIG_VARIABLES.includes(n) && !HELPER_VARIABLES.includes(n) && !SDK_CREDENTIAL_VARIABLES.includes(n))).toEqual([]);
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'cityflow-config' } }]);
    const env = containerEnvironment(c, { REDIS_PASSWORD: 'abc123', API_KEY: 'k', BOARD_PASSWORD: 'p' });
    for (const k of REQUIRED_APP_VARIABLES) expect({ k, set: Boolean(env[k]) }).toEqual({ k, set: true });
    const cfg = configFor(env);
    expect(cfg.redisUrl).toBe('redis://:abc123@redis:6379');
    expect(cfg.rawDir).toBe(configMap.data.DATA_DIR_RAW);
    expect(cfg.outputDir).toBe(configMap.data.OUTPUT_DIR);
    expect(cfg.serviceName).toBe(name);
  });

  it('secrets come from secretKeyRef only, API_KEY and BOARD_PASSWORD only to api', () => {
    for (const d of [...deployments, ...ofKind('StatefulSet')]) {
      for (const e of container(d).env ?? []) {
        if (/PASSWORD|API_KEY|SECRET|TOKEN/.test(e.name)) {
          expect({ name: e.name, value: e.value }).toEqual({ name: e.name, value: undefined });
          expect(e.valueFrom.secretKeyRef.name).toBe(secretExample.metadata.name);
          expect(Object.keys(secretExample.stringData ?? secretExample.data)).toContain(e.valueFrom.secretKeyRef.key);
        }
      }
    }
    for (const n of workerNames) {
      const names = (container(one('Deployment', n)).env ?? []).map((e: Obj) => e.name);
      for (const s of SECRET_VARIABLES) expect(names).not.toContain(s);
    }
    const api = (container(one('Deployment', 'api')).env ?? []).map((e: Obj) => e.name);
    for (const s of SECRET_VARIABLES) expect(api).toContain(s);
  });

  it('secret.example.yaml commits no secret value', () => {
    const values = { ...(secretExample.stringData ?? {}), ...(secretExample.data ?? {}) } as Record<string, string>;
    expect(Object.keys(values).sort()).toEqual(['API_KEY', 'BOARD_PASSWORD', 'REDIS_PASSWORD', ...OPTIONAL_SECRET_VARIABLES].sort());
    for (const [k, v] of Object.entries(values)) expect({ k, placeholder: SECRET_PLACEHOLDER.test(String(v)) }).toEqual({ k, placeholder: true });
  });
});

describe('k8s store and input modes', () => {
  const secrets = { REDIS_PASSWORD: 'abc123', API_KEY: 'k', BOARD_PASSWORD: 'p' };
  const appEnv = (name: string, configMapData: Record<string, string>, extraSecrets: Record<string, string> = {}) => {
    const env = containerEnvironment(container(one('Deployment', name)), { ...secrets, ...extraSecrets });
    return { ...env, ...configMapData };
  };

  it.each(deploymentNames)('%s reads MONGODB_URL and the static AWS keys from the Secret, optionally', (name) => {
    const env = (container(one('Deployment', name)).env ?? []) as Obj[];
    for (const v of OPTIONAL_SECRET_VARIABLES) {
      const e = env.find((x) => x.name === v);
      expect({ v, ref: e?.valueFrom?.secretKeyRef }).toEqual({ v, ref: { name: secretExample.metadata.name, key: v, optional: true } });
    }
    // Without them (the default mode) the pod starts and boots on the filesystem store.
    const cfg = configFor(appEnv(name, {}));
    expect(cfg.databaseType).toBe('filesystem');
    expect(cfg.rawSource).toBe('local');
  });

  it('the ConfigMap holds no connection string or credential: those live in the Secret', () => {
    for (const k of OPTIONAL_SECRET_VARIABLES) expect(Object.keys(configMap.data)).not.toContain(k);
    expect(configMap.data.DATABASE_TYPE).toBe('filesystem');
  });

  it.each(deploymentNames)('%s runs as the `cityflow` ServiceAccount (the IAM role binding point), with no API token', (name) => {
    const sa = one('ServiceAccount', 'cityflow');
    const pod = one('Deployment', name).spec.template.spec;
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(sa.automountServiceAccountToken).toBe(false);
  });

  it('MongoDB mode: DATABASE_TYPE=mongodb in the ConfigMap, MONGODB_URL from the Secret', () => {
    const url = 'mongodb+srv://u:p@cluster0.example.net/?retryWrites=true';
    for (const name of deploymentNames) {
      const cfg = configFor(appEnv(name, { DATABASE_TYPE: 'mongodb' }, { MONGODB_URL: url }));
      expect(cfg.databaseType).toBe('mongodb');
      expect(cfg.mongo.url).toBe(url);
    }
  });

  it('AWS mode: AWS_EXECUTION_ENV in the ConfigMap gives DynamoDB, S3 input and export, the cache on the shared volume', () => {
    for (const name of deploymentNames) {
      const cfg = configFor(appEnv(name, { ...configMap.data, AWS_EXECUTION_ENV: 'EKS', CREATE_RESOURCES: 'false' }));
      expect(cfg).toMatchObject({ databaseType: 'dynamodb', rawSource: 's3', rawDir: 's3://cityflow-raw-data/raw', createResources: false });
      expect(cfg.reportExport).toEqual({ bucket: 'cityflow-reports', prefix: 'reports' });
      expect(cfg.aws).toEqual({ region: configMap.data.AWS_REGION, s3Endpoint: undefined, dynamodbEndpoint: undefined, s3ForcePathStyle: false });
      expect(cfg.s3.cacheDir).toMatch(/^\/data\//);
    }
  });

  it('the manifests document the AWS settings where they are set', () => {
    const text = (f: string) => fs.readFileSync(path.join(K8S, f), 'utf8');
    for (const v of ['AWS_EXECUTION_ENV', 'USE_DYNAMODB', 'USE_S3', 'DATABASE_TYPE: mongodb', 'S3_RAW_BUCKET', 'S3_REPORTS_BUCKET', 'DYNAMODB_METRICS_TABLE', 'CREATE_RESOURCES']) {
      expect(text('configmap.yaml')).toContain(v);
    }
    expect(text('serviceaccount.yaml')).toContain('eks.amazonaws.com/role-arn');
    for (const v of OPTIONAL_SECRET_VARIABLES) expect(text('secret.example.yaml')).toMatch(new RegExp(`^#.*\\b${v}\\b`, 'm'));
  });
});

describe('k8s redis', () => {
  const sts = one('StatefulSet', 'redis');
  const svc = one('Service', 'redis');
  const podLabels = sts.spec.template.metadata.labels;

  it('a StatefulSet built from docker/redis, with the password from the Secret and persistent /data', () => {
    const c = container(sts);
    const env = Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e]));
    expect(Object.keys(env).sort()).toEqual(['REDIS_MAXMEMORY', 'REDIS_PASSWORD']);
    expect(env.REDIS_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'cityflow-secrets', key: 'REDIS_PASSWORD' });
    expect(c.command).toBeUndefined(); // the image's entrypoint applies the password and redis.conf
    const claim = sts.spec.volumeClaimTemplates[0].metadata.name;
    expect(c.volumeMounts).toContainEqual({ name: claim, mountPath: '/data' });
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    expect(matches(sts.spec.selector, podLabels)).toBe(true);
    const probe = c.readinessProbe.exec.command.join(' ');
    expect(probe).toContain('redis-cli ping');
    expect(probe).toContain('PONG');
  });

  it('is reachable through a ClusterIP Service only (no NodePort, no LoadBalancer on any Service)', () => {
    expect(svc.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(matches({ matchLabels: svc.spec.selector }, podLabels)).toBe(true);
    expect(svc.spec.ports.map((p: Obj) => p.port)).toEqual([6379]);
    for (const s of ofKind('Service')) expect(s.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(ofKind('Ingress').filter((i) => JSON.stringify(i).includes('"redis"'))).toEqual([]);
  });

  it('a NetworkPolicy lets only the CityFlow app pods in, on 6379', () => {
    const policies = ofKind('NetworkPolicy').filter((p) => matches(p.spec.podSelector, podLabels));
    expect(policies).toHaveLength(1);
    const policy = policies[0];
    expect(policy.spec.policyTypes).toContain('Ingress');
    expect(policy.spec.ingress).toHaveLength(1);
    const rule = policy.spec.ingress[0];
    expect(rule.ports).toEqual([{ protocol: 'TCP', port: 6379 }]);
    const admits = (labels: Obj) => rule.from.some((f: Obj) => !f.namespaceSelector && !f.ipBlock && matches(f.podSelector, labels));
    for (const d of deployments) expect({ app: d.metadata.name, admitted: admits(d.spec.template.metadata.labels) }).toEqual({ app: d.metadata.name, admitted: true });
    expect(admits({ 'app.kubernetes.io/name': 'intruder' })).toBe(false);
    expect(admits({ 'app.kubernetes.io/part-of': 'cityflow' })).toBe(false);
    for (const f of rule.from) expect(f.ipBlock).toBeUndefined();
  });
});

describe('kubectl kustomize (needs kubectl)', () => {
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  if (!kubectl) {
    // eslint-disable-next-line no-console
    console.log('skipped `kubectl kustomize k8s`: kubectl is not installed on this machine');
  }
  (kubectl ? it : it.skip)('renders every listed resource with the image overrides applied', () => {
    const r = spawnSync('kubectl', ['kustomize', K8S], { encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    const listed = (kustomization.resources as string[]).flatMap((f) => manifests.filter((m) => m.file === f));
    expect(docs).toHaveLength(listed.length);
    for (const img of kustomization.images ?? []) {
      const rendered = docs.flatMap((d) => d.spec?.template?.spec?.containers ?? []).filter((c: Obj) => repository(c.image) === (img.newName ?? img.name));
      expect(rendered.length).toBeGreaterThan(0);
      if (img.newTag) for (const c of rendered) expect(c.image.endsWith(`:${img.newTag}`)).toBe(true);
    }
  });
});
